//! The Cachicamo side of the dataset: reference data and inventory items
//! shaped exactly like the API's responses.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::catalog::{Item, Product, SkuMeta, Tax};
use crate::money::display_amount;

/// UUIDs of the reference records items point to.
pub(crate) struct Reference {
    pub usd: String,
    pub ves: String,
    pub eur: String,
    pub t16: String,
    pub t8: String,
}

impl Reference {
    pub(crate) fn generate(rng: &mut StdRng) -> Self {
        let mut uuid = || {
            uuid::Builder::from_random_bytes(rng.random())
                .into_uuid()
                .to_string()
        };
        Reference {
            usd: uuid(),
            ves: uuid(),
            eur: uuid(),
            t16: uuid(),
            t8: uuid(),
        }
    }

    pub(crate) fn users_configuration(&self) -> Value {
        json!({ "base_currency_uuid": self.usd })
    }

    pub(crate) fn stores_configuration(&self) -> Value {
        json!({ "default_tax_uuid": self.t16 })
    }

    pub(crate) fn currencies(&self) -> Value {
        json!({
            "USD": { "uuid": self.usd, "iso": "USD", "name": "US Dollar" },
            "VES": { "uuid": self.ves, "iso": "VES", "name": "Bolívar" },
            "EUR": { "uuid": self.eur, "iso": "EUR", "name": "Euro" },
        })
    }

    pub(crate) fn currency_rates(&self) -> Value {
        json!({
            "system_rates": { "VES": { "rate": 36.0 } },
            "user_rates": { "VES": { "rate": 36.4731 } },
        })
    }

    pub(crate) fn taxes(&self) -> Value {
        json!([
            { "uuid": self.t16, "tax_rate": 16, "tax_family": "IVA", "tax_code": "G", "name": "IVA General" },
            { "uuid": self.t8, "tax_rate": 8, "tax_family": "IVA", "tax_code": "R", "name": "IVA Reducido" },
        ])
    }

    pub(crate) fn taxes_store(&self, store_uuid: &str) -> Value {
        json!([
            { "tax_uuid": self.t16, "store_uuid": store_uuid, "is_default": true },
            { "tax_uuid": self.t8, "store_uuid": store_uuid, "is_default": false },
        ])
    }

    fn tax_uuid(&self, tax: Tax) -> Value {
        match tax {
            Tax::Reduced => self.t8.as_str().into(),
            Tax::General => self.t16.as_str().into(),
            Tax::StoreDefault => Value::Null,
        }
    }
}

fn amount(cents: i64) -> Value {
    json!({
        "amount_float": cents as f64 / 100.0,
        "amount_format": display_amount(cents),
        "currency_iso": "USD",
    })
}

fn item_json(product: &Product, item: &Item, reference: &Reference, price_uuid: String) -> Value {
    let mut sku_list = Vec::with_capacity(2);
    if let SkuMeta::Value(sku) = &product.sku {
        sku_list.push(sku.clone());
    }
    sku_list.push(format!("WC-{}", product.id));
    // Lower tiers are fixed shares of retail, rounded down to cents.
    let base = item.retail_cents * 48 / 100;
    let min_sale = item.retail_cents * 80 / 100;
    json!({
        "product_uuid": item.uuid,
        "sku_list": sku_list,
        "stock_available": 0,
        "stock_billable": item.billable.to_json(),
        "stock_locked": 0,
        "stock_transit": 0,
        "warehouse_location": null,
        "tax_uuid": reference.tax_uuid(item.tax),
        "is_virtual": product.kind == crate::ProductKind::Virtual,
        "price": {
            "uuid": price_uuid,
            "currency_uuid": reference.usd,
            "price_type": "UNIT",
            "active": true,
            "amount_base": base * 100,
            "amount_base_format": amount(base),
            "amount_min_sale": min_sale * 100,
            "amount_min_sale_format": amount(min_sale),
            "amount_retail": item.retail_cents * 100,
            "amount_retail_format": amount(item.retail_cents),
        },
    })
}

/// One item per product that has one, sorted by `product_uuid` like the API.
pub(crate) fn build_items(
    products: &[Product],
    reference: &Reference,
    rng: &mut StdRng,
) -> Vec<Value> {
    let mut items: Vec<(String, Value)> = products
        .iter()
        .filter_map(|p| p.item.as_ref().map(|item| (p, item)))
        .map(|(p, item)| {
            let price_uuid = uuid::Builder::from_random_bytes(rng.random())
                .into_uuid()
                .to_string();
            (item.uuid.clone(), item_json(p, item, reference, price_uuid))
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.into_iter().map(|(_, v)| v).collect()
}
