//! Sidecar configuration: flags and `CACHICAMO_*` variables, with the database and table prefix
//! optionally read from a WordPress `wp-config.php`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

/// The real Cachicamo API; the simulator or a staging server can be set instead.
pub const DEFAULT_API_URL: &str = "https://api.cachicamo.app";
/// The old plugin's batch size, which is also the API's limit per request.
pub const MAX_BATCH_SIZE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no database configured: set CACHICAMO_DB_URL (or --db-url) or CACHICAMO_WP_ROOT (or --wp-root) to the WordPress folder")]
    NoDatabase,
    #[error("cannot read {path}: {source}")]
    WpConfigUnreadable { path: String, source: std::io::Error },
    #[error("{path} does not define {name}")]
    WpConfigMissing { path: String, name: &'static str },
    #[error("the database URL is not valid: {0}")]
    BadDbUrl(String),
    #[error("table prefix {0:?} is invalid: use 1 to 32 letters, digits or underscores, like wp_")]
    BadPrefix(String),
    #[error("{name} must be {rule}, got {value}")]
    OutOfRange { name: &'static str, rule: &'static str, value: String },
    #[error("the API URL {0:?} is not an http(s) URL")]
    BadApiUrl(String),
}

/// A table prefix that has been checked, so it can be spliced into SQL identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePrefix(String);

