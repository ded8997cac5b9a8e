//! The core sync against real MariaDB and the simulator over real HTTP: the store ends equal to
//! the dataset, counts are exact, faults are contained, concurrent sales are never overwritten.

mod common;

use std::time::Duration;

use cachicamo_sidecar::store::runs::RunStatus;
use cachicamo_testkit::check::product_state;
use cachicamo_testkit::seed::SeedOptions;
use cachicamo_testkit::ProductKind;
use common::{Harness, PREFIX};
use mysql_async::prelude::Queryable;
use serde_json::json;

fn small_store() -> SeedOptions {
    SeedOptions { simple: 240, variable: 20, variations: 5, virtual_fraction: 0.1, differ: 0.6, missing: 0.05, ..SeedOptions::default() }
}

async fn checksum(h: &Harness) -> Vec<(String, Option<i64>)> {
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    let mut out = Vec::new();
    for table in ["posts", "postmeta", "wc_product_meta_lookup", "term_relationships", "term_taxonomy"] {
        let row: Option<(String, Option<i64>)> =
            conn.query_first(format!("CHECKSUM TABLE `{PREFIX}{table}`")).await.expect("checksum");
        out.push(row.expect("checksum row"));
    }
    out
}

async fn scalar(h: &Harness, sql: &str) -> i64 {
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_first::<i64, _>(sql).await.expect("query").unwrap_or(0)
}

