//! WordPress's options table: reading raw values and writing the run results the old plugin's
//! screens read (`cachicamoapp_last_stock_sync*`).

use std::collections::HashMap;

use mysql_async::prelude::Queryable;

use super::{placeholders, SqlContext, Store, StoreError};

/// What a finished run leaves in the options table, under the old plugin's names.
#[derive(Debug, Clone, PartialEq)]
pub struct LastSyncOptions {
    /// Local time of the site, `Y-m-d H:i:s`, as `current_time('mysql')` gives it.
    pub finished_local: String,
    pub synced: u64,
    pub errors: u64,
    pub not_found: u64,
}

impl Store {
    /// The raw values of these options; absent ones are missing from the map.
    pub async fn read_options(&self, names: &[&str]) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut conn = self.conn().await?;
        let sql = format!(
            "SELECT option_name, option_value FROM {} WHERE option_name IN ({})",
            self.tables().options,
            placeholders(names.len())
        );
        let rows: Vec<(String, Vec<u8>)> = conn.exec(sql, names.to_vec()).await.ctx("reading options")?;
        Ok(rows.into_iter().collect())
    }

    /// Upserts options inside the caller's transaction, keeping each row's autoload setting.
    pub(crate) async fn write_options<Q: Queryable>(
        &self,
        q: &mut Q,
        values: &[(&str, String)],
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (option_name, option_value, autoload) VALUES (?, ?, 'yes')
             ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)",
            self.tables().options
        );
        for (name, value) in values {
            q.exec_drop(sql.as_str(), (name, value)).await.ctx("writing options")?;
        }
        Ok(())
    }
}

impl LastSyncOptions {
    pub fn as_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("cachicamoapp_last_stock_sync", self.finished_local.clone()),
            ("cachicamoapp_last_stock_sync_count", self.synced.to_string()),
            ("cachicamoapp_last_stock_sync_errors", self.errors.to_string()),
            ("cachicamoapp_last_stock_sync_not_found", self.not_found.to_string()),
        ]
    }
}
