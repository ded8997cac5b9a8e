//! Applying one batch of Cachicamo values to WooCommerce's tables, in ONE transaction.
//!
//! For every product the current rows are read, the new values computed, and only what differs
//! is written, each write a compare-and-set on the value read (`… WHERE meta_value = <read>`):
//! a sale that lands between read and write makes the write miss, and the product is counted as
//! a conflict instead of being overwritten with stale stock. Derived state follows the write:
//! stock status, the lookup table, the `outofstock` visibility term and variable parents. The
//! batch row is completed in the same transaction, and only while this worker still holds its
//! lease, so an applied batch is never half-visible and never applied by two workers.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;
use std::time::Instant;

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Transaction, Value};
use rust_decimal::Decimal;

use super::catalog::{CatalogProduct, ProductKind};
use super::queue::Claim;
use super::runs::Totals;
use super::settings::ShopSettings;
use super::{placeholders, read_committed, SqlContext, Store, StoreError, Tables};
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

/// A pending meta write, applied at the end as multi-row statements.
struct MetaInsert {
    post_id: u64,
    key: &'static str,
    value: String,
}

struct Applier<'t, 'c> {
    tx: Transaction<'c>,
    t: &'t Tables,
    shop: &'t ShopSettings,
    now_unix: i64,
    oos_term: Option<u64>,
    inserts: Vec<MetaInsert>,
    deletes: Vec<u64>,
    term_changed: bool,
}

impl Store {
    /// Applies a batch; see the module comment. Deadlocks and lock-wait timeouts retry the whole
    /// transaction a few times before giving up.
    pub async fn apply_batch(&self, items: &[ApplyItem], target: &ApplyTarget<'_>, shop: &ShopSettings) -> Result<ApplyOutcome, ApplyError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(items, target, shop).await {
                Err(ApplyError::Store(e)) if e.is_retryable_conflict() && attempt < 5 => {
                    tracing::debug!(attempt, error = %e, "apply hit a lock conflict, retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn apply_once(&self, items: &[ApplyItem], target: &ApplyTarget<'_>, shop: &ShopSettings) -> Result<ApplyOutcome, ApplyError> {
        let t = self.tables();
        let mut conn = self.conn().await?;
        let tx = conn
            .start_transaction(read_committed())
            .await
            .ctx("starting the apply transaction")?;
        let mut a = Applier {
            tx,
            t,
            shop,
            now_unix: chrono::Utc::now().timestamp(),
            oos_term: None,
            inserts: Vec::new(),
            deletes: Vec::new(),
            term_changed: false,
        };
        a.oos_term = a.outofstock_term().await?;

        let ids: Vec<u64> = items.iter().map(|i| i.product.id).collect();
        let meta = a.read_meta(&ids).await?;
        let lookups = a.read_lookups(&ids).await?;
        let with_term = a.read_oos_terms(&ids).await?;

        let mut out = ApplyOutcome::default();
        let mut parents: BTreeSet<u64> = BTreeSet::new();
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
            let m = meta.get(&p.id).cloned().unwrap_or_default();
            let lk = lookups.get(&p.id).cloned();
            let result = a.apply_product(p, stock.as_ref(), price.as_ref(), &m, lk.as_ref(), with_term.contains(&p.id)).await?;
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

        a.flush_meta().await?;
        let parent_ids: Vec<u64> = parents.into_iter().filter(|&id| id != 0).collect();
        let parent_changes = a.sync_parents(&parent_ids).await?;
        out.changes.extend(parent_changes);
        a.flush_meta().await?;
        a.recount_oos_term().await?;
        a.record_changes(&out.changes, target).await?;

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

struct ProductResult {
    conflict: bool,
    change: Option<ChangeRecord>,
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

    async fn read_meta(&mut self, ids: &[u64]) -> Result<HashMap<u64, Meta>, StoreError> {
        let mut out: HashMap<u64, Meta> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT post_id, meta_id, meta_key, meta_value FROM {} WHERE post_id IN ({}) AND meta_key IN ({}) ORDER BY meta_id",
            self.t.postmeta,
            placeholders(ids.len()),
            placeholders(META_KEYS.len())
        );
        let mut params: Vec<Value> = ids.iter().map(|&i| i.into()).collect();
        params.extend(META_KEYS.iter().map(|&k| k.into()));
        let rows: Vec<(u64, u64, String, Option<Vec<u8>>)> = self.tx.exec(sql, params).await.ctx("reading current stock and prices")?;
        for (post_id, meta_id, key, value) in rows {
            let value = value.map(|v| String::from_utf8_lossy(&v).into_owned()).unwrap_or_default();
            let m = out.entry(post_id).or_default();
            if key == "_price" {
                m.price_rows.push((meta_id, value.clone()));
            }
            m.rows.entry(key).or_insert((meta_id, value));
        }
        Ok(out)
    }

    async fn read_lookups(&mut self, ids: &[u64]) -> Result<HashMap<u64, Lookup>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT product_id, stock_quantity, stock_status, CAST(min_price AS CHAR), CAST(max_price AS CHAR), onsale
             FROM {} WHERE product_id IN ({})",
            self.t.lookup,
            placeholders(ids.len())
        );
        let rows: Vec<(u64, Option<f64>, String, Option<String>, Option<String>, i64)> =
            self.tx.exec(sql, ids.to_vec()).await.ctx("reading the product lookup table")?;
        Ok(rows
            .into_iter()
            .map(|(id, q, s, min, max, onsale)| (id, Lookup { stock_quantity: q, stock_status: s, min_price: min, max_price: max, onsale: onsale != 0 }))
            .collect())
    }

    async fn read_oos_terms(&mut self, ids: &[u64]) -> Result<HashSet<u64>, StoreError> {
        let Some(tt) = self.oos_term else { return Ok(HashSet::new()) };
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT object_id FROM {} WHERE term_taxonomy_id = ? AND object_id IN ({})",
            self.t.term_relationships,
            placeholders(ids.len())
        );
        let mut params: Vec<Value> = vec![tt.into()];
        params.extend(ids.iter().map(|&i| Value::from(i)));
        let rows: Vec<u64> = self.tx.exec(sql, params).await.ctx("reading visibility terms")?;
        Ok(rows.into_iter().collect())
    }

