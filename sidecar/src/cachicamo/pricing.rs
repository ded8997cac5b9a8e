//! The old plugin's price formula (cachicamo-api.md §4), in exact decimal arithmetic with PHP's
//! half-away-from-zero rounding, and with its defects fixed: a missing rate or base currency is an
//! error with a reason instead of a silent 0 or `VES`.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::model::{decimal_from_json, TierPrice};

/// Prices below this are refused (the old plugin's minimum).
const MIN_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum PriceError {
    #[error("the store's base currency is unknown ({0})")]
    NoBaseCurrency(String),
    #[error("no exchange rate for {0}")]
    MissingRate(String),
    #[error("price {0} is below the 0.01 minimum")]
    BelowMinimum(String),
    #[error("{0}")]
    BadItem(String),
}

#[derive(Clone, Debug)]
struct Tax {
    rate: Decimal,
}

/// Everything a price needs besides the item, fetched once per run.
#[derive(Clone, Debug)]
pub struct PricingContext {
    base_iso: Result<String, String>,
    store_iso: String,
    rates: HashMap<String, Decimal>,
    taxes: HashMap<String, Tax>,
    default_tax: Option<Decimal>,
    iva_g: Option<Decimal>,
}

/// The raw auxiliary answers; a failed fetch is kept as its reason so prices can explain it.
#[derive(Clone, Debug, Default)]
pub struct AuxData {
    pub users_configuration: Option<Value>,
    pub stores_configuration: Option<Value>,
    pub currencies: Option<Value>,
    pub currency_rates: Option<Value>,
    pub taxes: Option<Value>,
    pub failures: Vec<String>,
}

/// VEF and VEB are the bolívar's older names; Cachicamo and WooCommerce use all three.
pub fn normalize_iso(iso: &str) -> String {
    let up = iso.trim().to_ascii_uppercase();
    match up.as_str() {
        "VEF" | "VEB" => "VES".to_owned(),
        _ => up,
    }
}

