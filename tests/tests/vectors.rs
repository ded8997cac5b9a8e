//! Shared protobuf test vectors, so the WordPress plugin's PHP codec and the sidecar's prost types
//! cannot drift apart.
//!
//! Builds representative messages (every request and response the plugin uses, with non-default
//! values in every field), encodes them with prost, and compares with `tests/vectors/messages.json`:
//! a list of `{"type", "hex", "value"}`, where `value` is the message as the PHP codec represents
//! it (every field in field-number order, enums as numbers, absent sub-messages as null). The PHP
//! test (`tests/php/unit/ProtobufVectorsTest.php`) decodes each hex and encodes each value back.
//! `UPDATE_VECTORS=1` rewrites the file instead of comparing.
//!
//! The messages go through tonic's generated client and server in memory, which encode with
//! prost: this crate does not depend on prost itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use cachicamo_sidecar::proto;
use cachicamo_sidecar::proto::sync_service_client::SyncServiceClient;
use cachicamo_sidecar::proto::sync_service_server::{SyncService, SyncServiceServer};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use tonic::codegen::{http, Body as _, BoxFuture, Service};
use tonic::{Request, Response, Status};

/// A JSON value whose objects keep their keys in the order given (field-number order), which
/// `serde_json::Value` would sort.
enum J {
    Leaf(Value),
    List(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Leaf(v) => v.serialize(s),
            J::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

macro_rules! leaf {
    ($($t:ty),*) => {$(
        impl From<$t> for J {
            fn from(v: $t) -> Self {
                J::Leaf(Value::from(v))
            }
        }
    )*};
}
leaf!(u64, u32, i64, i32, bool, f64);

impl From<&String> for J {
    fn from(v: &String) -> Self {
        J::Leaf(Value::from(v.as_str()))
    }
}

impl From<Option<J>> for J {
    fn from(v: Option<J>) -> Self {
        v.unwrap_or(J::Leaf(Value::Null))
    }
}

macro_rules! obj {
    ($($k:literal => $v:expr),* $(,)?) => {
        J::Obj(vec![$(($k, J::from($v))),*])
    };
}

fn list<T>(items: &[T], f: impl Fn(&T) -> J) -> J {
    J::List(items.iter().map(f).collect())
}

// The PHP codec's view of each message, field by field in field-number order.

fn totals(m: &proto::Totals) -> J {
    obj! { "synced" => m.synced, "changed" => m.changed, "unchanged" => m.unchanged, "errors" => m.errors, "not_found" => m.not_found, "conflicts" => m.conflicts }
}

fn run(m: &proto::Run) -> J {
    obj! {
        "id" => m.id, "trigger" => m.trigger, "status" => m.status, "total_batches" => m.total_batches,
        "total_skus" => m.total_skus, "total_products" => m.total_products, "batches_done" => m.batches_done,
        "batches_failed" => m.batches_failed, "totals" => m.totals.as_ref().map(totals), "started_at" => m.started_at,
        "finished_at" => m.finished_at, "duration_ms" => m.duration_ms, "error_message" => &m.error_message,
    }
}

fn change(m: &proto::Change) -> J {
    obj! {
        "id" => m.id, "product_id" => m.product_id, "parent_id" => m.parent_id, "run_id" => m.run_id, "batch_id" => m.batch_id,
        "old_stock" => &m.old_stock, "new_stock" => &m.new_stock, "old_stock_status" => &m.old_stock_status,
        "new_stock_status" => &m.new_stock_status, "old_price" => &m.old_price, "new_price" => &m.new_price,
        "changed_at" => m.changed_at, "finalized" => m.finalized, "sku" => &m.sku,
    }
}

fn batch(m: &proto::Batch) -> J {
    obj! {
        "id" => m.id, "run_id" => m.run_id, "batch_number" => m.batch_number, "total_batches" => m.total_batches,
        "status" => m.status, "sku_count" => m.sku_count, "attempts" => m.attempts, "totals" => m.totals.as_ref().map(totals),
        "error_message" => &m.error_message, "lease_owner" => &m.lease_owner, "processed_at" => m.processed_at,
    }
}

fn start_sync_request(m: &proto::StartSyncRequest) -> J {
    obj! { "trigger" => m.trigger }
}

fn start_sync_response(m: &proto::StartSyncResponse) -> J {
    obj! { "run" => m.run.as_ref().map(run), "started" => m.started }
}

fn tick_request(m: &proto::TickRequest) -> J {
    obj! { "max_changes" => m.max_changes }
}

fn tick_response(m: &proto::TickResponse) -> J {
    obj! {
        "state" => m.state, "current_run" => m.current_run.as_ref().map(run), "started_scheduled_run" => m.started_scheduled_run,
        "leases_reclaimed" => m.leases_reclaimed, "changed_product_ids" => list(&m.changed_product_ids, |&id| id.into()),
        "pending_changes" => list(&m.pending_changes, change),
    }
}

fn get_status_response(m: &proto::GetStatusResponse) -> J {
    let counts = |c: &proto::BatchCounts| obj! { "pending" => c.pending, "processing" => c.processing, "completed" => c.completed, "error" => c.error };
    let lease = |l: &proto::LeaseHolder| obj! { "batch_id" => l.batch_id, "owner" => &l.owner, "expires_at" => l.expires_at };
    let health = |h: &proto::Health| {
        obj! { "database_ok" => h.database_ok, "database_message" => &h.database_message, "api_ok" => h.api_ok, "api_message" => &h.api_message }
    };
    obj! {
        "state" => m.state, "state_since" => m.state_since, "current_run" => m.current_run.as_ref().map(run),
        "last_run" => m.last_run.as_ref().map(run), "batch_counts" => m.batch_counts.as_ref().map(counts),
        "lock_holder" => &m.lock_holder, "leases" => list(&m.leases, lease), "health" => m.health.as_ref().map(health),
        "last_error" => &m.last_error, "paused" => m.paused, "version" => &m.version,
        "active_alerts" => list(&m.active_alerts, alert), "recent_alerts" => list(&m.recent_alerts, alert),
    }
}

fn alert(m: &proto::Alert) -> J {
    obj! { "id" => m.id, "kind" => &m.kind, "message" => &m.message, "raised_at" => m.raised_at, "cleared_at" => m.cleared_at }
}

fn watch_run_request(m: &proto::WatchRunRequest) -> J {
    obj! { "run_id" => m.run_id }
}

fn run_progress(m: &proto::RunProgress) -> J {
    obj! { "run" => m.run.as_ref().map(run), "skus_per_second" => m.skus_per_second, "eta_ms" => m.eta_ms, "finished" => m.finished }
}

fn sync_skus_request(m: &proto::SyncSkusRequest) -> J {
    obj! { "skus" => list(&m.skus, |s| s.into()) }
}

fn sync_skus_response(m: &proto::SyncSkusResponse) -> J {
    let result = |r: &proto::SkuResult| obj! { "sku" => &r.sku, "product_id" => r.product_id, "outcome" => &r.outcome, "message" => &r.message };
    obj! {
        "totals" => m.totals.as_ref().map(totals), "results" => list(&m.results, result),
        "changed_product_ids" => list(&m.changed_product_ids, |&id| id.into()),
    }
}

fn list_batches_request(m: &proto::ListBatchesRequest) -> J {
    obj! { "run_id" => m.run_id, "status" => m.status, "page_size" => m.page_size, "page_token" => &m.page_token }
}

fn list_batches_response(m: &proto::ListBatchesResponse) -> J {
    obj! { "batches" => list(&m.batches, batch), "next_page_token" => &m.next_page_token }
}

fn run_id_request(run_id: u64) -> J {
    obj! { "run_id" => run_id }
}

fn retry_failed_response(m: &proto::RetryFailedResponse) -> J {
    obj! { "batches_requeued" => m.batches_requeued, "run" => m.run.as_ref().map(run) }
}

fn cancel_run_response(m: &proto::CancelRunResponse) -> J {
    obj! { "run" => m.run.as_ref().map(run) }
}

fn engine_state_response(m: &proto::EngineStateResponse) -> J {
    obj! { "state" => m.state, "paused" => m.paused }
}

fn list_changes_request(m: &proto::ListChangesRequest) -> J {
    obj! { "limit" => m.limit, "after_id" => m.after_id, "include_finalized" => m.include_finalized }
}

fn list_changes_response(m: &proto::ListChangesResponse) -> J {
    obj! { "changes" => list(&m.changes, change) }
}

fn ack_changes_request(m: &proto::AckChangesRequest) -> J {
    obj! { "change_ids" => list(&m.change_ids, |&id| id.into()) }
}

fn ack_changes_response(m: &proto::AckChangesResponse) -> J {
    obj! { "acknowledged" => m.acknowledged }
}

fn get_metrics_request(m: &proto::GetMetricsRequest) -> J {
    obj! { "recent_runs" => m.recent_runs }
}

fn run_summary(m: &proto::RunSummary) -> J {
    obj! {
        "id" => m.id, "status" => m.status, "trigger" => m.trigger, "started_at" => m.started_at,
        "duration_ms" => m.duration_ms, "total_skus" => m.total_skus, "totals" => m.totals.as_ref().map(totals),
    }
}

fn get_metrics_response(m: &proto::GetMetricsResponse) -> J {
    obj! {
        "runs_today" => m.runs_today, "success_rate" => m.success_rate, "skus_per_hour" => m.skus_per_hour,
        "run_duration_avg_ms" => m.run_duration_avg_ms, "run_duration_p95_ms" => m.run_duration_p95_ms,
        "api_requests" => m.api_requests, "api_latency_p50_ms" => m.api_latency_p50_ms,
        "api_latency_p95_ms" => m.api_latency_p95_ms, "api_error_rate" => m.api_error_rate,
        "queue_depth" => m.queue_depth, "recent_runs" => list(&m.recent_runs, run_summary),
    }
}

// Getting prost's bytes through tonic.

async fn collect(mut body: tonic::body::Body) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame.expect("a body frame").into_data() {
            out.extend_from_slice(&data);
        }
    }
    out
}

