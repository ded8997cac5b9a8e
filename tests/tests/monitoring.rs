//! Monitoring: each watched condition is provoked, raises its alert once, and clears when the
//! condition ends; metrics match the runs that happened; Prometheus text is served on loopback.

mod common;

use std::time::Duration;

use cachicamo_sidecar::engine::daemon::Daemon;
use cachicamo_sidecar::proto;
use cachicamo_sidecar::store::runs::Trigger;
use cachicamo_testkit::seed::SeedOptions;
use common::daemon::DaemonProc;
use common::{binary, Harness, PREFIX};
use mysql_async::prelude::Queryable;

fn small() -> SeedOptions {
    SeedOptions { simple: 200, variable: 0, variations: 0, missing: 0.0, ..SeedOptions::default() }
}

async fn exec(h: &Harness, sql: String) {
    h.db.pool.get_conn().await.expect("conn").query_drop(sql).await.expect("sql");
}

async fn alert_rows(h: &Harness, kind: &str) -> Vec<(u64, Option<i64>)> {
    h.db.pool
        .get_conn()
        .await
        .expect("conn")
        .exec(
            format!("SELECT id, CAST(UNIX_TIMESTAMP(cleared_at) AS SIGNED) FROM {PREFIX}cachicamo_alerts WHERE kind = ? ORDER BY id"),
            (kind,),
        )
        .await
        .expect("alerts")
}

/// Evaluates the conditions twice (an alert is raised once, not on every pass).
async fn watch(d: &Daemon) {
    d.watch_health().await.expect("watch");
    d.watch_health().await.expect("watch again");
}

