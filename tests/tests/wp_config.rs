//! Issue 17 item 1: the database comes from wp-config.php as PHP reads it. A commented-out
//! `define( 'DB_NAME', … )` naming a staging copy of the shop sits above the real one; `doctor`
//! and `sync --once`, given only CACHICAMO_WP_ROOT, must name and write the real database and
//! leave the staging copy exactly as it was.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use mysql_async::prelude::Queryable;
use tokio::process::Command;

use cachicamo_testkit::seed::SeedOptions;
use cachicamo_testkit::testdb::TestDb;
use common::{binary, Harness, PREFIX};

/// A staging copy of the shop: every table of `from`, rows included, so the old reader that
/// picked it would have synced it successfully (same settings, same products).
async fn copy_of(from: &TestDb) -> TestDb {
    let copy = TestDb::create().await.expect("create the decoy database");
    let mut conn = copy.pool.get_conn().await.expect("conn");
    let tables: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
            (&from.name,),
        )
        .await
        .expect("list tables");
    assert!(!tables.is_empty(), "the shop has tables");
    for table in tables {
        assert!(
            table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "table name {table:?}"
        );
        conn.query_drop(format!(
            "CREATE TABLE `{table}` LIKE `{}`.`{table}`",
            from.name
        ))
        .await
        .expect("create");
        conn.query_drop(format!(
            "INSERT INTO `{table}` SELECT * FROM `{}`.`{table}`",
            from.name
        ))
        .await
        .expect("copy");
    }
    copy
}

/// Every table of `db` and its checksum: equal snapshots mean nothing was written.
async fn snapshot(db: &TestDb) -> BTreeMap<String, Option<i64>> {
    let mut conn = db.pool.get_conn().await.expect("conn");
    let tables: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (&db.name,),
        )
        .await
        .expect("list tables");
    let mut sums = BTreeMap::new();
    for table in tables {
        let row: Option<(String, Option<i64>)> = conn
            .query_first(format!("CHECKSUM TABLE `{table}`"))
            .await
            .expect("checksum");
        sums.insert(table, row.and_then(|(_, sum)| sum));
    }
    sums
}

async fn sidecar(h: &Harness, root: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(binary("cachicamo-sidecar"));
    // No CACHICAMO_DB_URL and no prefix: both come from wp-config.php.
    cmd.args(args)
        .env_clear()
        .env("CACHICAMO_WP_ROOT", root)
        .env("CACHICAMO_API_URL", h.sim.base_url())
        .env("CACHICAMO_SOCKET", root.join("no-daemon.sock"));
    cmd.output().await.expect("run cachicamo-sidecar")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_commented_out_db_name_is_not_the_database_written() {
    let h = Harness::new(SeedOptions {
        simple: 40,
        variable: 3,
        variations: 2,
        missing: 0.0,
        ..SeedOptions::default()
    })
    .await;
    let decoy = copy_of(&h.db).await;
    let opts = mysql_async::Opts::from_url(&h.db.url).expect("url");
    let password = opts.pass().unwrap_or("");
    let user = opts.user().unwrap_or("root");
    let root = tempfile::tempdir().expect("tempdir");
    let wp_config = format!(
        r#"<?php
/**
 * The base configuration for WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
// define( 'DB_NAME', '{decoy}' );
define( 'DB_NAME', '{real}' );

/** Database username */
define( 'DB_USER', '{user}' );

/** Database password */
define( 'DB_PASSWORD', '{password}' );

/** Database hostname */
define( 'DB_HOST', '{host}:{port}' );

define( 'DB_CHARSET', 'utf8mb4' );

$table_prefix = '{PREFIX}';

define( 'WP_DEBUG', false );

/* That's all, stop editing! Happy publishing. */

if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}

require_once ABSPATH . 'wp-settings.php';
"#,
        decoy = decoy.name,
        real = h.db.name,
        user = user,
        host = opts.ip_or_hostname(),
        port = opts.tcp_port(),
    );
    std::fs::write(root.path().join("wp-config.php"), wp_config).expect("write wp-config.php");
    let decoy_before = snapshot(&decoy).await;

    let doctor = sidecar(&h, root.path(), &["doctor", "--json"]).await;
    let sync = sidecar(&h, root.path(), &["sync", "--once", "--json"]).await;

    // The writes first: they are what went wrong in the shop.
    let decoy_after = snapshot(&decoy).await;
    let written: Vec<&String> = decoy_before
        .keys()
        .chain(
            decoy_after
                .keys()
                .filter(|t| !decoy_before.contains_key(*t)),
        )
        .filter(|t| decoy_before.get(*t) != decoy_after.get(*t))
        .collect();
    assert!(
        written.is_empty(),
        "the commented-out database was written: {written:?}"
    );
    assert!(sync.status.success(), "stderr: {}", text(&sync.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&sync.stdout).expect("one JSON object on stdout");
    assert_eq!(report["status"], "completed", "{report}");
    assert!(report["changed"].as_u64().unwrap_or(0) > 0, "{report}");
    assert_eq!(
        h.mismatches().await,
        Vec::<String>::new(),
        "the real database holds the synced values"
    );

    // The doctor names the real database, where it was read, and never the password.
    let checks: serde_json::Value =
        serde_json::from_slice(&doctor.stdout).expect("doctor --json prints JSON");
    let find = |name: &str| {
        checks
            .as_array()
            .and_then(|a| a.iter().find(|c| c["check"] == name))
            .cloned()
            .unwrap_or_default()
    };
    let config = find("configuration");
    assert_eq!(config["ok"], true, "{config}");
    let detail = config["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("database {} on", h.db.name)),
        "{detail}"
    );
    assert!(detail.contains("DB_NAME line 9"), "{detail}");
    assert!(!detail.contains(&decoy.name), "{detail}");
    assert_eq!(
        config["config"]["database"]["name"],
        h.db.name.as_str(),
        "{config}"
    );
    assert_eq!(
        config["config"]["database"]["from"]["DB_NAME"],
        serde_json::json!({"line": 9, "via": "define"})
    );
    assert_eq!(
        config["config"]["table_prefix"]["from"]["line"], 22,
        "{config}"
    );
    assert_eq!(find("database")["ok"], true, "{checks}");
    if !password.is_empty() && password != user {
        assert!(
            !text(&doctor.stdout).contains(password),
            "the password leaked"
        );
    }
}
