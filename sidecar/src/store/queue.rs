//! The batch queue: claiming with a lease, renewing it, and ending a batch in error. A batch is
//! completed only inside its apply transaction (see `apply`), conditioned on still holding the
//! lease, so a batch taken over by another worker is never applied twice.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::{SqlContext, Store, StoreError};

/// A batch this worker holds until `lease_expires_at`.
#[derive(Debug, Clone)]
pub struct Claim {
    pub batch_id: u64,
    pub run_id: u64,
    pub batch_number: u32,
    pub total_batches: u32,
    pub product_ids: Vec<u64>,
    pub sku_count: u32,
    pub attempts: u32,
    /// Unique per claim: every later write of this batch requires it.
    pub token: String,
    pub owner: String,
}

/// Attempts after which a batch whose worker keeps dying is given up as an error.
pub const MAX_BATCH_ATTEMPTS: u32 = 5;
/// Candidates a claim considers at once, and how often it looks again when others took them all.
const CLAIM_CANDIDATES: usize = 8;
const CLAIM_ROUNDS: usize = 20;

impl Store {
    /// Takes the next pending batch of the run, or one whose lease expired. The candidates are
    /// found by a plain indexed read and each is taken with a compare-and-set on its own row, so
    /// a claim never locks the rest of the queue: workers claiming at once do not wait for (or
    /// deadlock with) each other, and one that loses a race simply takes the next candidate.
    pub async fn claim_batch(&self, run_id: u64, owner: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let q = &self.tables().queue;
        let mut conn = self.conn().await?;
        let token = uuid::Uuid::new_v4().to_string();
        for _ in 0..CLAIM_ROUNDS {
            let mut candidates: Vec<u64> = conn
                .exec(format!("SELECT id FROM {q} WHERE run_id = ? AND status = 'pending' ORDER BY batch_number LIMIT {CLAIM_CANDIDATES}"), (run_id,))
                .await
                .ctx("looking for a pending batch")?;
            if candidates.is_empty() {
                candidates = conn
                    .exec(
                        format!(
                            "SELECT id FROM {q} WHERE run_id = ? AND status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6) AND attempts < ?
                             ORDER BY batch_number LIMIT {CLAIM_CANDIDATES}"
                        ),
                        (run_id, MAX_BATCH_ATTEMPTS),
                    )
                    .await
                    .ctx("looking for an expired lease")?;
            }
            if candidates.is_empty() {
                self.give_up_abandoned(&mut conn, run_id).await?;
                return Ok(None);
            }
            // Workers that looked at the same moment start at different candidates.
            let offset = rand::random_range(0..candidates.len());
            candidates.rotate_left(offset);
            for id in candidates {
                conn.exec_drop(
                    format!(
                        "UPDATE {q} SET status = 'processing', lease_owner = ?, lease_token = ?,
                            lease_expires_at = DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ? SECOND), started_at = UTC_TIMESTAMP(6),
                            attempts = attempts + 1
                         WHERE id = ? AND run_id = ?
                           AND (status = 'pending' OR (status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6) AND attempts < ?))"
                    ),
                    (owner, &token, lease.as_secs(), id, run_id, MAX_BATCH_ATTEMPTS),
                )
                .await
                .ctx("claiming a batch")?;
                if conn.affected_rows() == 1 {
                    return self.claimed(&mut conn, id, token, owner).await.map(Some);
                }
            }
        }
        Err(StoreError::Data(format!("could not claim a batch of run {run_id}: every candidate was taken by another worker {CLAIM_ROUNDS} times over")))
    }

    /// A batch whose workers died [`MAX_BATCH_ATTEMPTS`] times is ended in error, once nothing
    /// else of its run is left to claim. Found by a plain read and ended row by row, like a claim:
    /// one UPDATE over the run's processing batches locked their index range and deadlocked
    /// with workers completing batches beside it.
    async fn give_up_abandoned(&self, conn: &mut mysql_async::Conn, run_id: u64) -> Result<(), StoreError> {
        let q = &self.tables().queue;
        const ABANDONED: &str = "status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6) AND attempts >= ?";
        let abandoned: Vec<u64> = conn
            .exec(format!("SELECT id FROM {q} WHERE run_id = ? AND {ABANDONED}"), (run_id, MAX_BATCH_ATTEMPTS))
            .await
            .ctx("looking for abandoned batches")?;
        for id in abandoned {
            conn.exec_drop(
                format!(
                    "UPDATE {q} SET status = 'error', lease_owner = NULL, lease_token = NULL, processed_at = UTC_TIMESTAMP(),
                        error_message = CONCAT('abandoned: its worker stopped during ', attempts, ' attempts')
                     WHERE id = ? AND {ABANDONED}"
                ),
                (id, MAX_BATCH_ATTEMPTS),
            )
            .await
            .ctx("giving up an abandoned batch")?;
        }
        Ok(())
    }

    async fn claimed(&self, conn: &mut mysql_async::Conn, id: u64, token: String, owner: &str) -> Result<Claim, StoreError> {
        let row: Option<(u64, u32, u32, Option<String>, u32, u32)> = conn
            .exec_first(
                format!("SELECT run_id, batch_number, total_batches, product_ids, sku_count, attempts FROM {} WHERE id = ?", self.tables().queue),
                (id,),
            )
            .await
            .ctx("reading a claimed batch")?;
        let (run_id, batch_number, total_batches, ids, sku_count, attempts) =
            row.ok_or_else(|| StoreError::Data(format!("claimed batch {id} vanished")))?;
        let product_ids: Vec<u64> = serde_json::from_str(ids.as_deref().unwrap_or("[]"))
            .map_err(|e| StoreError::Data(format!("batch {id} has an unreadable product list: {e}")))?;
        Ok(Claim { batch_id: id, run_id, batch_number, total_batches, product_ids, sku_count, attempts, token, owner: owner.to_owned() })
    }

    /// Extends the lease; false when it was lost (expired and taken over).
    pub async fn renew_lease(&self, claim: &Claim, lease: Duration) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET lease_expires_at = DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ? SECOND)
                 WHERE id = ? AND lease_token = ? AND status = 'processing'",
                self.tables().queue
            ),
            (lease.as_secs(), claim.batch_id, &claim.token),
        )
        .await
        .ctx("renewing a lease")?;
        Ok(conn.affected_rows() == 1)
    }

    /// Ends a batch in error with its reason; every product in it counts as an error.
    pub async fn fail_batch(&self, claim: &Claim, message: &str, products: u64, duration: Duration) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET status = 'error', error_message = ?, errors = ?, synced = 0, changed = 0, unchanged = 0,
                    not_found = 0, conflicts = 0, processed_at = UTC_TIMESTAMP(), duration_ms = ?,
                    lease_token = NULL, lease_expires_at = NULL
                 WHERE id = ? AND lease_token = ? AND status = 'processing'",
                self.tables().queue
            ),
            (message, products, duration.as_millis() as u64, claim.batch_id, &claim.token),
        )
        .await
        .ctx("marking a batch as failed")?;
        Ok(conn.affected_rows() == 1)
    }

    /// Hands a batch back untouched (shutdown): it is pending again for any worker.
    pub async fn release_batch(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL,
                    attempts = GREATEST(attempts, 1) - 1
                 WHERE id = ? AND lease_token = ? AND status = 'processing'",
                self.tables().queue
            ),
            (claim.batch_id, &claim.token),
        )
        .await
        .ctx("releasing a batch")?;
        Ok(())
    }
}

