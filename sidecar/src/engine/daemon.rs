//! The long-running engine behind `serve`: a background loop that works whatever run is active
//! (this sidecar's or another's on the same database), and the commands the control plane
//! forwards. It never starts a full sync by itself: only explicit triggers and due schedules do.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::status_cache::{StatusCache, StoredStatus};
use super::{Engine, EngineError, RunContext};
use crate::store::alerts::AlertRow;
use crate::store::changes::ChangeRow;
use crate::store::queue::LeaseRow;
use crate::store::runs::{BatchCounts, RunRow, Totals, Trigger};
use crate::store::settings::MIN_INTERVAL_MINUTES;
use crate::store::Store;

/// Pricing data and settings are re-read at most this often outside runs (selective syncs).
const CONTEXT_MAX_AGE: Duration = Duration::from_secs(300);
/// How long workers may take to finish their batches on shutdown before they are released.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often old history is purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Pause between loop passes, and after a pass that failed (a down API or database is not
/// asked again every second).
const LOOP_EVERY: Duration = Duration::from_secs(1);
const LOOP_AFTER_ERROR: Duration = Duration::from_secs(10);
/// How often the health conditions are evaluated.
const WATCH_EVERY: Duration = Duration::from_secs(15);
/// How often the status is refreshed while a run is worked, and how old a kept status may be when
/// it is shown (older means nobody asked for a while, or the refresh is stuck, and the status is
/// read live instead).
const STATUS_REFRESH: Duration = Duration::from_millis(200);
const STATUS_MAX_AGE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineState {
    Starting,
    Recovering,
    Idle,
    Planning,
    Running,
    Paused,
    Error,
}

/// A run with its live progress (totals summed from its batches so far).
#[derive(Debug, Clone)]
pub struct RunView {
    pub run: RunRow,
    pub batches: BatchCounts,
}

#[derive(Debug, Clone)]
pub struct Health {
    pub database_ok: bool,
    pub database_message: String,
    pub api_ok: bool,
    pub api_message: String,
}

#[derive(Debug, Clone)]
pub struct StatusView {
    pub state: EngineState,
    pub state_since_ms: i64,
    pub paused: bool,
    pub current_run: Option<RunView>,
    pub last_run: Option<RunView>,
    pub lock_holder: String,
    pub leases: Vec<LeaseRow>,
    pub health: Health,
    pub last_error: Option<String>,
    pub active_alerts: Vec<AlertRow>,
    pub recent_alerts: Vec<AlertRow>,
}

#[derive(Debug, Clone)]
pub struct TickOutcome {
    pub started_run: Option<RunRow>,
    pub leases_reclaimed: u32,
    pub pending_changes: Vec<ChangeRow>,
}

struct Worker {
    run_id: u64,
    stop: CancellationToken,
    abort: CancellationToken,
    handle: JoinHandle<()>,
}

