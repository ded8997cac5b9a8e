//! What the bench reads from MariaDB itself rather than trusting the daemon: when a run really
//! started and finished, how long each batch took, and how many product rows were written.

use std::collections::BTreeMap;

use anyhow::Context;
use mysql_async::prelude::Queryable;
use mysql_async::Pool;

/// WordPress and WooCommerce tables that hold products: a sync that finds nothing to change
/// must write none of their rows. The sidecar's own queue, runs and changes tables, and the
/// four `cachicamoapp_last_stock_sync*` options, are bookkeeping and are not counted.
pub const PRODUCT_TABLES: [&str; 5] = ["posts", "postmeta", "wc_product_meta_lookup", "term_relationships", "term_taxonomy"];

/// A finished run as the database recorded it.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub status: String,
    pub total_batches: u64,
    pub total_skus: u64,
    pub synced: u64,
    pub changed: u64,
    pub errors: u64,
    pub conflicts: u64,
    /// Unix seconds with microseconds, UTC.
    pub finished_at: f64,
}

pub async fn run_record(pool: &Pool, prefix: &str, run_id: u64) -> anyhow::Result<RunRecord> {
    let mut conn = pool.get_conn().await?;
    // The sidecar stores UTC; UNIX_TIMESTAMP must read the values as UTC too.
    conn.query_drop("SET time_zone = '+00:00'").await?;
    let row: Option<(String, u64, u64, u64, u64, u64, u64, Option<String>)> = conn
        .exec_first(
            format!(
                "SELECT status, total_batches, total_skus, synced, changed, errors, conflicts,
                        CAST(UNIX_TIMESTAMP(finished_at) AS CHAR)
                 FROM `{prefix}cachicamo_runs` WHERE id = ?"
            ),
            (run_id,),
        )
        .await
        .context("reading the run row")?;
    let (status, total_batches, total_skus, synced, changed, errors, conflicts, finished) =
        row.with_context(|| format!("run {run_id} is not in the database"))?;
    let finished_at = finished
        .as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .with_context(|| format!("run {run_id} has no finish time"))?;
    Ok(RunRecord { status, total_batches, total_skus, synced, changed, errors, conflicts, finished_at })
}

/// Each batch's duration (claim to commit, API call included), in milliseconds.
pub async fn batch_durations_ms(pool: &Pool, prefix: &str, run_id: u64) -> anyhow::Result<Vec<f64>> {
    let mut conn = pool.get_conn().await?;
    let rows: Vec<Option<u64>> = conn
        .exec(format!("SELECT duration_ms FROM `{prefix}cachicamoapp_batch_queue` WHERE run_id = ?"), (run_id,))
        .await
        .context("reading batch durations")?;
    Ok(rows.into_iter().flatten().map(|ms| ms as f64).collect())
}

/// Counts rows written per table with MariaDB's user statistics (`userstat`), which count every
/// row an INSERT, UPDATE or DELETE changed, per table.
pub struct RowCounter {
    pool: Pool,
    schema: String,
    prefix: String,
    was_enabled: bool,
    available: bool,
}

impl RowCounter {
    /// Turns `userstat` on if it is off (it is a server-wide switch; it is put back afterwards).
    pub async fn new(pool: &Pool, prefix: &str) -> anyhow::Result<Self> {
        let mut conn = pool.get_conn().await?;
        let schema: Option<String> = conn.query_first("SELECT DATABASE()").await?;
        let schema = schema.context("the bench connection has no database")?;
        let enabled: Option<(String, String)> = conn.query_first("SHOW GLOBAL VARIABLES LIKE 'userstat'").await?;
        let was_enabled = enabled.as_ref().is_some_and(|(_, v)| v.eq_ignore_ascii_case("ON") || v == "1");
        let mut available = enabled.is_some();
        if available && !was_enabled {
            if let Err(e) = conn.query_drop("SET GLOBAL userstat = 1").await {
                eprintln!("bench: cannot enable MariaDB user statistics ({e}); rows written will be judged by CHECKSUM TABLE only");
                available = false;
            }
        }
        Ok(Self { pool: pool.clone(), schema, prefix: prefix.to_owned(), was_enabled, available })
    }

    /// Rows changed so far per product table, or `None` when the server cannot count them.
    pub async fn snapshot(&self) -> anyhow::Result<Option<BTreeMap<String, u64>>> {
        if !self.available {
            return Ok(None);
        }
        let mut conn = self.pool.get_conn().await?;
        let rows: Vec<(String, u64)> = conn
            .exec(
                "SELECT TABLE_NAME, ROWS_CHANGED FROM information_schema.TABLE_STATISTICS WHERE TABLE_SCHEMA = ?",
                (&self.schema,),
            )
            .await
            .context("reading table statistics")?;
        let wanted: Vec<String> = PRODUCT_TABLES.iter().map(|t| format!("{}{t}", self.prefix)).collect();
        Ok(Some(rows.into_iter().filter(|(t, _)| wanted.contains(t)).collect()))
    }

    /// CHECKSUM TABLE of every product table: equal before and after means nothing changed.
    pub async fn checksums(&self) -> anyhow::Result<Vec<Option<i64>>> {
        let mut conn = self.pool.get_conn().await?;
        let mut out = Vec::new();
        for t in PRODUCT_TABLES {
            let row: Option<(String, Option<i64>)> = conn.query_first(format!("CHECKSUM TABLE `{}{t}`", self.prefix)).await?;
            out.push(row.and_then(|r| r.1));
        }
        Ok(out)
    }

    pub async fn restore(self) -> anyhow::Result<()> {
        if self.available && !self.was_enabled {
            let mut conn = self.pool.get_conn().await?;
            conn.query_drop("SET GLOBAL userstat = 0").await?;
        }
        Ok(())
    }
}

/// Rows changed between two snapshots, summed over the product tables.
pub fn rows_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> u64 {
    after.iter().map(|(t, n)| n.saturating_sub(before.get(t).copied().unwrap_or(0))).sum()
}
