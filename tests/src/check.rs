//! Reads a store back and compares it with a dataset's expectations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, Pool, Row, Value};
use rust_decimal::Decimal;
use thiserror::Error;

use crate::dataset::{ExpectedProduct, ProductKind};
use crate::money::parse_decimal;
use crate::prefix::{validate_prefix, InvalidPrefix};

#[derive(Debug, Error)]
pub enum CheckError {
    #[error(transparent)]
    Prefix(#[from] InvalidPrefix),
    #[error("database error: {0}")]
    Db(#[from] mysql_async::Error),
    #[error("unexpected column types in {0}")]
    Decode(&'static str),
}

/// Meta keys read back; all but `_price` hold one value per product.
const META_KEYS: [&str; 7] = [
    "_sku",
    "_stock",
    "_stock_status",
    "_manage_stock",
    "_regular_price",
    "_sale_price",
    "_price",
];

#[derive(Debug, Clone, PartialEq)]
pub struct LookupRow {
    pub stock_quantity: Option<f64>,
    pub stock_status: String,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub onsale: bool,
}

/// One product as stored. Single-valued meta read like `get_post_meta(.., true)`:
/// the first row by `meta_id`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductState {
    /// `None` when no product post has this id.
    pub post_status: Option<String>,
    pub parent_id: u64,
    pub sku: Option<String>,
    pub stock: Option<String>,
    /// Empty when there is no row.
    pub stock_status: String,
    /// Empty when there is no row.
    pub manage_stock: String,
    pub regular_price: Option<String>,
    pub sale_price: Option<String>,
    /// All `_price` rows, by `meta_id`.
    pub price_rows: Vec<String>,
    pub lookup: Option<LookupRow>,
    pub has_outofstock_term: bool,
    /// Single-valued meta keys that have more than one row.
    pub duplicated_meta: Vec<String>,
}

/// Which checks [`mismatches`] runs beyond meta and lookup values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOptions {
    /// The `product_visibility`/`outofstock` term follows the stock status.
    pub outofstock_terms: bool,
    /// Variable parents hold one `_price` row per distinct published child price.
    pub parent_price_rows: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            outofstock_terms: true,
            parent_price_rows: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub product_id: u64,
    pub sku: String,
    pub field: String,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} [{}] {}: expected {}, found {}",
            self.product_id, self.sku, self.field, self.expected, self.found
        )
    }
}

enum Scope {
    All,
    One(u64),
}

impl Scope {
    /// A ` AND column = ?` clause and its parameters.
    fn filter(&self, column: &str) -> (String, Vec<Value>) {
        match self {
            Scope::All => (String::new(), Vec::new()),
            Scope::One(id) => (format!(" AND {column} = ?"), vec![(*id).into()]),
        }
    }
}

async fn fetch<T: FromRow>(
    conn: &mut Conn,
    what: &'static str,
    sql: String,
    params: Vec<Value>,
) -> Result<Vec<T>, CheckError> {
    let rows: Vec<Row> = conn.exec(sql, params).await?;
    rows.into_iter()
        .map(|r| mysql_async::from_row_opt(r).map_err(|_| CheckError::Decode(what)))
        .collect()
}

fn text(bytes: Option<Vec<u8>>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
}

