//! Sidecar configuration: flags and `CACHICAMO_*` variables, with the database and table prefix
//! optionally read from a WordPress `wp-config.php` (see [`wp_config`]), and where each came from.

mod php_tokens;
pub mod wp_config;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use wp_config::{Origin, Sourced, WpConfig, WpDatabase};

/// The real Cachicamo API; the simulator or a staging server can be set instead.
pub const DEFAULT_API_URL: &str = "https://api.cachicamo.app";
/// The old plugin's batch size, which is also the API's limit per request.
pub const MAX_BATCH_SIZE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no database configured: set CACHICAMO_DB_URL (or --db-url) or CACHICAMO_WP_ROOT (or --wp-root) to the WordPress folder")]
    NoDatabase,
    #[error("cannot read {path}: {source}")]
    WpConfigUnreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} does not define {name}; set {hint} instead")]
    WpConfigMissing {
        path: String,
        name: &'static str,
        hint: &'static str,
    },
    #[error("{path} line {line}: {message}; set CACHICAMO_DB_URL (or --db-url) and CACHICAMO_TABLE_PREFIX (or --table-prefix) instead")]
    WpConfigSyntax {
        path: String,
        line: usize,
        message: String,
    },
    /// `reason` names constructs and variables, never a literal's text: it may be a password.
    #[error("{path} line {line}: {name} cannot be read without running PHP: {reason}; set {hint} instead")]
    WpConfigUnresolvable {
        path: String,
        line: usize,
        name: &'static str,
        reason: String,
        hint: &'static str,
    },
    #[error("the database URL is not valid: {0}")]
    BadDbUrl(String),
    #[error("table prefix {0:?} is invalid: use 1 to 32 letters, digits or underscores, like wp_")]
    BadPrefix(String),
    #[error("{name} must be {rule}, got {value}")]
    OutOfRange {
        name: &'static str,
        rule: &'static str,
        value: String,
    },
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
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
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
    #[arg(
        long,
        env = "CACHICAMO_RATE_LIMIT",
        default_value_t = 20.0,
        global = true
    )]
    pub rate_limit: f64,
    /// SKUs (aliases included) per batch, at most 500
    #[arg(long, env = "CACHICAMO_BATCH_SIZE", default_value_t = MAX_BATCH_SIZE, global = true)]
    pub batch_size: usize,
    /// Timeout of one batch request, in seconds
    #[arg(
        long,
        env = "CACHICAMO_API_TIMEOUT",
        default_value_t = 60,
        global = true
    )]
    pub api_timeout: u64,
    /// Attempts per Cachicamo request before a batch is marked as failed
    #[arg(
        long,
        env = "CACHICAMO_API_ATTEMPTS",
        default_value_t = 5,
        global = true
    )]
    pub api_attempts: usize,
    /// Seconds a worker may hold a batch without renewing it before another may take it over
    #[arg(
        long,
        env = "CACHICAMO_LEASE_SECS",
        default_value_t = 120,
        global = true
    )]
    pub lease_secs: u64,
    /// Days of finished runs, batches and finalized change records to keep
    #[arg(
        long,
        env = "CACHICAMO_RETENTION_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub retention_days: u32,
    /// Minutes without progress after which an active run is reported as stalled
    #[arg(
        long,
        env = "CACHICAMO_STALL_MINUTES",
        default_value_t = 10,
        global = true
    )]
    pub stall_minutes: u32,
    /// Batches failing in a row that raise an alert
    #[arg(
        long,
        env = "CACHICAMO_FAILURE_STREAK",
        default_value_t = 5,
        global = true
    )]
    pub failure_streak: u32,
    /// Overrides the access token stored in the plugin's settings
    #[arg(
        long,
        env = "CACHICAMO_ACCESS_TOKEN",
        hide_env_values = true,
        global = true
    )]
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

/// A flag, or the variable that stands for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    Flag(&'static str),
    Env(&'static str),
}

