//! The gRPC control plane: translates between `cachicamo.sync.v1` messages and the engine, and
//! validates arguments. No SQL and no sync logic lives here.

pub mod client;
pub mod prometheus;
pub mod server;

use std::pin::Pin;
use std::time::Duration;

use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::engine::daemon::{Daemon, EngineState, RunView};
use crate::engine::selective::MAX_SELECTIVE_SKUS;
use crate::engine::EngineError;
use crate::proto;
use crate::proto::sync_service_server::SyncService;
use crate::store::alerts::AlertRow;
use crate::store::changes::ChangeRow;
use crate::store::runs::{RunStatus, Totals, Trigger};
use crate::store::StoreError;

const MAX_PAGE_SIZE: u32 = 500;
const MAX_SKU_LEN: usize = 100;
const WATCH_INTERVAL: Duration = Duration::from_millis(300);

pub struct SyncServer {
    daemon: Daemon,
}

impl SyncServer {
    pub fn new(daemon: Daemon) -> Self {
        Self { daemon }
    }
}

fn to_status(e: EngineError) -> Status {
    match &e {
        EngineError::Store(StoreError::Unavailable(_)) => Status::unavailable(e.to_string()),
        EngineError::Store(StoreError::Conflict(_)) => Status::failed_precondition(e.to_string()),
        EngineError::Store(StoreError::MissingTable(_)) => Status::failed_precondition(e.to_string()),
        EngineError::Store(_) => Status::internal(e.to_string()),
        EngineError::Api(api) if api.is_fatal_for_run() => Status::unavailable(e.to_string()),
        EngineError::Api(_) => Status::unavailable(e.to_string()),
        EngineError::MissingCredential(..) => Status::failed_precondition(e.to_string()),
        EngineError::Interrupted => Status::aborted(e.to_string()),
    }
}

fn ms_to_secs(ms: i64) -> i64 {
    ms / 1000
}

fn totals(t: &Totals) -> proto::Totals {
    proto::Totals { synced: t.synced, changed: t.changed, unchanged: t.unchanged, errors: t.errors, not_found: t.not_found, conflicts: t.conflicts }
}

fn run_status(s: RunStatus) -> proto::RunStatus {
    match s {
        RunStatus::Running => proto::RunStatus::Running,
        RunStatus::Completed => proto::RunStatus::Completed,
        RunStatus::CompletedWithErrors => proto::RunStatus::CompletedWithErrors,
        RunStatus::Failed => proto::RunStatus::Failed,
        RunStatus::Cancelled => proto::RunStatus::Cancelled,
    }
}

fn trigger(s: &str) -> proto::Trigger {
    match s {
        "manual" => proto::Trigger::Manual,
        "cron" => proto::Trigger::Cron,
        "cli" => proto::Trigger::Cli,
        _ => proto::Trigger::Unspecified,
    }
}

pub(crate) fn run_message(v: &RunView) -> proto::Run {
    let r = &v.run;
    proto::Run {
        id: r.id,
        trigger: trigger(&r.trigger) as i32,
        status: run_status(r.status) as i32,
        total_batches: r.total_batches,
        total_skus: r.total_skus,
        total_products: r.total_products,
        batches_done: v.batches.completed + v.batches.error,
        batches_failed: v.batches.error,
        totals: Some(totals(&r.totals)),
        started_at: ms_to_secs(r.started_at_ms),
        finished_at: r.finished_at_ms.map(ms_to_secs).unwrap_or(0),
        duration_ms: r.duration_ms(),
        error_message: r.error_message.clone().unwrap_or_default(),
    }
}

fn engine_state(s: EngineState) -> proto::EngineState {
    match s {
        EngineState::Starting => proto::EngineState::Starting,
        EngineState::Recovering => proto::EngineState::Recovering,
        EngineState::Idle => proto::EngineState::Idle,
        EngineState::Planning => proto::EngineState::Planning,
        EngineState::Running => proto::EngineState::Running,
        EngineState::Paused => proto::EngineState::Paused,
        EngineState::Error => proto::EngineState::Error,
    }
}