/// A batch row as operators see it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    pub id: u64,
    pub run_id: u64,
    pub batch_number: u32,
    pub total_batches: u32,
    pub status: String,
    pub sku_count: u32,
    pub attempts: u32,
    pub totals: super::runs::Totals,
    pub error_message: Option<String>,
    pub lease_owner: Option<String>,
    pub processed_at_ms: Option<i64>,
}

/// A lease currently held on a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseRow {
    pub batch_id: u64,
    pub owner: String,
    pub expires_at_ms: i64,
}

impl Store {
    /// Batches of a run in batch order, `after_id` for paging (ids grow with batch numbers).
    pub async fn list_batches(&self, run_id: u64, status: Option<&str>, after_id: u64, limit: u32) -> Result<Vec<BatchRow>, StoreError> {
        let mut conn = self.conn().await?;
        let status_filter = if status.is_some() { "AND status = ?" } else { "" };
        let sql = format!(
            "SELECT id, run_id, batch_number, total_batches, status, sku_count, attempts, synced, changed, unchanged, errors,
                    not_found, conflicts, error_message, lease_owner, CAST(UNIX_TIMESTAMP(processed_at) * 1000 AS SIGNED)
             FROM {} WHERE run_id = ? AND id > ? {status_filter} ORDER BY id LIMIT ?",
            self.tables().queue
        );
        let mut params: Vec<mysql_async::Value> = vec![run_id.into(), after_id.into()];
        if let Some(s) = status {
            params.push(s.into());
        }
        params.push(limit.into());
        let rows: Vec<mysql_async::Row> = conn.exec(sql, params).await.ctx("listing batches")?;
        rows.into_iter()
            .map(|r| {
                let bad = || StoreError::Data("a batch row has an unexpected shape".into());
                let u = |i: usize| r.get_opt::<u64, _>(i).and_then(Result::ok).ok_or_else(bad);
                Ok(BatchRow {
                    id: u(0)?,
                    run_id: u(1)?,
                    batch_number: u(2)? as u32,
                    total_batches: u(3)? as u32,
                    status: r.get_opt::<String, _>(4).and_then(Result::ok).ok_or_else(bad)?,
                    sku_count: u(5)? as u32,
                    attempts: u(6)? as u32,
                    totals: super::runs::Totals {
                        synced: u(7)?,
                        changed: u(8)?,
                        unchanged: u(9)?,
                        errors: u(10)?,
                        not_found: u(11)?,
                        conflicts: u(12)?,
                    },
                    error_message: r.get_opt::<Option<String>, _>(13).and_then(Result::ok).flatten(),
                    lease_owner: r.get_opt::<Option<String>, _>(14).and_then(Result::ok).flatten(),
                    processed_at_ms: r.get_opt::<Option<i64>, _>(15).and_then(Result::ok).flatten(),
                })
            })
            .collect()
    }

