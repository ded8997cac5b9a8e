//! Selective sync: a handful of SKUs (an order just changed them) fetched and applied at once,
//! outside the queue, through the same matching and apply as a batch.

use std::time::Instant;

use super::{matching, Engine, EngineError, RunContext};
use crate::store::apply::{ApplyError, ApplyItem, ApplyOutcome, ApplyTarget, BatchSnapshot, Desired};
use crate::store::catalog::{alias_for, CatalogProduct};
use crate::store::runs::Totals;

/// The most SKUs one selective sync accepts; a full sync is the tool for more.
pub const MAX_SELECTIVE_SKUS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct SkuResult {
    pub sku: String,
    pub product_id: u64,
    /// "changed", "unchanged", "not_found", "conflict" or "error".
    pub outcome: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct SelectiveOutcome {
    pub totals: Totals,
    pub results: Vec<SkuResult>,
    pub changed_product_ids: Vec<u64>,
}

impl Engine {
    /// Fetches these products from Cachicamo now and applies them outside the queue; changes are
    /// recorded under `run_id` when given.
    pub(crate) async fn sync_products(
        &self,
        ctx: &RunContext,
        snapshot: &BatchSnapshot,
        run_id: Option<u64>,
    ) -> Result<(Vec<ApplyItem>, ApplyOutcome), EngineError> {
        let started = Instant::now();
        let products = &snapshot.products;
        let keys: Vec<String> = products.iter().flat_map(|p| p.keys()).collect();
        let items = if keys.is_empty() { Vec::new() } else { ctx.client.batch_inventory(&keys, ctx.settings.plugin.price_tier).await? };
        let apply_items = matching::match_items(products, &items, &ctx.pricing);
        let target = ApplyTarget { claim: None, run_id, started };
        match self.store.apply_batch(snapshot, &apply_items, &target, &ctx.settings.shop).await {
            Ok(outcome) => Ok((apply_items, outcome)),
            Err(ApplyError::Store(e)) => Err(e.into()),
            Err(ApplyError::LeaseLost) => Err(EngineError::Store(crate::store::StoreError::Data("an apply outside the queue holds no lease".into()))),
        }
    }

    pub async fn sync_skus(&self, ctx: &RunContext, skus: &[String]) -> Result<SelectiveOutcome, EngineError> {
        let started = Instant::now();
        let snapshot = self.snapshot_for_keys(skus).await?;
        let (apply_items, outcome) = self.sync_products(ctx, &snapshot, None).await?;
        let changed: Vec<u64> = outcome.changes.iter().map(|c| c.product_id).collect();
        let mut results = Vec::with_capacity(skus.len());
        for sku in skus {
            let matched = apply_items.iter().find(|i| i.product.sku.as_deref() == Some(sku.as_str()) || alias_for(i.product.id) == *sku);
            let result = match matched {
                None => SkuResult { sku: sku.clone(), product_id: 0, outcome: "not_found", message: "no published product has this SKU".into() },
                Some(item) => {
                    let id = item.product.id;
                    let label = item.product.label();
                    let error = outcome.item_errors.iter().find(|e| e.starts_with(&label)).cloned();
                    let (kind, message) = match (&item.desired, error) {
                        (Desired::NotFound, _) => ("not_found", "Cachicamo has no item for this SKU".to_owned()),
                        (_, _) if outcome.conflicted.contains(&id) => ("conflict", "the product changed in the store while it was applied; it was left as it is".to_owned()),
                        (_, Some(e)) => ("error", e),
                        _ if changed.contains(&id) => ("changed", String::new()),
                        _ => ("unchanged", String::new()),
                    };
                    SkuResult { sku: sku.clone(), product_id: id, outcome: kind, message }
                }
            };
            results.push(result);
        }
        tracing::info!(skus = skus.len(), changed = outcome.totals.changed, ms = started.elapsed().as_millis() as u64, "selective sync");
        Ok(SelectiveOutcome { totals: outcome.totals, results, changed_product_ids: changed })
    }

    /// The published products answering to these keys (a SKU or a `WC-<id>` alias), read as a
    /// batch is. SKUs are found through the lookup table's index; a key it does not know (a
    /// stale or missing lookup row) is looked for among the `_sku` rows themselves.
    async fn snapshot_for_keys(&self, keys: &[String]) -> Result<BatchSnapshot, EngineError> {
        let answers = |p: &CatalogProduct, key: &str| p.sku.as_deref() == Some(key) || alias_for(p.id) == key;
        let mut ids = self.store.find_ids_by_keys(keys).await?;
        let mut snapshot = self.store.load_batch(&ids).await?;
        let unmatched: Vec<String> = keys.iter().filter(|k| !snapshot.products.iter().any(|p| answers(p, k))).cloned().collect();
        if !unmatched.is_empty() {
            let extra: Vec<u64> = self.store.find_ids_by_sku_meta(&unmatched).await?.into_iter().filter(|id| !ids.contains(id)).collect();
            if !extra.is_empty() {
                ids.extend(extra);
                snapshot = self.store.load_batch(&ids).await?;
            }
        }
        snapshot.products.retain(|p| keys.iter().any(|k| answers(p, k)));
        Ok(snapshot)
    }
}
