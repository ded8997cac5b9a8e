//! Applying one batch of Cachicamo values to WooCommerce's tables, in ONE transaction.
//!
//! For every product the current rows are read, the new values computed, and only what differs
//! is written. Writes are compare-and-set on the value read: the rows about to be written are
//! locked (`SELECT … FOR UPDATE`) and compared with what was read, so a sale that lands between
//! read and write is seen, and its product is counted as a conflict instead of being overwritten
//! with stale stock. Derived state follows the write: stock status, the lookup table, the
//! `outofstock` visibility term and variable parents. The batch row is completed in the same
//! transaction, and only while this worker still holds its lease, so an applied batch is never
//! half-visible and never applied by two workers.
//!
//! A batch costs a fixed handful of statements whatever its size: reads and writes are
//! multi-row (`IN (…)`, `CASE meta_id WHEN … END`, multi-row `INSERT`), never one per product.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::time::Instant;

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Transaction, Value};
use rust_decimal::Decimal;

use super::catalog::{sort_catalog, to_product, CatalogProduct, ProductKind};
use super::queue::Claim;
use super::runs::Totals;
use super::settings::ShopSettings;
use super::{padded, placeholders, power_of_two_runs, read_committed, SqlContext, Store, StoreError, Tables};
use crate::cachicamo::pricing::format_price;

/// What Cachicamo says a product should hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    /// No item matched any of the product's keys.
    NotFound,
    /// The answer for this product cannot be used at all (e.g. two items claim it).
    Failed(String),
    /// `None` leaves the field alone; `Err` is a reason the field is not written.
    Update { stock: Option<Result<i64, String>>, price: Option<Result<Decimal, String>> },
}

#[derive(Debug, Clone)]
pub struct ApplyItem {
    pub product: CatalogProduct,
    pub desired: Desired,
}

/// One product whose rows changed, for the plugin's finalize step and the admin's view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeRecord {
    pub product_id: u64,
    pub parent_id: u64,
    pub sku: String,
    pub old_stock: Option<String>,
    pub new_stock: Option<String>,
    pub old_stock_status: Option<String>,
    pub new_stock_status: Option<String>,
    pub old_price: Option<String>,
    pub new_price: Option<String>,
}

#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub totals: Totals,
    pub changes: Vec<ChangeRecord>,
    /// "product 12 (SKU "A"): price: no exchange rate for EUR", one per product with an error.
    pub item_errors: Vec<String>,
    pub conflicted: Vec<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the batch's lease was lost to another worker; nothing was written")]
    LeaseLost,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the apply runs: a queued batch (completed in the same transaction) or a selective sync.
pub struct ApplyTarget<'a> {
    pub claim: Option<&'a Claim>,
    pub run_id: Option<u64>,
    pub started: Instant,
}

/// A batch's products and their rows, read before Cachicamo is asked: the values every write of
/// the batch is compared with. Deleted or unpublished products are left out, and a SKU edited
/// since planning is used in its new form.
#[derive(Debug, Default)]
pub struct BatchSnapshot {
    pub products: Vec<CatalogProduct>,
    meta: HashMap<u64, Meta>,
}

impl Store {
    pub async fn load_batch(&self, ids: &[u64]) -> Result<BatchSnapshot, StoreError> {
        if ids.is_empty() {
            return Ok(BatchSnapshot::default());
        }
        let mut conn = self.conn().await?;
        let (posts, types) = self.product_posts(&mut conn, ids).await?;
        let mut keys = META_KEYS.to_vec();
        keys.push("_sku");
        let meta = read_meta(&mut conn, &self.tables().postmeta, ids, &keys, false).await?;
        let mut products: Vec<CatalogProduct> =
            posts.iter().filter_map(|row| to_product(row, meta.get(&row.0).and_then(|m| m.value("_sku")), &types)).collect();
        sort_catalog(&mut products);
        Ok(BatchSnapshot { products, meta })
    }
}

const META_KEYS: &[&str] = &[
    "_stock",
    "_stock_status",
    "_manage_stock",
    "_backorders",
    "_virtual",
    "_regular_price",
    "_sale_price",
    "_price",
    "_sale_price_dates_from",
    "_sale_price_dates_to",
];

/// A product's rows of interest; the first row per key wins, as in WordPress's single reads.
#[derive(Debug, Default, Clone)]
struct Meta {
    rows: HashMap<String, (u64, String)>,
    price_rows: Vec<(u64, String)>,
}

impl Meta {
    fn get(&self, key: &str) -> Option<&(u64, String)> {
        self.rows.get(key)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.rows.get(key).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default)]
struct Lookup {
    stock_quantity: Option<f64>,
    stock_status: String,
    min_price: Option<String>,
    max_price: Option<String>,
    onsale: bool,
}

fn dec(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Decimal::from_str(s).ok().or_else(|| Decimal::from_scientific(s).ok())
}

fn same_number(current: Option<&str>, new: Decimal) -> bool {
    current.and_then(dec).is_some_and(|c| c == new)
}

/// "12.5" or "12.5–20": the span of a variable product's prices.
fn price_range(prices: impl Iterator<Item = Decimal>) -> Option<String> {
    let (min, max) = prices.fold((None, None), |(lo, hi): (Option<Decimal>, Option<Decimal>), p| {
        (Some(lo.map_or(p, |l| l.min(p))), Some(hi.map_or(p, |h| h.max(p))))
    });
    match (min, max) {
        (Some(lo), Some(hi)) if lo == hi => Some(format_price(lo)),
        (Some(lo), Some(hi)) => Some(format!("{}–{}", format_price(lo), format_price(hi))),
        _ => None,
    }
}