/// The messages of a gRPC body, without their 5-byte frame headers.
fn unframe(mut body: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while !body.is_empty() {
        assert_eq!(body[0], 0, "an uncompressed frame");
        let len = u32::from_be_bytes(body[1..5].try_into().expect("a frame header")) as usize;
        messages.push(body[5..5 + len].to_vec());
        body = &body[5 + len..];
    }
    messages
}

/// Keeps the body of the request a client sends, and answers nothing useful.
#[derive(Clone, Default)]
struct CaptureRequest(Arc<Mutex<Vec<u8>>>);

impl Service<http::Request<tonic::body::Body>> for CaptureRequest {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let sink = self.0.clone();
        Box::pin(async move {
            *sink.lock().unwrap() = collect(req.into_body()).await;
            Ok(http::Response::builder().header("grpc-status", "12").body(tonic::body::Body::empty()).expect("a response"))
        })
    }
}

/// prost's encoding of a request, as the generated client sends it.
async fn request<F, Fut>(call: F) -> Vec<u8>
where
    F: FnOnce(SyncServiceClient<CaptureRequest>) -> Fut,
    Fut: Future<Output = ()>,
{
    let capture = CaptureRequest::default();
    call(SyncServiceClient::new(capture.clone())).await;
    let body = capture.0.lock().unwrap().clone();
    let mut messages = unframe(&body);
    assert_eq!(messages.len(), 1, "one request message");
    messages.remove(0)
}

