//! The engine: plans runs, works their batches with several workers under leases, and finishes
//! them. It speaks to the store and the Cachicamo client only; protobuf never reaches it.

pub mod daemon;
pub mod matching;
pub mod monitor;
pub mod plan;
pub mod selective;
mod status_cache;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cachicamo::client::ClientOptions;
use crate::cachicamo::stats::ApiStats;
use crate::cachicamo::{ApiError, Client, PricingContext};
use crate::config::Config;
use crate::store::apply::{ApplyError, ApplyTarget};
use crate::store::queue::Claim;
use crate::store::runs::{BatchCounts, RunRow, Totals, Trigger};
use crate::store::settings::Settings;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("no Cachicamo {0} is configured: enter it in WooCommerce → Settings → Integration → Cachicamo App, or set {1}")]
    MissingCredential(&'static str, &'static str),
    #[error("the sync was interrupted; its remaining batches stay queued and resume on the next sync")]
    Interrupted,
}

/// What a run looks like while it is worked, for progress displays.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub run_id: u64,
    pub total_batches: u32,
    pub total_skus: u64,
    pub batches: BatchCounts,
    pub totals: Totals,
    pub elapsed: Duration,
}

impl Progress {
    pub fn batches_done(&self) -> u32 {
        self.batches.completed + self.batches.error
    }
}

/// Everything one run needs that is read once: the settings, an API client and pricing data.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub settings: Arc<Settings>,
    pub client: Client,
    pub pricing: Arc<PricingContext>,
}

#[derive(Clone, Debug)]
pub struct Engine {
    store: Store,
    config: Arc<Config>,
    owner: String,
    api_stats: Arc<ApiStats>,
    /// Batches reading or writing the store at once: one more than this machine has cores.
    /// Workers also wait on the API, so more of them run than that; letting only a few into the
    /// database at a time keeps its run queue short, so everything else on the machine (a shop's
    /// pages, the status display) stays quick, and a run measured no slower for it.
    store_slots: Arc<tokio::sync::Semaphore>,
}