fn lookup_price(d: Decimal) -> String {
    format!("{:.4}", d.round_dp(4))
}

/// WooCommerce's rule for managed stock.
fn derive_status(qty: i64, backorders: &str, no_stock_amount: Decimal) -> &'static str {
    if Decimal::from(qty) > no_stock_amount {
        "instock"
    } else if backorders != "no" {
        "onbackorder"
    } else {
        "outofstock"
    }
}

/// Rows per multi-row statement: big enough that a batch needs a handful of statements, small
/// enough that the statements each kept connection caches (with a description of every
/// placeholder) stay small; a power of two, as lists are padded to one.
const ROWS_PER_STATEMENT: usize = 512;

/// A meta row to create.
struct MetaInsert {
    post_id: u64,
    key: &'static str,
    value: String,
}

/// A lookup row WooCommerce would have but the store lacks.
struct LookupInsert {
    product_id: u64,
    sku: String,
    is_virtual: bool,
    sets: Vec<(&'static str, Value)>,
}

/// Every write of one phase of a batch, sent as a few multi-row statements instead of one
/// round trip per row.
#[derive(Default)]
struct Writes {
    /// meta_id → new value. Only rows this transaction holds locked are listed here.
    updates: BTreeMap<u64, String>,
    inserts: Vec<MetaInsert>,
    deletes: Vec<u64>,
    lookup_updates: Vec<(u64, Vec<(&'static str, Value)>)>,
    lookup_inserts: Vec<LookupInsert>,
    term_add: Vec<u64>,
    term_remove: Vec<u64>,
}

impl Writes {
    fn is_empty(&self) -> bool {
        self.updates.is_empty()
            && self.inserts.is_empty()
            && self.deletes.is_empty()
            && self.lookup_updates.is_empty()
            && self.lookup_inserts.is_empty()
            && self.term_add.is_empty()
            && self.term_remove.is_empty()
    }
}

/// Lookup columns the sync maintains, in the order multi-row updates set them.
const LOOKUP_COLUMNS: [&str; 5] = ["stock_quantity", "stock_status", "min_price", "max_price", "onsale"];

struct ProductResult {
    conflict: bool,
    change: Option<ChangeRecord>,
}

/// Decides, without touching the database, what a batch writes. Pure so that it can run twice:
/// once to learn which rows would be written (they are then locked and compared with what was
/// read), and once more knowing which of them moved in between.
struct Planner<'a> {
    shop: &'a ShopSettings,
    now_unix: i64,
    has_oos_term: bool,
    /// Rows whose value changed since they were read (or that are gone): writing them would
    /// overwrite a sale with stale data, so their product is a conflict instead.
    moved: &'a HashSet<u64>,
    /// Every existing row a write was planned for.
    touched: Vec<u64>,
    /// Products with a planned write to their meta rows or visibility term.
    written: HashSet<u64>,
    w: Writes,
}

impl<'a> Planner<'a> {
    fn new(shop: &'a ShopSettings, now_unix: i64, has_oos_term: bool, moved: &'a HashSet<u64>) -> Self {
        Self { shop, now_unix, has_oos_term, moved, touched: Vec::new(), written: HashSet::new(), w: Writes::default() }
    }

    /// Sets one meta value: an update of the row read when it exists, an insert when it does not.
    /// False means the row moved since it was read, and nothing is written.
    fn set(&mut self, post_id: u64, key: &'static str, current: Option<&(u64, String)>, value: String) -> bool {
        match current {
            Some((meta_id, _)) => {
                self.touched.push(*meta_id);
                if self.moved.contains(meta_id) {
                    return false;
                }
                self.w.updates.insert(*meta_id, value);
                self.written.insert(post_id);
                true
            }
            None => {
                self.w.inserts.push(MetaInsert { post_id, key, value });
                self.written.insert(post_id);
                true
            }
        }
    }

    /// Adds or removes the `outofstock` visibility term; true when that is a change.
    fn set_oos_term(&mut self, id: u64, has_term: bool, status: &str) -> bool {
        let want = status == "outofstock";
        if !self.has_oos_term || want == has_term {
            return false;
        }
        if want {
            self.w.term_add.push(id);
        } else {
            self.w.term_remove.push(id);
        }
        self.written.insert(id);
        true
    }

