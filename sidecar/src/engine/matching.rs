//! Matching Cachicamo items to a batch's products and deciding what each product should hold.
//! Keys match exactly; a real SKU wins over another product's `WC-<id>` alias of the same
//! spelling (the old plugin parsed any `WC-` SKU as an id). A product claimed by two different
//! items is ambiguous and left alone, with the reason.

use std::collections::HashMap;

use crate::cachicamo::{InventoryItem, PricingContext};
use crate::store::apply::{ApplyItem, Desired};
use crate::store::catalog::{alias_for, CatalogProduct};

pub fn match_items(products: &[CatalogProduct], items: &[InventoryItem], pricing: &PricingContext) -> Vec<ApplyItem> {
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, p) in products.iter().enumerate() {
        if let Some(sku) = &p.sku {
            by_key.entry(sku.clone()).or_insert(i);
        }
    }
    for (i, p) in products.iter().enumerate() {
        by_key.entry(alias_for(p.id)).or_insert(i);
    }

    let mut claimed: Vec<Vec<&InventoryItem>> = vec![Vec::new(); products.len()];
    for item in items {
        let mut seen: Vec<usize> = Vec::new();
        for key in &item.sku_list {
            if let Some(&i) = by_key.get(key) {
                if !seen.contains(&i) {
                    seen.push(i);
                    claimed[i].push(item);
                }
            }
        }
    }

    products
        .iter()
        .zip(claimed)
        .map(|(p, found)| {
            let desired = match found.as_slice() {
                [] => Desired::NotFound,
                [item] => desired_from(item, pricing),
                several => {
                    let uuids: Vec<&str> = several.iter().map(|i| i.product_uuid.as_str()).collect();
                    Desired::Failed(format!(
                        "Cachicamo returned {} items for it ({}); fix the duplicate SKU in Cachicamo",
                        several.len(),
                        uuids.join(", ")
                    ))
                }
            };
            ApplyItem { product: p.clone(), desired }
        })
        .collect()
}

fn desired_from(item: &InventoryItem, pricing: &PricingContext) -> Desired {
    let stock = Some(item.stock_quantity());
    let price = item.price.as_ref().map(|p| {
        p.clone().and_then(|tier| pricing.price(&tier, item.tax_uuid.as_deref()).map_err(|e| e.to_string()))
    });
    Desired::Update { stock, price }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cachicamo::PriceTier;
    use crate::store::catalog::ProductKind;
    use rust_decimal::Decimal;
    use serde_json::json;

    fn product(id: u64, sku: Option<&str>) -> CatalogProduct {
        CatalogProduct { id, parent_id: 0, kind: ProductKind::Simple, sku: sku.map(Into::into) }
    }

    fn item(v: serde_json::Value) -> InventoryItem {
        InventoryItem::from_json(&v, PriceTier::Retail).expect("item")
    }

    fn ctx() -> PricingContext {
        PricingContext::from_parts("USD", "USD", &[], &[], None, None)
    }

    #[test]
    fn matches_by_sku_or_alias_once_per_product() {
        let products = vec![product(1, Some("A")), product(2, None), product(3, Some("C"))];
        let items = vec![
            item(json!({"product_uuid":"u1","sku_list":["A","WC-1"],"stock_billable":4,
                "price":{"amount_retail_format":{"amount_float":2.5,"currency_iso":"USD"}}})),
            item(json!({"product_uuid":"u2","sku_list":["WC-2"],"stock_billable":-1})),
        ];
        let out = match_items(&products, &items, &ctx());
        assert_eq!(out[0].desired, Desired::Update { stock: Some(Ok(4)), price: Some(Ok(Decimal::new(25, 1))) });
        assert_eq!(out[1].desired, Desired::Update { stock: Some(Ok(0)), price: None });
        assert_eq!(out[2].desired, Desired::NotFound);
    }

    #[test]
    fn a_real_sku_that_looks_like_an_alias_is_a_sku() {
        let products = vec![product(5, None), product(9, Some("WC-5"))];
        let items = vec![item(json!({"product_uuid":"u","sku_list":["WC-5"],"stock_billable":1}))];
        let out = match_items(&products, &items, &ctx());
        assert_eq!(out[0].desired, Desired::NotFound);
        assert!(matches!(out[1].desired, Desired::Update { .. }));
    }

    #[test]
    fn two_items_for_one_product_are_ambiguous() {
        let products = vec![product(1, Some("A"))];
        let items = vec![
            item(json!({"product_uuid":"u1","sku_list":["A"],"stock_billable":1})),
            item(json!({"product_uuid":"u2","sku_list":["WC-1"],"stock_billable":2})),
        ];
        let out = match_items(&products, &items, &ctx());
        match &out[0].desired {
            Desired::Failed(reason) => assert!(reason.contains("u1, u2"), "{reason}"),
            other => panic!("expected ambiguity, got {other:?}"),
        }
    }

    #[test]
    fn an_invalid_price_keeps_the_stock() {
        let products = vec![product(1, Some("A"))];
        let items = vec![item(json!({"product_uuid":"u","sku_list":["A"],"stock_billable":3,
            "price":{"amount_retail_format":{"amount_float":0.004,"currency_iso":"USD"}}}))];
        let out = match_items(&products, &items, &ctx());
        match &out[0].desired {
            Desired::Update { stock, price } => {
                assert_eq!(stock, &Some(Ok(3)));
                assert!(price.as_ref().is_some_and(|p| p.as_ref().is_err_and(|e| e.contains("below"))));
            }
            other => panic!("{other:?}"),
        }
    }
}