async fn load_states(
    pool: &Pool,
    prefix: &str,
    scope: Scope,
) -> Result<HashMap<u64, ProductState>, CheckError> {
    let p = validate_prefix(prefix)?;
    let mut conn = pool.get_conn().await?;
    let mut states: HashMap<u64, ProductState> = HashMap::new();

    let (cond, params) = scope.filter("ID");
    let posts: Vec<(u64, Option<Vec<u8>>, u64)> = fetch(
        &mut conn,
        "posts",
        format!(
            "SELECT ID, post_status, post_parent FROM `{p}posts` \
             WHERE post_type IN ('product', 'product_variation'){cond}"
        ),
        params,
    )
    .await?;
    for (id, status, parent) in posts {
        let state = states.entry(id).or_default();
        state.post_status = Some(text(status).unwrap_or_default());
        state.parent_id = parent;
    }

    let (cond, mut params) = scope.filter("post_id");
    let keys = vec!["?"; META_KEYS.len()].join(", ");
    let mut key_params: Vec<Value> = META_KEYS.iter().map(|k| (*k).into()).collect();
    key_params.append(&mut params);
    type MetaTuple = (u64, Option<Vec<u8>>, Option<Vec<u8>>);
    let meta: Vec<MetaTuple> = fetch(
        &mut conn,
        "postmeta",
        format!(
            "SELECT post_id, meta_key, meta_value FROM `{p}postmeta` \
             WHERE meta_key IN ({keys}){cond} ORDER BY meta_id"
        ),
        key_params,
    )
    .await?;
    let mut seen: HashSet<(u64, String)> = HashSet::new();
    for (id, key, value) in meta {
        let (key, value) = (text(key).unwrap_or_default(), text(value));
        let state = states.entry(id).or_default();
        if key == "_price" {
            state.price_rows.push(value.unwrap_or_default());
            continue;
        }
        if !seen.insert((id, key.clone())) {
            if !state.duplicated_meta.contains(&key) {
                state.duplicated_meta.push(key);
            }
            continue;
        }
        match key.as_str() {
            "_sku" => state.sku = value,
            "_stock" => state.stock = value,
            "_stock_status" => state.stock_status = value.unwrap_or_default(),
            "_manage_stock" => state.manage_stock = value.unwrap_or_default(),
            "_regular_price" => state.regular_price = value,
            "_sale_price" => state.sale_price = value,
            _ => {}
        }
    }

    let (cond, params) = scope.filter("product_id");
    type LookupTuple = (
        u64,
        Option<f64>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<i64>,
    );
    let lookups: Vec<LookupTuple> = fetch(
        &mut conn,
        "wc_product_meta_lookup",
        format!(
            "SELECT product_id, stock_quantity, stock_status, min_price, max_price, onsale \
             FROM `{p}wc_product_meta_lookup` WHERE 1 = 1{cond}"
        ),
        params,
    )
    .await?;
    for (id, qty, status, min, max, onsale) in lookups {
        states.entry(id).or_default().lookup = Some(LookupRow {
            stock_quantity: qty,
            stock_status: text(status).unwrap_or_default(),
            min_price: text(min),
            max_price: text(max),
            onsale: onsale.unwrap_or(0) != 0,
        });
    }

    let (cond, params) = scope.filter("tr.object_id");
    let outofstock: Vec<(u64,)> = fetch(
        &mut conn,
        "term_relationships",
        format!(
            "SELECT tr.object_id FROM `{p}term_relationships` tr \
             JOIN `{p}term_taxonomy` tt ON tt.term_taxonomy_id = tr.term_taxonomy_id \
             JOIN `{p}terms` t ON t.term_id = tt.term_id \
             WHERE tt.taxonomy = 'product_visibility' AND t.slug = 'outofstock'{cond}"
        ),
        params,
    )
    .await?;
    for (id,) in outofstock {
        states.entry(id).or_default().has_outofstock_term = true;
    }
    Ok(states)
}

/// The stored state of one product.
pub async fn product_state(pool: &Pool, prefix: &str, id: u64) -> Result<ProductState, CheckError> {
    let mut states = load_states(pool, prefix, Scope::One(id)).await?;
    Ok(states.remove(&id).unwrap_or_default())
}

/// Human-readable differences between the store and `expected`; empty when
/// the store matches. Runs every check of [`CompareOptions::default`].
pub async fn compare_with_expected(
    pool: &Pool,
    prefix: &str,
    expected: &[ExpectedProduct],
) -> Result<Vec<String>, CheckError> {
    let found = mismatches(pool, prefix, expected, CompareOptions::default()).await?;
    Ok(found.iter().map(Mismatch::to_string).collect())
}

/// Structured differences between the store and `expected`.
pub async fn mismatches(
    pool: &Pool,
    prefix: &str,
    expected: &[ExpectedProduct],
    opts: CompareOptions,
) -> Result<Vec<Mismatch>, CheckError> {
    let states = load_states(pool, prefix, Scope::All).await?;
    let mut child_prices: BTreeMap<u64, Vec<Decimal>> = BTreeMap::new();
    for e in expected.iter().filter(|e| e.kind == ProductKind::Variation) {
        let published = states
            .get(&e.product_id)
            .and_then(|s| s.post_status.as_deref())
            == Some("publish");
        if let (true, Some(price)) = (published, e.price.as_deref().and_then(parse_decimal)) {
            child_prices.entry(e.parent_id).or_default().push(price);
        }
    }
    let empty = ProductState::default();
    let mut out = Vec::new();
    for e in expected {
        let state = states.get(&e.product_id).unwrap_or(&empty);
        let mut diff = Diff { e, out: &mut out };
        if state.post_status.is_none() {
            diff.push("post", "a product post", "none");
            continue;
        }
        match e.kind {
            ProductKind::Variable => {
                let mut prices = child_prices.remove(&e.product_id).unwrap_or_default();
                prices.sort();
                prices.dedup();
                diff.parent(state, opts, &prices);
            }
            _ => diff.leaf(state),
        }
        if opts.outofstock_terms {
            let want = e.stock_status == "outofstock";
            if state.has_outofstock_term != want {
                diff.push(
                    "outofstock term",
                    present(want),
                    present(state.has_outofstock_term),
                );
            }
        }
    }
    Ok(out)
}