    /// Updates only the given lookup columns, or creates the row WooCommerce would have.
    fn write_lookup(&mut self, id: u64, exists: bool, sets: Vec<(&'static str, Value)>, sku: &str, is_virtual: bool) {
        if sets.is_empty() {
            return;
        }
        if exists {
            self.w.lookup_updates.push((id, sets));
        } else {
            self.w.lookup_inserts.push(LookupInsert { product_id: id, sku: sku.to_owned(), is_virtual, sets });
        }
    }

    /// Every product of the batch: the outcome's counts and changes, and the variable parents to
    /// recompute afterwards.
    fn plan_items(&mut self, items: &[ApplyItem], meta: &HashMap<u64, Meta>, lookups: &HashMap<u64, Lookup>, with_term: &HashSet<u64>) -> (ApplyOutcome, BTreeSet<u64>) {
        let mut out = ApplyOutcome::default();
        let mut parents: BTreeSet<u64> = BTreeSet::new();
        let no_meta = Meta::default();
        for item in items {
            let p = &item.product;
            match p.kind {
                ProductKind::Variation => {
                    parents.insert(p.parent_id);
                }
                ProductKind::Variable => {
                    parents.insert(p.id);
                }
                ProductKind::Simple => {}
            }
            let (stock, price) = match &item.desired {
                Desired::NotFound => {
                    out.totals.not_found += 1;
                    continue;
                }
                Desired::Failed(reason) => {
                    out.totals.errors += 1;
                    out.item_errors.push(format!("{}: {reason}", p.label()));
                    continue;
                }
                Desired::Update { stock, price } => (stock, price),
            };
            let m = meta.get(&p.id).unwrap_or(&no_meta);
            let result = self.plan_product(p, stock.as_ref(), price.as_ref(), m, lookups.get(&p.id), with_term.contains(&p.id));
            let mut reasons = Vec::new();
            if let Some(Err(e)) = stock {
                reasons.push(format!("stock: {e}"));
            }
            if let Some(Err(e)) = price {
                reasons.push(format!("price: {e}"));
            }
            if !reasons.is_empty() {
                out.totals.errors += 1;
                out.item_errors.push(format!("{}: {}", p.label(), reasons.join("; ")));
            }
            if result.conflict {
                out.totals.conflicts += 1;
                out.conflicted.push(p.id);
            } else if result.change.is_some() {
                out.totals.changed += 1;
            } else {
                out.totals.unchanged += 1;
            }
            if let Some(change) = result.change {
                out.changes.push(change);
            }
        }
        out.totals.synced = out.totals.changed + out.totals.unchanged;
        parents.remove(&0);
        (out, parents)
    }

    fn plan_product(
        &mut self,
        p: &CatalogProduct,
        stock: Option<&Result<i64, String>>,
        price: Option<&Result<Decimal, String>>,
        m: &Meta,
        lookup: Option<&Lookup>,
        has_oos_term: bool,
    ) -> ProductResult {
        let is_virtual = m.value("_virtual") == Some("yes");
        let manages_stock = m.value("_manage_stock") == Some("yes");
        let mut change = ChangeRecord {
            product_id: p.id,
            parent_id: p.parent_id,
            sku: p.sku.clone().unwrap_or_default(),
            ..ChangeRecord::default()
        };
        let mut changed = false;
        let mut conflict = false;
        let mut lookup_sets: Vec<(&'static str, Value)> = Vec::new();

        // Stock: never on virtual products, and on a variable parent only when it manages stock
        // itself (otherwise its stock is its children's).
        let stock_target = match (stock, p.kind) {
            (Some(Ok(q)), ProductKind::Variable) if manages_stock => Some(*q),
            (_, ProductKind::Variable) => None,
            (Some(Ok(q)), _) if !is_virtual => Some(*q),
            _ => None,
        };
        if let Some(qty) = stock_target {
            let backorders = m.value("_backorders").unwrap_or("no");
            let status = derive_status(qty, backorders, self.shop.no_stock_amount);
            let cur_stock = m.get("_stock");
            let stock_differs = !same_number(cur_stock.map(|(_, v)| v.as_str()), Decimal::from(qty));
            let mut stock_ok = true;
            if stock_differs {
                stock_ok = self.set(p.id, "_stock", cur_stock, qty.to_string());
                if stock_ok {
                    change.old_stock = cur_stock.map(|(_, v)| v.clone());
                    change.new_stock = Some(qty.to_string());
                    changed = true;
                } else {
                    conflict = true;
                }
            }
            if stock_ok {
                if !manages_stock {
                    self.set(p.id, "_manage_stock", m.get("_manage_stock"), "yes".into());
                    changed = true;
                }
                let cur_status = m.value("_stock_status");
                if cur_status != Some(status) {
                    self.set(p.id, "_stock_status", m.get("_stock_status"), status.into());
                    change.old_stock_status = cur_status.map(str::to_owned);
                    change.new_stock_status = Some(status.into());
                    changed = true;
                }
                if lookup.and_then(|l| l.stock_quantity) != Some(qty as f64) {
                    lookup_sets.push(("stock_quantity", (qty as f64).into()));
                }
                if lookup.map(|l| l.stock_status.as_str()) != Some(status) {
                    lookup_sets.push(("stock_status", status.into()));
                }
                if self.set_oos_term(p.id, has_oos_term, status) {
                    changed = true;
                }
            }
        }

        // Price: the regular price; the sale price is kept (a promotion is the shop's), unless
        // it is no longer below the regular one, which WooCommerce would blank too.
        if let (Some(Ok(regular)), true) = (price, p.kind != ProductKind::Variable) {
            let regular = regular.normalize();
            let cur_regular = m.get("_regular_price");
            let regular_differs = !same_number(cur_regular.map(|(_, v)| v.as_str()), regular);
            let mut price_ok = true;
            if regular_differs {
                price_ok = self.set(p.id, "_regular_price", cur_regular, format_price(regular));
                if !price_ok {
                    conflict = true;
                }
            }
            if price_ok {
                let sale = m.value("_sale_price").and_then(dec);
                let sale_kept = sale.filter(|s| *s < regular);
                if sale.is_some() && sale_kept.is_none() {
                    if let Some((id, _)) = m.get("_sale_price") {
                        self.w.deletes.push(*id);
                        self.written.insert(p.id);
                        changed = true;
                    }
                }
                let now = self.now_unix;
                let in_window = |key: &str, cmp: fn(i64, i64) -> bool| {
                    m.value(key).and_then(|v| v.trim().parse::<i64>().ok()).is_none_or(|ts| cmp(ts, now))
                };
                let on_sale = sale_kept.is_some() && in_window("_sale_price_dates_from", |ts, now| ts <= now) && in_window("_sale_price_dates_to", |ts, now| ts >= now);
                let effective = if on_sale { sale_kept.unwrap_or(regular) } else { regular };
                let cur_price = m.get("_price");
                let mut effective_ok = true;
                if !same_number(cur_price.map(|(_, v)| v.as_str()), effective) {
                    effective_ok = self.set(p.id, "_price", cur_price, format_price(effective));
                    if effective_ok {
                        change.old_price = cur_price.map(|(_, v)| v.clone());
                        change.new_price = Some(format_price(effective));
                    } else {
                        conflict = true;
                    }
                } else if regular_differs {
                    change.old_price = cur_regular.map(|(_, v)| v.clone());
                    change.new_price = Some(format_price(regular));
                }
                if regular_differs {
                    changed = true;
                }
                // The lookup mirrors `_price`: when that row moved, it is left as it is too.
                if effective_ok {
                    let target = lookup_price(effective);
                    if lookup.and_then(|l| l.min_price.as_deref()).and_then(dec) != dec(&target) {
                        lookup_sets.push(("min_price", target.clone().into()));
                    }
                    if lookup.and_then(|l| l.max_price.as_deref()).and_then(dec) != dec(&target) {
                        lookup_sets.push(("max_price", target.into()));
                    }
                    if lookup.map(|l| l.onsale) != Some(on_sale) {
                        lookup_sets.push(("onsale", (on_sale as i32).into()));
                    }
                }
            }
        }

        self.write_lookup(p.id, lookup.is_some(), lookup_sets, p.sku.as_deref().unwrap_or(""), is_virtual);
        ProductResult { conflict, change: changed.then_some(change) }
    }

    /// What `WC_Product_Variable::sync()` derives for a parent from its children: one `_price`
    /// row per distinct visible child price, no regular or sale price of its own, the lookup
    /// range, and (when it does not manage stock) a stock status taken from its children.
    fn plan_parent(&mut self, parent: u64, m: &Meta, lookup: Option<&Lookup>, has_term: bool, children: &[&Child]) -> Option<ChangeRecord> {
        let sku = m.value("_sku").unwrap_or_default().to_owned();
        let mut change = ChangeRecord { product_id: parent, sku: sku.clone(), ..ChangeRecord::default() };
        let mut changed = false;

        let visible = |c: &&&Child| c.status == "publish" && !(self.shop.hide_out_of_stock && c.stock_status.as_deref() == Some("outofstock"));
        let prices: BTreeSet<Decimal> = children.iter().filter(visible).filter_map(|c| c.price.as_deref().and_then(dec)).map(|d| d.normalize()).collect();
        let current: Vec<Decimal> = m.price_rows.iter().filter_map(|(_, v)| dec(v)).map(|d| d.normalize()).collect();
        if current.len() != m.price_rows.len() || current.iter().copied().collect::<BTreeSet<_>>() != prices || current.len() != prices.len() {
            self.w.deletes.extend(m.price_rows.iter().map(|(id, _)| *id));
            for p in &prices {
                self.w.inserts.push(MetaInsert { post_id: parent, key: "_price", value: format_price(*p) });
            }
            // A parent's price is a range; the record shows it only when the range moved.
            let (old_range, new_range) = (price_range(current.iter().copied()), price_range(prices.iter().copied()));
            if old_range != new_range {
                change.old_price = old_range;
                change.new_price = new_range;
            }
            changed = true;
        }
        for key in ["_regular_price", "_sale_price"] {
            if let Some((id, _)) = m.get(key) {
                self.w.deletes.push(*id);
                changed = true;
            }
        }
        let mut sets: Vec<(&'static str, Value)> = Vec::new();
        // With no visible child price WooCommerce's lookup row says 0, not NULL (its format is %f).
        let min = Some(lookup_price(prices.first().copied().unwrap_or(Decimal::ZERO)));
        let max = Some(lookup_price(prices.last().copied().unwrap_or(Decimal::ZERO)));
        if lookup.and_then(|l| l.min_price.as_deref()).and_then(dec) != min.as_deref().and_then(dec) {
            sets.push(("min_price", min.clone().into()));
        }
        if lookup.and_then(|l| l.max_price.as_deref()).and_then(dec) != max.as_deref().and_then(dec) {
            sets.push(("max_price", max.into()));
        }
        if lookup.is_some_and(|l| l.onsale) {
            sets.push(("onsale", 0.into()));
        }

        if m.value("_manage_stock") != Some("yes") {
            let published: Vec<&str> = children.iter().filter(|c| c.status == "publish").map(|c| c.stock_status.as_deref().unwrap_or("instock")).collect();
            let status = if published.contains(&"instock") {
                "instock"
            } else if published.contains(&"onbackorder") {
                "onbackorder"
            } else {
                "outofstock"
            };
            let cur = m.value("_stock_status");
            if cur != Some(status) {
                self.set(parent, "_stock_status", m.get("_stock_status"), status.into());
                change.old_stock_status = cur.map(str::to_owned);
                change.new_stock_status = Some(status.into());
                changed = true;
            }
            if lookup.map(|l| l.stock_status.as_str()) != Some(status) {
                sets.push(("stock_status", status.into()));
            }
            if self.set_oos_term(parent, has_term, status) {
                changed = true;
            }
        }
        self.write_lookup(parent, lookup.is_some(), sets, &sku, false);
        changed.then_some(change)
    }
}

/// A variation as its parent's recompute sees it.
#[derive(Debug, Default)]
struct Child {
    parent: u64,
    status: String,
    /// The first `_price` and `_stock_status` rows by meta_id, and their values.
    price_row: Option<u64>,
    price: Option<String>,
    stock_status_row: Option<u64>,
    stock_status: Option<String>,
}

/// What the parents' recompute knows of the batch without reading again.
struct Family<'a> {
    snapshot: &'a BatchSnapshot,
    /// Products the batch wrote to.
    written: &'a HashSet<u64>,
    lookups: &'a HashMap<u64, Lookup>,
    with_term: &'a HashSet<u64>,
}

struct Applier<'t, 'c> {
    tx: Transaction<'c>,
    t: &'t Tables,
    shop: &'t ShopSettings,
    now_unix: i64,
    oos_term: Option<u64>,
    term_changed: bool,
}

impl Store {
    /// Applies a batch; see the module comment. Deadlocks and lock-wait timeouts retry the whole
    /// transaction a few times before giving up.
    pub async fn apply_batch(&self, snapshot: &BatchSnapshot, items: &[ApplyItem], target: &ApplyTarget<'_>, shop: &ShopSettings) -> Result<ApplyOutcome, ApplyError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(snapshot, items, target, shop).await {
                Err(ApplyError::Store(e)) if e.is_retryable_conflict() && attempt < 5 => {
                    tracing::debug!(attempt, error = %e, "apply hit a lock conflict, retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(&self, snapshot: &BatchSnapshot, items: &[ApplyItem], target: &ApplyTarget<'_>, shop: &ShopSettings) -> Result<ApplyOutcome, ApplyError> {
        let t = self.tables();
        let mut conn = self.conn().await?;
        let tx = conn
            .start_transaction(read_committed())
            .await
            .ctx("starting the apply transaction")?;
        let mut a = Applier { tx, t, shop, now_unix: chrono::Utc::now().timestamp(), oos_term: None, term_changed: false };
        a.oos_term = a.outofstock_term().await?;

        let ids: Vec<u64> = items.iter().map(|i| i.product.id).collect();
        let meta = &snapshot.meta;
        let lookups = a.read_lookups(&ids).await?;
        let with_term = a.read_oos_terms(&ids).await?;

        // The rows a write is planned for are locked and compared with the snapshot: a sale that
        // committed since (or still holds the row, in which case this waits for it) turns that
        // product into a conflict rather than being overwritten.
        let none = HashSet::new();
        let mut first = Planner::new(shop, a.now_unix, a.oos_term.is_some(), &none);
        first.plan_items(items, meta, &lookups, &with_term);
        let moved = a.moved_rows(&first.touched, meta).await?;

        let mut plan = Planner::new(shop, a.now_unix, a.oos_term.is_some(), &moved);
        let (mut out, parents) = plan.plan_items(items, meta, &lookups, &with_term);
        let written = std::mem::take(&mut plan.written);
        a.flush(plan.w).await?;

        let parent_ids: Vec<u64> = parents.into_iter().collect();
        let family = Family { snapshot, written: &written, lookups: &lookups, with_term: &with_term };
        let parent_changes = a.sync_parents(&parent_ids, &family).await?;
        out.changes.extend(parent_changes);
        a.record_changes(&out.changes, target).await?;
        // Last before completing: the term's count row stays locked only until the commit.
        a.recount_oos_term().await?;

        if let Some(claim) = target.claim {
            let message = summarize_errors(&out.item_errors);
            a.tx.exec_drop(
                format!(
                    "UPDATE {} SET status = 'completed', processed_at = UTC_TIMESTAMP(), duration_ms = ?,
                        synced = ?, changed = ?, unchanged = ?, errors = ?, not_found = ?, conflicts = ?, error_message = ?,
                        lease_token = NULL, lease_expires_at = NULL
                     WHERE id = ? AND lease_token = ? AND status = 'processing'",
                    t.queue
                ),
                Params::Positional(vec![
                    (target.started.elapsed().as_millis() as u64).into(),
                    out.totals.synced.into(),
                    out.totals.changed.into(),
                    out.totals.unchanged.into(),
                    out.totals.errors.into(),
                    out.totals.not_found.into(),
                    out.totals.conflicts.into(),
                    message.into(),
                    claim.batch_id.into(),
                    claim.token.clone().into(),
                ]),
            )
            .await
            .ctx("completing the batch")?;
            if a.tx.affected_rows() != 1 {
                a.tx.rollback().await.ctx("rolling back a batch whose lease was lost")?;
                return Err(ApplyError::LeaseLost);
            }
        }
        a.tx.commit().await.ctx("committing the batch")?;
        Ok(out)
    }
}

/// The batch row keeps the first reasons; the full list goes to the log.
fn summarize_errors(errors: &[String]) -> Option<String> {
    if errors.is_empty() {
        return None;
    }
    let shown: Vec<&str> = errors.iter().take(5).map(String::as_str).collect();
    let more = errors.len().saturating_sub(shown.len());
    let mut s = format!("{} item error(s): {}", errors.len(), shown.join(" | "));
    if more > 0 {
        s.push_str(&format!(" | and {more} more"));
    }
    Some(s)
}

fn bytes_to_string(v: Option<Vec<u8>>) -> String {
    v.map(|v| String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())).unwrap_or_default()
}

/// The rows of interest of these products; `lock` reads the latest values and keeps them
/// locked until the commit.
async fn read_meta<Q: Queryable>(q: &mut Q, postmeta: &str, ids: &[u64], keys: &[&str], lock: bool) -> Result<HashMap<u64, Meta>, StoreError> {
    let mut out: HashMap<u64, Meta> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        // Sorted here rather than by the server: a filesort of rows holding longtext values
        // costs the server more than the whole index read.
        let list = padded(chunk);
        let sql = format!(
            "SELECT post_id, meta_id, meta_key, meta_value FROM {postmeta} WHERE post_id IN ({}) AND meta_key IN ({}){}",
            placeholders(list.len()),
            placeholders(keys.len()),
            if lock { " FOR UPDATE" } else { "" }
        );
        let mut params: Vec<Value> = list.into_iter().map(Value::from).collect();
        params.extend(keys.iter().map(|&k| k.into()));
        let mut rows: Vec<(u64, u64, String, Option<Vec<u8>>)> = q.exec(sql, params).await.ctx("reading current stock and prices")?;
        rows.sort_unstable_by_key(|r| r.1);
        for (post_id, meta_id, key, value) in rows {
            let value = bytes_to_string(value);
            let m = out.entry(post_id).or_default();
            if key == "_price" {
                m.price_rows.push((meta_id, value.clone()));
            }
            m.rows.entry(key).or_insert((meta_id, value));
        }
    }
    Ok(out)
}

impl Applier<'_, '_> {
    async fn outofstock_term(&mut self) -> Result<Option<u64>, StoreError> {
        self.tx
            .exec_first(
                format!(
                    "SELECT tt.term_taxonomy_id FROM {} tt JOIN {} t ON t.term_id = tt.term_id
                     WHERE tt.taxonomy = 'product_visibility' AND t.slug = 'outofstock' LIMIT 1",
                    self.t.term_taxonomy, self.t.terms
                ),
                (),
            )
            .await
            .ctx("finding the outofstock visibility term")
    }

    /// Locks the rows about to be written and returns those whose value is no longer the one
    /// read (or that are gone). Waits for a transaction that holds one of them.
    async fn moved_rows(&mut self, touched: &[u64], meta: &HashMap<u64, Meta>) -> Result<HashSet<u64>, StoreError> {
        let mut moved = HashSet::new();
        if touched.is_empty() {
            return Ok(moved);
        }
        let read: HashMap<u64, &str> = meta.values().flat_map(|m| m.rows.values()).map(|(id, v)| (*id, v.as_str())).collect();
        // Ascending ids: two transactions locking overlapping rows take them in the same order.
        let ids: Vec<u64> = touched.iter().copied().collect::<BTreeSet<u64>>().into_iter().collect();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let list = padded(chunk);
            let sql = format!("SELECT meta_id, meta_value FROM {} WHERE meta_id IN ({}) FOR UPDATE", self.t.postmeta, placeholders(list.len()));
            let rows: Vec<(u64, Option<Vec<u8>>)> = self.tx.exec(sql, list).await.ctx("locking the rows to write")?;
            let now: HashMap<u64, String> = rows.into_iter().map(|(id, v)| (id, bytes_to_string(v))).collect();
            for id in chunk {
                if now.get(id).map(String::as_str) != read.get(id).copied() {
                    moved.insert(*id);
                }
            }
        }
        Ok(moved)
    }

    async fn read_lookups(&mut self, ids: &[u64]) -> Result<HashMap<u64, Lookup>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let list = padded(chunk);
            let sql = format!(
                "SELECT product_id, stock_quantity, stock_status, CAST(min_price AS CHAR), CAST(max_price AS CHAR), onsale
                 FROM {} WHERE product_id IN ({})",
                self.t.lookup,
                placeholders(list.len())
            );
            let rows: Vec<(u64, Option<f64>, String, Option<String>, Option<String>, i64)> =
                self.tx.exec(sql, list).await.ctx("reading the product lookup table")?;
            out.extend(
                rows.into_iter()
                    .map(|(id, q, s, min, max, onsale)| (id, Lookup { stock_quantity: q, stock_status: s, min_price: min, max_price: max, onsale: onsale != 0 })),
            );
        }
        Ok(out)
    }

