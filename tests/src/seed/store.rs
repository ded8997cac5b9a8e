//! Writes the generated catalog and settings into the WordPress tables with
//! multi-row, parameterised INSERTs.

use mysql_async::prelude::Queryable;
use mysql_async::{Transaction, Value};
use serde::Serialize;

use super::catalog::{Product, SkuMeta, Values, SALE_PRICE};
use crate::dataset::ProductKind;
use crate::money::lookup_price;
use crate::wc_terms::TermIds;

/// Rows per INSERT statement: big enough to be fast, far below the
/// 65,535-placeholder limit.
const CHUNK_ROWS: usize = 1000;
/// All seeded posts share one timestamp so a seed is reproducible.
const POST_DATE: &str = "2024-01-01 00:00:00";
pub const SETTINGS_OPTION: &str = "woocommerce_cachicamoapp-for-woo-manager_settings";

/// INSERTs `rows` in chunks; `head` ends with `VALUES` and `tuple` is one
/// row's placeholder list like `(?, ?, ?)`.
async fn insert_chunked(
    tx: &mut Transaction<'_>,
    head: &str,
    tuple: &str,
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<(), mysql_async::Error> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(CHUNK_ROWS).collect();
        let mut sql = String::with_capacity(head.len() + chunk.len() * (tuple.len() + 1));
        sql.push_str(head);
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(tuple);
        }
        let params: Vec<Value> = chunk.into_iter().flatten().collect();
        tx.exec_drop(sql, params).await?;
    }
    Ok(())
}

pub(crate) async fn write_posts(
    tx: &mut Transaction<'_>,
    p: &str,
    products: &[Product],
) -> Result<(), mysql_async::Error> {
    let head = format!(
        "INSERT INTO `{p}posts` (ID, post_author, post_date, post_date_gmt, post_content, \
         post_title, post_excerpt, post_status, comment_status, ping_status, post_password, \
         post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, \
         post_parent, guid, menu_order, post_type, post_mime_type, comment_count) VALUES "
    );
    let tuple =
        "(?, 1, ?, ?, '', ?, '', ?, ?, 'closed', '', ?, '', '', ?, ?, '', ?, ?, ?, ?, '', 0)";
    let mut menu_order = 0u64;
    let rows = products.iter().map(|prod| {
        let (post_type, comment_status) = match prod.kind {
            ProductKind::Variation => ("product_variation", "closed"),
            _ => ("product", "open"),
        };
        menu_order = if prod.parent_id == 0 {
            0
        } else {
            menu_order + 1
        };
        let slug = prod.title.to_lowercase().replace(' ', "-");
        vec![
            prod.id.into(),
            POST_DATE.into(),
            POST_DATE.into(),
            prod.title.as_str().into(),
            prod.post_status().into(),
            comment_status.into(),
            slug.into(),
            POST_DATE.into(),
            POST_DATE.into(),
            prod.parent_id.into(),
            format!("https://shop.example/?post_type={post_type}&p={}", prod.id).into(),
            menu_order.into(),
            post_type.into(),
        ]
    });
    insert_chunked(tx, &head, tuple, rows).await
}