/// Answers every call with the canned reply of the matching type.
struct Canned(Box<dyn std::any::Any + Send + Sync>);

impl Canned {
    fn reply<T: Clone + 'static>(&self) -> Result<Response<T>, Status> {
        self.0.downcast_ref::<T>().cloned().map(Response::new).ok_or_else(|| Status::internal("no canned reply of this type"))
    }
}

type ProgressStream = Pin<Box<dyn tonic::codegen::tokio_stream::Stream<Item = Result<proto::RunProgress, Status>> + Send>>;

#[tonic::async_trait]
impl SyncService for Canned {
    async fn start_sync(&self, _: Request<proto::StartSyncRequest>) -> Result<Response<proto::StartSyncResponse>, Status> {
        self.reply()
    }
    async fn tick(&self, _: Request<proto::TickRequest>) -> Result<Response<proto::TickResponse>, Status> {
        self.reply()
    }
    async fn get_status(&self, _: Request<proto::GetStatusRequest>) -> Result<Response<proto::GetStatusResponse>, Status> {
        self.reply()
    }
    type WatchRunStream = ProgressStream;
    async fn watch_run(&self, _: Request<proto::WatchRunRequest>) -> Result<Response<Self::WatchRunStream>, Status> {
        let items: Vec<proto::RunProgress> = self.reply()?.into_inner();
        Ok(Response::new(Box::pin(tonic::codegen::tokio_stream::iter(items.into_iter().map(Ok)))))
    }
    async fn sync_skus(&self, _: Request<proto::SyncSkusRequest>) -> Result<Response<proto::SyncSkusResponse>, Status> {
        self.reply()
    }
    async fn list_batches(&self, _: Request<proto::ListBatchesRequest>) -> Result<Response<proto::ListBatchesResponse>, Status> {
        self.reply()
    }
    async fn retry_failed(&self, _: Request<proto::RetryFailedRequest>) -> Result<Response<proto::RetryFailedResponse>, Status> {
        self.reply()
    }
    async fn cancel_run(&self, _: Request<proto::CancelRunRequest>) -> Result<Response<proto::CancelRunResponse>, Status> {
        self.reply()
    }
    async fn pause(&self, _: Request<proto::PauseRequest>) -> Result<Response<proto::EngineStateResponse>, Status> {
        self.reply()
    }
    async fn resume(&self, _: Request<proto::ResumeRequest>) -> Result<Response<proto::EngineStateResponse>, Status> {
        self.reply()
    }
    async fn list_changes(&self, _: Request<proto::ListChangesRequest>) -> Result<Response<proto::ListChangesResponse>, Status> {
        self.reply()
    }
    async fn ack_changes(&self, _: Request<proto::AckChangesRequest>) -> Result<Response<proto::AckChangesResponse>, Status> {
        self.reply()
    }
    async fn get_metrics(&self, _: Request<proto::GetMetricsRequest>) -> Result<Response<proto::GetMetricsResponse>, Status> {
        self.reply()
    }
}

