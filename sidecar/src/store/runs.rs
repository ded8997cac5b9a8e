//! Runs: planning one atomically under the run lock, and finishing it with totals summed from
//! its batch rows (never incremented), written to the old plugin's options in the same
//! transaction.

use chrono::Utc;
use mysql_async::prelude::Queryable;
use mysql_async::TxOpts;

use super::options::LastSyncOptions;
use super::settings::SiteTimezone;
use super::{read_committed, SqlContext, Store, StoreError};

/// Per-product counts of a batch or a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub synced: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub errors: u64,
    pub not_found: u64,
    pub conflicts: u64,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        self.synced += o.synced;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
        self.errors += o.errors;
        self.not_found += o.not_found;
        self.conflicts += o.conflicts;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Completed,
    CompletedWithErrors,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::CompletedWithErrors => "completed_with_errors",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "completed" => Self::Completed,
            "completed_with_errors" => Self::CompletedWithErrors,
            "cancelled" => Self::Cancelled,
            _ => Self::Failed,
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Running
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Manual,
    Cron,
    Cli,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Cron => "cron",
            Self::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: u64,
    pub trigger: String,
    pub status: RunStatus,
    pub total_batches: u32,
    pub total_skus: u64,
    pub total_products: u64,
    pub totals: Totals,
    /// Unix milliseconds, UTC.
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub error_message: Option<String>,
}

impl RunRow {
    pub fn duration_ms(&self) -> u64 {
        let end = self.finished_at_ms.unwrap_or_else(|| Utc::now().timestamp_millis());
        (end - self.started_at_ms).max(0) as u64
    }
}

/// One batch of a plan: the products it covers and the keys sent for them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedBatch {
    pub product_ids: Vec<u64>,
    pub keys: Vec<String>,
}

const RUN_COLUMNS: &str = "id, trigger_source, status, total_batches, total_skus, total_products,
    synced, changed, unchanged, errors, not_found, conflicts,
    CAST(UNIX_TIMESTAMP(started_at) * 1000 AS SIGNED),
    CAST(UNIX_TIMESTAMP(finished_at) * 1000 AS SIGNED),
    error_message";

fn run_from_row(row: mysql_async::Row) -> Result<RunRow, StoreError> {
    let bad = || StoreError::Data("a run row has an unexpected shape".into());
    let get_u = |i: usize| row.get_opt::<u64, _>(i).and_then(Result::ok).ok_or_else(bad);
    Ok(RunRow {
        id: get_u(0)?,
        trigger: row.get_opt::<String, _>(1).and_then(Result::ok).ok_or_else(bad)?,
        status: RunStatus::parse(&row.get_opt::<String, _>(2).and_then(Result::ok).ok_or_else(bad)?),
        total_batches: get_u(3)? as u32,
        total_skus: get_u(4)?,
        total_products: get_u(5)?,
        totals: Totals {
            synced: get_u(6)?,
            changed: get_u(7)?,
            unchanged: get_u(8)?,
            errors: get_u(9)?,
            not_found: get_u(10)?,
            conflicts: get_u(11)?,
        },
        started_at_ms: row.get_opt::<i64, _>(12).and_then(Result::ok).unwrap_or(0),
        finished_at_ms: row.get_opt::<Option<i64>, _>(13).and_then(Result::ok).flatten(),
        error_message: row.get_opt::<Option<String>, _>(14).and_then(Result::ok).flatten(),
    })
}

/// Batch counts of a run by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub pending: u32,
    pub processing: u32,
    pub completed: u32,
    pub error: u32,
}

impl BatchCounts {
    pub fn open(&self) -> u32 {
        self.pending + self.processing
    }

    /// Records `n` batches of a queue status; other statuses are not counted.
    fn count(&mut self, status: &str, n: u32) {
        match status {
            "pending" => self.pending = n,
            "processing" => self.processing = n,
            "completed" => self.completed = n,
            "error" => self.error = n,
            _ => {}
        }
    }
}

