//! The daemon over its real Unix socket: every RPC, crashes (SIGKILL) at several points of a run,
//! two daemons on one database, concurrent triggers, pause across restarts, refused inputs and
//! the socket's permissions, and which threads go first.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use cachicamo_sidecar::proto;
use cachicamo_testkit::seed::SeedOptions;
use cachicamo_testkit::ProductKind;
use common::daemon::DaemonProc;
use common::{binary, Harness, PREFIX};
use mysql_async::prelude::Queryable;
use tonic::Code;

fn store(simple: usize) -> SeedOptions {
    SeedOptions { simple, variable: 10, variations: 4, virtual_fraction: 0.05, differ: 0.7, missing: 0.03, ..SeedOptions::default() }
}

async fn q_i64(h: &Harness, sql: String) -> i64 {
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_first::<Option<i64>, _>(sql).await.expect("query").flatten().unwrap_or(0)
}

async fn run_status(h: &Harness, run_id: u64) -> String {
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_first::<String, _>(format!("SELECT status FROM {PREFIX}cachicamo_runs WHERE id = {run_id}")).await.expect("status").unwrap_or_default()
}

async fn wait_finished(h: &Harness, run_id: u64, limit: Duration) -> String {
    let started = std::time::Instant::now();
    loop {
        let status = run_status(h, run_id).await;
        if status != "running" {
            return status;
        }
        assert!(started.elapsed() < limit, "run {run_id} did not finish within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn completed_batches(h: &Harness, run_id: u64) -> i64 {
    q_i64(h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {run_id} AND status = 'completed'")).await
}

/// The invariants every run must end with, whatever happened on the way.
async fn assert_run_consistent(h: &Harness, run_id: u64) {
    assert_eq!(run_status(h, run_id).await, "completed");
    let open = q_i64(h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE status IN ('pending', 'processing')")).await;
    assert_eq!(open, 0, "no batch is left pending or processing");
    for col in ["synced", "changed", "unchanged", "errors", "not_found", "conflicts"] {
        let run = q_i64(h, format!("SELECT {col} FROM {PREFIX}cachicamo_runs WHERE id = {run_id}")).await;
        let sum = q_i64(h, format!("SELECT CAST(COALESCE(SUM({col}), 0) AS SIGNED) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {run_id}")).await;
        assert_eq!(run, sum, "run {col} equals the sum of its batches");
    }
    assert_eq!(h.mismatches().await, Vec::<String>::new(), "the store equals the dataset");
}

async fn start(c: &mut proto::sync_service_client::SyncServiceClient<tonic::transport::Channel>, trigger: proto::Trigger) -> proto::StartSyncResponse {
    c.start_sync(proto::StartSyncRequest { trigger: trigger as i32 }).await.expect("StartSync").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_over_the_socket() {
    let h = Harness::new(store(300)).await;
    let d = DaemonProc::start(&h, &[]).await;
    let mut c = d.client().await;

    let status = c.get_status(proto::GetStatusRequest {}).await.expect("GetStatus").into_inner();
    assert_eq!(status.state, proto::EngineState::Idle as i32);
    assert!(status.last_run.is_none());
    assert!(status.health.as_ref().is_some_and(|h| h.database_ok));

    let started = start(&mut c, proto::Trigger::Manual).await;
    assert!(started.started);
    let run = started.run.expect("run");
    assert_eq!(run.trigger, proto::Trigger::Manual as i32);
    let again = start(&mut c, proto::Trigger::Cron).await;
    assert!(!again.started, "while a run is active StartSync returns it");
    assert_eq!(again.run.expect("run").id, run.id);

    let mut stream = c.watch_run(proto::WatchRunRequest { run_id: 0 }).await.expect("WatchRun").into_inner();
    let mut events = 0;
    let mut last = None;
    while let Some(p) = stream.message().await.expect("progress") {
        events += 1;
        let finished = p.finished;
        last = p.run;
        if finished {
            break;
        }
    }
    let last = last.expect("a final event");
    assert!(events >= 1);
    assert_eq!(last.status, proto::RunStatus::Completed as i32);
    assert_eq!(last.batches_done, last.total_batches);
    assert_run_consistent(&h, run.id).await;

    let status = c.get_status(proto::GetStatusRequest {}).await.expect("GetStatus").into_inner();
    let last_run = status.last_run.expect("last run");
    assert_eq!(last_run.id, run.id);
    assert_eq!(last_run.totals.expect("totals").not_found, h.expected_not_found());
    assert!(status.current_run.is_none());

    // Paging through every batch, three at a time.
    let mut token = String::new();
    let mut seen = 0;
    loop {
        let page = c
            .list_batches(proto::ListBatchesRequest { run_id: run.id, status: 0, page_size: 3, page_token: token })
            .await
            .expect("ListBatches")
            .into_inner();
        assert!(page.batches.len() <= 3);
        seen += page.batches.len() as u32;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, last.total_batches);
    let errors = c
        .list_batches(proto::ListBatchesRequest { run_id: run.id, status: proto::BatchStatus::Error as i32, page_size: 0, page_token: String::new() })
        .await
        .expect("ListBatches")
        .into_inner();
    assert!(errors.batches.is_empty());

    // The finalize protocol: every change of the run is listed, then acknowledged.
    let changes = c.list_changes(proto::ListChangesRequest { limit: 1000, after_id: 0, include_finalized: false }).await.expect("ListChanges").into_inner();
    assert!(!changes.changes.is_empty());
    let tick = c.tick(proto::TickRequest { max_changes: 1000 }).await.expect("Tick").into_inner();
    assert_eq!(tick.pending_changes.len(), changes.changes.len());
    assert!(!tick.started_scheduled_run, "a run just completed; the 720-minute interval has not passed");
    let ids: Vec<u64> = changes.changes.iter().map(|c| c.id).collect();
    let acked = c.ack_changes(proto::AckChangesRequest { change_ids: ids.clone() }).await.expect("AckChanges").into_inner();
    assert_eq!(acked.acknowledged as usize, ids.len());
    let left = c.list_changes(proto::ListChangesRequest { limit: 10, after_id: 0, include_finalized: false }).await.expect("ListChanges").into_inner();
    assert!(left.changes.is_empty());

    // Selective sync: Cachicamo's stock of one product changes, and only that product is written.
    let target = h.dataset.expected.iter().find(|e| e.kind == ProductKind::Simple && !e.sku.is_empty() && e.found).expect("product");
    assert!(h.sim.faults().set_stock(&target.sku, 4321));
    let r = c
        .sync_skus(proto::SyncSkusRequest { skus: vec![target.sku.clone(), "NO-SUCH-SKU".into()] })
        .await
        .expect("SyncSkus")
        .into_inner();
    assert_eq!(r.results.len(), 2);
    assert_eq!(r.results[0].outcome, "changed");
    assert_eq!(r.results[0].product_id, target.product_id);
    assert_eq!(r.results[1].outcome, "not_found");
    assert_eq!(r.changed_product_ids, vec![target.product_id]);
    let stock = cachicamo_testkit::check::product_state(&h.db.pool, PREFIX, target.product_id).await.expect("state").stock;
    assert_eq!(stock.as_deref(), Some("4321"));
    let tick = c.tick(proto::TickRequest { max_changes: 10 }).await.expect("Tick").into_inner();
    assert_eq!(tick.changed_product_ids, vec![target.product_id], "the selective change waits for finalize");

    // RetryFailed: a run with one failing batch, then the fault clears.
    h.sim.faults().fail_sku(&target.sku);
    let run2 = start(&mut c, proto::Trigger::Cli).await.run.expect("run");
    assert_eq!(wait_finished(&h, run2.id, Duration::from_secs(60)).await, "completed_with_errors");
    h.sim.faults().clear();
    let retried = c.retry_failed(proto::RetryFailedRequest { run_id: run2.id }).await.expect("RetryFailed").into_inner();
    assert_eq!(retried.batches_requeued, 1);
    assert_eq!(wait_finished(&h, run2.id, Duration::from_secs(60)).await, "completed");

    // Pause and resume.
    let paused = c.pause(proto::PauseRequest {}).await.expect("Pause").into_inner();
    assert!(paused.paused);
    assert_eq!(paused.state, proto::EngineState::Paused as i32);
    let resumed = c.resume(proto::ResumeRequest {}).await.expect("Resume").into_inner();
    assert!(!resumed.paused);

    // CancelRun: a slow run is cancelled; its pending batches are dropped.
    h.sim.faults().set_latency_ms(300);
    let run3 = start(&mut c, proto::Trigger::Cli).await.run.expect("run");
    let cancelled = c.cancel_run(proto::CancelRunRequest { run_id: 0 }).await.expect("CancelRun").into_inner();
    assert_eq!(cancelled.run.expect("run").status, proto::RunStatus::Cancelled as i32);
    assert_eq!(run_status(&h, run3.id).await, "cancelled");
    let pending = q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} AND status = 'pending'", run3.id)).await;
    assert_eq!(pending, 0);
    let again = c.cancel_run(proto::CancelRunRequest { run_id: run3.id }).await.expect_err("not active");
    assert_eq!(again.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_several_points_then_restart_completes_the_run() {
    let h = Harness::new(store(1200)).await;
    h.sim.faults().set_latency_ms(120);
    let mut d = DaemonProc::start(&h, &[]).await;
    let mut c = d.client().await;
    let run = start(&mut c, proto::Trigger::Cli).await.run.expect("run");
    let total = i64::from(run.total_batches);
    assert!(total >= 20, "enough batches to kill in between: {total}");

    // Right after planning, then a third of the way, then near the end.
    for at in [0, total / 3, total * 4 / 5] {
        let started = std::time::Instant::now();
        while completed_batches(&h, run.id).await < at {
            assert!(started.elapsed() < Duration::from_secs(120), "progress stalled before {at}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        d.kill9().await;
        let processing = q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE status = 'processing'")).await;
        assert!(processing <= 2, "at most the two workers' batches were in flight");
        d.restart(&h, &[]).await;
    }
    h.sim.faults().set_latency_ms(0);
    assert_eq!(wait_finished(&h, run.id, Duration::from_secs(120)).await, "completed");
    assert_run_consistent(&h, run.id).await;
    let runs = q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_runs")).await;
    assert_eq!(runs, 1, "a restart resumes the run; it never starts a new one by itself");
    assert!(d.log_text().contains("handed back batches of a sidecar that died on this machine"), "{}", d.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_share_one_run_and_fifty_triggers_plan_one() {
    let h = Harness::new(store(1000)).await;
    h.sim.faults().set_latency_ms(60);
    let a = DaemonProc::start(&h, &[]).await;
    let b = DaemonProc::start(&h, &[]).await;

    let mut calls = Vec::new();
    for i in 0..50 {
        let socket = if i % 2 == 0 { a.socket.clone() } else { b.socket.clone() };
        calls.push(tokio::spawn(async move {
            let mut c = cachicamo_sidecar::rpc::client::connect(&socket).await.expect("connect");
            let trigger = [proto::Trigger::Manual, proto::Trigger::Cron, proto::Trigger::Cli][i % 3];
            c.start_sync(proto::StartSyncRequest { trigger: trigger as i32 }).await.expect("StartSync").into_inner()
        }));
    }
    let mut ids = Vec::new();
    let mut started = 0;
    for call in calls {
        let r = call.await.expect("join");
        started += u32::from(r.started);
        ids.push(r.run.expect("run").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every trigger got the same run");
    assert_eq!(started, 1, "exactly one call planned it");
    assert_eq!(q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_runs")).await, 1);

    assert_eq!(wait_finished(&h, ids[0], Duration::from_secs(120)).await, "completed");
    assert_run_consistent(&h, ids[0]).await;
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    let owners: Vec<String> = conn
        .query(format!("SELECT DISTINCT SUBSTRING_INDEX(lease_owner, '#', 1) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {}", ids[0]))
        .await
        .expect("owners");
    assert_eq!(owners.len(), 2, "both daemons worked batches: {owners:?}");
    let attempts = q_i64(&h, format!("SELECT MAX(attempts) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {}", ids[0])).await;
    assert_eq!(attempts, 1, "no batch was worked twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_survives_a_restart_and_sigterm_leaves_nothing_processing() {
    let h = Harness::new(store(600)).await;
    let mut d = DaemonProc::start(&h, &[]).await;
    let mut c = d.client().await;
    c.pause(proto::PauseRequest {}).await.expect("Pause");
    let status = d.terminate().await;
    assert!(status.success(), "SIGTERM ends the daemon cleanly: {status:?}");
    assert!(!d.socket.exists(), "the socket is removed on shutdown");

    d.restart(&h, &[]).await;
    let mut c = d.client().await;
    let s = c.get_status(proto::GetStatusRequest {}).await.expect("GetStatus").into_inner();
    assert!(s.paused, "paused across a restart");
    assert_eq!(s.state, proto::EngineState::Paused as i32);
    let run = start(&mut c, proto::Trigger::Manual).await.run.expect("run");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(completed_batches(&h, run.id).await, 0, "a paused engine claims nothing");

    h.sim.faults().set_latency_ms(200);
    c.resume(proto::ResumeRequest {}).await.expect("Resume");
    while completed_batches(&h, run.id).await < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(d.terminate().await.success());
    let processing = q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE status = 'processing'")).await;
    assert_eq!(processing, 0, "in-flight batches finished or were handed back on SIGTERM");

    h.sim.faults().set_latency_ms(0);
    d.restart(&h, &[]).await;
    assert_eq!(wait_finished(&h, run.id, Duration::from_secs(60)).await, "completed");
    assert_run_consistent(&h, run.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_inputs_are_refused_with_a_reason() {
    let h = Harness::new(store(40)).await;
    let d = DaemonProc::start(&h, &[]).await;
    let mut c = d.client().await;

    let e = c.sync_skus(proto::SyncSkusRequest { skus: vec![] }).await.expect_err("empty");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("at least one SKU"));
    let many: Vec<String> = (0..10_000).map(|i| format!("SKU-{i}")).collect();
    let e = c.sync_skus(proto::SyncSkusRequest { skus: many }).await.expect_err("too many");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("10000 SKUs is too many"), "{}", e.message());
    let e = c.sync_skus(proto::SyncSkusRequest { skus: vec!["ok".into(), "   ".into()] }).await.expect_err("blank");
    assert_eq!(e.code(), Code::InvalidArgument);
    // SQL metacharacters and emoji are just SKUs that match nothing; nothing is written.
    let before = q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}postmeta")).await;
    let odd = c
        .sync_skus(proto::SyncSkusRequest { skus: vec!["'; DROP TABLE wp_posts; --".into(), "🦔\\x00%_".into(), "\" OR 1=1 #".into()] })
        .await
        .expect("odd SKUs are answered")
        .into_inner();
    assert!(odd.results.iter().all(|r| r.outcome == "not_found"), "{odd:?}");
    assert_eq!(q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}postmeta")).await, before);
    let e = c.sync_skus(proto::SyncSkusRequest { skus: vec!["a\u{7}bell".into()] }).await.expect_err("control characters");
    assert_eq!(e.code(), Code::InvalidArgument);
    // Invalid UTF-8 cannot even be written with prost: send the raw frame with curl.
    let body = d.socket.with_extension("body");
    std::fs::write(&body, [0u8, 0, 0, 0, 4, 0x0A, 0x02, 0xFF, 0xFE]).expect("frame");
    let out = tokio::process::Command::new("curl")
        .args(["-s", "--http2-prior-knowledge", "--unix-socket"])
        .arg(&d.socket)
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers", "-D", "-", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg("http://localhost/cachicamo.sync.v1.SyncService/SyncSkus")
        .output()
        .await
        .expect("curl");
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(answer.contains("grpc-status: 13"), "{answer}");
    assert!(answer.contains("not%20UTF-8"), "the reason says so: {answer}");
    assert_eq!(q_i64(&h, format!("SELECT COUNT(*) FROM {PREFIX}postmeta")).await, before);
    let e = c.start_sync(proto::StartSyncRequest { trigger: 0 }).await.expect_err("no trigger");
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c.start_sync(proto::StartSyncRequest { trigger: 42 }).await.expect_err("bad trigger");
    assert_eq!(e.code(), Code::InvalidArgument);

    let e = c.list_batches(proto::ListBatchesRequest { run_id: 0, status: 0, page_size: 10, page_token: String::new() }).await.expect_err("no runs yet");
    assert_eq!(e.code(), Code::NotFound);
    start(&mut c, proto::Trigger::Cli).await;
    for (run_id, page_size, token, status, code) in [
        (999_999, 10, "", 0, Code::NotFound),
        (0, 10, "not-a-token", 0, Code::InvalidArgument),
        (0, 100_000, "", 0, Code::InvalidArgument),
        (0, 10, "", 99, Code::InvalidArgument),
    ] {
        let e = c
            .list_batches(proto::ListBatchesRequest { run_id, status, page_size, page_token: token.into() })
            .await
            .expect_err("refused");
        assert_eq!(e.code(), code, "{run_id} {page_size} {token:?} {status}: {}", e.message());
    }
    let e = c.retry_failed(proto::RetryFailedRequest { run_id: 999_999 }).await.expect_err("unknown run");
    assert_eq!(e.code(), Code::NotFound);
    let e = c.watch_run(proto::WatchRunRequest { run_id: 999_999 }).await.expect_err("unknown run");
    assert_eq!(e.code(), Code::NotFound);
    let e = c.list_changes(proto::ListChangesRequest { limit: 5000, after_id: 0, include_finalized: false }).await.expect_err("limit");
    assert_eq!(e.code(), Code::InvalidArgument);

    // A database that disappears makes the daemon answer UNAVAILABLE with the reason: at once
    // when idle, and within its status refresh (a fraction of a second) while a run is worked.
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_drop(format!("DROP DATABASE `{}`", h.db.name)).await.expect("drop");
    let dropped = std::time::Instant::now();
    let e = loop {
        match c.get_status(proto::GetStatusRequest {}).await {
            Err(e) => break e,
            Ok(_) if dropped.elapsed() < Duration::from_secs(2) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(s) => panic!("the status still reads fine 2 s after the database was dropped: {s:?}"),
        }
    };
    assert_eq!(e.code(), Code::Unavailable, "{}", e.message());
    assert!(e.message().contains(&h.db.name), "the reason names the database: {}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_has_the_configured_mode_and_group_and_stale_sockets_are_replaced() {
    let h = Harness::new(store(20)).await;
    let group = "www-data";
    let gid = std::fs::read_to_string("/etc/group")
        .expect("/etc/group")
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&group)).then(|| f[2].parse::<u32>().expect("gid"))
        })
        .expect("the www-data group exists on Debian");
    let d = DaemonProc::start_with_args(&h, &[], &["--socket-group", group, "--socket-mode", "660"]).await;
    let meta = std::fs::metadata(&d.socket).expect("socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), gid);

    // A second daemon on the same socket refuses to start.
    let out = tokio::process::Command::new(binary("cachicamo-sidecar"))
        .arg("serve")
        .env_clear()
        .env("CACHICAMO_SOCKET", &d.socket)
        .env("CACHICAMO_DB_URL", &h.db.url)
        .env("CACHICAMO_API_URL", h.sim.base_url())
        .output()
        .await
        .expect("second daemon");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another sidecar is already serving"));

    // A stale socket (its owner was killed) is replaced; the CLI says what is wrong meanwhile.
    let mut d = d;
    d.kill9().await;
    assert!(d.socket.exists(), "SIGKILL leaves the socket file behind");
    let out = tokio::process::Command::new(binary("cachicamo-sidecar"))
        .args(["status"])
        .env_clear()
        .env("CACHICAMO_SOCKET", &d.socket)
        .output()
        .await
        .expect("status");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the sidecar is not running: nothing answers on"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1);
    d.restart(&h, &[]).await;
    let mut c = d.client().await;
    c.get_status(proto::GetStatusRequest {}).await.expect("served on the replaced socket");

    let out = tokio::process::Command::new(binary("cachicamo-sidecar"))
        .args(["status"])
        .env_clear()
        .env("CACHICAMO_SOCKET", "/nonexistent/dir/sidecar.sock")
        .output()
        .await
        .expect("status");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no socket at /nonexistent/dir/sidecar.sock"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_drives_the_daemon() {
    let h = Harness::new(store(300)).await;
    let d = DaemonProc::start(&h, &[]).await;
    let cli = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(binary("cachicamo-sidecar"));
        cmd.args(args).env_clear().env("CACHICAMO_SOCKET", &d.socket);
        cmd
    };
    let out = cli(&["sync", "--wait", "--json"]).output().await.expect("sync --wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["status"], "completed");
    assert_eq!(report["not_found"], h.expected_not_found());
    assert_eq!(h.mismatches().await, Vec::<String>::new());

    let out = cli(&["status", "--json"]).output().await.expect("status");
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["last_run"]["run_id"], report["run_id"]);
    assert_eq!(status["state"], "idle");

    let out = cli(&["batches", "--json"]).output().await.expect("batches");
    let batches: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(batches.as_array().map(Vec::len), report["total_batches"].as_u64().map(|n| n as usize));
    let out = cli(&["batches", "--status", "bogus"]).output().await.expect("batches");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not one of pending"));

    let sku = h.dataset.expected.iter().find(|e| e.kind == ProductKind::Simple && e.found && !e.sku.is_empty()).expect("sku").sku.clone();
    let out = cli(&["sku", &sku, "--json"]).output().await.expect("sku");
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(results[0]["outcome"], "unchanged");
    for (args, expect) in [(vec!["pause"], "Paused"), (vec!["resume"], "Resumed"), (vec!["retry-failed"], "Requeued 0 failed batches")] {
        let out = cli(&args).output().await.expect("run");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(expect), "{args:?}");
    }
    let out = cli(&["cancel"]).output().await.expect("cancel");
    assert!(!out.status.success(), "nothing to cancel");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not active"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_progress_streams_and_stops_claiming() {
    let h = Harness::new(store(1500)).await;
    h.sim.faults().set_latency_ms(250);
    let mut d = DaemonProc::start(&h, &[]).await;
    let mut c = d.client().await;
    let run = start(&mut c, proto::Trigger::Manual).await.run.expect("run");
    let mut stream = c.watch_run(proto::WatchRunRequest { run_id: run.id }).await.expect("WatchRun").into_inner();
    stream.message().await.expect("first progress");
    while completed_batches(&h, run.id).await < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    let status = d.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(12), "an open stream does not hold the shutdown: {:?}", started.elapsed());
    let ended = loop {
        match stream.message().await {
            Ok(Some(p)) if !p.finished => continue,
            other => break other,
        }
    };
    match ended {
        Err(e) => assert_eq!(e.code(), Code::Unavailable, "{}", e.message()),
        Ok(other) => panic!("the stream should end with UNAVAILABLE, got {other:?}"),
    }
    let done = completed_batches(&h, run.id).await;
    assert!(done < i64::from(run.total_batches), "claiming stopped: {done} of {} batches", run.total_batches);
    assert_eq!(run_status(&h, run.id).await, "running", "the run waits for the next start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_cannot_start_leaves_no_socket_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("sidecar.sock");
    let out = tokio::process::Command::new(binary("cachicamo-sidecar"))
        .arg("serve")
        .env_clear()
        .env("CACHICAMO_SOCKET", &socket)
        .env("CACHICAMO_DB_URL", "mysql://root@127.0.0.1:1/nothing")
        .output()
        .await
        .expect("serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the sidecar could not start: cannot reach the database"), "{stderr}");
    assert!(!socket.exists(), "no stale socket is left for clients to trip on");
}

/// Scheduling policy and nice value of each thread of `pid`, by thread name.
fn thread_scheduling(pid: u32) -> Vec<(String, u32, i32)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the daemon's threads") {
        let stat = std::fs::read_to_string(task.expect("a thread").path().join("stat")).unwrap_or_default();
        // The name is in parentheses and may hold spaces; the fields after it are plain.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // Fields 19 (nice) and 41 (policy) of proc_pid_stat(5), counted from the state (field 3).
        let (Some(nice), Some(policy)) = (fields.get(16), fields.get(38)) else { continue };
        threads.push((stat[open + 1..close].to_owned(), policy.parse().expect("policy"), nice.parse().expect("nice")));
    }
    threads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_goes_first_and_sync_work_yields() {
    let h = Harness::new(store(20)).await;
    let d = DaemonProc::start(&h, &[]).await;
    let threads = thread_scheduling(d.child.id().expect("the daemon runs"));
    let control: Vec<_> = threads.iter().filter(|t| t.0 == "control-plane").collect();
    assert_eq!(control.len(), 1, "one control-plane thread: {threads:?}");
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into `limit` only.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut limit) }, 0);
    let permitted = nix::unistd::geteuid().is_root() || limit.rlim_cur >= 1;
    if permitted {
        assert_eq!(control[0].1, libc::SCHED_FIFO as u32, "the control plane runs at real-time priority: {threads:?}");
        assert!(d.log_text().contains("the control plane runs at real-time priority"), "{}", d.log_text());
    } else {
        assert_eq!(control[0].1, libc::SCHED_OTHER as u32);
        assert!(d.log_text().contains("LimitRTPRIO=1"), "the log says how to allow it: {}", d.log_text());
    }
    let engine: Vec<_> = threads.iter().filter(|t| t.0.starts_with("tokio-rt")).collect();
    assert!(!engine.is_empty(), "{threads:?}");
    for t in engine {
        assert_eq!((t.1, t.2), (libc::SCHED_OTHER as u32, 5), "engine threads at normal policy and nice 5: {threads:?}");
    }
}