impl Setting {
    /// clap does not say which one gave a value: the variable did if it holds that value.
    fn of(flag: &'static str, var: &'static str, value: &str) -> Self {
        if std::env::var(var).ok().as_deref() == Some(value) {
            Setting::Env(var)
        } else {
            Setting::Flag(flag)
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Flag(s) | Setting::Env(s) => f.write_str(s),
        }
    }
}

/// Where the database settings came from.
#[derive(Clone, Debug, PartialEq)]
pub enum DbSource {
    Url(Setting),
    WpConfig {
        path: String,
        name: Origin,
        user: Origin,
        password: Origin,
        host: Origin,
    },
}

/// Where the table prefix came from.
#[derive(Clone, Debug, PartialEq)]
pub enum PrefixSource {
    Setting(Setting),
    WpConfig {
        path: String,
        origin: Origin,
    },
    /// No flag and no wp-config.php.
    Default,
}

/// Why the sidecar writes the database and prefix it does, for `doctor`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigSources {
    pub db: DbSource,
    pub prefix: PrefixSource,
}

impl ConfigSources {
    /// One line: `database shop on 127.0.0.1:3306 as shopuser (/srv/wp/wp-config.php: DB_NAME
    /// line 23, …), table prefix wp_ (wp-config.php line 41)`. Never the password.
    pub fn summary(&self, config: &Config) -> String {
        let opts = &config.db.opts;
        let from = match &self.db {
            DbSource::Url(setting) => setting.to_string(),
            DbSource::WpConfig {
                path,
                name,
                user,
                host,
                ..
            } => {
                format!("{path}: DB_NAME {name}, DB_USER {user}, DB_HOST {host}")
            }
        };
        let prefix_from = match &self.prefix {
            PrefixSource::Setting(setting) => setting.to_string(),
            PrefixSource::WpConfig {
                origin: Origin::Default,
                ..
            } => "wp-config.php sets no $table_prefix, so the default".to_owned(),
            PrefixSource::WpConfig { origin, .. } => format!("wp-config.php {origin}"),
            PrefixSource::Default => "the default".to_owned(),
        };
        format!(
            "database {} on {} as {} ({from}), table prefix {} ({prefix_from})",
            opts.db_name().unwrap_or("(none)"),
            server(opts),
            opts.user().unwrap_or("(no user)"),
            config.prefix
        )
    }

    /// The same, structured, for `doctor --json`.
    pub fn to_json(&self, config: &Config) -> serde_json::Value {
        let opts = &config.db.opts;
        let db_from = match &self.db {
            DbSource::Url(setting) => serde_json::json!({"setting": setting.to_string()}),
            DbSource::WpConfig {
                path,
                name,
                user,
                password,
                host,
            } => serde_json::json!({
                "wp_config": path,
                "DB_NAME": name.to_json(),
                "DB_USER": user.to_json(),
                "DB_PASSWORD": password.to_json(),
                "DB_HOST": host.to_json(),
            }),
        };
        let prefix_from = match &self.prefix {
            PrefixSource::Setting(setting) => serde_json::json!({"setting": setting.to_string()}),
            PrefixSource::WpConfig { path, origin } => {
                let mut v = origin.to_json();
                v["wp_config"] = serde_json::Value::from(path.as_str());
                v
            }
            PrefixSource::Default => serde_json::json!({"via": "default"}),
        };
        serde_json::json!({
            "database": {
                "name": opts.db_name(),
                "host": opts.ip_or_hostname(),
                "port": opts.tcp_port(),
                "socket": opts.socket(),
                "user": opts.user(),
                "from": db_from,
            },
            "table_prefix": {"value": config.prefix.as_str(), "from": prefix_from},
            "api_url": config.api_url,
        })
    }
}

/// `127.0.0.1:3306`, or `localhost (socket /run/mysqld/mysqld.sock)`.
fn server(opts: &mysql_async::Opts) -> String {
    match opts.socket() {
        Some(socket) => format!("{} (socket {socket})", opts.ip_or_hostname()),
        None => format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port()),
    }
}