/// PHP's `round($x, $dp)`: half away from zero.
pub fn php_round(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// The value as WooCommerce stores a PHP float price: no trailing zeros ("1620", "14.2332").
pub fn format_price(x: Decimal) -> String {
    x.normalize().to_string()
}

impl PricingContext {
    pub fn new(store_currency: &str, aux: &AuxData) -> Self {
        let currencies = aux.currencies.as_ref().map(currency_uuid_to_iso).unwrap_or_default();
        let base_iso = match aux.users_configuration.as_ref().and_then(|c| c.get("base_currency_uuid")) {
            Some(Value::String(uuid)) => currencies.get(uuid).cloned().ok_or_else(|| {
                if currencies.is_empty() {
                    "the currency list could not be read".to_owned()
                } else {
                    format!("base currency {uuid} is not in the currency list")
                }
            }),
            _ => Err(if aux.users_configuration.is_none() {
                "the user configuration could not be read".to_owned()
            } else {
                "the user configuration has no base_currency_uuid".to_owned()
            }),
        };
        let mut rates = aux.currency_rates.as_ref().map(parse_rates).unwrap_or_default();
        rates.entry("USD".to_owned()).or_insert(Decimal::ONE);
        let (taxes, iva_g) = aux.taxes.as_ref().map(parse_taxes).unwrap_or_default();
        let default_tax = aux
            .stores_configuration
            .as_ref()
            .and_then(|c| c.get("default_tax_uuid"))
            .and_then(Value::as_str)
            .and_then(|u| taxes.get(u))
            .map(|t| t.rate);
        Self { base_iso, store_iso: normalize_iso(store_currency), rates, taxes, default_tax, iva_g }
    }

    /// Builds a context from plain values, for the worked examples and for tools.
    pub fn from_parts(
        base_iso: &str,
        store_currency: &str,
        rates: &[(&str, &str)],
        taxes: &[(&str, &str)],
        default_tax_uuid: Option<&str>,
        iva_g_rate: Option<&str>,
    ) -> Self {
        let dec = |s: &str| Decimal::from_str(s).unwrap_or_default();
        let mut rate_map: HashMap<String, Decimal> = rates.iter().map(|(k, v)| (normalize_iso(k), dec(v))).collect();
        rate_map.entry("USD".to_owned()).or_insert(Decimal::ONE);
        let tax_map: HashMap<String, Tax> = taxes.iter().map(|(k, v)| ((*k).to_owned(), Tax { rate: dec(v) })).collect();
        let default_tax = default_tax_uuid.and_then(|u| tax_map.get(u)).map(|t| t.rate);
        Self {
            base_iso: Ok(normalize_iso(base_iso)),
            store_iso: normalize_iso(store_currency),
            rates: rate_map,
            taxes: tax_map,
            default_tax,
            iva_g: iva_g_rate.map(dec),
        }
    }

    /// Product tax, else store default, else the first IVA "G" tax, else none.
    fn tax_rate(&self, tax_uuid: Option<&str>) -> Decimal {
        tax_uuid
            .and_then(|u| self.taxes.get(u))
            .map(|t| t.rate)
            .or(self.default_tax)
            .or(self.iva_g)
            .unwrap_or(Decimal::ZERO)
    }

    fn convert(&self, amount: Decimal, from: &str, to: &str) -> Result<Decimal, PriceError> {
        let (from, to) = (normalize_iso(from), normalize_iso(to));
        if from == to {
            return Ok(amount);
        }
        let rate = |iso: &String| {
            self.rates.get(iso).copied().filter(|r| !r.is_zero()).ok_or_else(|| PriceError::MissingRate(iso.clone()))
        };
        let (rf, rt) = (rate(&from)?, rate(&to)?);
        amount
            .checked_mul(rt)
            .and_then(|x| x.checked_div(rf))
            .ok_or_else(|| PriceError::BadItem(format!("price {amount} {from} overflows when converted to {to}")))
    }

    /// The shop price of a tier amount: to base currency, round to cents, add tax, to the
    /// shop's currency, round to 4 places; refused below 0.01.
    pub fn price(&self, tier: &TierPrice, tax_uuid: Option<&str>) -> Result<Decimal, PriceError> {
        let base = self.base_iso.as_ref().map_err(|e| PriceError::NoBaseCurrency(e.clone()))?;
        if tier.amount.is_sign_negative() && !tier.amount.is_zero() {
            return Err(PriceError::BadItem(format!("price {} is negative", tier.amount)));
        }
        let x = php_round(self.convert(tier.amount, &tier.currency_iso, base)?, 2);
        let t = self.tax_rate(tax_uuid);
        let y = x
            .checked_mul(Decimal::ONE + t / Decimal::ONE_HUNDRED)
            .ok_or_else(|| PriceError::BadItem(format!("price {x} overflows with tax")))?;
        let z = php_round(self.convert(y, base, &self.store_iso)?, 4);
        if z < MIN_PRICE {
            return Err(PriceError::BelowMinimum(format_price(z)));
        }
        Ok(z)
    }
}

/// `/currencies` is an object keyed by ISO (`{"USD":{"uuid":…}}`) or a list of `{uuid, iso}`.
fn currency_uuid_to_iso(v: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let list = v.get("data").unwrap_or(v);
    match list {
        Value::Object(map) => {
            for (iso, c) in map {
                if let Some(uuid) = c.get("uuid").and_then(Value::as_str) {
                    out.insert(uuid.to_owned(), normalize_iso(iso));
                }
            }
        }
        Value::Array(items) => {
            for c in items {
                let iso = c.get("iso").or_else(|| c.get("currency_iso")).or_else(|| c.get("code")).and_then(Value::as_str);
                if let (Some(uuid), Some(iso)) = (c.get("uuid").and_then(Value::as_str), iso) {
                    out.insert(uuid.to_owned(), normalize_iso(iso));
                }
            }
        }
        _ => {}
    }
    out
}

/// System rates, overridden per currency by the user's own rates.
fn parse_rates(v: &Value) -> HashMap<String, Decimal> {
    let mut out = HashMap::new();
    for group in ["system_rates", "user_rates"] {
        if let Some(Value::Object(map)) = v.get(group) {
            for (iso, r) in map {
                let rate = r.get("rate").unwrap_or(r);
                if let Ok(d) = decimal_from_json(rate) {
                    if d > Decimal::ZERO {
                        out.insert(normalize_iso(iso), d);
                    }
                }
            }
        }
    }
    out
}

/// `/taxes` is a list of `{uuid,…}`, `{"data":[…]}`, or an object keyed by uuid: index by uuid.
fn parse_taxes(v: &Value) -> (HashMap<String, Tax>, Option<Decimal>) {
    let list: Vec<(Option<&str>, &Value)> = match v.get("data").unwrap_or(v) {
        Value::Array(items) => items.iter().map(|t| (None, t)).collect(),
        Value::Object(map) => map.iter().map(|(k, t)| (Some(k.as_str()), t)).collect(),
        _ => Vec::new(),
    };
    let mut taxes = HashMap::new();
    let mut iva_g = None;
    for (key, t) in list {
        let Some(rate) = t.get("tax_rate").and_then(|r| decimal_from_json(r).ok().or_else(|| r.as_str().and_then(|s| Decimal::from_str(s).ok()))) else {
            continue;
        };
        let family = t.get("tax_family").and_then(Value::as_str).unwrap_or_default();
        let code = t.get("tax_code").and_then(Value::as_str).unwrap_or_default();
        if iva_g.is_none() && family == "IVA" && code.to_ascii_uppercase() == "G" {
            iva_g = Some(rate);
        }
        if let Some(uuid) = t.get("uuid").and_then(Value::as_str).or(key) {
            taxes.insert(uuid.to_owned(), Tax { rate });
        }
    }
    (taxes, iva_g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tier(amount: &str, iso: &str) -> TierPrice {
        TierPrice { amount: Decimal::from_str(amount).expect("decimal"), currency_iso: iso.to_owned() }
    }

    #[test]
    fn php_rounding_is_half_away_from_zero() {
        let d = |s| Decimal::from_str(s).expect("decimal");
        assert_eq!(php_round(d("1.005"), 2), d("1.01"));
        assert_eq!(php_round(d("-1.005"), 2), d("-1.01"));
        assert_eq!(php_round(d("2.5"), 0), d("3"));
        assert_eq!(format_price(d("1620.0000")), "1620");
    }

    #[test]
    fn e1_observed() {
        let ctx = PricingContext::from_parts("USD", "USD", &[], &[("tax16", "16")], None, None);
        let p = ctx.price(&tier("12.27", "USD"), Some("tax16")).expect("price");
        assert_eq!(format_price(p), "14.2332");
    }

    #[test]
    fn e2_user_rate_overrides_and_iva_g_fallback() {
        let aux = AuxData {
            users_configuration: Some(json!({"base_currency_uuid": "ves-uuid"})),
            stores_configuration: Some(json!({})),
            currencies: Some(json!({"USD": {"uuid": "usd-uuid"}, "VES": {"uuid": "ves-uuid"}})),
            currency_rates: Some(json!({"system_rates": {"VES": {"rate": 36.00}}, "user_rates": {"VES": {"rate": 36.4731}}})),
            taxes: Some(json!([{"uuid": "r", "tax_rate": 8, "tax_family": "IVA", "tax_code": "r"},
                               {"uuid": "g", "tax_rate": 16, "tax_family": "IVA", "tax_code": "g"}])),
            failures: vec![],
        };
        let ctx = PricingContext::new("USD", &aux);
        let p = ctx.price(&tier("7.33", "USD"), None).expect("price");
        assert_eq!(format_price(p), "8.5029");
    }

    #[test]
    fn e3_vef_is_ves() {
        let ctx = PricingContext::from_parts("USD", "VEF", &[("VES", "40")], &[("t8", "8")], None, None);
        let p = ctx.price(&tier("1500", "VES"), Some("t8")).expect("price");
        assert_eq!(p.to_string(), "1620.0000");
        assert_eq!(format_price(p), "1620");
    }

    #[test]
    fn e4_missing_rate_and_minimum_are_errors_not_zero() {
        let ctx = PricingContext::from_parts("USD", "EUR", &[("VES", "40")], &[("t8", "8")], None, None);
        assert_eq!(ctx.price(&tier("1500", "VES"), Some("t8")), Err(PriceError::MissingRate("EUR".into())));
        let ctx = PricingContext::from_parts("USD", "USD", &[], &[], None, None);
        assert_eq!(ctx.price(&tier("0.004", "USD"), None), Err(PriceError::BelowMinimum("0".into())));
    }

    #[test]
    fn tax_chain_and_keyed_taxes() {
        let aux = AuxData {
            users_configuration: Some(json!({"base_currency_uuid": "usd"})),
            stores_configuration: Some(json!({"default_tax_uuid": "t12"})),
            currencies: Some(json!([{"uuid": "usd", "iso": "usd"}])),
            currency_rates: None,
            taxes: Some(json!({"t12": {"tax_rate": "12", "tax_family": "X", "tax_code": "Y"}, "t5": {"tax_rate": 5}})),
            failures: vec![],
        };
        let ctx = PricingContext::new("USD", &aux);
        assert_eq!(format_price(ctx.price(&tier("10", "USD"), Some("t5")).expect("p")), "10.5");
        assert_eq!(format_price(ctx.price(&tier("10", "USD"), Some("unknown")).expect("p")), "11.2");
        assert_eq!(format_price(ctx.price(&tier("10", "USD"), None).expect("p")), "11.2");
    }

    #[test]
    fn unknown_base_currency_is_explained() {
        let aux = AuxData { users_configuration: Some(json!({})), ..AuxData::default() };
        let ctx = PricingContext::new("USD", &aux);
        let e = ctx.price(&tier("10", "USD"), None).unwrap_err();
        assert!(e.to_string().contains("base_currency_uuid"), "{e}");
    }
}
