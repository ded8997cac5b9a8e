//! Shared by the cross-component tests: a seeded store in its own database, the simulator
//! serving its dataset, and the sidecar configured against both.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use cachicamo_sidecar::config::{Config, DbConfig, TablePrefix};
use cachicamo_sidecar::engine::Engine;
use cachicamo_sidecar::store::runs::{RunRow, Trigger};
use cachicamo_testkit::seed::SeedOptions;
use cachicamo_testkit::sim::{self, SimHandle, SimOptions};
use cachicamo_testkit::testdb::{TestDb, TestStore};
use cachicamo_testkit::Dataset;
use tokio_util::sync::CancellationToken;

pub mod daemon;
pub mod invariants;

pub const PREFIX: &str = "wp_";

pub struct Harness {
    pub db: TestDb,
    pub dataset: Dataset,
    pub sim: SimHandle,
}

impl Harness {
    pub async fn new(opts: SeedOptions) -> Self {
        Self::with_sim(opts, SimOptions::default()).await
    }

    pub async fn with_sim(opts: SeedOptions, sim_opts: SimOptions) -> Self {
        let (db, dataset) = TestStore::seed(&opts).await.expect("seed a store");
        let sim = sim::start(
            dataset.clone(),
            sim_opts,
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("start the simulator");
        Self { db, dataset, sim }
    }

    pub fn config(&self) -> Config {
        Config {
            db: DbConfig {
                opts: mysql_async::Opts::from_url(&self.db.url).expect("db url"),
            },
            prefix: TablePrefix::new(PREFIX).expect("prefix"),
            api_url: self.sim.base_url(),
            workers: 3,
            rate_limit: 1000.0,
            batch_size: 500,
            api_timeout: Duration::from_secs(10),
            api_attempts: 3,
            lease: Duration::from_secs(60),
            retention_days: 30,
            stall_minutes: 10,
            failure_streak: 5,
            access_token: None,
            store_uuid: None,
        }
    }

    pub fn engine(&self) -> Engine {
        Engine::new(self.config())
    }

    pub async fn sync(&self) -> RunRow {
        self.sync_with(self.config()).await
    }

    pub async fn sync_with(&self, config: Config) -> RunRow {
        let engine = Engine::new(config);
        let run = engine
            .sync_once(Trigger::Cli, None, CancellationToken::new())
            .await
            .expect("the sync runs");
        engine.store().clone().disconnect().await;
        run
    }

    pub async fn mismatches(&self) -> Vec<String> {
        cachicamo_testkit::check::compare_with_expected(
            &self.db.pool,
            PREFIX,
            &self.dataset.expected,
        )
        .await
        .expect("compare")
    }

    pub fn expected_not_found(&self) -> u64 {
        self.dataset.expected.iter().filter(|e| !e.found).count() as u64
    }

    pub fn product_count(&self) -> u64 {
        self.dataset.expected.len() as u64
    }
}

/// A built binary of this workspace (`cargo build --workspace --bins` puts them beside the
/// test executables' parent folder).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile folder");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` before the tests",
        path.display()
    );
    path
}
