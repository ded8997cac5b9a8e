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

impl Store {
    /// Atomically takes the next pending batch of the run, or one whose lease expired.
    pub async fn claim_batch(&self, run_id: u64, owner: &str, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let q = &self.tables().queue;
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {q} SET status = 'error', lease_owner = NULL, lease_token = NULL, processed_at = UTC_TIMESTAMP(),
                    error_message = CONCAT('abandoned: its worker stopped during ', attempts, ' attempts')
                 WHERE run_id = ? AND status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6) AND attempts >= ?"
            ),
            (run_id, MAX_BATCH_ATTEMPTS),
        )
        .await
        .ctx("giving up abandoned batches")?;
        let token = uuid::Uuid::new_v4().to_string();
        // LAST_INSERT_ID(id) hands the claimed row's id back on this connection without a scan.
        conn.exec_drop(
            format!(
                "UPDATE {q} SET id = LAST_INSERT_ID(id), status = 'processing', lease_owner = ?, lease_token = ?,
                    lease_expires_at = DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ? SECOND), started_at = UTC_TIMESTAMP(6),
                    attempts = attempts + 1
                 WHERE run_id = ? AND (status = 'pending' OR (status = 'processing' AND lease_expires_at < UTC_TIMESTAMP(6)))
                 ORDER BY batch_number LIMIT 1"
            ),
            (owner, &token, lease.as_secs(), run_id),
        )
        .await
        .ctx("claiming a batch")?;
        if conn.affected_rows() == 0 {
            return Ok(None);
        }
        let id = conn.last_insert_id().ok_or_else(|| StoreError::Data("a claim returned no batch id".into()))?;
        let row: Option<(u64, u32, u32, Option<String>, u32, u32)> = conn
            .exec_first(
                format!("SELECT run_id, batch_number, total_batches, product_ids, sku_count, attempts FROM {q} WHERE id = ?"),
                (id,),
            )
            .await
            .ctx("reading a claimed batch")?;
        let (run_id, batch_number, total_batches, ids, sku_count, attempts) =
            row.ok_or_else(|| StoreError::Data(format!("claimed batch {id} vanished")))?;
        let product_ids: Vec<u64> = serde_json::from_str(ids.as_deref().unwrap_or("[]"))
            .map_err(|e| StoreError::Data(format!("batch {id} has an unreadable product list: {e}")))?;
        Ok(Some(Claim { batch_id: id, run_id, batch_number, total_batches, product_ids, sku_count, attempts, token, owner: owner.to_owned() }))
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
                    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
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