impl TablePrefix {
    pub fn new(prefix: &str) -> Result<Self, ConfigError> {
        let ok = !prefix.is_empty()
            && prefix.len() <= 32
            && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Self(prefix.to_owned()))
        } else {
            Err(ConfigError::BadPrefix(prefix.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A credential: printing it in any form shows only a mask, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Flags shared by every subcommand; each also reads a `CACHICAMO_*` variable.
#[derive(Clone, Debug, clap::Args)]
pub struct ConfigArgs {
    /// MySQL/MariaDB URL of the WordPress database, e.g. mysql://user:pass@127.0.0.1:3306/wordpress
    #[arg(long, env = "CACHICAMO_DB_URL", hide_env_values = true, global = true)]
    pub db_url: Option<String>,
    /// WordPress root folder; its wp-config.php gives the database and the table prefix
    #[arg(long, env = "CACHICAMO_WP_ROOT", global = true)]
    pub wp_root: Option<PathBuf>,
    /// WordPress table prefix (default: wp-config.php's $table_prefix, else wp_)
    #[arg(long, env = "CACHICAMO_TABLE_PREFIX", global = true)]
    pub table_prefix: Option<String>,
    /// Base URL of the Cachicamo API
    #[arg(long, env = "CACHICAMO_API_URL", default_value = DEFAULT_API_URL, global = true)]
    pub api_url: String,
    /// Batches worked at the same time
    #[arg(long, env = "CACHICAMO_WORKERS", default_value_t = 4, global = true)]
    pub workers: usize,
    /// Most Cachicamo requests per second
    #[arg(long, env = "CACHICAMO_RATE_LIMIT", default_value_t = 20.0, global = true)]
    pub rate_limit: f64,
    /// SKUs (aliases included) per batch, at most 500
    #[arg(long, env = "CACHICAMO_BATCH_SIZE", default_value_t = MAX_BATCH_SIZE, global = true)]
    pub batch_size: usize,
    /// Timeout of one batch request, in seconds
    #[arg(long, env = "CACHICAMO_API_TIMEOUT", default_value_t = 60, global = true)]
    pub api_timeout: u64,
    /// Attempts per Cachicamo request before a batch is marked as failed
    #[arg(long, env = "CACHICAMO_API_ATTEMPTS", default_value_t = 5, global = true)]
    pub api_attempts: usize,
    /// Seconds a worker may hold a batch without renewing it before another may take it over
    #[arg(long, env = "CACHICAMO_LEASE_SECS", default_value_t = 120, global = true)]
    pub lease_secs: u64,
    /// Days of finished runs, batches and finalized change records to keep
    #[arg(long, env = "CACHICAMO_RETENTION_DAYS", default_value_t = 30, global = true)]
    pub retention_days: u32,
    /// Minutes without progress after which an active run is reported as stalled
    #[arg(long, env = "CACHICAMO_STALL_MINUTES", default_value_t = 10, global = true)]
    pub stall_minutes: u32,
    /// Batches failing in a row that raise an alert
    #[arg(long, env = "CACHICAMO_FAILURE_STREAK", default_value_t = 5, global = true)]
    pub failure_streak: u32,
    /// Overrides the access token stored in the plugin's settings
    #[arg(long, env = "CACHICAMO_ACCESS_TOKEN", hide_env_values = true, global = true)]
    pub access_token: Option<String>,
    /// Overrides the store UUID stored in the plugin's settings
    #[arg(long, env = "CACHICAMO_STORE_UUID", global = true)]
    pub store_uuid: Option<String>,
}

/// Where and how to reach the database.
#[derive(Clone, Debug)]
pub struct DbConfig {
    pub opts: mysql_async::Opts,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub db: DbConfig,
    pub prefix: TablePrefix,
    pub api_url: String,
    pub workers: usize,
    pub rate_limit: f64,
    pub batch_size: usize,
    pub api_timeout: Duration,
    pub api_attempts: usize,
    pub lease: Duration,
    pub retention_days: u32,
    pub stall_minutes: u32,
    pub failure_streak: u32,
    pub access_token: Option<Secret>,
    pub store_uuid: Option<String>,
}

impl ConfigArgs {
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let wp = match &self.wp_root {
            Some(root) => Some(WpConfig::read(root)?),
            None => None,
        };
        let db = match (&self.db_url, &wp) {
            (Some(url), _) => DbConfig {
                opts: mysql_async::Opts::from_url(url).map_err(|e| ConfigError::BadDbUrl(e.to_string()))?,
            },
            (None, Some(wp)) => wp.db_config(),
            (None, None) => return Err(ConfigError::NoDatabase),
        };
        let prefix = match (&self.table_prefix, &wp) {
            (Some(p), _) => p.clone(),
            (None, Some(wp)) => wp.table_prefix.clone(),
            (None, None) => "wp_".to_owned(),
        };
        let prefix = TablePrefix::new(&prefix)?;
        let api_url = self.api_url.trim_end_matches('/').to_owned();
        if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
            return Err(ConfigError::BadApiUrl(self.api_url.clone()));
        }
        check_range("--workers", "between 1 and 64", self.workers, 1..=64)?;
        check_range("--batch-size", "between 1 and 500", self.batch_size, 1..=MAX_BATCH_SIZE)?;
        check_range("--api-attempts", "between 1 and 20", self.api_attempts, 1..=20)?;
        check_range("--api-timeout", "between 1 and 600 seconds", self.api_timeout, 1..=600)?;
        check_range("--lease-secs", "between 10 and 3600 seconds", self.lease_secs, 10..=3600)?;
        check_range("--retention-days", "between 1 and 3650 days", self.retention_days, 1..=3650)?;
        check_range("--stall-minutes", "between 1 and 1440 minutes", self.stall_minutes, 1..=1440)?;
        check_range("--failure-streak", "between 1 and 1000 batches", self.failure_streak, 1..=1000)?;
        if !(self.rate_limit.is_finite() && self.rate_limit >= 0.1 && self.rate_limit <= 10_000.0) {
            return Err(ConfigError::OutOfRange {
                name: "--rate-limit",
                rule: "between 0.1 and 10000 requests per second",
                value: self.rate_limit.to_string(),
            });
        }
        Ok(Config {
            db,
            prefix,
            api_url,
            workers: self.workers,
            rate_limit: self.rate_limit,
            batch_size: self.batch_size,
            api_timeout: Duration::from_secs(self.api_timeout),
            api_attempts: self.api_attempts,
            lease: Duration::from_secs(self.lease_secs),
            retention_days: self.retention_days,
            stall_minutes: self.stall_minutes,
            failure_streak: self.failure_streak,
            access_token: self.access_token.as_deref().filter(|t| !t.is_empty()).map(Secret::new),
            store_uuid: self.store_uuid.clone().filter(|s| !s.is_empty()),
        })
    }
}

fn check_range<T: PartialOrd + fmt::Display>(
    name: &'static str,
    rule: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, rule, value: value.to_string() })
    }
}

