//! A throwaway database per test, dropped when the handle goes away.

use mysql_async::prelude::Queryable;
use mysql_async::Pool;
use rand::Rng;
use thiserror::Error;

use crate::dataset::Dataset;
use crate::seed::{seed_store, SeedError, SeedOptions};

/// Server used when `CACHICAMO_TEST_DB_URL` is unset.
pub const DEFAULT_SERVER_URL: &str = "mysql://root@127.0.0.1:3306";
/// Table prefix of stores seeded by [`TestStore::seed`].
pub const TEST_PREFIX: &str = "wp_";

#[derive(Debug, Error)]
pub enum TestDbError {
    #[error("database error: {0}")]
    Db(#[from] mysql_async::Error),
    #[error(transparent)]
    Seed(#[from] SeedError),
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
}

async fn drop_database(server_url: &str, name: &str) -> Result<(), mysql_async::Error> {
    let admin = Pool::from_url(server_url)?;
    let dropped = async {
        let mut conn = admin.get_conn().await?;
        // A connection left inside a transaction must not hang the drop forever.
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
    /// A fresh database seeded with prefix [`TEST_PREFIX`].
    pub async fn seed(opts: &SeedOptions) -> Result<(TestDb, Dataset), TestDbError> {
        let db = TestDb::create().await?;
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
