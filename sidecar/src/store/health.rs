//! Facts about the database itself, for `doctor` and health checks.

use mysql_async::prelude::Queryable;

use super::{SqlContext, Store, StoreError};

impl Store {
    /// The database server's clock minus this machine's, in milliseconds. Leases and schedules
    /// use the database's clock; a large skew only matters to people reading timestamps.
    pub async fn clock_skew_ms(&self) -> Result<i64, StoreError> {
        let mut conn = self.conn().await?;
        let before = chrono::Utc::now().timestamp_millis();
        let server: Option<i64> = conn
            .query_first("SELECT CAST(UNIX_TIMESTAMP(UTC_TIMESTAMP(6)) * 1000 AS SIGNED)")
            .await
            .ctx("reading the database clock")?;
        let after = chrono::Utc::now().timestamp_millis();
        Ok(server.unwrap_or(before) - (before + after) / 2)
    }

    /// The sidecar's schema version in this database (0 before the first migration).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        let exists: Option<String> = conn
            .exec_first(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (format!("{}cachicamo_migrations", self.prefix()),),
            )
            .await
            .ctx("looking for the migrations table")?;
        if exists.is_none() {
            return Ok(0);
        }
        let v: Option<Option<u32>> =
            conn.query_first(format!("SELECT MAX(version) FROM {}", self.tables().migrations)).await.ctx("reading the schema version")?;
        Ok(v.flatten().unwrap_or(0))
    }
}
