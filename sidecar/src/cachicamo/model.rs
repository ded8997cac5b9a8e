//! The API's JSON, read leniently where the contract is loose and strictly where a wrong value
//! would reach the storefront: a malformed field becomes an error for that item, never a guess.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

/// Largest stock quantity accepted; anything above is taken as corrupt data, not as stock.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// Which price of an item the shop sells at (`price_type` in the plugin's settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PriceTier {
    Base,
    MinSale,
    #[default]
    Retail,
}

impl PriceTier {
    /// The old plugin's setting values; anything unknown falls back to retail as it did.
    pub fn from_setting(value: &str) -> Self {
        match value.trim() {
            "base" => Self::Base,
            "min_sale" => Self::MinSale,
            _ => Self::Retail,
        }
    }

    pub fn format_field(self) -> &'static str {
        match self {
            Self::Base => "amount_base_format",
            Self::MinSale => "amount_min_sale_format",
            Self::Retail => "amount_retail_format",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::MinSale => "min_sale",
            Self::Retail => "retail",
        }
    }
}

/// The chosen tier's amount and currency, or why it cannot be used.
#[derive(Clone, Debug, PartialEq)]
pub struct TierPrice {
    pub amount: Decimal,
    pub currency_iso: String,
}

/// One element of the batch endpoint's answer, validated field by field.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryItem {
    pub product_uuid: String,
    pub sku_list: Vec<String>,
    pub stock_billable: Result<Decimal, String>,
    pub tax_uuid: Option<String>,
    /// `None`: the item has no price (only stock is written).
    pub price: Option<Result<TierPrice, String>>,
}

/// Why a whole body was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    #[error("the response is not JSON ({0})")]
    NotJson(String),
    #[error("the response is JSON but not an array of items (got {0})")]
    NotArray(&'static str),
}

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a batch response body. Items without a usable `sku_list` cannot be matched to any
/// product and are dropped here; every other defect stays attached to its item.
pub fn parse_batch_body(body: &[u8], tier: PriceTier) -> Result<Vec<InventoryItem>, BodyError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(BodyError::NotArray(json_kind(&value)));
    };
    Ok(items.iter().filter_map(|v| InventoryItem::from_json(v, tier)).collect())
}

impl InventoryItem {
    pub fn from_json(v: &Value, tier: PriceTier) -> Option<Self> {
        let obj = v.as_object()?;
        let sku_list: Vec<String> = obj
            .get("sku_list")?
            .as_array()?
            .iter()
            .filter_map(|s| s.as_str())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if sku_list.is_empty() {
            return None;
        }
        let product_uuid = obj.get("product_uuid").and_then(Value::as_str).unwrap_or_default().to_owned();
        let stock_billable = match obj.get("stock_billable") {
            None => Err("stock_billable is missing".to_owned()),
            Some(v) => decimal_from_json(v)
                .map_err(|e| format!("stock_billable {e}"))
                .and_then(|d| {
                    if d.abs() > Decimal::from(MAX_STOCK) {
                        Err(format!("stock_billable {d} is out of range (at most {MAX_STOCK})"))
                    } else {
                        Ok(d)
                    }
                }),
        };
        let tax_uuid = obj.get("tax_uuid").and_then(Value::as_str).map(str::to_owned);
        let price = match obj.get("price") {
            None | Some(Value::Null) => None,
            Some(p) => Some(tier_price(p, tier)),
        };
        Some(Self { product_uuid, sku_list, stock_billable, tax_uuid, price })
    }

    /// WooCommerce keeps whole units: the quantity is the billable stock truncated, never below 0.
    pub fn stock_quantity(&self) -> Result<i64, String> {
        let d = self.stock_billable.clone()?;
        let q = d.trunc();
        let q = i64::try_from(q).map_err(|_| format!("stock_billable {d} is out of range"))?;
        Ok(q.max(0))
    }
}

fn tier_price(price: &Value, tier: PriceTier) -> Result<TierPrice, String> {
    let obj = price.as_object().ok_or_else(|| format!("price is {}, not an object", json_kind(price)))?;
    let field = tier.format_field();
    let fmt = obj
        .get(field)
        .filter(|v| !v.is_null())
        .ok_or_else(|| format!("the {} price tier ({field}) is missing", tier.name()))?;
    let amount = fmt
        .get("amount_float")
        .ok_or_else(|| format!("{field}.amount_float is missing"))
        .and_then(|v| decimal_from_json(v).map_err(|e| format!("{field}.amount_float {e}")))?;
    let currency_iso = fmt
        .get("currency_iso")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("{field}.currency_iso is missing"))?
        .trim()
        .to_owned();
    Ok(TierPrice { amount, currency_iso })
}

/// A JSON number as an exact decimal, through its shortest textual form (the value PHP would
/// round). Anything else is refused with its type in the message.
pub fn decimal_from_json(v: &Value) -> Result<Decimal, String> {
    match v {
        Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(|_| format!("{text} is out of range"))
        }
        other => Err(format!("is {}, not a number", json_kind(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> InventoryItem {
        InventoryItem::from_json(&v, PriceTier::Retail).expect("item")
    }

    #[test]
    fn reads_the_observed_item() {
        let it = item(json!({"product_uuid":"u1","sku_list":["WC-21871"],"stock_billable":3,
            "tax_uuid":"t","price":{"amount_retail_format":{"amount_float":12.27,"currency_iso":"USD"}}}));
        assert_eq!(it.sku_list, vec!["WC-21871"]);
        assert_eq!(it.stock_quantity(), Ok(3));
        let p = it.price.expect("price").expect("valid");
        assert_eq!(p.amount.to_string(), "12.27");
        assert_eq!(p.currency_iso, "USD");
    }

    #[test]
    fn stock_is_truncated_and_never_negative() {
        assert_eq!(item(json!({"sku_list":["A"],"stock_billable":3.7})).stock_quantity(), Ok(3));
        assert_eq!(item(json!({"sku_list":["A"],"stock_billable":0.5})).stock_quantity(), Ok(0));
        assert_eq!(item(json!({"sku_list":["A"],"stock_billable":-4})).stock_quantity(), Ok(0));
    }

    #[test]
    fn wrong_types_are_errors_with_reasons() {
        let e = item(json!({"sku_list":["A"],"stock_billable":"12"})).stock_quantity().unwrap_err();
        assert!(e.contains("a string"), "{e}");
        let e = item(json!({"sku_list":["A"],"stock_billable":null})).stock_quantity().unwrap_err();
        assert!(e.contains("null"), "{e}");
        let e = item(json!({"sku_list":["A"],"stock_billable":1e308})).stock_quantity().unwrap_err();
        assert!(e.contains("out of range"), "{e}");
        let e = item(json!({"sku_list":["A"]})).stock_quantity().unwrap_err();
        assert!(e.contains("missing"), "{e}");
        let p = item(json!({"sku_list":["A"],"stock_billable":1,"price":{"amount_base_format":{}}})).price;
        assert!(p.expect("present").unwrap_err().contains("retail price tier"));
    }

    #[test]
    fn items_without_skus_are_dropped_and_bodies_checked() {
        let items = parse_batch_body(br#"[{"sku_list":[]},{"sku_list":[" B "],"stock_billable":1},{}]"#, PriceTier::Retail)
            .expect("array");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].sku_list, vec!["B"]);
        assert_eq!(parse_batch_body(br#"{"data":[]}"#, PriceTier::Retail), Err(BodyError::NotArray("an object")));
        assert!(matches!(parse_batch_body(br#"[{"sku_list":["#, PriceTier::Retail), Err(BodyError::NotJson(_))));
    }
}