fn change_message(c: ChangeRow) -> proto::Change {
    proto::Change {
        id: c.id,
        product_id: c.product_id,
        parent_id: c.parent_id,
        run_id: c.run_id,
        batch_id: c.batch_id,
        old_stock: c.old_stock.unwrap_or_default(),
        new_stock: c.new_stock.unwrap_or_default(),
        old_stock_status: c.old_stock_status.unwrap_or_default(),
        new_stock_status: c.new_stock_status.unwrap_or_default(),
        old_price: c.old_price.unwrap_or_default(),
        new_price: c.new_price.unwrap_or_default(),
        changed_at: ms_to_secs(c.changed_at_ms),
        finalized: c.finalized,
        sku: c.sku,
    }
}

fn alert_message(a: AlertRow) -> proto::Alert {
    proto::Alert {
        id: a.id,
        kind: a.kind,
        message: a.message,
        raised_at: ms_to_secs(a.raised_at_ms),
        cleared_at: a.cleared_at_ms.map(ms_to_secs).unwrap_or(0),
    }
}

fn batch_status_name(v: i32) -> Result<Option<&'static str>, Status> {
    match proto::BatchStatus::try_from(v) {
        Ok(proto::BatchStatus::Unspecified) => Ok(None),
        Ok(proto::BatchStatus::Pending) => Ok(Some("pending")),
        Ok(proto::BatchStatus::Processing) => Ok(Some("processing")),
        Ok(proto::BatchStatus::Completed) => Ok(Some("completed")),
        Ok(proto::BatchStatus::Error) => Ok(Some("error")),
        Ok(proto::BatchStatus::Superseded) => Ok(Some("superseded")),
        Err(_) => Err(Status::invalid_argument(format!("status {v} is not a batch status (pending, processing, completed, error, superseded)"))),
    }
}

fn batch_status_value(s: &str) -> proto::BatchStatus {
    match s {
        "pending" => proto::BatchStatus::Pending,
        "processing" => proto::BatchStatus::Processing,
        "completed" => proto::BatchStatus::Completed,
        "error" => proto::BatchStatus::Error,
        "superseded" => proto::BatchStatus::Superseded,
        _ => proto::BatchStatus::Unspecified,
    }
}

impl SyncServer {
    /// Run id 0 means the active run, else the most recent one.
    async fn resolve_run(&self, run_id: u64) -> Result<RunView, Status> {
        let store = self.daemon.engine().store();
        let id = if run_id != 0 {
            run_id
        } else {
            match store.active_run().await.map_err(|e| to_status(e.into()))? {
                Some(r) => r.id,
                None => match store.recent_runs(1).await.map_err(|e| to_status(e.into()))?.first() {
                    Some(r) => r.id,
                    None => return Err(Status::not_found("no sync has run yet")),
                },
            }
        };
        self.daemon.run_view(id).await.map_err(to_status)?.ok_or_else(|| Status::not_found(format!("there is no run {id}")))
    }
}

type ProgressStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::RunProgress, Status>> + Send>>;

#[tonic::async_trait]
impl SyncService for SyncServer {
    async fn start_sync(&self, request: Request<proto::StartSyncRequest>) -> Result<Response<proto::StartSyncResponse>, Status> {
        let trigger = match proto::Trigger::try_from(request.get_ref().trigger) {
            Ok(proto::Trigger::Manual) => Trigger::Manual,
            Ok(proto::Trigger::Cron) => Trigger::Cron,
            Ok(proto::Trigger::Cli) => Trigger::Cli,
            _ => return Err(Status::invalid_argument("trigger must be manual, cron or cli")),
        };
        let (run, started) = self.daemon.start_sync(trigger).await.map_err(to_status)?;
        let view = self.daemon.run_view(run.id).await.map_err(to_status)?.ok_or_else(|| Status::internal("the run vanished"))?;
        Ok(Response::new(proto::StartSyncResponse { run: Some(run_message(&view)), started }))
    }