impl Store {
    pub async fn run(&self, id: u64) -> Result<Option<RunRow>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<mysql_async::Row> = conn
            .exec_first(format!("SELECT {RUN_COLUMNS} FROM {} WHERE id = ?", self.tables().runs), (id,))
            .await
            .ctx("reading a run")?;
        row.map(run_from_row).transpose()
    }

    pub async fn active_run(&self) -> Result<Option<RunRow>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<mysql_async::Row> = conn
            .exec_first(
                format!("SELECT {RUN_COLUMNS} FROM {} WHERE status = 'running' ORDER BY id DESC LIMIT 1", self.tables().runs),
                (),
            )
            .await
            .ctx("looking for an active run")?;
        row.map(run_from_row).transpose()
    }

    /// The active run, if any, and the last finished one, in one read for the status display.
    pub async fn current_and_last_run(&self) -> Result<(Option<RunRow>, Option<RunRow>), StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<mysql_async::Row> = conn
            .exec(
                format!(
                    "SELECT {RUN_COLUMNS} FROM {r} WHERE id = (SELECT MAX(id) FROM {r} WHERE status = 'running')
                        OR id = (SELECT MAX(id) FROM {r} WHERE status <> 'running')",
                    r = self.tables().runs
                ),
                (),
            )
            .await
            .ctx("reading the current and last runs")?;
        let (mut current, mut last) = (None, None);
        for row in rows {
            let run = run_from_row(row)?;
            if run.status.is_active() {
                current = Some(run);
            } else {
                last = Some(run);
            }
        }
        Ok((current, last))
    }

    pub async fn last_finished_run(&self) -> Result<Option<RunRow>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<mysql_async::Row> = conn
            .exec_first(
                format!("SELECT {RUN_COLUMNS} FROM {} WHERE status <> 'running' ORDER BY id DESC LIMIT 1", self.tables().runs),
                (),
            )
            .await
            .ctx("reading the last run")?;
        row.map(run_from_row).transpose()
    }

    /// Inserts a run and all its batches in one transaction under the run lock; pending batches
    /// of older runs (the old plugin's included) are superseded in the same transaction. When a
    /// run is already active it is returned instead, with `false`.
    pub async fn create_run(&self, trigger: Trigger, planner: &str, plan: &[PlannedBatch]) -> Result<(RunRow, bool), StoreError> {
        let t = self.tables().clone();
        let mut conn = self.conn().await?;
        let mut tx = conn.start_transaction(TxOpts::default()).await.ctx("starting the planning transaction")?;
        let _: Option<String> =
            tx.exec_first(format!("SELECT name FROM {} WHERE name = 'run' FOR UPDATE", t.locks), ()).await.ctx("taking the run lock")?;
        let active: Option<u64> = tx
            .exec_first(format!("SELECT id FROM {} WHERE status = 'running' ORDER BY id DESC LIMIT 1", t.runs), ())
            .await
            .ctx("looking for an active run")?;
        if let Some(id) = active {
            tx.rollback().await.ctx("releasing the run lock")?;
            let run = self.run(id).await?.ok_or_else(|| StoreError::Data(format!("run {id} vanished")))?;
            return Ok((run, false));
        }
        tx.exec_drop(format!("UPDATE {} SET holder = ?, acquired_at = UTC_TIMESTAMP(6) WHERE name = 'run'", t.locks), (planner,))
            .await
            .ctx("recording the run lock holder")?;
        let total_skus: usize = plan.iter().map(|b| b.keys.len()).sum();
        let total_products: usize = plan.iter().map(|b| b.product_ids.len()).sum();
        tx.exec_drop(
            format!(
                "INSERT INTO {} (trigger_source, status, total_batches, total_skus, total_products, planned_by, started_at)
                 VALUES (?, 'running', ?, ?, ?, ?, UTC_TIMESTAMP(6))",
                t.runs
            ),
            (trigger.as_str(), plan.len() as u32, total_skus as u64, total_products as u64, planner),
        )
        .await
        .ctx("creating the run")?;
        let run_id = tx.last_insert_id().ok_or_else(|| StoreError::Data("the run insert returned no id".into()))?;
        tx.exec_drop(
            format!(
                "UPDATE {} SET status = 'superseded', error_message = ?, lease_owner = NULL, lease_token = NULL
                 WHERE status IN ('pending', 'processing') AND (run_id IS NULL OR run_id <> ?)",
                t.queue
            ),
            (format!("superseded by run {run_id}"), run_id),
        )
        .await
        .ctx("superseding older pending batches")?;
        let total = plan.len();
        for (chunk_no, chunk) in plan.chunks(50).enumerate() {
            let mut sql = format!(
                "INSERT INTO {} (run_id, batch_number, total_batches, sku_list, product_ids, sku_count, product_count, status, created_at) VALUES ",
                t.queue
            );
            let mut params: Vec<mysql_async::Value> = Vec::with_capacity(chunk.len() * 7);
            for (i, b) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str("(?, ?, ?, ?, ?, ?, ?, 'pending', UTC_TIMESTAMP())");
                let number = chunk_no * 50 + i + 1;
                let skus = serde_json::to_string(&b.keys).map_err(|e| StoreError::Data(e.to_string()))?;
                let ids = serde_json::to_string(&b.product_ids).map_err(|e| StoreError::Data(e.to_string()))?;
                params.extend([
                    run_id.into(),
                    (number as u32).into(),
                    (total as u32).into(),
                    skus.into(),
                    ids.into(),
                    (b.keys.len() as u32).into(),
                    (b.product_ids.len() as u32).into(),
                ]);
            }
            tx.exec_drop(sql, params).await.ctx("inserting batches")?;
        }
        tx.commit().await.ctx("committing the plan")?;
        let run = self.run(run_id).await?.ok_or_else(|| StoreError::Data(format!("run {run_id} vanished")))?;
        Ok((run, true))
    }

    pub async fn batch_counts(&self, run_id: u64) -> Result<BatchCounts, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, u32)> = conn
            .exec(format!("SELECT status, COUNT(*) FROM {} WHERE run_id = ? GROUP BY status", self.tables().queue), (run_id,))
            .await
            .ctx("counting batches")?;
        let mut c = BatchCounts::default();
        for (status, n) in rows {
            c.count(&status, n);
        }
        Ok(c)
    }

    /// Totals so far of a run, summed from its batches, and its batches by status: one read.
    pub async fn run_progress(&self, run_id: u64) -> Result<(Totals, BatchCounts), StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, u32, u64, u64, u64, u64, u64, u64)> = conn
            .exec(
                format!(
                    "SELECT status, COUNT(*), CAST(COALESCE(SUM(synced),0) AS UNSIGNED), CAST(COALESCE(SUM(changed),0) AS UNSIGNED),
                            CAST(COALESCE(SUM(unchanged),0) AS UNSIGNED), CAST(COALESCE(SUM(errors),0) AS UNSIGNED),
                            CAST(COALESCE(SUM(not_found),0) AS UNSIGNED), CAST(COALESCE(SUM(conflicts),0) AS UNSIGNED)
                     FROM {} WHERE run_id = ? GROUP BY status",
                    self.tables().queue
                ),
                (run_id,),
            )
            .await
            .ctx("summing batch counts")?;
        let mut totals = Totals::default();
        let mut counts = BatchCounts::default();
        for (status, n, synced, changed, unchanged, errors, not_found, conflicts) in rows {
            totals.add(&Totals { synced, changed, unchanged, errors, not_found, conflicts });
            counts.count(&status, n);
        }
        Ok((totals, counts))
    }

    /// Ends the run once no batch is open: totals are the sums of its batches, and the old
    /// plugin's options are written in the same transaction. Returns the run as it stands.
    pub async fn finish_run_if_done(&self, run_id: u64, tz: &SiteTimezone) -> Result<RunRow, StoreError> {
        let t = self.tables().clone();
        let mut conn = self.conn().await?;
        let mut tx = conn
            .start_transaction(read_committed())
            .await
            .ctx("starting the finish transaction")?;
        let status: Option<String> =
            tx.exec_first(format!("SELECT status FROM {} WHERE id = ? FOR UPDATE", t.runs), (run_id,)).await.ctx("locking the run")?;
        let open: Option<u64> = tx
            .exec_first(format!("SELECT COUNT(*) FROM {} WHERE run_id = ? AND status IN ('pending', 'processing')", t.queue), (run_id,))
            .await
            .ctx("counting open batches")?;
        if status.as_deref() == Some("running") && open == Some(0) {
            let row: Option<(u64, u64, u64, u64, u64, u64, u64, u64)> = tx
                .exec_first(
                    format!(
                        "SELECT CAST(COALESCE(SUM(synced),0) AS UNSIGNED), CAST(COALESCE(SUM(changed),0) AS UNSIGNED),
                                CAST(COALESCE(SUM(unchanged),0) AS UNSIGNED), CAST(COALESCE(SUM(errors),0) AS UNSIGNED),
                                CAST(COALESCE(SUM(not_found),0) AS UNSIGNED), CAST(COALESCE(SUM(conflicts),0) AS UNSIGNED),
                                CAST(COALESCE(SUM(status = 'error'),0) AS UNSIGNED), COUNT(*)
                         FROM {} WHERE run_id = ?",
                        t.queue
                    ),
                    (run_id,),
                )
                .await
                .ctx("summing the run")?;
            let (synced, changed, unchanged, errors, not_found, conflicts, failed, batches) = row.unwrap_or_default();
            let status = if batches > 0 && failed == batches {
                RunStatus::Failed
            } else if failed > 0 || errors > 0 {
                RunStatus::CompletedWithErrors
            } else {
                RunStatus::Completed
            };
            let message = (failed > 0).then(|| format!("{failed} of {batches} batches failed; retry them once the cause is fixed"));
            tx.exec_drop(
                format!(
                    "UPDATE {} SET status = ?, synced = ?, changed = ?, unchanged = ?, errors = ?, not_found = ?, conflicts = ?,
                         finished_at = UTC_TIMESTAMP(6), error_message = ? WHERE id = ?",
                    t.runs
                ),
                (status.as_str(), synced, changed, unchanged, errors, not_found, conflicts, message, run_id),
            )
            .await
            .ctx("finishing the run")?;
            let options = LastSyncOptions { finished_local: tz.local_mysql(Utc::now()), synced, errors, not_found };
            self.write_options(&mut tx, &options.as_pairs()).await?;
            tx.exec_drop(format!("UPDATE {} SET holder = '', acquired_at = NULL WHERE name = 'run'", t.locks), ())
                .await
                .ctx("releasing the run lock")?;
            tx.commit().await.ctx("committing the finished run")?;
            tracing::info!(run_id, status = status.as_str(), synced, changed, errors, not_found, conflicts, "run finished");
        } else {
            tx.rollback().await.ctx("ending the finish transaction")?;
        }
        self.run(run_id).await?.ok_or_else(|| StoreError::Data(format!("run {run_id} does not exist")))
    }
}

