//! Operations: `doctor` names what is wrong, and retention removes exactly what is older than
//! the limit.

mod common;

use cachicamo_testkit::seed::SeedOptions;
use common::daemon::DaemonProc;
use common::{binary, Harness, PREFIX};
use mysql_async::prelude::Queryable;

fn small() -> SeedOptions {
    SeedOptions { simple: 120, variable: 4, variations: 3, missing: 0.0, ..SeedOptions::default() }
}

async fn doctor(h: &Harness, socket: &std::path::Path, extra: &[(&str, &str)]) -> (bool, Vec<serde_json::Value>) {
    let mut cmd = tokio::process::Command::new(binary("cachicamo-sidecar"));
    cmd.args(["doctor", "--json"])
        .env_clear()
        .env("CACHICAMO_DB_URL", &h.db.url)
        .env("CACHICAMO_API_URL", h.sim.base_url())
        .env("CACHICAMO_TABLE_PREFIX", PREFIX)
        .env("CACHICAMO_SOCKET", socket);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("doctor");
    let checks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    (out.status.success(), checks)
}

fn check<'a>(checks: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    checks.iter().find(|c| c["check"] == name).unwrap_or_else(|| panic!("no {name} check in {checks:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_and_names_what_is_wrong() {
    let h = Harness::new(small()).await;
    let d = DaemonProc::start(&h, &[]).await;
    let (ok, checks) = doctor(&h, &d.socket, &[]).await;
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    assert_eq!(names, ["configuration", "database", "clock", "settings", "cachicamo api", "socket"]);
    assert!(ok, "{checks:?}");
    assert!(check(&checks, "socket")["detail"].as_str().is_some_and(|d| d.contains("mode 660")));

    let (ok, checks) = doctor(&h, &d.socket, &[("CACHICAMO_ACCESS_TOKEN", "wrong")]).await;
    assert!(!ok);
    assert_eq!(check(&checks, "cachicamo api")["ok"], false);
    assert!(check(&checks, "cachicamo api")["detail"].as_str().is_some_and(|d| d.contains("rejected the access token")));
    assert!(!serde_json::to_string(&checks).expect("json").contains(&h.dataset.access_token), "no token in the output");

    let (ok, checks) = doctor(&h, std::path::Path::new("/nonexistent/sidecar.sock"), &[("CACHICAMO_TABLE_PREFIX", "shop_")]).await;
    assert!(!ok);
    assert!(check(&checks, "database")["detail"].as_str().is_some_and(|d| d.contains("shop_posts does not exist")));
    assert!(check(&checks, "socket")["detail"].as_str().is_some_and(|d| d.contains("no socket at /nonexistent/sidecar.sock")));
}

#[tokio::test]
async fn retention_removes_exactly_what_is_older_than_the_limit() {
    let h = Harness::new(small()).await;
    let old = h.sync().await;
    let recent = h.sync().await;
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    // Age the first run, its batches and its (finalized) changes; one old change stays unfinalized.
    for sql in [
        format!("UPDATE {PREFIX}cachicamo_runs SET started_at = started_at - INTERVAL 40 DAY, finished_at = finished_at - INTERVAL 40 DAY WHERE id = {}", old.id),
        format!("UPDATE {PREFIX}cachicamoapp_batch_queue SET created_at = created_at - INTERVAL 40 DAY, processed_at = processed_at - INTERVAL 40 DAY WHERE run_id = {}", old.id),
        format!("UPDATE {PREFIX}cachicamo_changes SET changed_at = changed_at - INTERVAL 40 DAY, finalized = 1 WHERE run_id = {}", old.id),
        format!("UPDATE {PREFIX}cachicamo_changes SET finalized = 0 WHERE run_id = {} ORDER BY id LIMIT 1", old.id),
        format!(
            "INSERT INTO {PREFIX}cachicamoapp_batch_queue (batch_number, total_batches, sku_list, status, created_at, processed_at)
             VALUES (1, 1, '[\"OLD\"]', 'completed', UTC_TIMESTAMP() - INTERVAL 90 DAY, UTC_TIMESTAMP() - INTERVAL 90 DAY),
                    (1, 1, '[\"NEW\"]', 'completed', UTC_TIMESTAMP() - INTERVAL 2 DAY, UTC_TIMESTAMP() - INTERVAL 2 DAY)"
        ),
    ] {
        conn.query_drop(sql).await.expect("age rows");
    }
    let count = |sql: String| {
        let pool = h.db.pool.clone();
        async move { pool.get_conn().await.expect("conn").query_first::<i64, _>(sql).await.expect("count").unwrap_or(0) }
    };
    let old_batches = count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {}", old.id)).await;
    let old_changes = count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_changes WHERE run_id = {}", old.id)).await;
    let recent_batches = count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {}", recent.id)).await;
    assert!(old_changes > 1);

    let purged = h.engine().store().purge_older_than(30).await.expect("purge");
    assert_eq!(purged.batches as i64, old_batches + 1, "the old run's batches and the old plugin's 90-day-old row");
    assert_eq!(purged.runs, 1);
    assert_eq!(purged.changes as i64, old_changes - 1, "an unfinalized change is kept whatever its age");
    assert_eq!(count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_runs WHERE id = {}", recent.id)).await, 1);
    assert_eq!(count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {}", recent.id)).await, recent_batches);
    assert_eq!(count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE sku_list = '[\"NEW\"]'")).await, 1);
    assert_eq!(count(format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_changes WHERE run_id = {}", old.id)).await, 1);
    let again = h.engine().store().purge_older_than(30).await.expect("purge");
    assert_eq!(again, Default::default(), "a second purge finds nothing");
}

#[tokio::test]
async fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/systemd/cachicamo-sidecar.service")).expect("unit file");
    assert!(unit.contains("ExecStart=/usr/local/bin/cachicamo-sidecar serve"));
    // verify wants the ExecStart binary to exist: point it at the one just built.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cachicamo-sidecar.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/cachicamo-sidecar", &binary("cachicamo-sidecar").display().to_string())).expect("write");
    let out = tokio::process::Command::new("systemd-analyze").arg("verify").arg(&path).output().await.expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("cachicamo-sidecar.service:"), "no warning about the unit: {stderr}");
}
