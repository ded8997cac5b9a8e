//! A simulator of the Cachicamo API (the endpoints the sync uses) with fault
//! injection and request statistics.

mod api;
mod catalog;
mod control;
mod faults;
mod stats;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::dataset::Dataset;
use catalog::Catalog;
use faults::FaultState;
use stats::Stats;

pub use faults::{FaultUpdate, MalformedKind};
pub use stats::StatsSnapshot;

/// Largest `sku_list` the batch endpoint accepts.
pub const MAX_BATCH_SKUS: usize = 500;

#[derive(Debug, Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("simulator server failed: {0}")]
    Serve(#[from] std::io::Error),
    #[error("simulator task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Initial fault settings and credentials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimOptions {
    pub latency_ms: u64,
    pub error_rate: f64,
    pub rate_limit_rps: Option<f64>,
    pub malformed_rate: f64,
    pub seed: u64,
    /// Overrides the dataset's token.
    pub access_token: Option<String>,
    /// Overrides the dataset's store uuid.
    pub store_uuid: Option<String>,
}

/// Reference data served as is by the auxiliary endpoints.
#[derive(Debug)]
struct Reference {
    users_configuration: Value,
    stores_configuration: Value,
    currencies: Value,
    currency_rates: Value,
    taxes: Value,
    taxes_store: Value,
}

#[derive(Debug)]
struct SimState {
    access_token: String,
    store_uuid: String,
    reference: Reference,
    catalog: RwLock<Catalog>,
    faults: Mutex<FaultState>,
    stats: Mutex<Stats>,
}

/// Locks shared state; a panicked handler must not take the simulator down.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimState {
    fn catalog_mut(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runtime control of faults and of the simulated inventory.
#[derive(Debug, Clone)]
pub struct Faults {
    state: Arc<SimState>,
}

impl Faults {
    pub fn apply(&self, update: FaultUpdate) {
        lock(&self.state.faults).apply(update);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.apply(FaultUpdate {
            reset: true,
            ..FaultUpdate::default()
        });
    }

    pub fn set_error_rate(&self, rate: f64) {
        self.apply(FaultUpdate {
            error_rate: Some(rate),
            ..FaultUpdate::default()
        });
    }

    pub fn set_malformed_rate(&self, rate: f64) {
        self.apply(FaultUpdate {
            malformed_rate: Some(rate),
            ..FaultUpdate::default()
        });
    }

    pub fn set_latency_ms(&self, ms: u64) {
        self.apply(FaultUpdate {
            latency_ms: Some(ms),
            ..FaultUpdate::default()
        });
    }

    /// `None` removes the limit.
    pub fn set_rate_limit(&self, rps: Option<f64>) {
        self.apply(FaultUpdate {
            rate_limit_rps: Some(rps.unwrap_or(0.0)),
            ..FaultUpdate::default()
        });
    }

    /// Every batch request containing `sku` gets HTTP 500.
    pub fn fail_sku(&self, sku: &str) {
        self.apply(FaultUpdate {
            fail_skus: vec![sku.to_owned()],
            ..FaultUpdate::default()
        });
    }

    /// Every batch request containing `sku` gets a broken body of `kind`.
    pub fn malformed_for_sku(&self, sku: &str, kind: MalformedKind) {
        self.apply(FaultUpdate {
            malformed_skus: [(sku.to_owned(), kind)].into(),
            ..FaultUpdate::default()
        });
    }

    /// Replaces the item found by product uuid or SKU (or adds `item`);
    /// returns whether one was replaced.
    pub fn set_item(&self, uuid_or_sku: &str, item: Value) -> bool {
        self.state.catalog_mut().set_item(uuid_or_sku, item)
    }

    /// Sets `stock_billable` of the item holding `sku`; returns whether found.
    pub fn set_stock(&self, sku: &str, stock_billable: impl Into<Value>) -> bool {
        self.state
            .catalog_mut()
            .set_stock(sku, stock_billable.into())
    }
}

/// A running simulator. Dropping it stops the server without waiting.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, with 127.0.0.1 when listening on all interfaces.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    }

    pub fn stats(&self) -> StatsSnapshot {
        lock(&self.state.stats).snapshot()
    }

    pub fn reset_stats(&self) {
        lock(&self.state.stats).reset();
    }

    pub fn faults(&self) -> Faults {
        Faults {
            state: self.state.clone(),
        }
    }

    /// Stops accepting requests and waits (at most 5 s) for open ones.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.shutdown.take() {
            // The server may already be gone; nothing to stop then.
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(5), &mut task).await {
            Ok(joined) => Ok(joined??),
            Err(_) => {
                // Idle keep-alive clients must not hold a test hostage.
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the simulator on `listen` (port 0 picks a free port).
pub async fn start(
    dataset: Dataset,
    opts: SimOptions,
    listen: SocketAddr,
) -> Result<SimHandle, SimError> {
    let mut faults = FaultState::new(opts.seed);
    faults.apply(FaultUpdate {
        error_rate: Some(opts.error_rate),
        malformed_rate: Some(opts.malformed_rate),
        latency_ms: Some(opts.latency_ms),
        rate_limit_rps: opts.rate_limit_rps,
        ..FaultUpdate::default()
    });
    let state = Arc::new(SimState {
        access_token: opts.access_token.unwrap_or(dataset.access_token),
        store_uuid: opts.store_uuid.unwrap_or(dataset.store_uuid),
        reference: Reference {
            users_configuration: dataset.users_configuration,
            stores_configuration: dataset.stores_configuration,
            currencies: dataset.currencies,
            currency_rates: dataset.currency_rates,
            taxes: dataset.taxes,
            taxes_store: dataset.taxes_store,
        },
        catalog: RwLock::new(Catalog::new(dataset.items)),
        faults: Mutex::new(faults),
        stats: Mutex::new(Stats::new()),
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let app = api::router(state.clone())
        .merge(control::router(state.clone()))
        // The fastest gzip level: the simulator shares the machine with what it serves, and its
        // compression time would otherwise be counted against the sidecar in benchmarks.
        .layer(tower_http::compression::CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // A dropped sender also means stop.
                let _ = rx.await;
            })
            .await
    });
    Ok(SimHandle {
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}