/// Passes calls to the generated server and keeps the body it answers with.
#[derive(Clone)]
struct CaptureResponse {
    server: SyncServiceServer<Canned>,
    body: Arc<Mutex<Vec<u8>>>,
}

impl Service<http::Request<tonic::body::Body>> for CaptureResponse {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let mut server = self.server.clone();
        let sink = self.body.clone();
        Box::pin(async move {
            let response = server.call(req).await?;
            *sink.lock().unwrap() = collect(response.into_body()).await;
            Ok(http::Response::builder().header("grpc-status", "0").body(tonic::body::Body::empty()).expect("a response"))
        })
    }
}

/// prost's encoding of the messages the generated server answers a call with.
async fn responses<T, F, Fut>(reply: T, call: F) -> Vec<Vec<u8>>
where
    T: Send + Sync + 'static,
    F: FnOnce(SyncServiceClient<CaptureResponse>) -> Fut,
    Fut: Future<Output = ()>,
{
    let capture = CaptureResponse { server: SyncServiceServer::new(Canned(Box::new(reply))), body: Arc::default() };
    call(SyncServiceClient::new(capture.clone())).await;
    let body = capture.body.lock().unwrap().clone();
    unframe(&body)
}

async fn response<T: Send + Sync + 'static, F, Fut>(reply: T, call: F) -> Vec<u8>
where
    F: FnOnce(SyncServiceClient<CaptureResponse>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut messages = responses(reply, call).await;
    assert_eq!(messages.len(), 1, "one response message");
    messages.remove(0)
}

// The vectors.

fn sample_totals(base: u64) -> proto::Totals {
    proto::Totals { synced: base + 1, changed: base + 2, unchanged: base + 3, errors: base + 4, not_found: base + 5, conflicts: base + 6 }
}