impl Engine {
    pub fn new(config: Config) -> Self {
        let slots = std::thread::available_parallelism().map_or(2, usize::from) + 1;
        // Kept open: the batches inside the database, plus claims and completions beside them.
        let store = Store::new(&config.db, config.prefix.clone(), slots + 2, config.workers + 2);
        let owner = format!("{}:{}:{}", host_name(), std::process::id(), &uuid::Uuid::new_v4().to_string()[..8]);
        Self { store, config: Arc::new(config), owner, api_stats: Arc::default(), store_slots: Arc::new(tokio::sync::Semaphore::new(slots)) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Latency and outcome of this sidecar's recent Cachicamo requests.
    pub fn api_stats(&self) -> &ApiStats {
        &self.api_stats
    }

    /// Checks the database and tables, migrates, and reads settings, credentials and pricing
    /// data. Every reason a run could not start surfaces here, before anything is queued.
    pub async fn prepare(&self) -> Result<RunContext, EngineError> {
        self.store.check().await?;
        self.store.migrate().await?;
        let settings = self.store.load_settings().await?;
        let token = self
            .config
            .access_token
            .clone()
            .or_else(|| settings.plugin.access_token.clone())
            .ok_or(EngineError::MissingCredential("access token", "CACHICAMO_ACCESS_TOKEN"))?;
        let store_uuid = self
            .config
            .store_uuid
            .clone()
            .or_else(|| settings.plugin.store_uuid.clone())
            .ok_or(EngineError::MissingCredential("store UUID", "CACHICAMO_STORE_UUID"))?;
        let client = Client::new(ClientOptions {
            base_url: self.config.api_url.clone(),
            access_token: token,
            store_uuid,
            timeout: self.config.api_timeout,
            attempts: self.config.api_attempts,
            rate_limit: self.config.rate_limit,
            min_backoff: Duration::from_millis(200),
            stats: Some(self.api_stats.clone()),
        })?;
        let aux = client.fetch_aux().await?;
        let pricing = PricingContext::new(&settings.shop.currency, &aux);
        Ok(RunContext { settings: Arc::new(settings), client, pricing: Arc::new(pricing) })
    }

    /// The active run, or a new one planned from the whole catalog.
    pub async fn start_run(&self, trigger: Trigger) -> Result<(RunRow, bool), EngineError> {
        if let Some(run) = self.store.active_run().await? {
            return Ok((run, false));
        }
        let started = Instant::now();
        let catalog = self.store.read_catalog().await?;
        let plan = plan::plan_batches(&catalog, self.config.batch_size);
        let (run, created) = self.store.create_run(trigger, &self.owner, &plan).await?;
        if created {
            tracing::info!(run_id = run.id, products = catalog.len(), batches = plan.len(), plan_ms = started.elapsed().as_millis() as u64, "run planned");
        }
        Ok((run, created))
    }

    /// Plans (or joins) a run and works it to the end in this process: the `sync --once` path.
    pub async fn sync_once(&self, trigger: Trigger, progress: Option<watch::Sender<Progress>>, cancel: CancellationToken) -> Result<RunRow, EngineError> {
        let ctx = self.prepare().await?;
        let (run, _) = self.start_run(trigger).await?;
        let span = tracing::info_span!("run", run_id = run.id, trigger = trigger.as_str());
        async {
            let reporter = progress.map(|tx| self.spawn_progress(run.clone(), tx, cancel.child_token()));
            let result = self.work_run(&ctx, run.id, cancel.clone(), cancel.clone()).await;
            if let Some((handle, stop)) = reporter {
                stop.cancel();
                let _ = handle.await;
            }
            result?;
            if cancel.is_cancelled() {
                return Err(EngineError::Interrupted);
            }
            Ok(self.store.finish_run_if_done(run.id, &ctx.settings.shop.timezone).await?)
        }
        .instrument(span)
        .await
    }

    /// Runs the configured number of workers on a run until none of its batches is open.
    /// `stop` ends claiming (in-flight batches finish); `abort` also hands in-flight batches back.
    pub async fn work_run(&self, ctx: &RunContext, run_id: u64, stop: CancellationToken, abort: CancellationToken) -> Result<(), EngineError> {
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..self.config.workers {
            let (engine, ctx, stop, abort) = (self.clone(), ctx.clone(), stop.clone(), abort.clone());
            tasks.spawn(async move { engine.worker_loop(&ctx, run_id, worker, stop, abort).await });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.unwrap_or_else(|e| Err(EngineError::Store(StoreError::Data(format!("a worker crashed: {e}")))));
            if let Err(e) = result {
                // One failing worker (the database went away) stops the others; their batches
                // are released or their leases expire, and the run resumes later.
                stop.cancel();
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn worker_loop(&self, ctx: &RunContext, run_id: u64, worker: usize, stop: CancellationToken, abort: CancellationToken) -> Result<(), EngineError> {
        let owner = format!("{}#{worker}", self.owner);
        while !stop.is_cancelled() {
            match self.store.claim_batch(run_id, &owner, self.config.lease).await? {
                Some(claim) => self.process_claim(ctx, claim, &abort).await?,
                None => {
                    if self.store.batch_counts(run_id).await?.open() == 0 {
                        return Ok(());
                    }
                    // Another worker or sidecar holds the rest; wait for it, or for a lease to expire.
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    }
                }
            }
        }
        Ok(())
    }

    async fn process_claim(&self, ctx: &RunContext, claim: Claim, abort: &CancellationToken) -> Result<(), EngineError> {
        let span = tracing::info_span!("batch", batch_id = claim.batch_id, number = claim.batch_number, of = claim.total_batches, attempt = claim.attempts);
        let heartbeat = self.spawn_heartbeat(claim.clone());
        let result = tokio::select! {
            r = self.work_batch(ctx, &claim).instrument(span.clone()) => r,
            _ = abort.cancelled() => {
                self.store.release_batch(&claim).await?;
                Ok(())
            }
        };
        heartbeat.cancel();
        result
    }

    /// Keeps the lease alive while the batch waits on slow API retries.
    fn spawn_heartbeat(&self, claim: Claim) -> CancellationToken {
        let stop = CancellationToken::new();
        let (store, lease, token) = (self.store.clone(), self.config.lease, stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(lease / 3) => {
                        match store.renew_lease(&claim, lease).await {
                            Ok(true) => {}
                            Ok(false) => return,
                            Err(e) => tracing::warn!(batch_id = claim.batch_id, error = %e, "could not renew a lease"),
                        }
                    }
                }
            }
        });
        stop
    }

    async fn work_batch(&self, ctx: &RunContext, claim: &Claim) -> Result<(), EngineError> {
        let started = Instant::now();
        let slot = self.store_slot().await?;
        let snapshot = self.store.load_batch(&claim.product_ids).await?;
        drop(slot);
        let products = &snapshot.products;
        let keys: Vec<String> = products.iter().flat_map(|p| p.keys()).collect();
        let items = if keys.is_empty() { Ok(Vec::new()) } else { ctx.client.batch_inventory(&keys, ctx.settings.plugin.price_tier).await };
        let items = match items {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(error = %e, products = products.len(), "batch failed");
                self.store.fail_batch(claim, &e.to_string(), products.len() as u64, started.elapsed()).await?;
                return Ok(());
            }
        };
        let apply_items = matching::match_items(products, &items, &ctx.pricing);
        let target = ApplyTarget { claim: Some(claim), run_id: Some(claim.run_id), started };
        let slot = self.store_slot().await?;
        let applied = self.store.apply_batch(&snapshot, &apply_items, &target, &ctx.settings.shop).await;
        drop(slot);
        match applied {
            Ok(outcome) => {
                for e in &outcome.item_errors {
                    tracing::warn!(error = %e, "item not fully applied");
                }
                let t = outcome.totals;
                tracing::info!(
                    keys = keys.len(), items = items.len(), synced = t.synced, changed = t.changed, errors = t.errors,
                    not_found = t.not_found, conflicts = t.conflicts, ms = started.elapsed().as_millis() as u64, "batch applied"
                );
                if !outcome.conflicted.is_empty() {
                    self.resync_conflicts(ctx, claim.run_id, &outcome.conflicted).await;
                }
                Ok(())
            }
            Err(ApplyError::LeaseLost) => {
                tracing::warn!("lease lost before commit; the batch belongs to another worker now");
                Ok(())
            }
            Err(ApplyError::Store(e)) => Err(e.into()),
        }
    }