/// The parts of `wp-config.php` the sidecar needs.
#[derive(Clone, Debug, PartialEq)]
pub struct WpConfig {
    pub db_name: String,
    pub db_user: String,
    pub db_password: Secret,
    pub db_host: String,
    pub table_prefix: String,
}

impl WpConfig {
    pub fn read(root: &Path) -> Result<Self, ConfigError> {
        let path = root.join("wp-config.php");
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::WpConfigUnreadable {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let define = |name: &'static str| -> Result<String, ConfigError> {
            let re = Regex::new(&format!(
                r#"define\(\s*['"]{name}['"]\s*,\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\)"#
            ))
            .expect("constant regex");
            re.captures(text)
                .and_then(|c| c.get(1).or_else(|| c.get(2)))
                .map(|m| unescape_php(m.as_str()))
                .ok_or(ConfigError::WpConfigMissing { path: path.to_owned(), name })
        };
        let prefix_re = Regex::new(r#"\$table_prefix\s*=\s*['"]([^'"]*)['"]"#).expect("constant regex");
        let table_prefix = prefix_re
            .captures(text)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| "wp_".to_owned());
        Ok(Self {
            db_name: define("DB_NAME")?,
            db_user: define("DB_USER")?,
            db_password: Secret::new(define("DB_PASSWORD")?),
            db_host: define("DB_HOST").unwrap_or_else(|_| "localhost".to_owned()),
            table_prefix,
        })
    }

    /// WordPress's DB_HOST may be `host`, `host:port` or `host:/path/to/socket`.
    pub fn db_config(&self) -> DbConfig {
        let mut builder = mysql_async::OptsBuilder::default()
            .user(Some(self.db_user.clone()))
            .pass(Some(self.db_password.expose().to_owned()))
            .db_name(Some(self.db_name.clone()));
        let (host, rest) = match self.db_host.split_once(':') {
            Some((h, r)) => (h, Some(r)),
            None => (self.db_host.as_str(), None),
        };
        let host = if host.is_empty() { "localhost" } else { host };
        builder = builder.ip_or_hostname(host.to_owned());
        match rest {
            Some(r) if r.starts_with('/') => builder = builder.socket(Some(r.to_owned())),
            Some(r) => {
                if let Ok(port) = r.parse::<u16>() {
                    builder = builder.tcp_port(port);
                }
            }
            None if host == "localhost" => {
                // PHP's mysqli reaches "localhost" through the default socket, not TCP.
                for sock in ["/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"] {
                    if Path::new(sock).exists() {
                        builder = builder.socket(Some(sock.to_owned()));
                        break;
                    }
                }
            }
            None => {}
        }
        DbConfig { opts: builder.into() }
    }
}

fn unescape_php(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_validation() {
        assert!(TablePrefix::new("wp_").is_ok());
        assert!(TablePrefix::new("shop2_").is_ok());
        for bad in ["", "wp-", "wp_;DROP", "a b", "x`", &"a".repeat(33)] {
            assert!(TablePrefix::new(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn secret_is_masked() {
        let s = Secret::new("tok-123");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }

    #[test]
    fn parses_wp_config() {
        let text = r#"<?php
define( 'DB_NAME', 'shop' );
define('DB_USER', "shopuser");
define( 'DB_PASSWORD', 'p\'ss"w0rd' );
define( 'DB_HOST', '127.0.0.1:3307' );
$table_prefix = 'wpx_';
"#;
        let wp = WpConfig::parse(text, "wp-config.php").expect("parse");
        assert_eq!(wp.db_name, "shop");
        assert_eq!(wp.db_user, "shopuser");
        assert_eq!(wp.db_password.expose(), "p'ss\"w0rd");
        assert_eq!(wp.db_host, "127.0.0.1:3307");
        assert_eq!(wp.table_prefix, "wpx_");
        let opts = wp.db_config().opts;
        assert_eq!(opts.tcp_port(), 3307);
        assert_eq!(opts.db_name(), Some("shop"));
    }

    #[test]
    fn wp_config_without_db_name_is_an_error() {
        let err = WpConfig::parse("<?php define('DB_USER','u');", "x/wp-config.php").unwrap_err();
        assert!(err.to_string().contains("DB_NAME"), "{err}");
    }
}