    /// Sets one meta value: compare-and-set when the row exists, insert when it does not.
    /// False means the row changed since it was read.
    async fn set_meta(&mut self, post_id: u64, key: &'static str, current: Option<&(u64, String)>, value: String) -> Result<bool, StoreError> {
        match current {
            Some((meta_id, old)) => {
                self.tx
                    .exec_drop(
                        format!("UPDATE {} SET meta_value = ? WHERE meta_id = ? AND meta_value = ?", self.t.postmeta),
                        (value, *meta_id, old.as_str()),
                    )
                    .await
                    .ctx("writing product meta")?;
                Ok(self.tx.affected_rows() == 1)
            }
            None => {
                self.inserts.push(MetaInsert { post_id, key, value });
                Ok(true)
            }
        }
    }

    async fn flush_meta(&mut self) -> Result<(), StoreError> {
        for chunk in std::mem::take(&mut self.inserts).chunks(500) {
            let sql = format!(
                "INSERT INTO {} (post_id, meta_key, meta_value) VALUES {}",
                self.t.postmeta,
                vec!["(?, ?, ?)"; chunk.len()].join(", ")
            );
            let params: Vec<Value> = chunk.iter().flat_map(|m| [m.post_id.into(), m.key.into(), m.value.clone().into()]).collect();
            self.tx.exec_drop(sql, params).await.ctx("inserting product meta")?;
        }
        let deletes = std::mem::take(&mut self.deletes);
        if !deletes.is_empty() {
            let sql = format!("DELETE FROM {} WHERE meta_id IN ({})", self.t.postmeta, placeholders(deletes.len()));
            self.tx.exec_drop(sql, deletes).await.ctx("deleting product meta")?;
        }
        Ok(())
    }

