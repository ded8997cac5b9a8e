//! Schema migrations. The old plugin's queue table is adopted as it is: missing columns and
//! indexes are added, nothing is dropped. Checks go through information_schema so the same steps
//! work on MySQL 5.7+ and MariaDB 10.3+ (no `ADD COLUMN IF NOT EXISTS` on MySQL).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::{SqlContext, Store, StoreError, Tables};

/// Bump when a step is added; each step must be safe to run again after a crash mid-way.
const SCHEMA_VERSION: u32 = 3;

/// The old plugin's queue table, exactly as its dbDelta created it.
fn legacy_queue_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
            batch_number int(11) NOT NULL,
            total_batches int(11) NOT NULL,
            sku_list longtext NOT NULL,
            status varchar(20) NOT NULL DEFAULT 'pending',
            created_at datetime NOT NULL,
            processed_at datetime NULL,
            error_message text NULL,
            PRIMARY KEY (id),
            KEY status (status),
            KEY batch_number (batch_number)
        ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci",
        t.queue
    )
}

/// Columns the engine adds to the queue table.
const QUEUE_COLUMNS: &[(&str, &str)] = &[
    ("run_id", "bigint(20) unsigned NULL"),
    ("product_ids", "longtext NULL"),
    ("sku_count", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("product_count", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("attempts", "int(10) unsigned NOT NULL DEFAULT 0"),
    // Kept after a batch ends: who worked it last.
    ("lease_owner", "varchar(100) NULL"),
    ("lease_token", "char(36) NULL"),
    ("lease_expires_at", "datetime(6) NULL"),
    ("started_at", "datetime(6) NULL"),
    ("duration_ms", "int(10) unsigned NULL"),
    ("synced", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("changed", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("unchanged", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("errors", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("not_found", "int(10) unsigned NOT NULL DEFAULT 0"),
    ("conflicts", "int(10) unsigned NOT NULL DEFAULT 0"),
];

/// Indexes the engine adds to the queue table.
const QUEUE_INDEXES: &[(&str, &str)] = &[
    ("run_status", "run_id, status, batch_number"),
    // A run's progress (the status display reads it several times a second during a run) is
    // summed from this index alone: a batch row carries its SKU and product lists, kilobytes
    // each, that the sums would otherwise read.
    ("run_progress", "run_id, status, synced, changed, unchanged, errors, not_found, conflicts"),
];

fn runs_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
            trigger_source varchar(20) NOT NULL,
            status varchar(30) NOT NULL,
            total_batches int(10) unsigned NOT NULL DEFAULT 0,
            total_skus int(10) unsigned NOT NULL DEFAULT 0,
            total_products int(10) unsigned NOT NULL DEFAULT 0,
            synced int(10) unsigned NOT NULL DEFAULT 0,
            changed int(10) unsigned NOT NULL DEFAULT 0,
            unchanged int(10) unsigned NOT NULL DEFAULT 0,
            errors int(10) unsigned NOT NULL DEFAULT 0,
            not_found int(10) unsigned NOT NULL DEFAULT 0,
            conflicts int(10) unsigned NOT NULL DEFAULT 0,
            planned_by varchar(100) NOT NULL DEFAULT '',
            started_at datetime(6) NOT NULL,
            finished_at datetime(6) NULL,
            error_message text NULL,
            PRIMARY KEY (id),
            KEY status (status)
        ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci",
        t.runs
    )
}

fn changes_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
            run_id bigint(20) unsigned NULL,
            batch_id bigint(20) unsigned NULL,
            product_id bigint(20) unsigned NOT NULL,
            parent_id bigint(20) unsigned NOT NULL DEFAULT 0,
            sku varchar(100) NOT NULL DEFAULT '',
            old_stock varchar(32) NULL,
            new_stock varchar(32) NULL,
            old_stock_status varchar(20) NULL,
            new_stock_status varchar(20) NULL,
            old_price varchar(32) NULL,
            new_price varchar(32) NULL,
            changed_at datetime(6) NOT NULL,
            finalized tinyint(1) NOT NULL DEFAULT 0,
            finalized_at datetime(6) NULL,
            PRIMARY KEY (id),
            KEY finalized (finalized, id),
            KEY product_id (product_id),
            KEY run_id (run_id)
        ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci",
        t.changes
    )
}

fn alerts_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
            kind varchar(40) NOT NULL,
            open_kind varchar(40) NULL,
            message text NOT NULL,
            raised_at datetime(6) NOT NULL,
            cleared_at datetime(6) NULL,
            PRIMARY KEY (id),
            UNIQUE KEY open_kind (open_kind)
        ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci",
        t.alerts
    )
}