    pub async fn leases(&self) -> Result<Vec<LeaseRow>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(u64, Option<String>, Option<i64>)> = conn
            .exec(
                format!(
                    "SELECT id, lease_owner, CAST(UNIX_TIMESTAMP(lease_expires_at) * 1000 AS SIGNED) FROM {}
                     WHERE status = 'processing' ORDER BY id",
                    self.tables().queue
                ),
                (),
            )
            .await
            .ctx("listing leases")?;
        Ok(rows
            .into_iter()
            .map(|(batch_id, owner, exp)| LeaseRow { batch_id, owner: owner.unwrap_or_default(), expires_at_ms: exp.unwrap_or(0) })
            .collect())
    }

    /// Hands batches whose lease expired back to the queue; returns how many.
    pub async fn reclaim_expired_leases(&self) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
                 WHERE status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6) AND attempts < ?",
                self.tables().queue
            ),
            (MAX_BATCH_ATTEMPTS,),
        )
        .await
        .ctx("reclaiming expired leases")?;
        Ok(conn.affected_rows() as u32)
    }

    /// Hands back batches held by these owners (workers known to be dead) without waiting for
    /// their leases to expire.
    pub async fn release_leases_of(&self, owners: &[String]) -> Result<u32, StoreError> {
        if owners.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET status = 'pending', lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
                 WHERE status = 'processing' AND lease_owner IN ({})",
                self.tables().queue,
                super::placeholders(owners.len())
            ),
            owners.to_vec(),
        )
        .await
        .ctx("releasing dead workers' leases")?;
        Ok(conn.affected_rows() as u32)
    }
}
