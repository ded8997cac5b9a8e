//! The plugin's settings (one home: WordPress's options table) and the WooCommerce options that
//! shape derived state. The settings keep the old plugin's integration id and keys, so an
//! upgrade carries them over.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Store, StoreError};
use crate::cachicamo::PriceTier;
use crate::config::Secret;

pub const SETTINGS_OPTION: &str = "woocommerce_cachicamoapp-for-woo-manager_settings";
/// The old plugin's default sync interval, in minutes.
pub const DEFAULT_INTERVAL_MINUTES: u32 = 720;
/// Shortest interval accepted; smaller values are raised to it (the old plugin reset them to 720).
pub const MIN_INTERVAL_MINUTES: u32 = 10;

/// A scalar of a PHP-serialized array: WordPress stores strings, other plugins may not. PHP
/// strings are byte strings, so they arrive as bytes.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum PhpScalar {
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl PhpScalar {
    fn text(&self) -> String {
        match self {
            Self::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
            Self::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginSettings {
    pub access_token: Option<Secret>,
    pub store_uuid: Option<String>,
    pub price_tier: PriceTier,
    pub interval_minutes: u32,
    pub debug: bool,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self { access_token: None, store_uuid: None, price_tier: PriceTier::Retail, interval_minutes: DEFAULT_INTERVAL_MINUTES, debug: false }
    }
}

impl PluginSettings {
    /// Reads the serialized array; an unreadable value is an error, not silently defaults.
    pub fn parse(raw: &[u8]) -> Result<Self, StoreError> {
        let map: HashMap<String, Option<PhpScalar>> = php_serde::from_bytes(raw).map_err(|e| {
            StoreError::Data(format!("the plugin settings ({SETTINGS_OPTION}) are not a PHP-serialized array: {e}"))
        })?;
        let get = |k: &str| map.get(k).and_then(|v| v.as_ref()).map(PhpScalar::text).map(|s| s.trim().to_owned());
        let non_empty = |k: &str| get(k).filter(|s| !s.is_empty());
        Ok(Self {
            access_token: non_empty("access_token").map(Secret::new),
            store_uuid: non_empty("store_uuid"),
            price_tier: get("price_type").map(|s| PriceTier::from_setting(&s)).unwrap_or_default(),
            interval_minutes: interval_from_setting(get("cron_time").as_deref()),
            debug: get("debug").as_deref() == Some("yes"),
        })
    }
}

/// `cron_time`: digits only, default 720, below the minimum raised to it.
pub fn interval_from_setting(value: Option<&str>) -> u32 {
    match value.map(str::trim).filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())) {
        Some(digits) => digits.parse::<u32>().map(|m| m.max(MIN_INTERVAL_MINUTES)).unwrap_or(DEFAULT_INTERVAL_MINUTES),
        None => DEFAULT_INTERVAL_MINUTES,
    }
}

/// WooCommerce and WordPress options that decide derived state and local times.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopSettings {
    pub currency: String,
    /// Stock at or below this is "out of stock" (`woocommerce_notify_no_stock_amount`).
    pub no_stock_amount: Decimal,
    pub hide_out_of_stock: bool,
    pub timezone: SiteTimezone,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SiteTimezone {
    Named(chrono_tz::Tz),
    Offset(FixedOffset),
}

impl SiteTimezone {
    /// `Y-m-d H:i:s` in the site's time, as WordPress's `current_time('mysql')`.
    pub fn local_mysql(&self, at: DateTime<Utc>) -> String {
        match self {
            Self::Named(tz) => at.with_timezone(tz).format("%Y-%m-%d %H:%M:%S").to_string(),
            Self::Offset(off) => at.with_timezone(off).format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub plugin: PluginSettings,
    pub shop: ShopSettings,
}

fn text(map: &HashMap<String, Vec<u8>>, name: &str) -> Option<String> {
    map.get(name).map(|v| String::from_utf8_lossy(v).trim().to_owned())
}

impl Store {
    pub async fn load_settings(&self) -> Result<Settings, StoreError> {
        let names = [
            SETTINGS_OPTION,
            "woocommerce_currency",
            "woocommerce_notify_no_stock_amount",
            "woocommerce_hide_out_of_stock_items",
            "timezone_string",
            "gmt_offset",
        ];
        let map = self.read_options(&names).await?;
        let plugin = match map.get(SETTINGS_OPTION) {
            Some(raw) if !raw.is_empty() => PluginSettings::parse(raw)?,
            _ => PluginSettings::default(),
        };
        let timezone = match text(&map, "timezone_string").filter(|s| !s.is_empty()).and_then(|s| chrono_tz::Tz::from_str(&s).ok()) {
            Some(tz) => SiteTimezone::Named(tz),
            None => {
                let hours = text(&map, "gmt_offset").and_then(|s| f64::from_str(&s).ok()).unwrap_or(0.0);
                let secs = (hours * 3600.0).round() as i32;
                SiteTimezone::Offset(FixedOffset::east_opt(secs).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset")))
            }
        };
        let shop = ShopSettings {
            currency: text(&map, "woocommerce_currency").filter(|s| !s.is_empty()).unwrap_or_else(|| "USD".to_owned()),
            no_stock_amount: text(&map, "woocommerce_notify_no_stock_amount")
                .and_then(|s| Decimal::from_str(&s).ok())
                .unwrap_or(Decimal::ZERO),
            hide_out_of_stock: text(&map, "woocommerce_hide_out_of_stock_items").as_deref() == Some("yes"),
            timezone,
        };
        Ok(Settings { plugin, shop })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_old_plugins_settings() {
        let raw = br#"a:6:{s:12:"access_token";s:7:"tok-123";s:10:"store_uuid";s:4:"u-11";s:13:"employee_uuid";s:0:"";s:10:"price_type";s:8:"min_sale";s:9:"cron_time";s:1:"5";s:5:"debug";s:3:"yes";}"#;
        let s = PluginSettings::parse(raw).expect("parse");
        assert_eq!(s.access_token.as_ref().map(Secret::expose), Some("tok-123"));
        assert_eq!(s.store_uuid.as_deref(), Some("u-11"));
        assert_eq!(s.price_tier, PriceTier::MinSale);
        assert_eq!(s.interval_minutes, MIN_INTERVAL_MINUTES, "5 minutes is raised to the minimum, not reset to 720");
        assert!(s.debug);
    }

    #[test]
    fn interval_rules() {
        assert_eq!(interval_from_setting(None), 720);
        assert_eq!(interval_from_setting(Some("abc")), 720);
        assert_eq!(interval_from_setting(Some("-5")), 720);
        assert_eq!(interval_from_setting(Some("9")), 10);
        assert_eq!(interval_from_setting(Some("60")), 60);
    }

    #[test]
    fn garbage_settings_are_an_error() {
        let e = PluginSettings::parse(b"not serialized").unwrap_err();
        assert!(e.to_string().contains(SETTINGS_OPTION), "{e}");
    }

    #[test]
    fn local_time() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").expect("time").with_timezone(&Utc);
        let caracas = SiteTimezone::Named(chrono_tz::America::Caracas);
        assert_eq!(caracas.local_mysql(at), "2026-01-01 23:04:05");
        let plus = SiteTimezone::Offset(FixedOffset::east_opt(5 * 3600 + 1800).expect("offset"));
        assert_eq!(plus.local_mysql(at), "2026-01-02 08:34:05");
    }
}