#[tokio::test]
async fn each_condition_raises_one_alert_and_clears_it() {
    let h = Harness::new(small()).await;
    let d = Daemon::new(h.engine());
    let store = d.engine().store().clone();
    let first = h.sync().await;
    // Small batches, so that five of them can fail in a row.
    let mut config = h.config();
    config.batch_size = 40;
    let engine = cachicamo_sidecar::engine::Engine::new(config);
    engine.prepare().await.expect("prepare");

    // A healthy store raises nothing.
    watch(&d).await;
    assert!(store.active_alerts().await.expect("alerts").is_empty());

    // The last successful sync is older than twice the interval.
    exec(&h, format!("UPDATE {PREFIX}cachicamo_runs SET finished_at = finished_at - INTERVAL 2 DAY WHERE id = {}", first.id)).await;
    watch(&d).await;
    assert_eq!(alert_rows(&h, "sync_overdue").await, vec![(alert_rows(&h, "sync_overdue").await[0].0, None)], "raised once");
    let message = store.active_alerts().await.expect("alerts")[0].message.clone();
    assert!(message.contains("more than twice the 720-minute interval"), "{message}");
    h.sync().await;
    watch(&d).await;
    assert!(alert_rows(&h, "sync_overdue").await[0].1.is_some(), "cleared by a successful sync");

    // A run that makes no progress, and a batch held long past its lease.
    let (run, _) = engine.start_run(Trigger::Cli).await.expect("plan");
    exec(&h, format!("UPDATE {PREFIX}cachicamo_runs SET started_at = started_at - INTERVAL 30 MINUTE WHERE id = {}", run.id)).await;
    exec(&h, format!(
        "UPDATE {PREFIX}cachicamoapp_batch_queue SET status = 'processing', lease_owner = 'gone:1:x#0', lease_token = 't',
            lease_expires_at = UTC_TIMESTAMP(6) - INTERVAL 5 MINUTE WHERE run_id = {} AND batch_number = 1",
        run.id
    ))
    .await;
    watch(&d).await;
    let kinds: Vec<String> = store.active_alerts().await.expect("alerts").into_iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec!["stalled_run".to_owned(), "lease_overdue".to_owned()]);
    assert_eq!(alert_rows(&h, "stalled_run").await.len(), 1);

    // Pausing is not stalling.
    let paused = Daemon::new(h.engine());
    paused.pause().await.expect("pause");
    watch(&paused).await;
    assert!(alert_rows(&h, "stalled_run").await[0].1.is_some(), "a paused engine is not stalled");
    paused.resume().await.expect("resume");

    // Batches failing in a row.
    exec(&h, format!("UPDATE {PREFIX}cachicamoapp_batch_queue SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE run_id = {}", run.id)).await;
    h.sim.faults().set_malformed_rate(1.0);
    let mut failing = h.config();
    failing.api_attempts = 1;
    let e2 = cachicamo_sidecar::engine::Engine::new(failing);
    let ctx = e2.prepare().await.expect("prepare");
    e2.work_run(&ctx, run.id, Default::default(), Default::default()).await.expect("work");
    watch(&d).await;
    let failures = store.active_alerts().await.expect("alerts").into_iter().find(|a| a.kind == "batch_failures").expect("raised");
    assert!(failures.message.contains("failed in a row; the last: the Cachicamo API sent a malformed body"), "{}", failures.message);
    assert!(alert_rows(&h, "lease_overdue").await[0].1.is_some(), "the overdue lease was taken over, so that alert cleared");

    h.sim.faults().set_malformed_rate(0.0);
    store.retry_failed(run.id).await.expect("retry");
    let ctx = engine.prepare().await.expect("prepare");
    engine.work_run(&ctx, run.id, Default::default(), Default::default()).await.expect("work");
    store.finish_run_if_done(run.id, &ctx.settings.shop.timezone).await.expect("finish");
    watch(&d).await;
    assert!(store.active_alerts().await.expect("alerts").is_empty(), "{:?}", store.active_alerts().await);
    assert_eq!(alert_rows(&h, "batch_failures").await.len(), 1);
    assert_eq!(store.recent_alerts(50).await.expect("history").len(), 4, "history keeps every alert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_raises_an_alert_once() {
    let h = Harness::new(small()).await;
    h.engine().store().migrate().await.expect("migrate");
    let mut config = h.config();
    config.api_attempts = 1;
    config.api_url = "http://127.0.0.1:1".into();
    let d = Daemon::new(cachicamo_sidecar::engine::Engine::new(config));
    let e = d.start_sync(Trigger::Manual).await.expect_err("the API is down");
    assert!(e.to_string().contains("could not reach the Cachicamo API"), "{e}");
    watch(&d).await;
    let alerts = d.engine().store().active_alerts().await.expect("alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, "api_unreachable");
    assert!(alerts[0].message.contains("The Cachicamo API is not answering"), "{}", alerts[0].message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_runs_and_prometheus_serves_them() {
    let h = Harness::new(small()).await;
    let addr = format!("127.0.0.1:{}", common::daemon::free_port());
    let d = DaemonProc::start_with_args(&h, &[], &["--metrics-addr", &addr]).await;
    let mut c = d.client().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        if i == 1 {
            let victim = h.dataset.expected.iter().find(|e| !e.sku.is_empty()).expect("sku");
            h.sim.faults().fail_sku(&victim.sku);
        }
        let run = c.start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Cli as i32 }).await.expect("start").into_inner().run.expect("run");
        let mut s = c.watch_run(proto::WatchRunRequest { run_id: run.id }).await.expect("watch").into_inner();
        while let Some(p) = s.message().await.expect("progress") {
            if p.finished {
                break;
            }
        }
        h.sim.faults().clear();
        ids.push(run.id);
    }
    let m = c.get_metrics(proto::GetMetricsRequest { recent_runs: 0 }).await.expect("metrics").into_inner();
    assert_eq!(m.runs_today, 3);
    assert_eq!(m.recent_runs.iter().map(|r| r.id).collect::<Vec<_>>(), ids, "oldest first");
    assert!((m.success_rate - 2.0 / 3.0).abs() < 1e-9, "{}", m.success_rate);
    let durations: Vec<u64> = m.recent_runs.iter().map(|r| r.duration_ms).collect();
    assert_eq!(m.run_duration_avg_ms, durations.iter().sum::<u64>() / 3);
    assert_eq!(m.run_duration_p95_ms, *durations.iter().max().expect("max"));
    assert_eq!(m.api_requests, h.sim.stats().total_requests, "every request the simulator saw");
    assert!(m.api_error_rate > 0.0, "the failing batch's attempts count as errors");
    assert_eq!(m.queue_depth, 0);
    let skus: u64 = m.recent_runs.iter().map(|r| r.total_skus).sum();
    assert!((m.skus_per_hour - skus as f64 / 24.0).abs() < 1e-9);

    let text = reqwest::get(format!("http://{addr}/metrics")).await.expect("scrape").text().await.expect("body");
    for line in ["cachicamo_runs_today 3", "cachicamo_engine_state{state=\"idle\"} 1", "cachicamo_queue_depth 0", "# TYPE cachicamo_api_latency_seconds gauge"] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }

    let out = tokio::process::Command::new(binary("cachicamo-sidecar"))
        .args(["serve", "--metrics-addr", "0.0.0.0:9"])
        .env_clear()
        .env("CACHICAMO_SOCKET", d.socket.with_extension("other"))
        .env("CACHICAMO_DB_URL", &h.db.url)
        .output()
        .await
        .expect("serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a loopback address"));
    tokio::time::sleep(Duration::from_millis(10)).await;
}