fn present(yes: bool) -> &'static str {
    if yes {
        "present"
    } else {
        "absent"
    }
}

fn show(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{v:?}"),
        None => "none".to_owned(),
    }
}

/// Numeric comparison of stored values; a missing row equals an empty one.
fn same_number(expected: Option<&str>, found: Option<&str>) -> bool {
    fn norm(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|s| !s.is_empty())
    }
    match (norm(expected), norm(found)) {
        (None, None) => true,
        (Some(a), Some(b)) => match (parse_decimal(a), parse_decimal(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => false,
    }
}

struct Diff<'a> {
    e: &'a ExpectedProduct,
    out: &'a mut Vec<Mismatch>,
}

impl Diff<'_> {
    fn push(&mut self, field: &str, expected: impl Into<String>, found: impl Into<String>) {
        self.out.push(Mismatch {
            product_id: self.e.product_id,
            sku: self.e.sku.clone(),
            field: field.to_owned(),
            expected: expected.into(),
            found: found.into(),
        });
    }

    fn number(&mut self, field: &str, expected: Option<&str>, found: Option<&str>) {
        if !same_number(expected, found) {
            self.push(field, show(expected), show(found));
        }
    }

    fn text(&mut self, field: &str, expected: &str, found: &str) {
        if expected != found {
            self.push(field, format!("{expected:?}"), format!("{found:?}"));
        }
    }

    fn common(&mut self, state: &ProductState) {
        let e = self.e;
        self.text("_sku", &e.sku, state.sku.as_deref().unwrap_or(""));
        for key in &state.duplicated_meta {
            self.push("duplicate meta rows", "one row", key.clone());
        }
        let stock = e.stock.map(|s| s.to_string());
        self.number("_stock", stock.as_deref(), state.stock.as_deref());
        self.text("_stock_status", &e.stock_status, &state.stock_status);
        self.number(
            "_regular_price",
            e.regular_price.as_deref(),
            state.regular_price.as_deref(),
        );
        self.number(
            "_sale_price",
            e.sale_price.as_deref(),
            state.sale_price.as_deref(),
        );
        let Some(lookup) = &state.lookup else {
            self.push("lookup row", "present", "absent");
            return;
        };
        let qty = e.stock.map(|s| s as f64);
        if lookup.stock_quantity != qty {
            self.push(
                "lookup stock_quantity",
                format!("{qty:?}"),
                format!("{:?}", lookup.stock_quantity),
            );
        }
        self.text("lookup stock_status", &e.stock_status, &lookup.stock_status);
        self.number(
            "lookup min_price",
            e.min_price.as_deref(),
            lookup.min_price.as_deref(),
        );
        self.number(
            "lookup max_price",
            e.max_price.as_deref(),
            lookup.max_price.as_deref(),
        );
        if lookup.onsale != e.onsale {
            self.push(
                "lookup onsale",
                e.onsale.to_string(),
                lookup.onsale.to_string(),
            );
        }
    }

    fn leaf(&mut self, state: &ProductState) {
        self.common(state);
        let manage = if self.e.kind == ProductKind::Virtual {
            "no"
        } else {
            "yes"
        };
        self.text("_manage_stock", manage, &state.manage_stock);
        let price = self.e.price.as_deref();
        match state.price_rows.as_slice() {
            [one] => self.number("_price", price, Some(one)),
            rows => self.push(
                "_price",
                format!("one row {}", show(price)),
                format!("{rows:?}"),
            ),
        }
    }

    fn parent(&mut self, state: &ProductState, opts: CompareOptions, child_prices: &[Decimal]) {
        self.common(state);
        self.text("_manage_stock", "no", &state.manage_stock);
        if !opts.parent_price_rows {
            return;
        }
        let mut rows: Vec<Option<Decimal>> =
            state.price_rows.iter().map(|r| parse_decimal(r)).collect();
        rows.sort();
        let want: Vec<Option<Decimal>> = child_prices.iter().copied().map(Some).collect();
        if rows != want {
            let fmt = |v: &[Option<Decimal>]| {
                v.iter()
                    .map(|d| d.map_or("?".to_owned(), |d| d.normalize().to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.push(
                "_price rows",
                format!("[{}]", fmt(&want)),
                format!("[{}]", fmt(&rows)),
            );
        }
    }
}