    async fn tick(&self, request: Request<proto::TickRequest>) -> Result<Response<proto::TickResponse>, Status> {
        let max = match request.get_ref().max_changes {
            0 => 200,
            n if n > 1000 => return Err(Status::invalid_argument("max_changes must be at most 1000")),
            n => n,
        };
        let outcome = self.daemon.tick(max).await.map_err(to_status)?;
        let current = match self.daemon.engine().store().active_run().await.map_err(|e| to_status(e.into()))? {
            Some(r) => self.daemon.run_view(r.id).await.map_err(to_status)?.map(|v| run_message(&v)),
            None => None,
        };
        let mut ids: Vec<u64> = outcome.pending_changes.iter().map(|c| c.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(Response::new(proto::TickResponse {
            state: engine_state(self.daemon.current_state()) as i32,
            current_run: current,
            started_scheduled_run: outcome.started_run.is_some(),
            leases_reclaimed: outcome.leases_reclaimed,
            changed_product_ids: ids,
            pending_changes: outcome.pending_changes.into_iter().map(change_message).collect(),
        }))
    }

    async fn get_status(&self, _request: Request<proto::GetStatusRequest>) -> Result<Response<proto::GetStatusResponse>, Status> {
        let s = self.daemon.status().await;
        if !s.health.database_ok {
            return Err(Status::unavailable(s.health.database_message));
        }
        let counts = s.current_run.as_ref().or(s.last_run.as_ref()).map(|v| v.batches).unwrap_or_default();
        Ok(Response::new(proto::GetStatusResponse {
            state: engine_state(s.state) as i32,
            state_since: ms_to_secs(s.state_since_ms),
            current_run: s.current_run.as_ref().map(run_message),
            last_run: s.last_run.as_ref().map(run_message),
            batch_counts: Some(proto::BatchCounts { pending: counts.pending, processing: counts.processing, completed: counts.completed, error: counts.error }),
            lock_holder: s.lock_holder,
            leases: s
                .leases
                .into_iter()
                .map(|l| proto::LeaseHolder { batch_id: l.batch_id, owner: l.owner, expires_at: ms_to_secs(l.expires_at_ms) })
                .collect(),
            health: Some(proto::Health {
                database_ok: s.health.database_ok,
                database_message: s.health.database_message,
                api_ok: s.health.api_ok,
                api_message: s.health.api_message,
            }),
            last_error: s.last_error.unwrap_or_default(),
            paused: s.paused,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            active_alerts: s.active_alerts.into_iter().map(alert_message).collect(),
            recent_alerts: s.recent_alerts.into_iter().map(alert_message).collect(),
        }))
    }

    type WatchRunStream = ProgressStream;

    async fn watch_run(&self, request: Request<proto::WatchRunRequest>) -> Result<Response<Self::WatchRunStream>, Status> {
        let first = self.resolve_run(request.get_ref().run_id).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let daemon = self.daemon.clone();
        let run_id = first.run.id;
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut view = Some(first);
            loop {
                let Some(v) = view.take() else { break };
                let finished = !v.run.status.is_active();
                let done = v.batches.completed + v.batches.error;
                let elapsed = started.elapsed().as_secs_f64().max(0.001);
                let rate = if v.run.total_batches > 0 { v.run.total_skus as f64 * f64::from(done) / f64::from(v.run.total_batches) / elapsed } else { 0.0 };
                let remaining = v.run.total_batches.saturating_sub(done);
                let eta_ms = if done > 0 { (elapsed * 1000.0 * f64::from(remaining) / f64::from(done)) as u64 } else { 0 };
                let msg = proto::RunProgress { run: Some(run_message(&v)), skus_per_second: rate, eta_ms, finished };
                if tx.send(Ok(msg)).await.is_err() || finished {
                    break;
                }
                tokio::select! {
                    _ = daemon.stopping() => {
                        let _ = tx.send(Err(Status::unavailable("the sidecar is shutting down; the run resumes when it is back"))).await;
                        break;
                    }
                    _ = tokio::time::sleep(WATCH_INTERVAL) => {}
                }
                view = match daemon.run_view(run_id).await {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = tx.send(Err(to_status(e))).await;
                        None
                    }
                };
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn sync_skus(&self, request: Request<proto::SyncSkusRequest>) -> Result<Response<proto::SyncSkusResponse>, Status> {
        let skus: Vec<String> = request.into_inner().skus.into_iter().map(|s| s.trim().to_owned()).collect();
        if skus.is_empty() {
            return Err(Status::invalid_argument("give at least one SKU"));
        }
        if skus.len() > MAX_SELECTIVE_SKUS {
            return Err(Status::invalid_argument(format!(
                "{} SKUs is too many for a selective sync (at most {MAX_SELECTIVE_SKUS}); start a full sync instead",
                skus.len()
            )));
        }
        if let Some(bad) = skus.iter().find(|s| s.is_empty() || s.chars().count() > MAX_SKU_LEN || s.chars().any(char::is_control)) {
            return Err(Status::invalid_argument(format!("{bad:?} is not a SKU: SKUs are 1 to {MAX_SKU_LEN} printable characters")));
        }
        let outcome = self.daemon.sync_skus(&skus).await.map_err(to_status)?;
        Ok(Response::new(proto::SyncSkusResponse {
            totals: Some(totals(&outcome.totals)),
            results: outcome
                .results
                .into_iter()
                .map(|r| proto::SkuResult { sku: r.sku, product_id: r.product_id, outcome: r.outcome.to_owned(), message: r.message })
                .collect(),
            changed_product_ids: outcome.changed_product_ids,
        }))
    }

    async fn list_batches(&self, request: Request<proto::ListBatchesRequest>) -> Result<Response<proto::ListBatchesResponse>, Status> {
        let req = request.into_inner();
        let status = batch_status_name(req.status)?;
        let page_size = match req.page_size {
            0 => 50,
            n if n > MAX_PAGE_SIZE => return Err(Status::invalid_argument(format!("page_size must be at most {MAX_PAGE_SIZE}"))),
            n => n,
        };
        let after: u64 = if req.page_token.is_empty() {
            0
        } else {
            req.page_token.parse().map_err(|_| Status::invalid_argument("page_token is not one this server issued"))?
        };
        let run = self.resolve_run(req.run_id).await?;
        let rows = self
            .daemon
            .engine()
            .store()
            .list_batches(run.run.id, status, after, page_size + 1)
            .await
            .map_err(|e| to_status(e.into()))?;
        let more = rows.len() > page_size as usize;
        let rows: Vec<_> = rows.into_iter().take(page_size as usize).collect();
        let next_page_token = if more { rows.last().map(|b| b.id.to_string()).unwrap_or_default() } else { String::new() };
        Ok(Response::new(proto::ListBatchesResponse {
            batches: rows
                .into_iter()
                .map(|b| proto::Batch {
                    id: b.id,
                    run_id: b.run_id,
                    batch_number: b.batch_number,
                    total_batches: b.total_batches,
                    status: batch_status_value(&b.status) as i32,
                    sku_count: b.sku_count,
                    attempts: b.attempts,
                    totals: Some(totals(&b.totals)),
                    error_message: b.error_message.unwrap_or_default(),
                    lease_owner: b.lease_owner.unwrap_or_default(),
                    processed_at: b.processed_at_ms.map(ms_to_secs).unwrap_or(0),
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn retry_failed(&self, request: Request<proto::RetryFailedRequest>) -> Result<Response<proto::RetryFailedResponse>, Status> {
        let run = self.resolve_run(request.get_ref().run_id).await?;
        let n = self.daemon.retry_failed(run.run.id).await.map_err(to_status)?;
        let view = self.daemon.run_view(run.run.id).await.map_err(to_status)?.unwrap_or(run);
        Ok(Response::new(proto::RetryFailedResponse { batches_requeued: n, run: Some(run_message(&view)) }))
    }

    async fn cancel_run(&self, request: Request<proto::CancelRunRequest>) -> Result<Response<proto::CancelRunResponse>, Status> {
        let run = self.resolve_run(request.get_ref().run_id).await?;
        if !run.run.status.is_active() {
            return Err(Status::failed_precondition(format!("run {} is not active (it is {})", run.run.id, run.run.status.as_str())));
        }
        self.daemon.cancel_run(run.run.id).await.map_err(to_status)?;
        let view = self.daemon.run_view(run.run.id).await.map_err(to_status)?.unwrap_or(run);
        Ok(Response::new(proto::CancelRunResponse { run: Some(run_message(&view)) }))
    }

    async fn pause(&self, _request: Request<proto::PauseRequest>) -> Result<Response<proto::EngineStateResponse>, Status> {
        self.daemon.pause().await.map_err(to_status)?;
        Ok(Response::new(proto::EngineStateResponse { state: engine_state(self.daemon.current_state()) as i32, paused: true }))
    }

    async fn resume(&self, _request: Request<proto::ResumeRequest>) -> Result<Response<proto::EngineStateResponse>, Status> {
        self.daemon.resume().await.map_err(to_status)?;
        Ok(Response::new(proto::EngineStateResponse { state: engine_state(self.daemon.current_state()) as i32, paused: false }))
    }

    async fn list_changes(&self, request: Request<proto::ListChangesRequest>) -> Result<Response<proto::ListChangesResponse>, Status> {
        let req = request.into_inner();
        let limit = match req.limit {
            0 => 100,
            n if n > 1000 => return Err(Status::invalid_argument("limit must be at most 1000")),
            n => n,
        };
        let rows = self
            .daemon
            .engine()
            .store()
            .list_changes(req.after_id, limit, req.include_finalized)
            .await
            .map_err(|e| to_status(e.into()))?;
        Ok(Response::new(proto::ListChangesResponse { changes: rows.into_iter().map(change_message).collect() }))
    }

    async fn get_metrics(&self, request: Request<proto::GetMetricsRequest>) -> Result<Response<proto::GetMetricsResponse>, Status> {
        let recent = match request.get_ref().recent_runs {
            0 => 30,
            n if n > 500 => return Err(Status::invalid_argument("recent_runs must be at most 500")),
            n => n,
        };
        let m = self.daemon.engine().store().run_metrics(recent).await.map_err(|e| to_status(e.into()))?;
        let api = self.daemon.engine().api_stats().snapshot();
        Ok(Response::new(proto::GetMetricsResponse {
            runs_today: m.runs_today,
            success_rate: m.success_rate,
            skus_per_hour: m.skus_per_hour,
            run_duration_avg_ms: m.run_duration_avg_ms,
            run_duration_p95_ms: m.run_duration_p95_ms,
            api_requests: api.requests,
            api_latency_p50_ms: api.latency_p50_ms,
            api_latency_p95_ms: api.latency_p95_ms,
            api_error_rate: api.error_rate,
            queue_depth: m.queue_depth,
            recent_runs: m
                .recent_runs
                .iter()
                .map(|r| proto::RunSummary {
                    id: r.id,
                    status: run_status(r.status) as i32,
                    trigger: trigger(&r.trigger) as i32,
                    started_at: ms_to_secs(r.started_at_ms),
                    duration_ms: r.duration_ms(),
                    total_skus: r.total_skus,
                    totals: Some(totals(&r.totals)),
                })
                .collect(),
        }))
    }

    async fn ack_changes(&self, request: Request<proto::AckChangesRequest>) -> Result<Response<proto::AckChangesResponse>, Status> {
        let ids = request.into_inner().change_ids;
        if ids.len() > 10_000 {
            return Err(Status::invalid_argument("acknowledge at most 10000 changes at once"));
        }
        let n = self.daemon.engine().store().ack_changes(&ids).await.map_err(|e| to_status(e.into()))?;
        Ok(Response::new(proto::AckChangesResponse { acknowledged: n }))
    }
}