fn locks_ddl(t: &Tables) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            name varchar(64) NOT NULL,
            holder varchar(100) NOT NULL DEFAULT '',
            acquired_at datetime(6) NULL,
            PRIMARY KEY (name)
        ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci",
        t.locks
    )
}

impl Store {
    /// Brings the sidecar's tables to the current version. Concurrent sidecars wait on a named
    /// lock so only one of them alters tables.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        // Should this future be dropped while the named lock is held, the reset on return to
        // the pool is what frees the lock.
        conn.reset_connection(true);
        let t = self.tables();
        let lock_name = format!("cachicamo_migrate_{}", self.prefix());
        let got: Option<i64> = conn.exec_first("SELECT GET_LOCK(?, 60)", (&lock_name,)).await.ctx("waiting for the migration lock")?;
        if got != Some(1) {
            return Err(StoreError::Data("another sidecar held the schema migration lock for 60 s".into()));
        }
        let result = self.migrate_locked(&mut conn, t).await;
        let _: Option<i64> = conn.exec_first("SELECT RELEASE_LOCK(?)", (&lock_name,)).await.ctx("releasing the migration lock")?;
        result
    }

    async fn migrate_locked(&self, conn: &mut Conn, t: &Tables) -> Result<(), StoreError> {
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {} (version int(10) unsigned NOT NULL, applied_at datetime NOT NULL, PRIMARY KEY (version))",
            t.migrations
        ))
        .await
        .ctx("creating the migrations table")?;
        let current: Option<u32> =
            conn.query_first(format!("SELECT MAX(version) FROM {}", t.migrations)).await.ctx("reading the schema version")?.flatten();
        if current.unwrap_or(0) >= SCHEMA_VERSION {
            return Ok(());
        }
        conn.query_drop(legacy_queue_ddl(t)).await.ctx("creating the queue table")?;
        let queue_name = format!("{}cachicamoapp_batch_queue", self.prefix());
        for (column, definition) in QUEUE_COLUMNS {
            if !column_exists(conn, &queue_name, column).await? {
                conn.query_drop(format!("ALTER TABLE {} ADD COLUMN `{column}` {definition}", t.queue))
                    .await
                    .ctx("adding a queue column")?;
            }
        }
        for (index, columns) in QUEUE_INDEXES {
            if !index_exists(conn, &queue_name, index).await? {
                conn.query_drop(format!("ALTER TABLE {} ADD KEY {index} ({columns})", t.queue)).await.ctx("adding a queue index")?;
            }
        }
        for ddl in [runs_ddl(t), changes_ddl(t), locks_ddl(t), alerts_ddl(t)] {
            conn.query_drop(ddl).await.ctx("creating the sidecar tables")?;
        }
        conn.exec_drop(format!("INSERT IGNORE INTO {} (name) VALUES ('run')", t.locks), ()).await.ctx("creating the run lock")?;
        conn.exec_drop(
            format!("INSERT IGNORE INTO {} (version, applied_at) VALUES (?, UTC_TIMESTAMP())", t.migrations),
            (SCHEMA_VERSION,),
        )
        .await
        .ctx("recording the schema version")?;
        tracing::info!(version = SCHEMA_VERSION, "database schema migrated");
        Ok(())
    }
}

async fn column_exists(conn: &mut Conn, table: &str, column: &str) -> Result<bool, StoreError> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
            (table, column),
        )
        .await
        .ctx("inspecting the queue table")?;
    Ok(n.unwrap_or(0) > 0)
}

async fn index_exists(conn: &mut Conn, table: &str, index: &str) -> Result<bool, StoreError> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?",
            (table, index),
        )
        .await
        .ctx("inspecting the queue indexes")?;
    Ok(n.unwrap_or(0) > 0)
}