impl ConfigArgs {
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        self.resolve_explained().map(|(config, _)| config)
    }

    /// The configuration and where its database and table prefix came from.
    pub fn resolve_explained(&self) -> Result<(Config, ConfigSources), ConfigError> {
        // wp-config.php is read only for what the flags leave to it, so setting those works
        // around a file this reader refuses.
        let wp = match &self.wp_root {
            Some(root) if self.db_url.is_none() || self.table_prefix.is_none() => {
                Some(WpConfig::read(root)?)
            }
            _ => None,
        };
        let (wp_db, wp_prefix, wp_path) = match wp {
            Some(WpConfig {
                path,
                db,
                table_prefix,
            }) => (Some(db), Some(table_prefix), Some(path)),
            None => (None, None, None),
        };
        let (db, db_source) = match (&self.db_url, wp_db) {
            (Some(url), _) => (
                DbConfig {
                    opts: mysql_async::Opts::from_url(url)
                        .map_err(|e| ConfigError::BadDbUrl(e.to_string()))?,
                },
                DbSource::Url(Setting::of("--db-url", "CACHICAMO_DB_URL", url)),
            ),
            (None, Some(wp_db)) => {
                let wp_db = wp_db?;
                let source = DbSource::WpConfig {
                    path: wp_path.clone().unwrap_or_default(),
                    name: wp_db.name.origin.clone(),
                    user: wp_db.user.origin.clone(),
                    password: wp_db.password.origin.clone(),
                    host: wp_db.host.origin.clone(),
                };
                (wp_db.db_config(), source)
            }
            (None, None) => return Err(ConfigError::NoDatabase),
        };
        let (prefix, prefix_source) = match (&self.table_prefix, wp_prefix) {
            (Some(p), _) => (
                p.clone(),
                PrefixSource::Setting(Setting::of("--table-prefix", "CACHICAMO_TABLE_PREFIX", p)),
            ),
            (None, Some(wp_prefix)) => {
                let wp_prefix = wp_prefix?;
                let source = PrefixSource::WpConfig {
                    path: wp_path.unwrap_or_default(),
                    origin: wp_prefix.origin,
                };
                (wp_prefix.value, source)
            }
            (None, None) => ("wp_".to_owned(), PrefixSource::Default),
        };
        let prefix = TablePrefix::new(&prefix)?;
        let api_url = self.api_url.trim_end_matches('/').to_owned();
        if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
            return Err(ConfigError::BadApiUrl(self.api_url.clone()));
        }
        check_range("--workers", "between 1 and 64", self.workers, 1..=64)?;
        check_range(
            "--batch-size",
            "between 1 and 500",
            self.batch_size,
            1..=MAX_BATCH_SIZE,
        )?;
        check_range(
            "--api-attempts",
            "between 1 and 20",
            self.api_attempts,
            1..=20,
        )?;
        check_range(
            "--api-timeout",
            "between 1 and 600 seconds",
            self.api_timeout,
            1..=600,
        )?;
        check_range(
            "--lease-secs",
            "between 10 and 3600 seconds",
            self.lease_secs,
            10..=3600,
        )?;
        check_range(
            "--retention-days",
            "between 1 and 3650 days",
            self.retention_days,
            1..=3650,
        )?;
        check_range(
            "--stall-minutes",
            "between 1 and 1440 minutes",
            self.stall_minutes,
            1..=1440,
        )?;
        check_range(
            "--failure-streak",
            "between 1 and 1000 batches",
            self.failure_streak,
            1..=1000,
        )?;
        if !(self.rate_limit.is_finite() && self.rate_limit >= 0.1 && self.rate_limit <= 10_000.0) {
            return Err(ConfigError::OutOfRange {
                name: "--rate-limit",
                rule: "between 0.1 and 10000 requests per second",
                value: self.rate_limit.to_string(),
            });
        }
        let config = Config {
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
            access_token: self
                .access_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            store_uuid: self.store_uuid.clone().filter(|s| !s.is_empty()),
        };
        Ok((
            config,
            ConfigSources {
                db: db_source,
                prefix: prefix_source,
            },
        ))
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
        Err(ConfigError::OutOfRange {
            name,
            rule,
            value: value.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

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

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        config: ConfigArgs,
    }

    fn args(flags: &[&str]) -> ConfigArgs {
        Args::parse_from(std::iter::once("cachicamo-sidecar").chain(flags.iter().copied())).config
    }

    fn wp_root(text: &str) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("wp-config.php"), text).expect("write wp-config.php");
        dir
    }

    /// A private folder removed on drop (the crate has no tempfile dependency).
    mod tempdir {
        use std::path::{Path, PathBuf};

        pub struct Dir(PathBuf);

        impl Dir {
            pub fn new() -> Self {
                let n: u64 = rand::random();
                let path = std::env::temp_dir().join(format!("cachicamo-config-test-{n:016x}"));
                std::fs::create_dir(&path).expect("create a temporary folder");
                Dir(path)
            }

            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const WP: &str = "<?php
// define( 'DB_NAME', 'shop_staging' );
define( 'DB_NAME', 'shop' );
define( 'DB_USER', 'shopuser' );
define( 'DB_PASSWORD', 'hunter2' );
define( 'DB_HOST', '127.0.0.1:3307' );
# $table_prefix = 'staging_';
$table_prefix = 'shop_';
";

    #[test]
    fn sources_name_the_lines_of_wp_config() {
        let root = wp_root(WP);
        let root_arg = root.path().display().to_string();
        let (config, sources) = args(&["--wp-root", &root_arg])
            .resolve_explained()
            .expect("resolve");
        assert_eq!(config.db.opts.db_name(), Some("shop"));
        assert_eq!(config.prefix.as_str(), "shop_");
        let summary = sources.summary(&config);
        let path = root.path().join("wp-config.php").display().to_string();
        assert_eq!(
            summary,
            format!("database shop on 127.0.0.1:3307 as shopuser ({path}: DB_NAME line 3, DB_USER line 4, DB_HOST line 6), table prefix shop_ (wp-config.php line 8)")
        );
        assert!(!summary.contains("hunter2"));
        let json = sources.to_json(&config);
        assert_eq!(json["database"]["name"], "shop");
        assert_eq!(
            json["database"]["from"]["DB_NAME"],
            serde_json::json!({"line": 3, "via": "define"})
        );
        assert_eq!(json["table_prefix"]["from"]["line"], 8);
        assert!(!json.to_string().contains("hunter2"));
    }

    #[test]
    fn flags_replace_what_wp_config_cannot_give() {
        let root = wp_root("<?php\ndefine('DB_NAME', $name);\n$table_prefix = $prefix;\n");
        let root_arg = root.path().display().to_string();
        let err = args(&["--wp-root", &root_arg])
            .resolve()
            .expect_err("DB_NAME is a variable");
        assert!(err.to_string().contains("line 2"), "{err}");
        let (config, sources) = args(&[
            "--wp-root",
            &root_arg,
            "--db-url",
            "mysql://u:p@db.example:3306/shop",
            "--table-prefix",
            "x_",
        ])
        .resolve_explained()
        .expect("the flags replace both");
        assert_eq!(config.db.opts.db_name(), Some("shop"));
        assert_eq!(
            sources.summary(&config),
            "database shop on db.example:3306 as u (--db-url), table prefix x_ (--table-prefix)"
        );
        let err = args(&[
            "--wp-root",
            &root_arg,
            "--db-url",
            "mysql://u:p@db.example:3306/shop",
        ])
        .resolve()
        .expect_err("prefix");
        assert!(
            err.to_string().contains("$table_prefix") && err.to_string().contains("--table-prefix"),
            "{err}"
        );
    }
}
