//! What every run must end with, whatever happened on the way.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::{Harness, PREFIX};

pub async fn q(h: &Harness, sql: String) -> i64 {
    let mut conn = h.db.pool.get_conn().await.expect("conn");
    conn.query_first::<Option<i64>, _>(sql)
        .await
        .expect("query")
        .flatten()
        .unwrap_or(0)
}

pub async fn wait_completed(h: &Harness, run_id: u64, limit: Duration) {
    let started = Instant::now();
    loop {
        let mut conn = match h.db.pool.get_conn().await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let status: Option<String> = conn
            .query_first(format!(
                "SELECT status FROM {PREFIX}cachicamo_runs WHERE id = {run_id}"
            ))
            .await
            .ok()
            .flatten();
        if let Some(s) = status.filter(|s| s != "running") {
            assert_eq!(s, "completed");
            return;
        }
        assert!(
            started.elapsed() < limit,
            "run {run_id} did not complete within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

pub async fn assert_consistent(h: &Harness, run_id: u64) {
    let open = q(h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE status IN ('pending', 'processing')")).await;
    assert_eq!(open, 0, "no batch is left pending or processing");
    for col in [
        "synced",
        "changed",
        "unchanged",
        "errors",
        "not_found",
        "conflicts",
    ] {
        let run = q(
            h,
            format!("SELECT {col} FROM {PREFIX}cachicamo_runs WHERE id = {run_id}"),
        )
        .await;
        let sum = q(h, format!("SELECT CAST(COALESCE(SUM({col}), 0) AS SIGNED) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {run_id}")).await;
        assert_eq!(run, sum, "the run's {col} is the sum of its batches");
    }
    let twice = q(h, format!(
        "SELECT COUNT(*) FROM (SELECT product_id FROM {PREFIX}cachicamo_changes WHERE run_id = {run_id} GROUP BY product_id HAVING COUNT(*) > 1) t"
    ))
    .await;
    assert_eq!(twice, 0, "no product was changed twice");
    let changed = q(
        h,
        format!("SELECT changed FROM {PREFIX}cachicamo_runs WHERE id = {run_id}"),
    )
    .await;
    // Variable parents get change records from the recompute, but are not Cachicamo items.
    let recorded = q(h, format!(
        "SELECT COUNT(DISTINCT product_id) FROM {PREFIX}cachicamo_changes WHERE run_id = {run_id}
         AND product_id NOT IN (SELECT post_parent FROM {PREFIX}posts WHERE post_type = 'product_variation')"
    ))
    .await;
    assert_eq!(changed, recorded, "every counted change is recorded once");
    assert_eq!(
        h.mismatches().await,
        Vec::<String>::new(),
        "the store equals the dataset"
    );
}