    async fn set_oos_term(&mut self, id: u64, has_term: bool, status: &str) -> Result<(), StoreError> {
        let Some(tt) = self.oos_term else { return Ok(()) };
        let want = status == "outofstock";
        if want && !has_term {
            self.tx
                .exec_drop(
                    format!("INSERT IGNORE INTO {} (object_id, term_taxonomy_id, term_order) VALUES (?, ?, 0)", self.t.term_relationships),
                    (id, tt),
                )
                .await
                .ctx("adding the outofstock term")?;
            self.term_changed = true;
        } else if !want && has_term {
            self.tx
                .exec_drop(format!("DELETE FROM {} WHERE object_id = ? AND term_taxonomy_id = ?", self.t.term_relationships), (id, tt))
                .await
                .ctx("removing the outofstock term")?;
            self.term_changed = true;
        }
        Ok(())
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

    /// Updates only the given lookup columns, or creates the row WooCommerce would have.
    async fn write_lookup(&mut self, id: u64, exists: bool, sets: Vec<(&'static str, Value)>, sku: &str, is_virtual: bool) -> Result<(), StoreError> {
        if sets.is_empty() {
            return Ok(());
        }
        if exists {
            let cols: Vec<String> = sets.iter().map(|(c, _)| format!("{c} = ?")).collect();
            let mut params: Vec<Value> = sets.into_iter().map(|(_, v)| v).collect();
            params.push(id.into());
            self.tx
                .exec_drop(format!("UPDATE {} SET {} WHERE product_id = ?", self.t.lookup, cols.join(", ")), params)
                .await
                .ctx("updating the product lookup table")?;
        } else {
            let mut cols = vec!["product_id", "sku", "virtual"];
            let mut params: Vec<Value> = vec![id.into(), sku.into(), (is_virtual as i32).into()];
            for (c, v) in sets {
                cols.push(c);
                params.push(v);
            }
            self.tx
                .exec_drop(
                    format!("INSERT IGNORE INTO {} ({}) VALUES ({})", self.t.lookup, cols.join(", "), placeholders(cols.len())),
                    params,
                )
                .await
                .ctx("creating a product lookup row")?;
        }
        Ok(())
    }

    async fn apply_product(
        &mut self,
        p: &CatalogProduct,
        stock: Option<&Result<i64, String>>,
        price: Option<&Result<Decimal, String>>,
        m: &Meta,
        lookup: Option<&Lookup>,
        has_oos_term: bool,
    ) -> Result<ProductResult, StoreError> {
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
                stock_ok = self.set_meta(p.id, "_stock", cur_stock, qty.to_string()).await?;
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
                    self.set_meta(p.id, "_manage_stock", m.get("_manage_stock"), "yes".into()).await?;
                    changed = true;
                }
                let cur_status = m.value("_stock_status");
                if cur_status != Some(status) {
                    self.set_meta(p.id, "_stock_status", m.get("_stock_status"), status.into()).await?;
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
                if has_oos_term != (status == "outofstock") {
                    self.set_oos_term(p.id, has_oos_term, status).await?;
                    changed = true;
                }
            }
        }

        // Price: the regular price; the sale price is kept (a promotion is the shop's), unless
        // it is no longer below the regular one, which WooCommerce would blank too.
        if let (Some(Ok(regular)), true) = (price, p.kind != ProductKind::Variable) {
            let regular = regular.normalize();
            let cur_regular = m.get("_regular_price");
            let mut price_ok = true;
            if !same_number(cur_regular.map(|(_, v)| v.as_str()), regular) {
                price_ok = self.set_meta(p.id, "_regular_price", cur_regular, format_price(regular)).await?;
                if !price_ok {
                    conflict = true;
                }
            }
            if price_ok {
                let sale = m.value("_sale_price").and_then(dec);
                let sale_kept = sale.filter(|s| *s < regular);
                if sale.is_some() && sale_kept.is_none() {
                    if let Some((id, _)) = m.get("_sale_price") {
                        self.deletes.push(*id);
                        changed = true;
                    }
                }
                let in_window = |key: &str, cmp: fn(i64, i64) -> bool| {
                    m.value(key).and_then(|v| v.trim().parse::<i64>().ok()).is_none_or(|ts| cmp(ts, self.now_unix))
                };
                let on_sale = sale_kept.is_some() && in_window("_sale_price_dates_from", |ts, now| ts <= now) && in_window("_sale_price_dates_to", |ts, now| ts >= now);
                let effective = if on_sale { sale_kept.unwrap_or(regular) } else { regular };
                let cur_price = m.get("_price");
                if !same_number(cur_price.map(|(_, v)| v.as_str()), effective) {
                    if self.set_meta(p.id, "_price", cur_price, format_price(effective)).await? {
                        change.old_price = cur_price.map(|(_, v)| v.clone());
                        change.new_price = Some(format_price(effective));
                    } else {
                        conflict = true;
                    }
                } else if !same_number(cur_regular.map(|(_, v)| v.as_str()), regular) {
                    change.old_price = cur_regular.map(|(_, v)| v.clone());
                    change.new_price = Some(format_price(regular));
                }
                if !same_number(cur_regular.map(|(_, v)| v.as_str()), regular) {
                    changed = true;
                }
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

        if !lookup_sets.is_empty() {
            self.write_lookup(p.id, lookup.is_some(), lookup_sets, p.sku.as_deref().unwrap_or(""), is_virtual).await?;
        }
        Ok(ProductResult { conflict, change: changed.then_some(change) })
    }

    /// What `WC_Product_Variable::sync()` derives for a parent from its children: one `_price`
    /// row per distinct visible child price, no regular or sale price of its own, the lookup
    /// range, and (when it does not manage stock) a stock status taken from its children.
    async fn sync_parents(&mut self, parents: &[u64]) -> Result<Vec<ChangeRecord>, StoreError> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        // Lock the parents so two batches holding children of one parent recompute it in turn,
        // each seeing the other's committed children.
        let _: Vec<u64> = self
            .tx
            .exec(
                format!("SELECT ID FROM {} WHERE ID IN ({}) ORDER BY ID FOR UPDATE", self.t.posts, placeholders(parents.len())),
                parents.to_vec(),
            )
            .await
            .ctx("locking variable parents")?;
        let sql = format!(
            "SELECT p.ID, p.post_parent, p.post_status,
                (SELECT meta_value FROM {pm} WHERE post_id = p.ID AND meta_key = '_price' ORDER BY meta_id LIMIT 1),
                (SELECT meta_value FROM {pm} WHERE post_id = p.ID AND meta_key = '_stock_status' ORDER BY meta_id LIMIT 1)
             FROM {posts} p WHERE p.post_parent IN ({ph}) AND p.post_type = 'product_variation' AND p.post_status IN ('publish', 'private')",
            pm = self.t.postmeta,
            posts = self.t.posts,
            ph = placeholders(parents.len())
        );
        let children: Vec<(u64, u64, String, Option<String>, Option<String>)> =
            self.tx.exec(sql, parents.to_vec()).await.ctx("reading variations")?;
        let meta = self.read_meta(parents).await?;
        let lookups = self.read_lookups(parents).await?;
        let with_term = self.read_oos_terms(parents).await?;
        let skus: HashMap<u64, String> = {
            let sql = format!("SELECT post_id, meta_value FROM {} WHERE meta_key = '_sku' AND post_id IN ({})", self.t.postmeta, placeholders(parents.len()));
            let rows: Vec<(u64, Option<String>)> = self.tx.exec(sql, parents.to_vec()).await.ctx("reading parent SKUs")?;
            rows.into_iter().map(|(id, s)| (id, s.unwrap_or_default())).collect()
        };

        let mut changes = Vec::new();
        for &parent in parents {
            let m = meta.get(&parent).cloned().unwrap_or_default();
            let lookup = lookups.get(&parent);
            let mine: Vec<&(u64, u64, String, Option<String>, Option<String>)> = children.iter().filter(|c| c.1 == parent).collect();
            let mut change = ChangeRecord { product_id: parent, sku: skus.get(&parent).cloned().unwrap_or_default(), ..ChangeRecord::default() };
            let mut changed = false;

            let visible = |c: &&&(u64, u64, String, Option<String>, Option<String>)| {
                c.2 == "publish" && !(self.shop.hide_out_of_stock && c.4.as_deref() == Some("outofstock"))
            };
            let prices: BTreeSet<Decimal> = mine.iter().filter(visible).filter_map(|c| c.3.as_deref().and_then(dec)).map(|d| d.normalize()).collect();
            let current: Vec<Decimal> = m.price_rows.iter().filter_map(|(_, v)| dec(v)).map(|d| d.normalize()).collect();
            if current.len() != m.price_rows.len() || current.iter().copied().collect::<BTreeSet<_>>() != prices || current.len() != prices.len() {
                self.deletes.extend(m.price_rows.iter().map(|(id, _)| *id));
                for p in &prices {
                    self.inserts.push(MetaInsert { post_id: parent, key: "_price", value: format_price(*p) });
                }
                change.old_price = current.iter().min().map(|d| format_price(*d));
                change.new_price = prices.first().map(|d| format_price(*d));
                changed = true;
            }
            for key in ["_regular_price", "_sale_price"] {
                if let Some((id, _)) = m.get(key) {
                    self.deletes.push(*id);
                    changed = true;
                }
            }
            let mut sets: Vec<(&'static str, Value)> = Vec::new();
            let min = prices.first().map(|d| lookup_price(*d));
            let max = prices.last().map(|d| lookup_price(*d));
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
                let published: Vec<&str> = mine.iter().filter(|c| c.2 == "publish").map(|c| c.4.as_deref().unwrap_or("instock")).collect();
                let status = if published.contains(&"instock") {
                    "instock"
                } else if published.contains(&"onbackorder") {
                    "onbackorder"
                } else {
                    "outofstock"
                };
                let cur = m.value("_stock_status");
                if cur != Some(status) {
                    self.set_meta(parent, "_stock_status", m.get("_stock_status"), status.into()).await?;
                    change.old_stock_status = cur.map(str::to_owned);
                    change.new_stock_status = Some(status.into());
                    changed = true;
                }
                if lookup.map(|l| l.stock_status.as_str()) != Some(status) {
                    sets.push(("stock_status", status.into()));
                }
                let has = with_term.contains(&parent);
                if has != (status == "outofstock") {
                    self.set_oos_term(parent, has, status).await?;
                    changed = true;
                }
            }
            let sku = change.sku.clone();
            self.write_lookup(parent, lookup.is_some(), sets, &sku, false).await?;
            if changed {
                changes.push(change);
            }
        }
        Ok(changes)
    }

    async fn record_changes(&mut self, changes: &[ChangeRecord], target: &ApplyTarget<'_>) -> Result<(), StoreError> {
        for chunk in changes.chunks(200) {
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