fn sample_run() -> proto::Run {
    proto::Run {
        id: 5_000_000_001,
        trigger: proto::Trigger::Cron as i32,
        status: proto::RunStatus::CompletedWithErrors as i32,
        total_batches: 4_294_967_295,
        total_skus: 1_000_000,
        total_products: 9_007_199_254_740_993,
        batches_done: 199,
        batches_failed: 1,
        totals: Some(sample_totals(4_294_967_296)),
        started_at: 1_767_225_600,
        finished_at: -62_135_596_800,
        duration_ms: 123_456_789,
        error_message: "1 lote falló: el API respondió 503 ⚠️ «reintente»".to_owned(),
    }
}

fn sample_change(id: u64) -> proto::Change {
    proto::Change {
        id,
        product_id: 8_589_934_592 + id,
        parent_id: 77,
        run_id: 5_000_000_001,
        batch_id: 4_294_967_297,
        old_stock: "12".to_owned(),
        new_stock: "0".to_owned(),
        old_stock_status: "instock".to_owned(),
        new_stock_status: "outofstock".to_owned(),
        old_price: "19.99".to_owned(),
        new_price: "1234567.50".to_owned(),
        changed_at: 1_767_225_661,
        finalized: true,
        sku: "CAFÉ-🐢-250g".to_owned(),
    }
}

fn sample_batch(id: u64, status: proto::BatchStatus) -> proto::Batch {
    proto::Batch {
        id,
        run_id: 5_000_000_001,
        batch_number: 3,
        total_batches: 200,
        status: status as i32,
        sku_count: 500,
        attempts: 5,
        totals: Some(sample_totals(10)),
        error_message: "the Cachicamo API answered 429 five times; gave up".to_owned(),
        lease_owner: "web-1:4242:worker-2".to_owned(),
        processed_at: 1_767_225_700,
    }
}

struct Vector {
    ty: &'static str,
    bytes: Vec<u8>,
    value: J,
}

impl Serialize for Vector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: String = self.bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("type", self.ty)?;
        map.serialize_entry("hex", &hex)?;
        map.serialize_entry("value", &self.value)?;
        map.end()
    }
}