/// The postmeta rows of one product, in the order WooCommerce would add them.
fn meta_of(prod: &Product) -> Vec<(&'static str, String)> {
    let mut meta: Vec<(&'static str, String)> = Vec::with_capacity(12);
    match &prod.sku {
        SkuMeta::Value(s) => meta.push(("_sku", s.clone())),
        SkuMeta::Empty => meta.push(("_sku", String::new())),
        SkuMeta::Absent => {}
    }
    match &prod.values {
        Values::Leaf { current, .. } => {
            meta.push(("_regular_price", current.regular_str()));
            if current.on_sale {
                meta.push(("_sale_price", SALE_PRICE.to_owned()));
            }
            meta.push(("_price", current.price_str()));
            if let Some(stock) = current.stock {
                meta.push(("_stock", stock.to_string()));
            }
            let manage = if current.stock.is_some() { "yes" } else { "no" };
            meta.push(("_manage_stock", manage.to_owned()));
            meta.push(("_stock_status", current.status().to_owned()));
        }
        Values::Parent { current, .. } => {
            meta.push(("_manage_stock", "no".to_owned()));
            meta.push(("_stock_status", current.status().to_owned()));
            meta.extend(current.prices.iter().map(|(_, s)| ("_price", s.clone())));
        }
    }
    let is_virtual = if prod.kind == ProductKind::Virtual {
        "yes"
    } else {
        "no"
    };
    meta.push(("_backorders", "no".to_owned()));
    meta.push(("_virtual", is_virtual.to_owned()));
    meta.push(("_downloadable", "no".to_owned()));
    meta.push(("_tax_status", "taxable".to_owned()));
    meta.push(("_tax_class", String::new()));
    meta
}

pub(crate) async fn write_meta(
    tx: &mut Transaction<'_>,
    p: &str,
    products: &[Product],
) -> Result<(), mysql_async::Error> {
    let head = format!("INSERT INTO `{p}postmeta` (post_id, meta_key, meta_value) VALUES ");
    let rows = products.iter().flat_map(|prod| {
        meta_of(prod)
            .into_iter()
            .map(move |(k, v)| vec![prod.id.into(), k.into(), v.into()])
    });
    insert_chunked(tx, &head, "(?, ?, ?)", rows).await
}

pub(crate) async fn write_lookup(
    tx: &mut Transaction<'_>,
    p: &str,
    products: &[Product],
) -> Result<(), mysql_async::Error> {
    let head = format!(
        "INSERT INTO `{p}wc_product_meta_lookup` (product_id, sku, global_unique_id, `virtual`, \
         downloadable, min_price, max_price, onsale, stock_quantity, stock_status, rating_count, \
         average_rating, total_sales, tax_status, tax_class) VALUES "
    );
    let tuple = "(?, ?, '', ?, 0, ?, ?, ?, ?, ?, 0, 0, 0, 'taxable', '')";
    let rows = products.iter().map(|prod| {
        let (min, max, onsale, stock, status) = match &prod.values {
            Values::Leaf { current, .. } => {
                let price = Some(lookup_price(current.price()));
                let stock = current.stock.map(|s| s as f64);
                (
                    price.clone(),
                    price,
                    current.on_sale,
                    stock,
                    current.status(),
                )
            }
            Values::Parent { current, .. } => (
                current.min().map(lookup_price),
                current.max().map(lookup_price),
                false,
                None,
                current.status(),
            ),
        };
        vec![
            prod.id.into(),
            prod.sku.as_str().into(),
            (prod.kind == ProductKind::Virtual).into(),
            min.into(),
            max.into(),
            onsale.into(),
            stock.into(),
            status.into(),
        ]
    });
    insert_chunked(tx, &head, tuple, rows).await
}

pub(crate) async fn write_terms(
    tx: &mut Transaction<'_>,
    p: &str,
    products: &[Product],
    terms: TermIds,
) -> Result<(), mysql_async::Error> {
    let head = format!(
        "INSERT INTO `{p}term_relationships` (object_id, term_taxonomy_id, term_order) VALUES "
    );
    let rows = products.iter().flat_map(|prod| {
        let product_type = match prod.kind {
            ProductKind::Simple | ProductKind::Virtual => Some(terms.simple),
            ProductKind::Variable => Some(terms.variable),
            ProductKind::Variation => None,
        };
        let status = match &prod.values {
            Values::Leaf { current, .. } => current.status(),
            Values::Parent { current, .. } => current.status(),
        };
        let outofstock = (status == "outofstock").then_some(terms.outofstock);
        product_type
            .into_iter()
            .chain(outofstock)
            .map(move |tt| vec![prod.id.into(), tt.into()])
    });
    insert_chunked(tx, &head, "(?, ?, 0)", rows).await
}

/// The plugin's integration settings, in its form-field order.
#[derive(Serialize)]
struct PluginSettings<'a> {
    access_token: &'a str,
    store_uuid: &'a str,
    employee_uuid: &'a str,
    price_type: &'a str,
    cron_time: &'a str,
    debug: &'a str,
}

pub(crate) async fn write_options(
    tx: &mut Transaction<'_>,
    p: &str,
    access_token: &str,
    store_uuid: &str,
) -> Result<(), super::SeedError> {
    let settings = php_serde::to_vec(&PluginSettings {
        access_token,
        store_uuid,
        employee_uuid: "",
        price_type: "retail",
        cron_time: "720",
        debug: "no",
    })?;
    let options: [(&str, Vec<u8>); 6] = [
        (SETTINGS_OPTION, settings),
        ("woocommerce_currency", b"USD".to_vec()),
        ("woocommerce_notify_no_stock_amount", b"0".to_vec()),
        ("woocommerce_hide_out_of_stock_items", b"no".to_vec()),
        ("timezone_string", Vec::new()),
        ("gmt_offset", b"0".to_vec()),
    ];
    let head = format!("INSERT INTO `{p}options` (option_name, option_value, autoload) VALUES ");
    let sql_tail =
        " ON DUPLICATE KEY UPDATE option_value = VALUES(option_value), autoload = VALUES(autoload)";
    let rows: Vec<Vec<Value>> = options
        .into_iter()
        .map(|(name, value)| vec![name.into(), value.into()])
        .collect();
    let mut sql = head;
    sql.push_str(&vec!["(?, ?, 'yes')"; rows.len()].join(","));
    sql.push_str(sql_tail);
    tx.exec_drop(sql, rows.into_iter().flatten().collect::<Vec<_>>())
        .await?;
    Ok(())
}