/// The option that keeps the engine paused across restarts, shared by every sidecar.
pub const PAUSED_OPTION: &str = "cachicamo_sync_paused";

impl Store {
    /// The last run that ran to its end (with or without item errors).
    pub async fn last_completed_run(&self) -> Result<Option<RunRow>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<mysql_async::Row> = conn
            .exec_first(
                format!(
                    "SELECT {RUN_COLUMNS} FROM {} WHERE status IN ('completed', 'completed_with_errors') ORDER BY finished_at DESC LIMIT 1",
                    self.tables().runs
                ),
                (),
            )
            .await
            .ctx("reading the last completed run")?;
        row.map(run_from_row).transpose()
    }

    /// Who planned the active run ('' when none).
    pub async fn lock_holder(&self) -> Result<String, StoreError> {
        let mut conn = self.conn().await?;
        let holder: Option<String> =
            conn.exec_first(format!("SELECT holder FROM {} WHERE name = 'run'", self.tables().locks), ()).await.ctx("reading the run lock")?;
        Ok(holder.unwrap_or_default())
    }

    /// Puts a run's failed batches back in the queue and reopens the run. Refused while a
    /// different run is active.
    pub async fn retry_failed(&self, run_id: u64) -> Result<u32, StoreError> {
        let t = self.tables().clone();
        let mut conn = self.conn().await?;
        let mut tx = conn.start_transaction(TxOpts::default()).await.ctx("starting the retry transaction")?;
        let _: Option<String> =
            tx.exec_first(format!("SELECT name FROM {} WHERE name = 'run' FOR UPDATE", t.locks), ()).await.ctx("taking the run lock")?;
        let active: Option<u64> = tx
            .exec_first(format!("SELECT id FROM {} WHERE status = 'running' AND id <> ? LIMIT 1", t.runs), (run_id,))
            .await
            .ctx("looking for an active run")?;
        if let Some(other) = active {
            tx.rollback().await.ctx("ending the retry transaction")?;
            return Err(StoreError::Conflict(format!("run {other} is active; retry run {run_id}'s failed batches when it ends")));
        }
        tx.exec_drop(
            format!(
                "UPDATE {} SET status = 'pending', error_message = NULL, attempts = 0, errors = 0, processed_at = NULL
                 WHERE run_id = ? AND status = 'error'",
                t.queue
            ),
            (run_id,),
        )
        .await
        .ctx("requeueing failed batches")?;
        let n = tx.affected_rows() as u32;
        if n > 0 {
            tx.exec_drop(
                format!("UPDATE {} SET status = 'running', finished_at = NULL, error_message = NULL WHERE id = ?", t.runs),
                (run_id,),
            )
            .await
            .ctx("reopening the run")?;
        }
        tx.commit().await.ctx("committing the retry")?;
        Ok(n)
    }

    /// Ends an active run now: its pending batches are superseded; a batch being worked still
    /// lands, since it is already consistent on its own.
    pub async fn cancel_run(&self, run_id: u64) -> Result<bool, StoreError> {
        let t = self.tables().clone();
        let mut conn = self.conn().await?;
        let mut tx = conn.start_transaction(TxOpts::default()).await.ctx("starting the cancel transaction")?;
        tx.exec_drop(
            format!("UPDATE {} SET status = 'cancelled', finished_at = UTC_TIMESTAMP(6), error_message = 'cancelled' WHERE id = ? AND status = 'running'", t.runs),
            (run_id,),
        )
        .await
        .ctx("cancelling the run")?;
        let cancelled = tx.affected_rows() == 1;
        if cancelled {
            tx.exec_drop(
                format!("UPDATE {} SET status = 'superseded', error_message = 'run cancelled' WHERE run_id = ? AND status = 'pending'", t.queue),
                (run_id,),
            )
            .await
            .ctx("superseding the cancelled run's batches")?;
            tx.exec_drop(format!("UPDATE {} SET holder = '', acquired_at = NULL WHERE name = 'run'", t.locks), ())
                .await
                .ctx("releasing the run lock")?;
        }
        tx.commit().await.ctx("committing the cancel")?;
        Ok(cancelled)
    }

    pub async fn paused(&self) -> Result<bool, StoreError> {
        let map = self.read_options(&[PAUSED_OPTION]).await?;
        Ok(map.get(PAUSED_OPTION).is_some_and(|v| v.as_slice() == b"1"))
    }

    pub async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        self.write_options(&mut conn, &[(PAUSED_OPTION, if paused { "1" } else { "0" }.to_owned())]).await
    }

    /// Runs, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<RunRow>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<mysql_async::Row> = conn
            .exec(format!("SELECT {RUN_COLUMNS} FROM {} ORDER BY id DESC LIMIT ?", self.tables().runs), (limit,))
            .await
            .ctx("listing runs")?;
        rows.into_iter().map(run_from_row).collect()
    }
}
