//! A throwaway database per test, dropped when the handle goes away: empty, or a clone of the
//! real store (WordPress 6.8.8 + WooCommerce 10.0.2 with Cachicamo Sync active) that
//! `tests/store/template` installs once per run.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use mysql_async::prelude::Queryable;
use mysql_async::Pool;
use rand::Rng;
use thiserror::Error;

use crate::dataset::Dataset;
use crate::prefix::{is_identifier, validate_prefix, InvalidPrefix};
use crate::seed::{seed_store, SeedError, SeedOptions};

/// Server used when `CACHICAMO_TEST_DB_URL` is unset.
pub const DEFAULT_SERVER_URL: &str = "mysql://root@127.0.0.1:3306";
/// Table prefix of stores seeded by [`TestStore::seed`], and the template's own.
pub const TEST_PREFIX: &str = "wp_";
/// Names the template database when set (scripts/test builds it once and passes it on).
pub const TEMPLATE_ENV: &str = "CACHICAMO_TEST_STORE";

#[derive(Debug, Error)]
pub enum TestDbError {
    #[error("database error: {0}")]
    Db(#[from] mysql_async::Error),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Prefix(#[from] InvalidPrefix),
    #[error("no real store to clone: {0}")]
    Template(String),
}

pub struct TestDb {
    pub name: String,
    /// URL of this database, e.g. `mysql://root@127.0.0.1:3306/cachicamo_t_1a2b…`.
    pub url: String,
    pub pool: Pool,
    server_url: String,
}

/// Server URL from `CACHICAMO_TEST_DB_URL` (a server URL without a database).
fn server_url() -> String {
    std::env::var("CACHICAMO_TEST_DB_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned())
}

/// Inserts the database name before any query string of the server URL.
fn database_url(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let base = base.trim_end_matches('/');
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    /// Creates a uniquely named database on the test server.
    pub async fn create() -> Result<TestDb, TestDbError> {
        let server_url = server_url();
        let suffix: u64 = rand::rng().random();
        // Generated from hex digits only, so safe to splice into DDL.
        let name = format!("cachicamo_t_{suffix:016x}");
        let admin = Pool::from_url(&server_url)?;
        let created = async {
            let mut conn = admin.get_conn().await?;
            conn.query_drop(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"
            ))
            .await
        }
        .await;
        admin.disconnect().await?;
        created?;
        let url = database_url(&server_url, &name);
        let pool = Pool::from_url(&url)?;
        Ok(TestDb {
            name,
            url,
            pool,
            server_url,
        })
    }

    /// A new database holding a clone of the real store, its tables prefixed with `prefix`.
    pub async fn create_store(prefix: &str) -> Result<TestDb, TestDbError> {
        let db = TestDb::create().await?;
        clone_template(&db, prefix).await?;
        Ok(db)
    }
}

/// The template database's name, built by `tests/store/template` the first time a test asks.
fn template() -> Result<&'static str, TestDbError> {
    static TEMPLATE: OnceLock<Result<String, String>> = OnceLock::new();
    let found = TEMPLATE.get_or_init(|| {
        let name = match std::env::var(TEMPLATE_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
        {
            Some(name) => name,
            None => build_template()?,
        };
        // Spliced into DDL below: only the names tests/store/template makes.
        let valid = name
            .strip_prefix("cachicamo_store_")
            .is_some_and(|hash| !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_hexdigit()));
        if valid {
            Ok(name)
        } else {
            Err(format!(
                "{TEMPLATE_ENV}={name:?} is not a template made by tests/store/template"
            ))
        }
    });
    found
        .as_deref()
        .map_err(|e| TestDbError::Template(e.clone()))
}

fn build_template() -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("store/template");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Copies every table of the template into `db`, renaming the `wp_` prefix to `prefix` as a
/// shop installed with that prefix would have it (tables, the roles option, users' meta keys).
async fn clone_template(db: &TestDb, prefix: &str) -> Result<(), TestDbError> {
    let p = validate_prefix(prefix)?;
    let template = template()?;
    let mut conn = db.pool.get_conn().await?;
    let tables: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME LIKE 'wp\\_%'",
            (template,),
        )
        .await?;
    if tables.is_empty() {
        return Err(TestDbError::Template(format!(
            "database {template} holds no store"
        )));
    }
    for table in tables {
        let suffix = &table[TEST_PREFIX.len()..];
        if !is_identifier(suffix) {
            return Err(TestDbError::Template(format!(
                "unexpected table name {table:?} in {template}"
            )));
        }
        conn.query_drop(format!(
            "CREATE TABLE `{p}{suffix}` LIKE `{template}`.`{table}`"
        ))
        .await?;
        conn.query_drop(format!(
            "INSERT INTO `{p}{suffix}` SELECT * FROM `{template}`.`{table}`"
        ))
        .await?;
    }
    if p != TEST_PREFIX {
        conn.exec_drop(
            format!("UPDATE `{p}options` SET option_name = ? WHERE option_name = 'wp_user_roles'"),
            (format!("{p}user_roles"),),
        )
        .await?;
        conn.exec_drop(
            format!("UPDATE `{p}usermeta` SET meta_key = CONCAT(?, SUBSTRING(meta_key, 4)) WHERE meta_key LIKE 'wp\\_%'"),
            (p,),
        )
        .await?;
    }
    Ok(())
}