    async fn read_oos_terms(&mut self, ids: &[u64]) -> Result<HashSet<u64>, StoreError> {
        let Some(tt) = self.oos_term else { return Ok(HashSet::new()) };
        let mut out = HashSet::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let list = padded(chunk);
            let sql = format!(
                "SELECT object_id FROM {} WHERE term_taxonomy_id = ? AND object_id IN ({})",
                self.t.term_relationships,
                placeholders(list.len())
            );
            let mut params: Vec<Value> = vec![tt.into()];
            params.extend(list.into_iter().map(Value::from));
            let rows: Vec<u64> = self.tx.exec(sql, params).await.ctx("reading visibility terms")?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Sends a phase's writes as multi-row statements.
    async fn flush(&mut self, w: Writes) -> Result<(), StoreError> {
        if w.is_empty() {
            return Ok(());
        }
        let updates: Vec<(u64, String)> = w.updates.into_iter().collect();
        for chunk in updates.chunks(ROWS_PER_STATEMENT) {
            let chunk = padded(chunk);
            let sql = format!(
                "UPDATE {} SET meta_value = CASE meta_id {} END WHERE meta_id IN ({})",
                self.t.postmeta,
                "WHEN ? THEN ? ".repeat(chunk.len()),
                placeholders(chunk.len())
            );
            let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
            for (id, value) in &chunk {
                params.push((*id).into());
                params.push(value.as_str().into());
            }
            params.extend(chunk.iter().map(|(id, _)| Value::from(*id)));
            self.tx.exec_drop(sql, params).await.ctx("writing product meta")?;
        }
        for chunk in power_of_two_runs(&w.inserts, ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO {} (post_id, meta_key, meta_value) VALUES {}",
                self.t.postmeta,
                vec!["(?, ?, ?)"; chunk.len()].join(", ")
            );
            let params: Vec<Value> = chunk.iter().flat_map(|m| [m.post_id.into(), m.key.into(), m.value.as_str().into()]).collect();
            self.tx.exec_drop(sql, params).await.ctx("inserting product meta")?;
        }
        for chunk in w.deletes.chunks(ROWS_PER_STATEMENT) {
            let list = padded(chunk);
            let sql = format!("DELETE FROM {} WHERE meta_id IN ({})", self.t.postmeta, placeholders(list.len()));
            self.tx.exec_drop(sql, list).await.ctx("deleting product meta")?;
        }
        for chunk in w.lookup_updates.chunks(ROWS_PER_STATEMENT / 2) {
            self.update_lookups(chunk).await?;
        }
        for row in w.lookup_inserts {
            let mut cols = vec!["product_id", "sku", "`virtual`"];
            let mut params: Vec<Value> = vec![row.product_id.into(), row.sku.into(), (row.is_virtual as i32).into()];
            for (c, v) in row.sets {
                cols.push(c);
                params.push(v);
            }
            self.tx
                .exec_drop(format!("INSERT IGNORE INTO {} ({}) VALUES ({})", self.t.lookup, cols.join(", "), placeholders(cols.len())), params)
                .await
                .ctx("creating a product lookup row")?;
        }
        if let Some(tt) = self.oos_term {
            for chunk in power_of_two_runs(&w.term_add, ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT IGNORE INTO {} (object_id, term_taxonomy_id, term_order) VALUES {}",
                    self.t.term_relationships,
                    vec!["(?, ?, 0)"; chunk.len()].join(", ")
                );
                let params: Vec<Value> = chunk.iter().flat_map(|&id| [id.into(), tt.into()]).collect();
                self.tx.exec_drop(sql, params).await.ctx("adding the outofstock term")?;
                self.term_changed = true;
            }
            for chunk in w.term_remove.chunks(ROWS_PER_STATEMENT) {
                let list = padded(chunk);
                let sql = format!("DELETE FROM {} WHERE term_taxonomy_id = ? AND object_id IN ({})", self.t.term_relationships, placeholders(list.len()));
                let mut params: Vec<Value> = vec![tt.into()];
                params.extend(list.into_iter().map(Value::from));
                self.tx.exec_drop(sql, params).await.ctx("removing the outofstock term")?;
                self.term_changed = true;
            }
        }
        Ok(())
    }