    async fn store_slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, EngineError> {
        self.store_slots.acquire().await.map_err(|_| EngineError::Store(StoreError::Data("the store's slots were closed".into())))
    }

    /// Products that changed in the store while their batch was applied were left alone; they
    /// are read again from Cachicamo and applied now, against their new values. Cachicamo
    /// stays the source of truth, but nothing is written from an answer older than the sale.
    /// A failure here is only logged: the next run or selective sync covers them.
    async fn resync_conflicts(&self, ctx: &RunContext, run_id: u64, conflicted: &[u64]) {
        let again = match self.store.load_batch(conflicted).await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                tracing::warn!(error = %e, products = conflicted.len(), "could not re-read conflicted products");
                return;
            }
        };
        match self.sync_products(ctx, &again, Some(run_id)).await {
            Ok((_, outcome)) => tracing::info!(
                products = again.products.len(),
                changed = outcome.totals.changed,
                conflicts = outcome.totals.conflicts,
                "conflicted products re-synced"
            ),
            Err(e) => tracing::warn!(error = %e, products = again.products.len(), "could not re-sync conflicted products"),
        }
    }

    fn spawn_progress(&self, run: RunRow, tx: watch::Sender<Progress>, stop: CancellationToken) -> (tokio::task::JoinHandle<()>, CancellationToken) {
        let store = self.store.clone();
        let started = Instant::now();
        let token = stop.clone();
        let handle = tokio::spawn(async move {
            loop {
                if let Ok((totals, batches)) = store.run_progress(run.id).await {
                    let _ = tx.send(Progress {
                        run_id: run.id,
                        total_batches: run.total_batches,
                        total_skus: run.total_skus,
                        batches,
                        totals,
                        elapsed: started.elapsed(),
                    });
                }
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                }
            }
        });
        (handle, stop)
    }
}

/// This machine's name, the first part of every lease owner.
pub fn host_name() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".into())
}
