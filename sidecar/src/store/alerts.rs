//! Alerts: a row per occurrence of a watched condition. `open_kind` holds the kind while the
//! alert is open and is unique, so two sidecars watching one store raise it once between them.

use mysql_async::prelude::Queryable;

use super::{SqlContext, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub id: u64,
    pub kind: String,
    pub message: String,
    pub raised_at_ms: i64,
    pub cleared_at_ms: Option<i64>,
}

const ALERT_COLUMNS: &str = "id, kind, message, CAST(UNIX_TIMESTAMP(raised_at) * 1000 AS SIGNED),
    CAST(UNIX_TIMESTAMP(cleared_at) * 1000 AS SIGNED)";

type AlertDbRow = (u64, String, String, i64, Option<i64>);

fn to_row((id, kind, message, raised_at_ms, cleared_at_ms): AlertDbRow) -> AlertRow {
    AlertRow { id, kind, message, raised_at_ms, cleared_at_ms }
}

impl Store {
    /// Raises an alert of this kind unless one is open; keeps the open one's message current.
    /// Returns true when it was newly raised.
    pub async fn raise_alert(&self, kind: &str, message: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "INSERT IGNORE INTO {} (kind, open_kind, message, raised_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
                self.tables().alerts
            ),
            (kind, kind, message),
        )
        .await
        .ctx("raising an alert")?;
        if conn.affected_rows() == 1 {
            tracing::warn!(kind, message, "alert raised");
            return Ok(true);
        }
        conn.exec_drop(format!("UPDATE {} SET message = ? WHERE open_kind = ?", self.tables().alerts), (message, kind))
            .await
            .ctx("updating an alert")?;
        Ok(false)
    }

    /// Clears the open alert of this kind, if any; returns whether one was cleared.
    pub async fn clear_alert(&self, kind: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!("UPDATE {} SET open_kind = NULL, cleared_at = UTC_TIMESTAMP(6) WHERE open_kind = ?", self.tables().alerts),
            (kind,),
        )
        .await
        .ctx("clearing an alert")?;
        let cleared = conn.affected_rows() == 1;
        if cleared {
            tracing::info!(kind, "alert cleared");
        }
        Ok(cleared)
    }

    pub async fn active_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AlertDbRow> = conn
            .exec(format!("SELECT {ALERT_COLUMNS} FROM {} WHERE open_kind IS NOT NULL ORDER BY id", self.tables().alerts), ())
            .await
            .ctx("listing active alerts")?;
        Ok(rows.into_iter().map(to_row).collect())
    }

    /// The most recent alerts, newest first.
    pub async fn recent_alerts(&self, limit: u32) -> Result<Vec<AlertRow>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AlertDbRow> = conn
            .exec(format!("SELECT {ALERT_COLUMNS} FROM {} ORDER BY id DESC LIMIT ?", self.tables().alerts), (limit,))
            .await
            .ctx("listing alerts")?;
        Ok(rows.into_iter().map(to_row).collect())
    }

    /// When the run last moved: its newest finished batch, else its start (Unix ms).
    pub async fn last_progress_ms(&self, run_id: u64) -> Result<i64, StoreError> {
        let mut conn = self.conn().await?;
        let at: Option<Option<i64>> = conn
            .exec_first(
                format!(
                    "SELECT CAST(UNIX_TIMESTAMP(GREATEST(COALESCE((SELECT MAX(processed_at) FROM {q} WHERE run_id = ?), r.started_at), r.started_at)) * 1000 AS SIGNED)
                     FROM {r} r WHERE r.id = ?",
                    q = self.tables().queue,
                    r = self.tables().runs
                ),
                (run_id, run_id),
            )
            .await
            .ctx("reading a run's progress time")?;
        Ok(at.flatten().unwrap_or(0))
    }

    /// Statuses of a run's most recently finished batches, newest first, with the newest error.
    pub async fn last_batch_outcomes(&self, run_id: u64, n: u32) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut conn = self.conn().await?;
        conn.exec(
            format!(
                "SELECT status, error_message FROM {} WHERE run_id = ? AND status IN ('completed', 'error')
                 ORDER BY processed_at DESC, id DESC LIMIT ?",
                self.tables().queue
            ),
            (run_id, n),
        )
        .await
        .ctx("reading recent batch outcomes")
    }
}
