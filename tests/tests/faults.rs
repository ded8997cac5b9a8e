//! Faults: a misbehaving Cachicamo API (wrong types, absurd values, duplicates, empty and huge
//! bodies, timeouts, rate limits), database connections killed mid-transaction, a user outside
//! the socket's group, and credentials that must never reach a log.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use cachicamo_sidecar::proto;
use cachicamo_sidecar::store::runs::RunStatus;
use cachicamo_testkit::check::product_state;
use cachicamo_testkit::seed::SeedOptions;
use cachicamo_testkit::sim::{MalformedKind, SimOptions};
use cachicamo_testkit::{ExpectedProduct, ProductKind};
use common::daemon::DaemonProc;
use common::{binary, Harness, PREFIX};
use mysql_async::prelude::Queryable;
use serde_json::json;

fn simple_store(n: usize) -> SeedOptions {
    SeedOptions { simple: n, variable: 0, variations: 0, virtual_fraction: 0.0, differ: 1.0, missing: 0.0, ..SeedOptions::default() }
}

fn item_for(h: &Harness, e: &ExpectedProduct) -> serde_json::Value {
    h.dataset.items.iter().find(|i| i["sku_list"].as_array().is_some_and(|l| l.contains(&json!(e.sku)))).expect("item").clone()
}

async fn batch_messages(h: &Harness, run_id: u64, status: &str) -> Vec<String> {
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query::<Option<String>, _>(format!(
        "SELECT error_message FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {run_id} AND status = '{status}' AND error_message IS NOT NULL"
    ))
    .await
    .expect("messages")
    .into_iter()
    .flatten()
    .collect()
}

#[tokio::test]
async fn bad_values_from_the_api_are_refused_per_item_with_their_reason() {
    let h = Harness::new(simple_store(120)).await;
    // Five products to a batch, and every victim ten products apart: each in a batch of its own.
    let victims: Vec<ExpectedProduct> =
        h.dataset.expected.iter().filter(|e| !e.sku.is_empty() && e.kind == ProductKind::Simple).step_by(10).take(8).cloned().collect();
    let faults = h.sim.faults();
    let edit = |i: usize, f: &dyn Fn(&mut serde_json::Value)| {
        let mut item = item_for(&h, &victims[i]);
        f(&mut item);
        assert!(faults.set_item(&victims[i].sku, item));
    };
    edit(0, &|i| i["stock_billable"] = json!("12"));
    edit(1, &|i| i["stock_billable"] = serde_json::Value::Null);
    edit(2, &|i| i["stock_billable"] = json!(1e308));
    edit(3, &|i| i["price"]["amount_retail_format"]["amount_float"] = json!(-5.0));
    edit(4, &|i| i["price"]["amount_retail_format"] = serde_json::Value::Null);
    edit(5, &|i| i["price"]["amount_retail_format"]["amount_float"] = json!(1e308));
    // A second Cachicamo product claiming the same SKU: the answer is ambiguous.
    let mut twin = item_for(&h, &victims[6]);
    twin["product_uuid"] = json!("ffffffff-0000-0000-0000-000000000001");
    twin["stock_billable"] = json!(4242);
    assert!(!faults.set_item("ffffffff-0000-0000-0000-000000000001", twin), "the twin is added");

    let mut config = h.config();
    config.batch_size = 10;
    let run = h.sync_with(config).await;
    assert_eq!(run.status, RunStatus::CompletedWithErrors);
    assert_eq!(run.totals.errors, 7, "one error per bad product: {run:?}");
    let messages = batch_messages(&h, run.id, "completed").await.join("\n");
    for reason in [
        "stock: stock_billable is a string, not a number",
        "stock: stock_billable is null, not a number",
        "stock_billable 1e+308 is out of range",
        "price: price -5.0 is negative",
        "the retail price tier (amount_retail_format) is missing",
        "amount_float 1e+308 is out of range",
        "Cachicamo returned 2 items for it",
    ] {
        assert!(messages.contains(reason), "{reason:?} is explained in:\n{messages}");
    }
    for (i, v) in victims.iter().enumerate().take(7) {
        let s = product_state(&h.db.pool, PREFIX, v.product_id).await.expect("state");
        match i {
            // A bad stock keeps the old stock, the price still applies.
            0..=2 => {
                assert_ne!(s.stock.as_deref().and_then(|x| x.parse::<i64>().ok()), v.stock, "{i}");
                assert_eq!(s.regular_price.as_deref().map(str::to_owned), v.regular_price, "{i}");
            }
            // A bad price keeps the old price, the stock still applies.
            3..=5 => {
                assert_eq!(s.stock.as_deref().and_then(|x| x.parse::<i64>().ok()), v.stock, "{i}");
                assert_ne!(s.regular_price.as_deref().map(str::to_owned), v.regular_price, "{i}");
            }
            _ => assert_ne!(s.stock.as_deref(), Some("4242"), "an ambiguous product is left alone"),
        }
    }
    let others: Vec<String> = h
        .mismatches()
        .await
        .into_iter()
        .filter(|m| !victims.iter().take(7).any(|v| m.starts_with(&format!("#{} ", v.product_id))))
        .collect();
    assert_eq!(others, Vec::<String>::new(), "every other product is synced");
}

