//! Splitting the catalog into batches of at most `batch_size` keys. A product's SKU and alias
//! always travel together (so it is counted once), and a variable product stays in one batch with
//! its variations whenever they fit, so its parent is recomputed once with all of them.

use crate::store::catalog::{CatalogProduct, ProductKind};
use crate::store::runs::PlannedBatch;

pub fn plan_batches(catalog: &[CatalogProduct], batch_size: usize) -> Vec<PlannedBatch> {
    let mut batches = Vec::new();
    let mut current = PlannedBatch { product_ids: Vec::new(), keys: Vec::new() };
    let push = |b: &mut PlannedBatch, batches: &mut Vec<PlannedBatch>| {
        if !b.product_ids.is_empty() {
            batches.push(std::mem::replace(b, PlannedBatch { product_ids: Vec::new(), keys: Vec::new() }));
        }
    };
    for group in groups(catalog) {
        let group_keys: usize = group.iter().map(|p| p.keys().len()).sum();
        if current.keys.len() + group_keys > batch_size {
            push(&mut current, &mut batches);
        }
        for p in group {
            let keys = p.keys();
            if current.keys.len() + keys.len() > batch_size {
                push(&mut current, &mut batches);
            }
            current.product_ids.push(p.id);
            current.keys.extend(keys);
        }
    }
    push(&mut current, &mut batches);
    batches
}

/// Consecutive runs of a variable parent and its variations (the catalog is read in that order);
/// every other product is a group of its own.
fn groups(catalog: &[CatalogProduct]) -> Vec<&[CatalogProduct]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=catalog.len() {
        let continues = i < catalog.len() && {
            let p = &catalog[i];
            let head = &catalog[start];
            p.kind == ProductKind::Variation && (p.parent_id == head.id || p.parent_id == head.parent_id)
        };
        if !continues {
            out.push(&catalog[start..i]);
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(id: u64, sku: Option<&str>) -> CatalogProduct {
        CatalogProduct { id, parent_id: 0, kind: ProductKind::Simple, sku: sku.map(Into::into) }
    }

    #[test]
    fn never_splits_a_products_keys() {
        let catalog: Vec<CatalogProduct> = (1..=7).map(|i| simple(i, Some("S"))).collect();
        let plan = plan_batches(&catalog, 5);
        assert!(plan.iter().all(|b| b.keys.len() <= 5 && b.keys.len() % 2 == 0));
        let ids: Vec<u64> = plan.iter().flat_map(|b| b.product_ids.clone()).collect();
        assert_eq!(ids, (1..=7).collect::<Vec<_>>());
    }

    #[test]
    fn keeps_a_variable_product_with_its_variations() {
        let mut catalog = vec![simple(1, Some("A")), simple(2, Some("B"))];
        catalog.push(CatalogProduct { id: 10, parent_id: 0, kind: ProductKind::Variable, sku: Some("V".into()) });
        for v in 11..=12 {
            catalog.push(CatalogProduct { id: v, parent_id: 10, kind: ProductKind::Variation, sku: None });
        }
        let plan = plan_batches(&catalog, 6);
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[0].product_ids, vec![1, 2]);
        assert_eq!(plan[1].product_ids, vec![10, 11, 12]);
        assert_eq!(plan[1].keys, vec!["V", "WC-10", "WC-11", "WC-12"]);
    }

    #[test]
    fn an_oversized_group_is_split_by_product() {
        let mut catalog = vec![CatalogProduct { id: 10, parent_id: 0, kind: ProductKind::Variable, sku: None }];
        for v in 11..=20 {
            catalog.push(CatalogProduct { id: v, parent_id: 10, kind: ProductKind::Variation, sku: Some(format!("V{v}")) });
        }
        let plan = plan_batches(&catalog, 4);
        assert!(plan.iter().all(|b| b.keys.len() <= 4));
        assert_eq!(plan.iter().map(|b| b.product_ids.len()).sum::<usize>(), 11);
    }
}