/// Starts a sync while an order's open transaction holds a product's stock row (set to `stock`),
/// and returns once the sync is waiting on that row. Committing the returned connection lets it
/// go on.
async fn sync_while_an_order_holds(
    h: &Harness,
    product_id: u64,
    stock: &str,
) -> (mysql_async::Conn, tokio::task::JoinHandle<cachicamo_sidecar::store::runs::RunRow>) {
    let mut order = h.db.pool.get_conn().await.expect("conn");
    order.query_drop("START TRANSACTION").await.expect("begin");
    order
        .exec_drop(format!("UPDATE {PREFIX}postmeta SET meta_value = ? WHERE post_id = ? AND meta_key = '_stock'"), (stock, product_id))
        .await
        .expect("order update");
    let config = h.config();
    let sync = tokio::spawn(async move {
        cachicamo_sidecar::engine::Engine::new(config)
            .sync_once(cachicamo_sidecar::store::runs::Trigger::Cli, None, tokio_util::sync::CancellationToken::new())
            .await
            .expect("sync")
    });
    let mut watcher = h.db.pool.get_conn().await.expect("conn");
    for _ in 0..300 {
        // The apply's locking read of the rows it is about to compare and write, on a
        // connection of this test's own database other than this one: the process list holds
        // every test's. (INNODB_TRX and INNODB_LOCK_WAITS are no help: the server refreshes
        // their cache only after 100 ms without any reader, so pollers keep them stale.)
        let reading: Vec<u64> = watcher
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST
                 WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE ? AND TIME_MS > 300",
                (h.db.name.as_str(), format!("%`{PREFIX}postmeta`%FOR UPDATE%")),
            )
            .await
            .expect("processlist");
        // ... and that InnoDB has it waiting for a row of this product, which only the order
        // holds. (A slow locking read on a busy machine would prove nothing.)
        if !reading.is_empty() {
            let status: Option<(String, String, String)> = watcher.query_first("SHOW ENGINE INNODB STATUS").await.expect("innodb status");
            let status = status.expect("innodb status").2;
            if reading.iter().any(|&thread| waits_for_a_row_of(&status, thread, &h.db.name, product_id)) {
                return (order, sync);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sync never reached the locked stock row");
}

/// Whether `SHOW ENGINE INNODB STATUS` has connection `thread` in a lock wait for a row of
/// `database`'s postmeta that belongs to `product_id` (post_id, the fourth field of a primary
/// key record: meta_id, the transaction id, the roll pointer, post_id).
fn waits_for_a_row_of(status: &str, thread: u64, database: &str, product_id: u64) -> bool {
    status.split("\n---TRANSACTION ").any(|trx| {
        if !trx.contains(&format!("\nMariaDB thread id {thread},")) || !trx.contains("\nLOCK WAIT ") {
            return false;
        }
        let Some((_, wait)) = trx.split_once("FOR THIS LOCK TO BE GRANTED:") else { return false };
        let wait = wait.split("\n------------------").next().unwrap_or_default();
        wait.contains(&format!("index PRIMARY of table `{database}`.`{PREFIX}postmeta`"))
            && wait.contains(&format!("\n 3: len 8; hex {product_id:016x};"))
    })
}

#[tokio::test]
async fn full_sync_makes_the_store_equal_to_the_dataset_and_a_second_run_writes_nothing() {
    let h = Harness::new(small_store()).await;
    assert!(!h.mismatches().await.is_empty(), "the seeded store must start out different");

    let run = h.sync().await;
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    assert_eq!(h.mismatches().await, Vec::<String>::new());
    assert_eq!(run.totals.errors, 0);
    assert_eq!(run.totals.conflicts, 0);
    assert_eq!(run.totals.not_found, h.expected_not_found(), "not_found counts products, never keys");
    assert_eq!(run.totals.synced + run.totals.not_found, h.product_count(), "every product is counted exactly once");
    let differing = h.dataset.expected.iter().filter(|e| e.found && e.differs && e.kind != ProductKind::Variable).count() as u64;
    assert_eq!(run.totals.changed, differing, "exactly the products that differ change");
    let keys: u64 = h.dataset.expected.iter().map(|e| if e.sku.is_empty() { 1 } else { 2 }).sum();
    assert_eq!(run.total_skus, keys, "each product is asked for by its SKU and its WC-<id> alias");

    let sums = scalar(&h, &format!("SELECT CAST(SUM(synced) AS SIGNED) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {}", run.id)).await;
    assert_eq!(sums as u64, run.totals.synced, "run totals are the sum of the batch rows");
    let options = h.db.pool.get_conn().await.expect("conn").query::<(String, String), _>(format!(
        "SELECT option_name, option_value FROM {PREFIX}options WHERE option_name LIKE 'cachicamoapp_last_stock_sync%' ORDER BY option_name"
    )).await.expect("options");
    assert_eq!(options.len(), 4, "{options:?}");
    assert_eq!(options[1], ("cachicamoapp_last_stock_sync_count".into(), run.totals.synced.to_string()));
    assert_eq!(options[2], ("cachicamoapp_last_stock_sync_errors".into(), "0".into()));
    assert_eq!(options[3], ("cachicamoapp_last_stock_sync_not_found".into(), h.expected_not_found().to_string()));
    let changes = scalar(&h, &format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_changes WHERE run_id = {} AND parent_id = 0 AND product_id IN (SELECT ID FROM {PREFIX}posts WHERE post_type = 'product' AND ID NOT IN (SELECT post_parent FROM {PREFIX}posts))", run.id)).await;
    assert!(changes > 0, "changes are recorded for the finalize step");

    let before = checksum(&h).await;
    let second = h.sync().await;
    assert_eq!(second.status, RunStatus::Completed);
    assert_eq!(second.totals.changed, 0);
    assert_eq!(second.totals.synced, run.totals.synced);
    assert_eq!(checksum(&h).await, before, "a run with nothing to change writes no product row");
    let recorded = scalar(&h, &format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_changes WHERE run_id = {}", second.id)).await;
    assert_eq!(recorded, 0);
}

#[tokio::test]
async fn virtual_products_get_prices_but_no_stock_and_odd_skus_round_trip() {
    let h = Harness::new(SeedOptions { differ: 1.0, missing: 0.0, ..small_store() }).await;
    h.sync().await;
    assert_eq!(h.mismatches().await, Vec::<String>::new());
    let virtuals: Vec<_> = h.dataset.expected.iter().filter(|e| e.kind == ProductKind::Virtual).collect();
    assert!(!virtuals.is_empty());
    for e in virtuals {
        let s = product_state(&h.db.pool, PREFIX, e.product_id).await.expect("state");
        assert_eq!(s.stock, None, "virtual product {} must have no stock", e.product_id);
        assert_eq!(s.regular_price.as_deref(), e.regular_price.as_deref());
    }
    let odd: Vec<_> = h.dataset.expected.iter().filter(|e| e.sku.contains(['\'', '"', ' ', '\\']) || !e.sku.is_ascii()).collect();
    assert!(odd.len() >= 4, "the store has SKUs with quotes, spaces, unicode and emoji");
    for e in odd {
        let s = product_state(&h.db.pool, PREFIX, e.product_id).await.expect("state");
        assert_eq!(s.sku.as_deref(), Some(e.sku.as_str()));
        assert_eq!(s.regular_price.as_deref().map(str::to_owned), e.regular_price.clone(), "SKU {:?}", e.sku);
    }
}

#[tokio::test]
async fn a_batch_that_keeps_failing_is_an_error_and_the_others_complete() {
    let h = Harness::new(SeedOptions { simple: 900, variable: 0, variations: 0, missing: 0.0, ..small_store() }).await;
    let victim = h.dataset.expected.iter().find(|e| !e.sku.is_empty() && e.kind == ProductKind::Simple && e.differs).expect("a product");
    h.sim.faults().fail_sku(&victim.sku);

    let run = h.sync().await;
    assert_eq!(run.status, RunStatus::CompletedWithErrors);
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    let batches: Vec<(String, Option<String>, u64)> = conn
        .query(format!("SELECT status, error_message, product_count FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} ORDER BY batch_number", run.id))
        .await
        .expect("batches");
    let failed: Vec<_> = batches.iter().filter(|b| b.0 == "error").collect();
    assert_eq!(failed.len(), 1, "{batches:?}");
    let message = failed[0].1.as_deref().unwrap_or_default();
    assert!(message.contains("HTTP 500"), "the batch says why it failed: {message}");
    assert!(batches.iter().filter(|b| b.0 != "error").all(|b| b.0 == "completed"));
    assert_eq!(run.totals.errors, failed[0].2, "every product of the failed batch is an error");
    assert!(run.totals.synced > 0);
    let attempts = h.sim.stats();
    assert!(attempts.batch_requests >= batches.len() as u64 + 2, "the failing batch was retried: {attempts:?}");
    let victim_state = product_state(&h.db.pool, PREFIX, victim.product_id).await.expect("state");
    assert_ne!(victim_state.regular_price, victim.regular_price, "nothing of the failed batch was written");
}

#[tokio::test]
async fn an_invalid_price_skips_only_the_price_and_is_reported() {
    let h = Harness::new(SeedOptions { simple: 60, variable: 0, variations: 0, missing: 0.0, differ: 1.0, ..small_store() }).await;
    let victim = h.dataset.expected.iter().find(|e| !e.sku.is_empty() && e.kind == ProductKind::Simple).expect("a product");
    let mut item = h.dataset.items.iter().find(|i| i["sku_list"][0] == json!(victim.sku)).expect("item").clone();
    item["stock_billable"] = json!(37);
    item["price"]["amount_retail_format"]["amount_float"] = json!(0.004);
    assert!(h.sim.faults().set_item(&victim.sku, item));

    let run = h.sync().await;
    assert_eq!(run.status, RunStatus::CompletedWithErrors);
    assert_eq!(run.totals.errors, 1);
    let s = product_state(&h.db.pool, PREFIX, victim.product_id).await.expect("state");
    assert_eq!(s.stock.as_deref(), Some("37"), "the stock is applied even though the price is not");
    assert_ne!(s.regular_price, victim.regular_price);
    let message: Option<String> = h.db.pool.get_conn().await.expect("conn")
        .query_first(format!("SELECT error_message FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} AND errors > 0", run.id))
        .await
        .expect("query");
    let message = message.expect("the batch row explains the error");
    assert!(message.contains("below the 0.01 minimum") && message.contains(&format!("product {}", victim.product_id)), "{message}");
}

#[tokio::test]
async fn a_sale_between_read_and_write_is_never_overwritten() {
    let h = Harness::new(SeedOptions { simple: 200, variable: 0, variations: 0, missing: 0.0, differ: 1.0, ..small_store() }).await;
    let victim = h.dataset.expected.iter().find(|e| e.kind == ProductKind::Simple && e.stock != Some(77)).expect("a product");

    // An order's transaction holds the product's stock row while the sync reads it, then commits.
    let (mut order, sync) = sync_while_an_order_holds(&h, victim.product_id, "77").await;
    let mut watcher = h.db.pool.get_conn().await.expect("conn");
    // Cachicamo hears of the sale too (the plugin relays orders), so a fresh read agrees with it.
    assert!(h.sim.faults().set_stock(&victim.sku, 77));
    order.query_drop("COMMIT").await.expect("commit");
    let run = sync.await.expect("join");

    assert_eq!(run.totals.conflicts, 1, "{run:?}");
    let s = product_state(&h.db.pool, PREFIX, victim.product_id).await.expect("state");
    assert_eq!(s.stock.as_deref(), Some("77"), "the sale's stock stays");
    let stale: Option<i64> = watcher
        .exec_first(
            format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_changes WHERE product_id = ? AND new_stock IS NOT NULL AND new_stock <> '77'"),
            (victim.product_id,),
        )
        .await
        .expect("changes");
    assert_eq!(stale, Some(0), "the stale stock was never written, not even for a moment");
    let others: Vec<String> = h.mismatches().await.into_iter().filter(|m| !m.starts_with(&format!("#{} ", victim.product_id))).collect();
    assert_eq!(others, Vec::<String>::new(), "every other product is synced");
}

#[tokio::test]
async fn a_conflicted_product_is_re_synced_with_a_fresh_read() {
    let h = Harness::new(SeedOptions { simple: 50, variable: 0, variations: 0, missing: 0.0, differ: 1.0, ..small_store() }).await;
    let victim = h.dataset.expected.iter().find(|e| e.kind == ProductKind::Simple && !e.sku.is_empty()).expect("a product");
    let (mut order, sync) = sync_while_an_order_holds(&h, victim.product_id, "5").await;
    let mut watcher = h.db.pool.get_conn().await.expect("conn");
    // Meanwhile Cachicamo has a newer figure of its own: the re-sync reads and writes that one.
    assert!(h.sim.faults().set_stock(&victim.sku, 31));
    order.query_drop("COMMIT").await.expect("commit");
    let run = sync.await.expect("join");
    assert_eq!(run.totals.conflicts, 1);
    let s = product_state(&h.db.pool, PREFIX, victim.product_id).await.expect("state");
    assert_eq!(s.stock.as_deref(), Some("31"), "the conflicted product was re-synced from a fresh read");
    let logged: Vec<(Option<String>, Option<String>)> = watcher
        .exec(format!("SELECT old_stock, new_stock FROM {PREFIX}cachicamo_changes WHERE product_id = ? AND run_id = ?"), (victim.product_id, run.id))
        .await
        .expect("changes");
    assert!(logged.contains(&(Some("5".into()), Some("31".into()))), "the re-sync is in the change log: {logged:?}");
}

#[tokio::test]
async fn variable_parents_follow_their_variations() {
    let h = Harness::new(SeedOptions { simple: 10, variable: 12, variations: 6, missing: 0.0, differ: 1.0, ..small_store() }).await;
    h.sync().await;
    assert_eq!(h.mismatches().await, Vec::<String>::new());
    for parent in h.dataset.expected.iter().filter(|e| e.kind == ProductKind::Variable) {
        let s = product_state(&h.db.pool, PREFIX, parent.product_id).await.expect("state");
        assert_eq!(s.regular_price, None, "a variable parent has no price of its own");
        assert_eq!(s.stock, None);
        let lookup = s.lookup.expect("lookup row");
        assert_eq!(lookup.min_price.as_deref().map(str::to_owned), parent.min_price.clone());
        assert_eq!(lookup.max_price.as_deref().map(str::to_owned), parent.max_price.clone());
    }
}

#[tokio::test]
async fn the_old_plugins_queue_table_and_settings_are_adopted() {
    let h = Harness::new(SeedOptions { simple: 30, variable: 0, variations: 0, missing: 0.0, ..small_store() }).await;
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_drop(format!(
        "CREATE TABLE {PREFIX}cachicamoapp_batch_queue (
            id bigint(20) unsigned NOT NULL AUTO_INCREMENT, batch_number int(11) NOT NULL, total_batches int(11) NOT NULL,
            sku_list longtext NOT NULL, status varchar(20) NOT NULL DEFAULT 'pending', created_at datetime NOT NULL,
            processed_at datetime NULL, error_message text NULL,
            PRIMARY KEY (id), KEY status (status), KEY batch_number (batch_number))"
    ))
    .await
    .expect("legacy table");
    conn.query_drop(format!(
        "INSERT INTO {PREFIX}cachicamoapp_batch_queue (batch_number, total_batches, sku_list, status, created_at) VALUES
         (1, 3, '[\"OLD-1\",\"WC-1\"]', 'completed', NOW()), (2, 3, '[\"OLD-2\"]', 'processing', NOW()), (3, 3, '[\"OLD-3\"]', 'pending', NOW())"
    ))
    .await
    .expect("legacy rows");

    let run = h.sync().await;
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(h.mismatches().await, Vec::<String>::new(), "the old plugin's settings (token, store, tier) were used");
    let legacy: Vec<(u64, String)> = conn
        .query(format!("SELECT batch_number, status FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id IS NULL ORDER BY batch_number"))
        .await
        .expect("legacy rows");
    assert_eq!(
        legacy,
        vec![(1, "completed".into()), (2, "superseded".into()), (3, "superseded".into())],
        "old rows are kept; unfinished ones are superseded, never worked or deleted"
    );
}

/// A worker that died holding batch `number` of run `run_id` after `attempts` attempts: the row
/// is processing with an expired lease.
async fn expire_lease(conn: &mut mysql_async::Conn, run_id: u64, number: u32, attempts: u32) {
    conn.query_drop(format!(
        "UPDATE {PREFIX}cachicamoapp_batch_queue SET status = 'processing', lease_owner = 'dead', lease_token = 'x',
            lease_expires_at = DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 1 SECOND), attempts = {attempts}
         WHERE run_id = {run_id} AND batch_number = {number}"
    ))
    .await
    .expect("simulate a worker that died");
}

#[tokio::test]
async fn an_interrupted_run_is_resumed_not_replanned() {
    let h = Harness::new(SeedOptions { simple: 1500, variable: 0, variations: 0, missing: 0.0, ..small_store() }).await;
    let engine = h.engine();
    engine.prepare().await.expect("prepare");
    let (run, created) = engine.start_run(cachicamo_sidecar::store::runs::Trigger::Cli).await.expect("plan");
    assert!(created);
    assert!(run.total_batches >= 6);
    // A worker that died mid-batch.
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    expire_lease(&mut conn, run.id, 2, 1).await;

    let finished = h.sync().await;
    assert_eq!(finished.id, run.id, "the pending run is resumed");
    assert_eq!(finished.status, RunStatus::Completed);
    assert_eq!(h.mismatches().await, Vec::<String>::new());
    let open: Option<i64> = conn
        .query_first(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE status IN ('pending', 'processing')"))
        .await
        .expect("count");
    assert_eq!(open, Some(0));
    let runs: Option<i64> = conn.query_first(format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_runs")).await.expect("runs");
    assert_eq!(runs, Some(1));
}

#[tokio::test]
async fn a_batch_whose_workers_kept_dying_is_given_up_and_the_rest_completes() {
    let h = Harness::new(SeedOptions { simple: 1500, variable: 0, variations: 0, missing: 0.0, ..small_store() }).await;
    let engine = h.engine();
    engine.prepare().await.expect("prepare");
    let (run, _) = engine.start_run(cachicamo_sidecar::store::runs::Trigger::Cli).await.expect("plan");
    // Its fifth worker died too: the lease expired after the last attempt allowed.
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    expire_lease(&mut conn, run.id, 3, 5).await;

    let finished = h.sync().await;
    assert_eq!(finished.id, run.id);
    assert_eq!(finished.status, RunStatus::CompletedWithErrors, "{finished:?}");
    let rows: Vec<(u32, String, Option<String>, u32)> = conn
        .query(format!(
            "SELECT batch_number, status, error_message, attempts FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} ORDER BY batch_number",
            run.id
        ))
        .await
        .expect("batches");
    for (number, status, message, attempts) in rows {
        if number == 3 {
            assert_eq!(status, "error");
            assert_eq!(message.as_deref(), Some("abandoned: its worker stopped during 5 attempts"));
            assert_eq!(attempts, 5, "never claimed again");
        } else {
            assert_eq!(status, "completed", "batch {number}");
        }
    }
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_to_a_complete_run() {
    let h = Harness::with_sim(
        SeedOptions { simple: 2000, variable: 0, variations: 0, missing: 0.0, ..small_store() },
        cachicamo_testkit::sim::SimOptions { error_rate: 0.2, malformed_rate: 0.1, rate_limit_rps: Some(30.0), seed: 7, ..Default::default() },
    )
    .await;
    let mut config = h.config();
    config.api_attempts = 8;
    let run = h.sync_with(config).await;
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    assert_eq!(h.mismatches().await, Vec::<String>::new());
    let stats = h.sim.stats();
    assert!(stats.batch_requests > run.total_batches as u64, "faults forced retries: {stats:?}");
}

#[tokio::test]
async fn a_batch_whose_body_stays_malformed_is_an_error_with_the_reason() {
    let h = Harness::new(SeedOptions { simple: 700, variable: 0, variations: 0, missing: 0.0, ..small_store() }).await;
    let victim = h.dataset.expected.iter().find(|e| !e.sku.is_empty() && e.kind == ProductKind::Simple).expect("a product");
    h.sim.faults().malformed_for_sku(&victim.sku, cachicamo_testkit::sim::MalformedKind::Truncated);

    let run = h.sync().await;
    assert_eq!(run.status, RunStatus::CompletedWithErrors);
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    let failed: Vec<(String, u64)> = conn
        .query(format!("SELECT error_message, attempts FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} AND status = 'error'", run.id))
        .await
        .expect("failed batches");
    assert_eq!(failed.len(), 1);
    assert!(failed[0].0.contains("malformed body") && failed[0].0.contains("not JSON"), "{}", failed[0].0);
    let completed: Option<i64> = conn
        .query_first(format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} AND status = 'completed'", run.id))
        .await
        .expect("count");
    assert_eq!(completed, Some(run.total_batches as i64 - 1));
}