#[tokio::test]
async fn broken_bodies_fail_only_their_batch_with_a_precise_message() {
    let h = Harness::new(simple_store(100)).await;
    let victims: Vec<ExpectedProduct> =
        h.dataset.expected.iter().filter(|e| !e.sku.is_empty()).step_by(20).take(4).cloned().collect();
    let kinds = [MalformedKind::Empty, MalformedKind::Huge, MalformedKind::Object, MalformedKind::NotJson];
    for (v, kind) in victims.iter().zip(kinds) {
        h.sim.faults().malformed_for_sku(&v.sku, kind);
    }
    let mut config = h.config();
    config.batch_size = 20;
    let run = h.sync_with(config).await;
    assert_eq!(run.status, RunStatus::CompletedWithErrors);
    let failed = batch_messages(&h, run.id, "error").await;
    assert_eq!(failed.len(), 4, "{failed:?}");
    let all = failed.join("\n");
    for expected in ["malformed body: not JSON: EOF", "larger than 16 MiB", "expected an array of items, got an object", "malformed body: not JSON: expected value"] {
        assert!(all.contains(expected), "{expected:?} in:\n{all}");
    }
    let stats = h.sim.stats();
    // Malformed bodies are retried (three attempts); an oversized one is not worth a retry.
    assert_eq!(stats.batch_requests, u64::from(run.total_batches) - 4 + 3 * 3 + 1, "{stats:?}");
}

#[tokio::test]
async fn timeouts_are_retried_then_the_batch_fails_saying_so() {
    let h = Harness::with_sim(simple_store(10), SimOptions { latency_ms: 2500, ..SimOptions::default() }).await;
    let mut config = h.config();
    config.api_timeout = Duration::from_secs(1);
    config.api_attempts = 2;
    let run = h.sync_with(config).await;
    assert_eq!(run.status, RunStatus::Failed, "every batch failed");
    let failed = batch_messages(&h, run.id, "error").await;
    assert_eq!(failed, vec!["the Cachicamo API did not answer within 1 s".to_owned()]);
    assert_eq!(h.sim.stats().batch_requests, 2, "two attempts, then the batch is given up");
}