    /// One statement for many lookup rows: each column is set only on the rows that change it.
    async fn update_lookups(&mut self, rows: &[(u64, Vec<(&'static str, Value)>)]) -> Result<(), StoreError> {
        let mut sets = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        for column in LOOKUP_COLUMNS {
            let whens: Vec<(u64, &Value)> =
                rows.iter().filter_map(|(id, cols)| cols.iter().find(|(c, _)| *c == column).map(|(_, v)| (*id, v))).collect();
            if whens.is_empty() {
                continue;
            }
            let whens = padded(&whens);
            sets.push(format!("{column} = CASE product_id {}ELSE {column} END", "WHEN ? THEN ? ".repeat(whens.len())));
            for (id, v) in whens {
                params.push(id.into());
                params.push(v.clone());
            }
        }
        if sets.is_empty() {
            return Ok(());
        }
        let ids = padded(&rows.iter().map(|(id, _)| *id).collect::<Vec<u64>>());
        let sql = format!("UPDATE {} SET {} WHERE product_id IN ({})", self.t.lookup, sets.join(", "), placeholders(ids.len()));
        params.extend(ids.into_iter().map(Value::from));
        self.tx.exec_drop(sql, params).await.ctx("updating the product lookup table")
    }

    async fn recount_oos_term(&mut self) -> Result<(), StoreError> {
        let (Some(tt), true) = (self.oos_term, self.term_changed) else { return Ok(()) };
        self.tx
            .exec_drop(
                format!(
                    "UPDATE {} SET count = (SELECT COUNT(*) FROM {} WHERE term_taxonomy_id = ?) WHERE term_taxonomy_id = ?",
                    self.t.term_taxonomy, self.t.term_relationships
                ),
                (tt, tt),
            )
            .await
            .ctx("recounting the outofstock term")
    }

    /// Recomputes the variable parents of the batch's products from their children as they
    /// now stand (this transaction's writes included). A family this batch holds whole, wrote
    /// nothing to, and finds consistent in its snapshot is left alone without further reads.
    async fn sync_parents(&mut self, parents: &[u64], family: &Family<'_>) -> Result<Vec<ChangeRecord>, StoreError> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        let list = padded(parents);
        let sql = format!(
            "SELECT ID, post_parent, post_status FROM {} WHERE post_parent IN ({}) AND post_type = 'product_variation' AND post_status IN ('publish', 'private')",
            self.t.posts,
            placeholders(list.len())
        );
        let variations: Vec<(u64, u64, String)> = self.tx.exec(sql, list).await.ctx("listing variations")?;
        let in_batch: HashSet<u64> = family.snapshot.products.iter().map(|p| p.id).collect();
        let none = HashSet::new();
        let no_meta = Meta::default();
        let stale: Vec<u64> = parents
            .iter()
            .copied()
            .filter(|&parent| {
                let kids: Vec<&(u64, u64, String)> = variations.iter().filter(|v| v.1 == parent).collect();
                let quiet = in_batch.contains(&parent)
                    && !family.written.contains(&parent)
                    && kids.iter().all(|(id, _, _)| in_batch.contains(id) && !family.written.contains(id));
                if !quiet {
                    return true;
                }
                let children: Vec<Child> = kids
                    .iter()
                    .map(|(id, _, status)| {
                        let m = family.snapshot.meta.get(id).unwrap_or(&no_meta);
                        Child {
                            parent,
                            status: status.clone(),
                            price: m.value("_price").map(str::to_owned),
                            stock_status: m.value("_stock_status").map(str::to_owned),
                            ..Child::default()
                        }
                    })
                    .collect();
                let children: Vec<&Child> = children.iter().collect();
                let mut scratch = Planner::new(self.shop, self.now_unix, self.oos_term.is_some(), &none);
                let m = family.snapshot.meta.get(&parent).unwrap_or(&no_meta);
                let change = scratch.plan_parent(parent, m, family.lookups.get(&parent), family.with_term.contains(&parent), &children);
                change.is_some() || !scratch.w.is_empty()
            })
            .collect();
        if stale.is_empty() {
            return Ok(Vec::new());
        }
        let parents = stale.as_slice();
        let list = padded(parents);
        // Lock the parents so two batches holding children of one parent recompute it in turn,
        // each seeing the other's committed children.
        let _: Vec<u64> = self
            .tx
            .exec(format!("SELECT ID FROM {} WHERE ID IN ({}) ORDER BY ID FOR UPDATE", self.t.posts, placeholders(list.len())), list.clone())
            .await
            .ctx("locking variable parents")?;
        let sql = format!(
            "SELECT p.ID, p.post_parent, p.post_status, pm.meta_id, pm.meta_key, pm.meta_value
             FROM {posts} p LEFT JOIN {pm} pm ON pm.post_id = p.ID AND pm.meta_key IN ('_price', '_stock_status')
             WHERE p.post_parent IN ({ph}) AND p.post_type = 'product_variation' AND p.post_status IN ('publish', 'private')",
            pm = self.t.postmeta,
            posts = self.t.posts,
            ph = placeholders(list.len())
        );
        let rows: Vec<(u64, u64, String, Option<u64>, Option<String>, Option<Vec<u8>>)> =
            self.tx.exec(sql, list).await.ctx("reading variations")?;
        let mut children: BTreeMap<u64, Child> = BTreeMap::new();
        for (id, parent, status, meta_id, key, value) in rows {
            let c = children.entry(id).or_insert_with(|| Child { parent, status, ..Child::default() });
            let (Some(meta_id), Some(key)) = (meta_id, key) else { continue };
            // The first row by meta_id wins, as in WordPress's single reads.
            let (row, slot) = match key.as_str() {
                "_price" => (&mut c.price_row, &mut c.price),
                _ => (&mut c.stock_status_row, &mut c.stock_status),
            };
            if row.is_none_or(|r| meta_id < r) {
                *row = Some(meta_id);
                *slot = value.map(|v| bytes_to_string(Some(v)));
            }
        }
        // The parents' own rows are read locked: what is written next is derived from the latest
        // values, never from a stale read.
        let mut keys: Vec<&str> = META_KEYS.to_vec();
        keys.push("_sku");
        let meta = read_meta(&mut self.tx, &self.t.postmeta, parents, &keys, true).await?;
        let lookups = self.read_lookups(parents).await?;
        let with_term = self.read_oos_terms(parents).await?;

        let mut plan = Planner::new(self.shop, self.now_unix, self.oos_term.is_some(), &none);
        let mut changes = Vec::new();
        for &parent in parents {
            let mine: Vec<&Child> = children.values().filter(|c| c.parent == parent).collect();
            let m = meta.get(&parent).unwrap_or(&no_meta);
            if let Some(change) = plan.plan_parent(parent, m, lookups.get(&parent), with_term.contains(&parent), &mine) {
                changes.push(change);
            }
        }
        self.flush(plan.w).await?;
        Ok(changes)
    }

    async fn record_changes(&mut self, changes: &[ChangeRecord], target: &ApplyTarget<'_>) -> Result<(), StoreError> {
        for chunk in power_of_two_runs(changes, ROWS_PER_STATEMENT / 2) {
            let sql = format!(
                "INSERT INTO {} (run_id, batch_id, product_id, parent_id, sku, old_stock, new_stock, old_stock_status,
                    new_stock_status, old_price, new_price, changed_at) VALUES {}",
                self.t.changes,
                vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))"; chunk.len()].join(", ")
            );
            let batch_id = target.claim.map(|c| c.batch_id);
            let params: Vec<Value> = chunk
                .iter()
                .flat_map(|c| {
                    let sku: String = c.sku.chars().take(100).collect();
                    [
                        target.run_id.into(),
                        batch_id.into(),
                        c.product_id.into(),
                        c.parent_id.into(),
                        sku.into(),
                        c.old_stock.clone().into(),
                        c.new_stock.clone().into(),
                        c.old_stock_status.clone().into(),
                        c.new_stock_status.clone().into(),
                        c.old_price.clone().into(),
                        c.new_price.clone().into(),
                    ]
                })
                .collect();
            self.tx.exec_drop(sql, params).await.ctx("recording changes")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_price_ranges() {
        let d = |v: &str| Decimal::from_str(v).expect("decimal");
        assert_eq!(price_range([d("20"), d("12.50"), d("15")].into_iter()), Some("12.5–20".into()));
        assert_eq!(price_range([d("9.9")].into_iter()), Some("9.9".into()));
        assert_eq!(price_range(std::iter::empty()), None);
    }

    #[test]
    fn status_follows_woocommerce() {
        assert_eq!(derive_status(3, "no", Decimal::ZERO), "instock");
        assert_eq!(derive_status(0, "no", Decimal::ZERO), "outofstock");
        assert_eq!(derive_status(0, "notify", Decimal::ZERO), "onbackorder");
        assert_eq!(derive_status(2, "no", Decimal::from(2)), "outofstock");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same_number(Some("12.000000"), Decimal::from(12)));
        assert!(same_number(Some("14.23320"), Decimal::from_str("14.2332").expect("d")));
        assert!(!same_number(Some(""), Decimal::ZERO));
        assert!(!same_number(None, Decimal::ZERO));
        assert_eq!(lookup_price(Decimal::from(5)), "5.0000");
    }

    #[test]
    fn error_summary_is_bounded() {
        let errs: Vec<String> = (0..8).map(|i| format!("e{i}")).collect();
        let s = summarize_errors(&errs).expect("summary");
        assert!(s.starts_with("8 item error(s): e0 | e1"));
        assert!(s.ends_with("and 3 more"));
    }
}