struct Inner {
    state: Mutex<(EngineState, i64)>,
    last_error: Mutex<Option<String>>,
    api_health: Mutex<(bool, String)>,
    paused: AtomicBool,
    wake: Notify,
    worker: tokio::sync::Mutex<Option<Worker>>,
    context: tokio::sync::Mutex<Option<(Instant, RunContext)>>,
    status: StatusCache,
    shutdown: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the engine plans or works a run, when the status is kept fresh in the background.
fn working(state: EngineState) -> bool {
    matches!(state, EngineState::Planning | EngineState::Running)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[derive(Clone)]
pub struct Daemon {
    engine: Engine,
    inner: Arc<Inner>,
}

impl Daemon {
    pub fn new(engine: Engine) -> Self {
        let inner = Inner {
            state: Mutex::new((EngineState::Starting, now_ms())),
            last_error: Mutex::new(None),
            api_health: Mutex::new((true, "not contacted yet".into())),
            paused: AtomicBool::new(false),
            wake: Notify::new(),
            worker: tokio::sync::Mutex::new(None),
            context: tokio::sync::Mutex::new(None),
            status: StatusCache::default(),
            shutdown: CancellationToken::new(),
        };
        Self { engine, inner: Arc::new(inner) }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Resolves once a shutdown has begun.
    pub async fn stopping(&self) {
        self.inner.shutdown.cancelled().await
    }

    fn set_state(&self, state: EngineState) {
        let mut s = lock(&self.inner.state);
        if s.0 != state {
            tracing::info!(from = ?s.0, to = ?state, "engine state");
            // Between planning and running the kept status stays true; any other change (a run
            // found or ended, an error, a pause) may change what the database part says.
            if !(working(s.0) && working(state)) {
                self.inner.status.invalidate();
            }
            *s = (state, now_ms());
        }
    }

    /// After a command or a finding changed what the status says: the cached status is read
    /// anew before the command answers, and the loop looks at the queue at once.
    pub(super) async fn changed(&self) {
        self.inner.status.invalidate();
        self.inner.wake.notify_one();
        self.refresh_status_now().await;
    }

    fn state(&self) -> (EngineState, i64) {
        *lock(&self.inner.state)
    }

    fn record_error(&self, e: &EngineError) {
        tracing::error!(error = %e, "engine error");
        *lock(&self.inner.last_error) = Some(e.to_string());
        if let EngineError::Api(api) = e {
            *lock(&self.inner.api_health) = (false, api.to_string());
        }
    }

    /// Migrates, hands back batches held by workers of this machine that are gone (a crashed
    /// sidecar), and starts the background loop. Pending work of an active run resumes.
    pub async fn start(&self) -> Result<JoinHandle<()>, EngineError> {
        let store = self.engine.store();
        store.check().await?;
        store.migrate().await?;
        self.set_state(EngineState::Recovering);
        let dead = dead_local_owners(&store.leases().await?);
        let released = store.release_leases_of(&dead).await?;
        if released > 0 {
            tracing::info!(released, "handed back batches of a sidecar that died on this machine");
        }
        let paused = store.paused().await?;
        self.inner.paused.store(paused, Ordering::SeqCst);
        self.set_state(if paused { EngineState::Paused } else { EngineState::Idle });
        let refresher = self.clone();
        tokio::spawn(async move { refresher.refresh_status().await }.instrument(tracing::info_span!("status")));
        let daemon = self.clone();
        Ok(tokio::spawn(async move { daemon.main_loop().await }.instrument(tracing::info_span!("engine"))))
    }

    /// Keeps the cached status current while this sidecar plans or works a run.
    async fn refresh_status(&self) {
        loop {
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                _ = tokio::time::sleep(STATUS_REFRESH) => {}
            }
            if working(self.state().0) {
                self.refresh_status_now().await;
            }
        }
    }

    /// Stops claiming, lets in-flight batches finish for a short grace period, then releases
    /// whatever is still held.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        if let Some(w) = self.inner.worker.lock().await.take() {
            w.stop.cancel();
            let abort = w.abort.clone();
            let mut handle = w.handle;
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut handle).await.is_err() {
                abort.cancel();
                let _ = handle.await;
            }
        }
    }

    async fn main_loop(&self) {
        let mut last_purge: Option<Instant> = None;
        let mut last_watch: Option<Instant> = None;
        while !self.inner.shutdown.is_cancelled() {
            let pause = match self.step().await {
                Ok(()) => LOOP_EVERY,
                Err(e) => {
                    self.record_error(&e);
                    self.set_state(EngineState::Error);
                    LOOP_AFTER_ERROR
                }
            };
            if last_watch.is_none_or(|at| at.elapsed() >= WATCH_EVERY) {
                last_watch = Some(Instant::now());
                if let Err(e) = self.watch_health().await {
                    tracing::warn!(error = %e, "could not evaluate health");
                }
            }
            if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                match self.engine.store().purge_older_than(self.engine.config().retention_days).await {
                    Ok(_) => last_purge = Some(Instant::now()),
                    Err(e) => tracing::warn!(error = %e, "could not purge old history"),
                }
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One pass: follow the shared pause flag, and make sure the active run is being worked.
    async fn step(&self) -> Result<(), EngineError> {
        let store = self.engine.store();
        let paused = store.paused().await?;
        self.inner.paused.store(paused, Ordering::SeqCst);
        let mut worker = self.inner.worker.lock().await;
        if worker.as_ref().is_some_and(|w| w.handle.is_finished()) {
            *worker = None;
        }
        if paused {
            if let Some(w) = worker.as_ref() {
                w.stop.cancel();
            }
            self.set_state(EngineState::Paused);
            return Ok(());
        }
        let active = store.active_run().await?;
        match (&active, worker.as_ref()) {
            (Some(run), Some(w)) if w.run_id == run.id => self.set_state(EngineState::Running),
            (Some(run), _) => {
                if let Some(old) = worker.take() {
                    old.stop.cancel();
                }
                let ctx = self.context(true).await?;
                *worker = Some(self.spawn_worker(run.id, ctx));
                self.set_state(EngineState::Running);
            }
            (None, _) => {
                if self.state().0 != EngineState::Error || lock(&self.inner.last_error).is_none() {
                    self.set_state(EngineState::Idle);
                }
            }
        }
        Ok(())
    }

    fn spawn_worker(&self, run_id: u64, ctx: RunContext) -> Worker {
        let (stop, abort) = (CancellationToken::new(), CancellationToken::new());
        let daemon = self.clone();
        let (s, a) = (stop.clone(), abort.clone());
        let handle = tokio::spawn(
            async move {
                let result = daemon.engine.work_run(&ctx, run_id, s.clone(), a).await;
                match result {
                    Ok(()) if !s.is_cancelled() => {
                        // The run ends with this commit: no status read before it may be shown after it.
                        daemon.inner.status.hold();
                        match daemon.engine.store().finish_run_if_done(run_id, &ctx.settings.shop.timezone).await {
                            Ok(run) => {
                                *lock(&daemon.inner.api_health) = (true, "ok".into());
                                *lock(&daemon.inner.last_error) = run.error_message.clone();
                            }
                            Err(e) => daemon.record_error(&e.into()),
                        }
                        daemon.set_state(EngineState::Idle);
                        daemon.inner.status.release();
                        // Callers polling for the end find it kept rather than each reading it.
                        daemon.refresh_status_now().await;
                    }
                    Ok(()) => {}
                    Err(e) => {
                        daemon.record_error(&e);
                        daemon.set_state(EngineState::Error);
                    }
                }
                daemon.inner.wake.notify_one();
            }
            .instrument(tracing::info_span!("run", run_id)),
        );
        Worker { run_id, stop, abort, handle }
    }

    /// Settings, client and pricing data: fresh for a new run, cached for selective syncs.
    async fn context(&self, fresh: bool) -> Result<RunContext, EngineError> {
        let mut cached = self.inner.context.lock().await;
        if let (false, Some((at, ctx))) = (fresh, cached.as_ref()) {
            if at.elapsed() < CONTEXT_MAX_AGE {
                return Ok(ctx.clone());
            }
        }
        let ctx = self.engine.prepare().await;
        match &ctx {
            Ok(c) => {
                *cached = Some((Instant::now(), c.clone()));
                *lock(&self.inner.api_health) = (true, "ok".into());
            }
            Err(e) => self.record_error(e),
        }
        ctx
    }

    /// Starts a full sync, or returns the active run (false) instead of starting another.
    pub async fn start_sync(&self, trigger: Trigger) -> Result<(RunRow, bool), EngineError> {
        // The loop's pass waits while a run is planned: one that began before the run existed
        // would otherwise report the engine idle in the middle of planning.
        let worker = self.inner.worker.lock().await;
        if let Some(run) = self.engine.store().active_run().await? {
            return Ok((run, false));
        }
        // Credentials and the API are checked before anything is queued.
        self.context(true).await?;
        let previous = self.state().0;
        self.set_state(EngineState::Planning);
        let result = self.engine.start_run(trigger).await;
        if result.is_err() {
            self.set_state(previous);
        }
        drop(worker);
        let (run, created) = result?;
        *lock(&self.inner.last_error) = None;
        self.changed().await;
        Ok((run, created))
    }

    /// WP-Cron's minute: reclaim expired leases, start a scheduled run when one is due, resume
    /// pending work, and hand back changes waiting for the plugin's finalize step.
    pub async fn tick(&self, max_changes: u32) -> Result<TickOutcome, EngineError> {
        let store = self.engine.store();
        let leases_reclaimed = store.reclaim_expired_leases().await?;
        let mut started_run = None;
        if !store.paused().await? && store.active_run().await?.is_none() && self.scheduled_run_due().await? {
            let (run, created) = self.start_sync(Trigger::Cron).await?;
            if created {
                started_run = Some(run);
            }
        }
        self.changed().await;
        // WordPress notifies about alerts on this call, so they are evaluated fresh for it.
        self.watch_health().await?;
        let pending_changes = store.list_changes(0, max_changes.clamp(1, 1000), false).await?;
        Ok(TickOutcome { started_run, leases_reclaimed, pending_changes })
    }

    /// Due when the interval has passed since the last completed run, and no run of any kind
    /// started in the last ten minutes (so a failing API is not hammered every minute).
    async fn scheduled_run_due(&self) -> Result<bool, EngineError> {
        let store = self.engine.store();
        let interval_ms = i64::from(store.load_settings().await?.plugin.interval_minutes) * 60_000;
        let now = now_ms();
        let completed_long_ago = store
            .last_completed_run()
            .await?
            .and_then(|r| r.finished_at_ms)
            .is_none_or(|at| now - at >= interval_ms);
        let recent_start = store
            .recent_runs(1)
            .await?
            .first()
            .is_some_and(|r| now - r.started_at_ms < i64::from(MIN_INTERVAL_MINUTES) * 60_000);
        Ok(completed_long_ago && !recent_start)
    }

    async fn view(store: &Store, run: RunRow) -> Result<RunView, EngineError> {
        let (totals, batches): (Totals, BatchCounts) = store.run_progress(run.id).await?;
        let mut run = run;
        if run.status.is_active() {
            run.totals = totals;
        }
        Ok(RunView { run, batches })
    }

    pub async fn run_view(&self, run_id: u64) -> Result<Option<RunView>, EngineError> {
        let store = self.engine.store();
        match store.run(run_id).await? {
            Some(run) => Ok(Some(Self::view(store, run).await?)),
            None => Ok(None),
        }
    }

    /// The status. Its database part comes from the cache when it is fresh (always, while this
    /// sidecar plans or works a run), and is read live and kept otherwise.
    pub async fn status(&self) -> StatusView {
        let (state, since) = self.state();
        let stored = match self.inner.status.fresh(STATUS_MAX_AGE) {
            Some(stored) => stored,
            None => self.refresh_status_now().await,
        };
        let stored = Arc::unwrap_or_clone(stored);
        let (api_ok, api_message) = lock(&self.inner.api_health).clone();
        StatusView {
            state,
            state_since_ms: since,
            paused: self.inner.paused.load(Ordering::SeqCst),
            health: Health {
                database_ok: stored.database_down.is_none(),
                database_message: stored.database_down.unwrap_or_else(|| "ok".to_owned()),
                api_ok,
                api_message,
            },
            last_error: stored.error.or_else(|| lock(&self.inner.last_error).clone()),
            current_run: stored.current_run,
            last_run: stored.last_run,
            lock_holder: stored.lock_holder,
            leases: stored.leases,
            active_alerts: stored.active_alerts,
            recent_alerts: stored.recent_alerts,
        }
    }

    /// Reads what the status shows from the database and keeps it for the status display,
    /// unless something invalidated it meanwhile.
    async fn refresh_status_now(&self) -> Arc<StoredStatus> {
        let generation = self.inner.status.generation();
        let stored = Arc::new(self.read_stored_status().await);
        self.inner.status.store(generation, Arc::clone(&stored));
        stored
    }

    async fn read_stored_status(&self) -> StoredStatus {
        let store = self.engine.store().for_status();
        let mut stored = StoredStatus::default();
        if let Err(e) = store.ping().await {
            stored.database_down = Some(e.to_string());
            return stored;
        }
        let details = async {
            let (current, last) = store.current_and_last_run().await?;
            if let Some(run) = current {
                stored.current_run = Some(Self::view(&store, run).await?);
            }
            if let Some(run) = last {
                stored.last_run = Some(Self::view(&store, run).await?);
            }
            stored.lock_holder = store.lock_holder().await?;
            stored.leases = store.leases().await?;
            stored.active_alerts = store.active_alerts().await?;
            stored.recent_alerts = store.recent_alerts(20).await?;
            Ok::<_, EngineError>(())
        }
        .await;
        if let Err(e) = details {
            stored.error = Some(e.to_string());
        }
        stored
    }

    pub async fn pause(&self) -> Result<(), EngineError> {
        self.engine.store().set_paused(true).await?;
        self.inner.paused.store(true, Ordering::SeqCst);
        self.changed().await;
        self.step().await
    }

    pub async fn resume(&self) -> Result<(), EngineError> {
        self.engine.store().set_paused(false).await?;
        self.inner.paused.store(false, Ordering::SeqCst);
        self.changed().await;
        self.step().await
    }

    /// Why the Cachicamo API is failing, while it is: the last failed preparation of a run, or
    /// nearly every recent request failing.
    pub fn api_problem(&self) -> Option<String> {
        let (ok, message) = lock(&self.inner.api_health).clone();
        if !ok {
            return Some(message);
        }
        let recent = self.engine.api_stats().snapshot();
        (recent.requests >= 5 && recent.error_rate >= 0.9)
            .then(|| format!("{:.0}% of the last {} requests failed", recent.error_rate * 100.0, recent.requests))
    }

    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    pub fn current_state(&self) -> EngineState {
        self.state().0
    }

    pub async fn retry_failed(&self, run_id: u64) -> Result<u32, EngineError> {
        let n = self.engine.store().retry_failed(run_id).await?;
        self.changed().await;
        Ok(n)
    }

    pub async fn cancel_run(&self, run_id: u64) -> Result<bool, EngineError> {
        let cancelled = self.engine.store().cancel_run(run_id).await?;
        if let Some(w) = self.inner.worker.lock().await.as_ref() {
            if w.run_id == run_id {
                w.stop.cancel();
            }
        }
        self.changed().await;
        Ok(cancelled)
    }

    pub async fn sync_skus(&self, skus: &[String]) -> Result<super::selective::SelectiveOutcome, EngineError> {
        let ctx = self.context(false).await?;
        self.engine.sync_skus(&ctx, skus).await
    }
}

/// Owners are `host:pid:nonce#worker`; a lease of this host whose process is gone is dead.
fn dead_local_owners(leases: &[LeaseRow]) -> Vec<String> {
    let host = super::host_name();
    let mut dead: Vec<String> = leases
        .iter()
        .filter_map(|l| {
            let mut parts = l.owner.splitn(3, ':');
            let (h, pid) = (parts.next()?, parts.next()?.parse::<i32>().ok()?);
            let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
            (h == host && pid != std::process::id() as i32 && !alive).then(|| l.owner.clone())
        })
        .collect();
    dead.sort();
    dead.dedup();
    dead
}
