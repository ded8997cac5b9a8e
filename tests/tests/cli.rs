//! `cachicamo-sidecar sync --once` as an operator runs it: the built binary, real MariaDB, the
//! simulator over HTTP. Checks the JSON report, exit codes and the one-sentence failures.

mod common;

use std::process::Output;

use tokio::process::Command;

use cachicamo_testkit::seed::SeedOptions;
use common::{binary, Harness, PREFIX};
use mysql_async::prelude::Queryable;

fn small() -> SeedOptions {
    SeedOptions { simple: 150, variable: 10, variations: 3, missing: 0.04, differ: 0.5, ..SeedOptions::default() }
}

async fn sidecar(h: &Harness, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary("cachicamo-sidecar"));
    cmd.args(args)
        .env_clear()
        .env("CACHICAMO_DB_URL", &h.db.url)
        .env("CACHICAMO_API_URL", h.sim.base_url())
        .env("CACHICAMO_TABLE_PREFIX", PREFIX);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("run cachicamo-sidecar")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn sync_once_json_reports_the_run_and_a_second_run_changes_nothing() {
    let h = Harness::new(small()).await;
    let out = sidecar(&h, &["sync", "--once", "--json"], &[]).await;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    for key in ["run_id", "status", "total_batches", "total_skus", "synced", "changed", "unchanged", "errors", "not_found", "conflicts", "duration_ms"] {
        assert!(report.get(key).is_some(), "missing {key} in {report}");
    }
    assert_eq!(report["status"], "completed");
    assert_eq!(report["errors"], 0);
    assert_eq!(report["not_found"], h.expected_not_found());
    assert!(report["changed"].as_u64().unwrap_or(0) > 0);
    assert!(!text(&out.stderr).is_empty(), "plain progress lines go to stderr when it is not a terminal");
    assert_eq!(h.mismatches().await, Vec::<String>::new());

    let again = sidecar(&h, &["sync", "--once", "--json"], &[]).await;
    assert!(again.status.success());
    let second: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(second["changed"], 0);
    assert_ne!(second["run_id"], report["run_id"]);
}

#[tokio::test]
async fn failures_to_run_are_one_clear_sentence_and_a_non_zero_exit() {
    let h = Harness::new(SeedOptions { simple: 5, variable: 0, variations: 0, ..SeedOptions::default() }).await;
    let token = h.dataset.access_token.clone();

    let cases: Vec<(&str, Vec<(&str, String)>, &str)> = vec![
        ("invalid prefix", vec![("CACHICAMO_TABLE_PREFIX", "wp;DROP".into())], "table prefix \"wp;DROP\" is invalid"),
        ("unknown prefix", vec![("CACHICAMO_TABLE_PREFIX", "shop_".into())], "shop_posts does not exist"),
        ("database down", vec![("CACHICAMO_DB_URL", "mysql://root@127.0.0.1:1/x".into())], "cannot reach the database"),
        ("api down", vec![("CACHICAMO_API_URL", "http://127.0.0.1:1".into())], "could not reach the Cachicamo API"),
        ("wrong token", vec![("CACHICAMO_ACCESS_TOKEN", "not-the-token".into())], "rejected the access token"),
    ];
    for (name, env, expected) in cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = sidecar(&h, &["sync", "--once", "--json"], &env).await;
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{name}: must fail");
        assert!(stderr.contains(expected), "{name}: expected {expected:?} in {stderr:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "{name}: one line: {stderr:?}");
        assert!(!stderr.contains(&token), "{name}: the token leaked: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
    }

    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_drop(format!("DELETE FROM {PREFIX}options WHERE option_name = 'woocommerce_cachicamoapp-for-woo-manager_settings'"))
        .await
        .expect("delete settings");
    let out = sidecar(&h, &["sync", "--once"], &[]).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no Cachicamo access token is configured"), "{}", text(&out.stderr));
    let runs: Option<i64> = conn.query_first(format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_runs")).await.expect("count");
    assert_eq!(runs, Some(0), "nothing is queued when the sync cannot run");

    let out = sidecar(&h, &["sync", "--once"], &[("CACHICAMO_ACCESS_TOKEN", &token), ("CACHICAMO_STORE_UUID", &h.dataset.store_uuid)]).await;
    assert!(out.status.success(), "credentials from the environment work: {}", text(&out.stderr));
}

#[tokio::test]
async fn the_database_and_prefix_come_from_wp_config_php() {
    let h = Harness::new(SeedOptions { simple: 20, variable: 2, variations: 2, missing: 0.0, ..SeedOptions::default() }).await;
    let opts = mysql_async::Opts::from_url(&h.db.url).expect("url");
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        root.path().join("wp-config.php"),
        format!(
            "<?php\ndefine( 'DB_NAME', '{}' );\ndefine( 'DB_USER', '{}' );\ndefine( 'DB_PASSWORD', '{}' );\ndefine( 'DB_HOST', '{}:{}' );\n$table_prefix = '{PREFIX}';\n",
            h.db.name,
            opts.user().unwrap_or("root"),
            opts.pass().unwrap_or(""),
            opts.ip_or_hostname(),
            opts.tcp_port()
        ),
    )
    .expect("write wp-config.php");
    let mut cmd = Command::new(binary("cachicamo-sidecar"));
    cmd.args(["sync", "--once", "--json"])
        .env_clear()
        .env("CACHICAMO_WP_ROOT", root.path())
        .env("CACHICAMO_API_URL", h.sim.base_url());
    let out = cmd.output().await.expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["status"], "completed");
    assert_eq!(h.mismatches().await, Vec::<String>::new());
}
