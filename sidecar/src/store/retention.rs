//! Retention: finished runs, their batches and finalized change records older than a number of
//! days are deleted, in small chunks so a large purge never holds long locks. The queue table
//! never grows without bound, and nothing of an active run or not yet finalized is touched.

use mysql_async::prelude::Queryable;

use super::{SqlContext, Store, StoreError};

/// Rows deleted per statement.
const CHUNK: u32 = 5000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub batches: u64,
    pub runs: u64,
    pub changes: u64,
}

impl Store {
    /// Deletes what is older than `days` days; returns what went.
    pub async fn purge_older_than(&self, days: u32) -> Result<Purged, StoreError> {
        let t = self.tables().clone();
        let mut purged = Purged::default();
        // Batches of finished runs, and the old plugin's rows (no run), by their last activity.
        purged.batches = self
            .delete_in_chunks(
                &format!(
                    "DELETE FROM {q} WHERE status IN ('completed', 'error', 'superseded')
                       AND COALESCE(processed_at, created_at) < DATE_SUB(UTC_TIMESTAMP(), INTERVAL ? DAY)
                       AND (run_id IS NULL OR run_id NOT IN (SELECT id FROM {r} WHERE status = 'running'))
                     LIMIT {CHUNK}",
                    q = t.queue,
                    r = t.runs
                ),
                days,
            )
            .await?;
        purged.runs = self
            .delete_in_chunks(
                &format!(
                    "DELETE FROM {r} WHERE status <> 'running' AND finished_at < DATE_SUB(UTC_TIMESTAMP(), INTERVAL ? DAY)
                       AND id NOT IN (SELECT run_id FROM (SELECT DISTINCT run_id FROM {q} WHERE run_id IS NOT NULL) kept)
                     LIMIT {CHUNK}",
                    q = t.queue,
                    r = t.runs
                ),
                days,
            )
            .await?;
        purged.changes = self
            .delete_in_chunks(
                &format!(
                    "DELETE FROM {c} WHERE finalized = 1 AND changed_at < DATE_SUB(UTC_TIMESTAMP(), INTERVAL ? DAY) LIMIT {CHUNK}",
                    c = t.changes
                ),
                days,
            )
            .await?;
        if purged != Purged::default() {
            tracing::info!(days, batches = purged.batches, runs = purged.runs, changes = purged.changes, "purged old sync history");
        }
        Ok(purged)
    }

    async fn delete_in_chunks(&self, sql: &str, days: u32) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let mut conn = self.conn().await?;
            conn.exec_drop(sql, (days,)).await.ctx("purging old rows")?;
            let n = conn.affected_rows();
            total += n;
            if n < u64::from(CHUNK) {
                return Ok(total);
            }
        }
    }
}
