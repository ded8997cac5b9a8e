//! Decimal helpers for prices, formatted the way WordPress/PHP store them.

use rust_decimal::{Decimal, RoundingStrategy};

/// How PHP prints a float price: no trailing zeros ("14.2332", "116", "5.8").
pub fn php_price(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A `decimal(19,4)` lookup-table value: exactly 4 decimals ("14.2300").
pub fn lookup_price(value: Decimal) -> String {
    let mut v = value.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    v.rescale(4);
    v.to_string()
}

/// Retail amount with tax, rounded to 4 decimals like the v1 plugin.
pub fn with_tax(amount: Decimal, tax_percent: u32) -> Decimal {
    let factor = Decimal::ONE + Decimal::from(tax_percent) / Decimal::ONE_HUNDRED;
    (amount * factor).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
}

/// Parses a stored numeric string ("12", "12.000000", " 14.2332 ").
pub fn parse_decimal(raw: &str) -> Option<Decimal> {
    raw.trim().parse().ok()
}

/// Cachicamo's display format for an amount in cents: "$ 1.234,56".
pub fn display_amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("$ {sign}{grouped},{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn php_float_formatting() {
        assert_eq!(php_price(d("14.2332")), "14.2332");
        assert_eq!(php_price(d("116.0000")), "116");
        assert_eq!(php_price(d("5.80")), "5.8");
    }

    #[test]
    fn tax_matches_contract_example() {
        assert_eq!(php_price(with_tax(d("12.27"), 16)), "14.2332");
        assert_eq!(php_price(with_tax(d("100.00"), 16)), "116");
        assert_eq!(lookup_price(d("14.2332")), "14.2332");
        assert_eq!(lookup_price(d("116")), "116.0000");
    }

    #[test]
    fn display_format() {
        assert_eq!(display_amount(589), "$ 5,89");
        assert_eq!(display_amount(123_456), "$ 1.234,56");
        assert_eq!(display_amount(5), "$ 0,05");
    }
}