/// Copies the template database onto another server (a test's private MariaDB), so
/// [`TestDb::create_store`] works there once `CACHICAMO_TEST_DB_URL` points at it.
pub async fn copy_template_to(target_server_url: &str) -> Result<(), TestDbError> {
    let template = template()?;
    let source = Pool::from_url(database_url(&server_url(), template))?;
    let target = Pool::from_url(target_server_url)?;
    let copied = async {
        let mut from = source.get_conn().await?;
        let mut to = target.get_conn().await?;
        to.query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS `{template}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"
        ))
        .await?;
        to.query_drop(format!("USE `{template}`")).await?;
        let tables: Vec<String> = from
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
                (template,),
            )
            .await?;
        for table in tables {
            if !is_identifier(&table) {
                return Err(TestDbError::Template(format!("unexpected table name {table:?} in {template}")));
            }
            let ddl: Option<(String, String)> = from.query_first(format!("SHOW CREATE TABLE `{table}`")).await?;
            let Some((_, ddl)) = ddl else { continue };
            to.query_drop(ddl).await?;
            let rows: Vec<mysql_async::Row> = from.query(format!("SELECT * FROM `{table}`")).await?;
            for row in rows {
                let values: Vec<mysql_async::Value> = row.unwrap();
                let marks = vec!["?"; values.len()].join(", ");
                to.exec_drop(format!("INSERT INTO `{table}` VALUES ({marks})"), values).await?;
            }
        }
        Ok::<(), TestDbError>(())
    }
    .await;
    source.disconnect().await?;
    target.disconnect().await?;
    copied
}

async fn drop_database(server_url: &str, name: &str) -> Result<(), mysql_async::Error> {
    let admin = Pool::from_url(server_url)?;
    let dropped = async {
        let mut conn = admin.get_conn().await?;
        // A test that panicked may leave a connection inside a transaction, holding locks the
        // drop would wait on: end this database's own connections first (never another's).
        let held: Vec<u64> = conn
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                (name,),
            )
            .await?;
        for id in held {
            // It may have ended on its own meanwhile.
            let _ = conn.query_drop(format!("KILL CONNECTION {id}")).await;
        }
        conn.query_drop("SET SESSION lock_wait_timeout = 10")
            .await?;
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
    }
    .await;
    admin.disconnect().await?;
    dropped
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop cannot await and may run inside a runtime: use a fresh thread
        // with its own runtime, and only report failures.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => {
                    // The test's own pool is left alone: its background task
                    // lives on the runtime this thread is blocking.
                    if let Err(e) = rt.block_on(drop_database(&server_url, &name)) {
                        eprintln!("test database {name}: drop failed: {e}");
                    }
                }
                Err(e) => eprintln!("test database {name}: no runtime to drop it: {e}"),
            }
        });
        if worker.join().is_err() {
            eprintln!("test database {}: drop thread panicked", self.name);
        }
    }
}

/// Seeded test stores.
pub struct TestStore;

impl TestStore {
    /// A fresh clone of the real store, seeded, with prefix [`TEST_PREFIX`].
    pub async fn seed(opts: &SeedOptions) -> Result<(TestDb, Dataset), TestDbError> {
        let db = TestDb::create_store(TEST_PREFIX).await?;
        let dataset = seed_store(&db.pool, TEST_PREFIX, opts).await?;
        Ok((db, dataset))
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn database_goes_before_query() {
        assert_eq!(
            database_url("mysql://root@127.0.0.1:3306/", "db1"),
            "mysql://root@127.0.0.1:3306/db1"
        );
        assert_eq!(
            database_url("mysql://root@h:3306?prefer_socket=false", "db1"),
            "mysql://root@h:3306/db1?prefer_socket=false"
        );
    }
}
