//! The change log: one row per product whose rows a batch or selective sync changed. The plugin
//! lists unfinalized ones, refreshes WordPress caches and fires WooCommerce hooks for them, then
//! acknowledges them.

use mysql_async::prelude::Queryable;

use super::{placeholders, SqlContext, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeRow {
    pub id: u64,
    pub run_id: u64,
    pub batch_id: u64,
    pub product_id: u64,
    pub parent_id: u64,
    pub sku: String,
    pub old_stock: Option<String>,
    pub new_stock: Option<String>,
    pub old_stock_status: Option<String>,
    pub new_stock_status: Option<String>,
    pub old_price: Option<String>,
    pub new_price: Option<String>,
    pub changed_at_ms: i64,
    pub finalized: bool,
}

impl Store {
    pub async fn list_changes(&self, after_id: u64, limit: u32, include_finalized: bool) -> Result<Vec<ChangeRow>, StoreError> {
        let mut conn = self.conn().await?;
        let filter = if include_finalized { "" } else { "AND finalized = 0" };
        let order = if include_finalized { "DESC" } else { "ASC" };
        let after = if include_finalized && after_id == 0 { u64::MAX } else { after_id };
        let cmp = if include_finalized { "<" } else { ">" };
        let sql = format!(
            "SELECT id, COALESCE(run_id, 0), COALESCE(batch_id, 0), product_id, parent_id, sku, old_stock, new_stock,
                    old_stock_status, new_stock_status, old_price, new_price,
                    CAST(UNIX_TIMESTAMP(changed_at) * 1000 AS SIGNED), finalized
             FROM {} WHERE id {cmp} ? {filter} ORDER BY id {order} LIMIT ?",
            self.tables().changes
        );
        let rows: Vec<mysql_async::Row> = conn.exec(sql, (after, limit)).await.ctx("listing changes")?;
        rows.into_iter()
            .map(|r| {
                let bad = || StoreError::Data("a change row has an unexpected shape".into());
                let u = |i: usize| r.get_opt::<u64, _>(i).and_then(Result::ok).ok_or_else(bad);
                let s = |i: usize| r.get_opt::<Option<String>, _>(i).and_then(Result::ok).flatten();
                Ok(ChangeRow {
                    id: u(0)?,
                    run_id: u(1)?,
                    batch_id: u(2)?,
                    product_id: u(3)?,
                    parent_id: u(4)?,
                    sku: s(5).unwrap_or_default(),
                    old_stock: s(6),
                    new_stock: s(7),
                    old_stock_status: s(8),
                    new_stock_status: s(9),
                    old_price: s(10),
                    new_price: s(11),
                    changed_at_ms: r.get_opt::<i64, _>(12).and_then(Result::ok).unwrap_or(0),
                    finalized: u(13)? != 0,
                })
            })
            .collect()
    }

    /// Marks changes as finalized; returns how many were still open.
    pub async fn ack_changes(&self, ids: &[u64]) -> Result<u32, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn().await?;
        conn.exec_drop(
            format!(
                "UPDATE {} SET finalized = 1, finalized_at = UTC_TIMESTAMP(6) WHERE finalized = 0 AND id IN ({})",
                self.tables().changes,
                placeholders(ids.len())
            ),
            ids.to_vec(),
        )
        .await
        .ctx("acknowledging changes")?;
        Ok(conn.affected_rows() as u32)
    }
}