async fn vectors() -> Vec<Vector> {
    let mut v = Vec::new();
    let mut push = |ty: &'static str, bytes: Vec<u8>, value: J| v.push(Vector { ty, bytes, value });

    // Requests, as the plugin sends them.
    let m = proto::StartSyncRequest { trigger: proto::Trigger::Manual as i32 };
    let value = start_sync_request(&m);
    push("StartSyncRequest", request(|mut c| async move { drop(c.start_sync(m).await) }).await, value);
    let m = proto::TickRequest { max_changes: 1000 };
    let value = tick_request(&m);
    push("TickRequest", request(|mut c| async move { drop(c.tick(m).await) }).await, value);
    push("GetStatusRequest", request(|mut c| async move { drop(c.get_status(proto::GetStatusRequest {}).await) }).await, obj! {});
    let m = proto::WatchRunRequest { run_id: 5_000_000_001 };
    let value = watch_run_request(&m);
    push("WatchRunRequest", request(|mut c| async move { drop(c.watch_run(m).await) }).await, value);
    let m = proto::SyncSkusRequest { skus: vec!["ABC-123".to_owned(), String::new(), "CAFÉ-🐢-250g".to_owned(), "WC-42".to_owned()] };
    let value = sync_skus_request(&m);
    push("SyncSkusRequest", request(|mut c| async move { drop(c.sync_skus(m).await) }).await, value);
    let m = proto::ListBatchesRequest { run_id: 5_000_000_001, status: proto::BatchStatus::Error as i32, page_size: 500, page_token: "4294967297".to_owned() };
    let value = list_batches_request(&m);
    push("ListBatchesRequest", request(|mut c| async move { drop(c.list_batches(m).await) }).await, value);
    let m = proto::RetryFailedRequest { run_id: 4_294_967_296 };
    let value = run_id_request(m.run_id);
    push("RetryFailedRequest", request(|mut c| async move { drop(c.retry_failed(m).await) }).await, value);
    let m = proto::CancelRunRequest { run_id: 1 };
    let value = run_id_request(m.run_id);
    push("CancelRunRequest", request(|mut c| async move { drop(c.cancel_run(m).await) }).await, value);
    push("PauseRequest", request(|mut c| async move { drop(c.pause(proto::PauseRequest {}).await) }).await, obj! {});
    push("ResumeRequest", request(|mut c| async move { drop(c.resume(proto::ResumeRequest {}).await) }).await, obj! {});
    let m = proto::ListChangesRequest { limit: 100, after_id: 4_294_967_300, include_finalized: true };
    let value = list_changes_request(&m);
    push("ListChangesRequest", request(|mut c| async move { drop(c.list_changes(m).await) }).await, value);
    let m = proto::AckChangesRequest { change_ids: vec![1, 127, 128, 16_384, 4_294_967_296, i64::MAX as u64] };
    let value = ack_changes_request(&m);
    push("AckChangesRequest", request(|mut c| async move { drop(c.ack_changes(m).await) }).await, value);
    let m = proto::AckChangesRequest { change_ids: vec![] };
    let value = ack_changes_request(&m);
    push("AckChangesRequest", request(|mut c| async move { drop(c.ack_changes(m).await) }).await, value);
    let m = proto::GetMetricsRequest { recent_runs: 30 };
    let value = get_metrics_request(&m);
    push("GetMetricsRequest", request(|mut c| async move { drop(c.get_metrics(m).await) }).await, value);

    // Responses, as the sidecar answers.
    let m = proto::StartSyncResponse { run: Some(sample_run()), started: true };
    let value = start_sync_response(&m);
    push("StartSyncResponse", response(m, |mut c| async move { drop(c.start_sync(proto::StartSyncRequest::default()).await) }).await, value);
    let m = proto::TickResponse {
        state: proto::EngineState::Running as i32,
        current_run: Some(sample_run()),
        started_scheduled_run: true,
        leases_reclaimed: 2,
        changed_product_ids: vec![8_589_934_593, 8_589_934_594, 1],
        pending_changes: vec![sample_change(4_294_967_301), sample_change(4_294_967_302)],
    };
    let value = tick_response(&m);
    push("TickResponse", response(m, |mut c| async move { drop(c.tick(proto::TickRequest::default()).await) }).await, value);
    let m = proto::TickResponse { state: proto::EngineState::Idle as i32, ..Default::default() };
    let value = tick_response(&m);
    push("TickResponse", response(m, |mut c| async move { drop(c.tick(proto::TickRequest::default()).await) }).await, value);
    let m = proto::GetStatusResponse {
        state: proto::EngineState::Recovering as i32,
        state_since: -1,
        current_run: Some(sample_run()),
        last_run: Some(proto::Run { id: 5_000_000_000, status: proto::RunStatus::Failed as i32, started_at: i64::MIN, ..Default::default() }),
        batch_counts: Some(proto::BatchCounts { pending: 10, processing: 4, completed: 185, error: 1 }),
        lock_holder: "web-1:4242".to_owned(),
        leases: vec![
            proto::LeaseHolder { batch_id: 4_294_967_297, owner: "web-1:4242:worker-0".to_owned(), expires_at: 1_767_225_720 },
            proto::LeaseHolder { batch_id: 4_294_967_298, owner: "wéb-2:7:wörker-1 🦔".to_owned(), expires_at: -5 },
        ],
        health: Some(proto::Health {
            database_ok: true,
            database_message: "MariaDB 10.11.6".to_owned(),
            api_ok: true,
            api_message: "the Cachicamo API answered in 120 ms".to_owned(),
        }),
        last_error: "could not reach the Cachicamo API: connection refused".to_owned(),
        paused: true,
        version: "0.1.0".to_owned(),
        active_alerts: vec![],
        recent_alerts: vec![],
    };
    let value = get_status_response(&m);
    push("GetStatusResponse", response(m, |mut c| async move { drop(c.get_status(proto::GetStatusRequest {}).await) }).await, value);
    // Every field at its default, but sub-messages that are present though empty.
    let m = proto::GetStatusResponse {
        batch_counts: Some(proto::BatchCounts::default()),
        health: Some(proto::Health::default()),
        current_run: Some(proto::Run { totals: Some(proto::Totals::default()), ..Default::default() }),
        ..Default::default()
    };
    let value = get_status_response(&m);
    push("GetStatusResponse", response(m, |mut c| async move { drop(c.get_status(proto::GetStatusRequest {}).await) }).await, value);
    let m = proto::GetStatusResponse::default();
    let value = get_status_response(&m);
    push("GetStatusResponse", response(m, |mut c| async move { drop(c.get_status(proto::GetStatusRequest {}).await) }).await, value);
    // Alerts: one still open (cleared_at 0), one cleared; the open one is in both lists.
    let open = proto::Alert {
        id: 4_294_967_297,
        kind: "sync_overdue".to_owned(),
        message: "The last successful sync finished 48 hours ago, more than twice the 720-minute interval.".to_owned(),
        raised_at: 1_767_225_600,
        cleared_at: 0,
    };
    let cleared = proto::Alert {
        id: 12,
        kind: "api_unreachable".to_owned(),
        message: "The Cachicamo API is not answering: «délai dépassé» ⚠️".to_owned(),
        raised_at: -1,
        cleared_at: 1_767_225_661,
    };
    let m = proto::GetStatusResponse {
        state: proto::EngineState::Starting as i32,
        state_since: 1_767_225_540,
        health: Some(proto::Health { database_ok: true, database_message: "ok".to_owned(), ..Default::default() }),
        version: "0.2.0".to_owned(),
        active_alerts: vec![open.clone()],
        recent_alerts: vec![open, cleared, proto::Alert { id: 1, ..Default::default() }],
        ..Default::default()
    };
    let value = get_status_response(&m);
    push("GetStatusResponse", response(m, |mut c| async move { drop(c.get_status(proto::GetStatusRequest {}).await) }).await, value);
    let progress = vec![
        proto::RunProgress { run: Some(sample_run()), skus_per_second: 1234.5, eta_ms: 4_294_967_296_000, finished: false },
        proto::RunProgress { run: Some(sample_run()), skus_per_second: 0.1, eta_ms: 1, finished: true },
    ];
    let values: Vec<J> = progress.iter().map(run_progress).collect();
    let bytes = responses(progress, |mut c| async move {
        let mut stream = c.watch_run(proto::WatchRunRequest::default()).await.expect("WatchRun").into_inner();
        while stream.message().await.is_ok_and(|m| m.is_some()) {}
    })
    .await;
    assert_eq!(bytes.len(), values.len(), "one frame per progress message");
    for (b, value) in bytes.into_iter().zip(values) {
        push("RunProgress", b, value);
    }
    let m = proto::SyncSkusResponse {
        totals: Some(sample_totals(0)),
        results: vec![
            proto::SkuResult { sku: "ABC-123".to_owned(), product_id: 4_294_967_296, outcome: "changed".to_owned(), message: String::new() },
            proto::SkuResult {
                sku: "CAFÉ-🐢-250g".to_owned(),
                product_id: 0,
                outcome: "not_found".to_owned(),
                message: "no Cachicamo item has this SKU".to_owned(),
            },
        ],
        changed_product_ids: vec![4_294_967_296],
    };
    let value = sync_skus_response(&m);
    push("SyncSkusResponse", response(m, |mut c| async move { drop(c.sync_skus(proto::SyncSkusRequest::default()).await) }).await, value);
    let m = proto::ListBatchesResponse {
        batches: vec![sample_batch(4_294_967_297, proto::BatchStatus::Error), sample_batch(4_294_967_298, proto::BatchStatus::Superseded)],
        next_page_token: "4294967298".to_owned(),
    };
    let value = list_batches_response(&m);
    push("ListBatchesResponse", response(m, |mut c| async move { drop(c.list_batches(proto::ListBatchesRequest::default()).await) }).await, value);
    let m = proto::ListBatchesResponse::default();
    let value = list_batches_response(&m);
    push("ListBatchesResponse", response(m, |mut c| async move { drop(c.list_batches(proto::ListBatchesRequest::default()).await) }).await, value);
    let m = proto::RetryFailedResponse { batches_requeued: 3, run: Some(sample_run()) };
    let value = retry_failed_response(&m);
    push("RetryFailedResponse", response(m, |mut c| async move { drop(c.retry_failed(proto::RetryFailedRequest::default()).await) }).await, value);
    let m = proto::CancelRunResponse {
        run: Some(proto::Run { id: 7, trigger: proto::Trigger::Manual as i32, status: proto::RunStatus::Cancelled as i32, ..sample_run() }),
    };
    let value = cancel_run_response(&m);
    push("CancelRunResponse", response(m, |mut c| async move { drop(c.cancel_run(proto::CancelRunRequest::default()).await) }).await, value);
    let m = proto::EngineStateResponse { state: proto::EngineState::Paused as i32, paused: true };
    let value = engine_state_response(&m);
    push("EngineStateResponse", response(m, |mut c| async move { drop(c.pause(proto::PauseRequest {}).await) }).await, value);
    let m = proto::ListChangesResponse { changes: vec![sample_change(1), proto::Change { id: 2, sku: "WC-42".to_owned(), ..Default::default() }] };
    let value = list_changes_response(&m);
    push("ListChangesResponse", response(m, |mut c| async move { drop(c.list_changes(proto::ListChangesRequest::default()).await) }).await, value);
    let m = proto::AckChangesResponse { acknowledged: 4_294_967_295 };
    let value = ack_changes_response(&m);
    push("AckChangesResponse", response(m, |mut c| async move { drop(c.ack_changes(proto::AckChangesRequest::default()).await) }).await, value);
    let m = proto::GetMetricsResponse {
        runs_today: 4_294_967_295,
        success_rate: 0.9,
        skus_per_hour: 12_345.678,
        run_duration_avg_ms: 4_294_967_296,
        run_duration_p95_ms: 9_007_199_254_740_993,
        api_requests: 1_234,
        api_latency_p50_ms: 20.5,
        api_latency_p95_ms: 1e-3,
        api_error_rate: 1.0 / 3.0,
        queue_depth: 17,
        recent_runs: vec![
            proto::RunSummary {
                id: 5_000_000_000,
                status: proto::RunStatus::Failed as i32,
                trigger: proto::Trigger::Cron as i32,
                started_at: -62_135_596_800,
                duration_ms: 0,
                total_skus: 0,
                totals: None,
            },
            proto::RunSummary {
                id: 5_000_000_001,
                status: proto::RunStatus::CompletedWithErrors as i32,
                trigger: proto::Trigger::Manual as i32,
                started_at: 1_767_225_600,
                duration_ms: 123_456_789,
                total_skus: 1_000_000,
                totals: Some(sample_totals(4_294_967_296)),
            },
            proto::RunSummary { id: 5_000_000_002, status: proto::RunStatus::Running as i32, totals: Some(proto::Totals::default()), ..Default::default() },
        ],
    };
    let value = get_metrics_response(&m);
    push("GetMetricsResponse", response(m, |mut c| async move { drop(c.get_metrics(proto::GetMetricsRequest::default()).await) }).await, value);
    let m = proto::GetMetricsResponse::default();
    let value = get_metrics_response(&m);
    push("GetMetricsResponse", response(m, |mut c| async move { drop(c.get_metrics(proto::GetMetricsRequest::default()).await) }).await, value);
    v
}

#[tokio::test]
async fn php_codec_vectors_match_prost() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/messages.json");
    let vectors = vectors().await;
    let text = serde_json::to_string_pretty(&vectors).expect("the vectors as JSON") + "\n";
    if std::env::var_os("UPDATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the vectors folder");
        std::fs::write(&path, text).expect("write the vectors");
        return;
    }
    let stored: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).expect("tests/vectors/messages.json")).expect("valid JSON");
    let built: Vec<Value> = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(stored.len(), built.len(), "as many vectors as built; rerun with UPDATE_VECTORS=1 after changing them");
    for (i, (s, b)) in stored.iter().zip(&built).enumerate() {
        assert_eq!(s["type"], b["type"], "vector {i}: type");
        assert_eq!(s["hex"], b["hex"], "vector {i} ({}): prost encodes differently", b["type"]);
        assert_eq!(s["value"], b["value"], "vector {i} ({}): value", b["type"]);
    }
}