#[tokio::test]
async fn rate_limits_are_honoured_not_hammered() {
    let h = Harness::with_sim(simple_store(1000), SimOptions { rate_limit_rps: Some(4.0), ..SimOptions::default() }).await;
    let mut config = h.config();
    config.api_attempts = 10;
    config.batch_size = 100;
    config.workers = 4;
    let started = std::time::Instant::now();
    let run = h.sync_with(config).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(run.status, RunStatus::Completed);
    let stats = h.sim.stats();
    let limited = stats.by_status.get(&429).copied().unwrap_or(0);
    assert!(limited > 0, "the limit was hit: {stats:?}");
    // Honouring Retry-After (1 s) keeps the request rate near the limit; hammering would not.
    let rate = stats.total_requests as f64 / secs;
    assert!(rate < 4.0 * 2.0 + 4.0, "{} requests in {secs:.1} s: {stats:?}", stats.total_requests);
    assert_eq!(h.mismatches().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_database_connections_mid_run_leave_no_partial_batch() {
    let h = Harness::new(SeedOptions { simple: 900, variable: 20, variations: 5, missing: 0.0, ..SeedOptions::default() }).await;
    h.sim.faults().set_latency_ms(80);
    let d = DaemonProc::start(&h, &[]).await;
    let mut c = d.client().await;
    let run = c.start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Cli as i32 }).await.expect("start").into_inner().run.expect("run");
    let mut admin = h.db.pool.get_conn().await.expect("conn");
    let mut killed = 0;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let ids: Vec<u64> = admin
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                (h.db.name.as_str(),),
            )
            .await
            .expect("processlist");
        for id in ids {
            if admin.query_drop(format!("KILL CONNECTION {id}")).await.is_ok() {
                killed += 1;
            }
        }
    }
    assert!(killed > 0, "connections were killed");
    h.sim.faults().set_latency_ms(0);
    let started = std::time::Instant::now();
    loop {
        let status: Option<String> = admin
            .query_first(format!("SELECT status FROM {PREFIX}cachicamo_runs WHERE id = {}", run.id))
            .await
            .expect("status");
        if status.as_deref() != Some("running") {
            assert_eq!(status.as_deref(), Some("completed"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "the run recovers from killed connections");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(h.mismatches().await, Vec::<String>::new(), "no partial batch: the store equals the dataset");
    let processing: Option<i64> =
        admin.query_first(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE status = 'processing'")).await.expect("count");
    assert_eq!(processing, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_refuses_users_outside_its_group_and_the_token_never_reaches_a_log() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let h = Harness::new(simple_store(30)).await;
    let d = DaemonProc::start_with_args(&h, &[("CACHICAMO_LOG", "debug")], &["--socket-group", "www-data"]).await;
    let dir = d.socket.parent().expect("socket dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let as_user = |user: &str, group: &str| {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args([&format!("--reuid={user}"), &format!("--regid={group}"), "--init-groups", "--"])
            .arg(binary("cachicamo-sidecar"))
            .args(["status", "--json"])
            .env_clear()
            .env("CACHICAMO_SOCKET", &d.socket);
        cmd.output().expect("setpriv")
    };
    let outsider = as_user("nobody", "nogroup");
    assert!(!outsider.status.success());
    let stderr = String::from_utf8_lossy(&outsider.stderr);
    assert!(stderr.contains("permission denied on"), "{stderr}");
    let member = as_user("www-data", "www-data");
    assert!(member.status.success(), "the web server's user may connect: {}", String::from_utf8_lossy(&member.stderr));

    let mut c = d.client().await;
    c.start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Manual as i32 }).await.expect("start");
    let mut stream = c.watch_run(proto::WatchRunRequest { run_id: 0 }).await.expect("watch").into_inner();
    while let Some(p) = stream.message().await.expect("progress") {
        if p.finished {
            break;
        }
    }
    let status = c.get_status(proto::GetStatusRequest {}).await.expect("status").into_inner();
    let token = &h.dataset.access_token;
    assert!(!format!("{status:?}").contains(token.as_str()), "no gRPC answer carries the token");
    let log = d.log_text();
    assert!(log.contains("batch applied"), "the debug log was written");
    assert!(!log.contains(token.as_str()), "the token is not in the log");
}
