//! Every SQL statement of the sidecar: schema migrations, the plugin's settings, the catalog read,
//! the batch queue, runs, and the per-batch apply into WooCommerce's tables. Values are always
//! bound as parameters; only table names, built from a validated prefix, are spliced in.

pub mod alerts;
pub mod apply;
pub mod catalog;
pub mod changes;
pub mod health;
pub mod metrics;
pub mod options;
pub mod queue;
pub mod retention;
pub mod runs;
pub mod schema;
pub mod settings;

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{IsolationLevel, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, TxOpts};

use crate::config::{DbConfig, TablePrefix};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach the database: {0}")]
    Unavailable(String),
    #[error("database error while {context}: {source}")]
    Sql { context: &'static str, source: mysql_async::Error },
    #[error("table {0} does not exist: is this the WordPress database with WooCommerce installed, and is the table prefix right?")]
    MissingTable(String),
    #[error("{0}")]
    Data(String),
    /// The request clashes with the queue's current state (e.g. another run is active).
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    fn from_sql(context: &'static str, e: mysql_async::Error) -> Self {
        match &e {
            mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => Self::Unavailable(e.to_string()),
            mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1049 || s.code == 1044 => {
                Self::Unavailable(e.to_string())
            }
            _ => Self::Sql { context, source: e },
        }
    }

    /// A deadlock or lock-wait timeout: the transaction was rolled back and may simply be retried.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(self, Self::Sql { source: mysql_async::Error::Server(s), .. } if s.code == 1213 || s.code == 1205)
    }
}

/// Shorthand for mapping a driver error to a [`StoreError`] with what was being done.
pub(crate) trait SqlContext<T> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, mysql_async::Error> {
    fn ctx(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::from_sql(context, e))
    }
}

/// Table names for one WordPress install.
#[derive(Debug, Clone)]
pub struct Tables {
    pub posts: String,
    pub postmeta: String,
    pub options: String,
    pub terms: String,
    pub term_taxonomy: String,
    pub term_relationships: String,
    pub lookup: String,
    pub queue: String,
    pub runs: String,
    pub changes: String,
    pub locks: String,
    pub migrations: String,
    pub alerts: String,
}

impl Tables {
    pub fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| format!("`{prefix}{name}`");
        Self {
            posts: t("posts"),
            postmeta: t("postmeta"),
            options: t("options"),
            terms: t("terms"),
            term_taxonomy: t("term_taxonomy"),
            term_relationships: t("term_relationships"),
            lookup: t("wc_product_meta_lookup"),
            queue: t("cachicamoapp_batch_queue"),
            runs: t("cachicamo_runs"),
            changes: t("cachicamo_changes"),
            locks: t("cachicamo_locks"),
            migrations: t("cachicamo_migrations"),
            alerts: t("cachicamo_alerts"),
        }
    }
}

/// A handle on the WordPress database: a connection pool and the table names.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// One connection kept open for the status display, whose handful of small reads should
    /// neither wait behind a run's batches for a pooled connection nor open a connection each.
    status_pool: Pool,
    tables: Arc<Tables>,
    prefix: TablePrefix,
}

impl Store {
    /// Connects (lazily) with room for `connections` concurrent connections, of which `kept` stay
    /// open when idle. A connection dropped after use costs the next checkout a new connection,
    /// its init queries and a PREPARE of every statement; the busy part of a run uses about as
    /// many as it lets into the database at once, and more kept open would each hold a statement
    /// cache for nothing.
    pub fn new(db: &DbConfig, prefix: TablePrefix, kept: usize, connections: usize) -> Self {
        let connections = connections.max(2);
        let constraints = PoolConstraints::new(kept.clamp(1, connections), connections).unwrap_or_default();
        let single = PoolConstraints::new(1, 1).unwrap_or_default();
        // No COM_RESET_CONNECTION when a connection goes back to the pool: it would drop every
        // prepared statement and re-run the init query, so each checkout would cost two extra
        // round trips and each statement a fresh PREPARE. The sidecar keeps no session state
        // besides the time zone below (open transactions are still rolled back on return, and
        // the one named lock, in `migrate`, asks for a reset of its own connection).
        let pool = |constraints: PoolConstraints| -> Pool {
            let opts: Opts = OptsBuilder::from_opts(db.opts.clone())
                .pool_opts(PoolOpts::default().with_constraints(constraints).with_reset_connection(false))
                .stmt_cache_size(STATEMENT_CACHE)
                // Every timestamp the sidecar stores is UTC; UNIX_TIMESTAMP() must read them so.
                .init(vec!["SET time_zone = '+00:00'"])
                .into();
            Pool::new(opts)
        };
        Self {
            pool: pool(constraints),
            status_pool: pool(single),
            tables: Arc::new(Tables::new(&prefix)),
            prefix,
        }
    }

    /// The same store over the status display's own connection.
    pub fn for_status(&self) -> Store {
        Store { pool: self.status_pool.clone(), ..self.clone() }
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    pub fn prefix(&self) -> &TablePrefix {
        &self.prefix
    }

    pub(crate) async fn conn(&self) -> Result<mysql_async::Conn, StoreError> {
        self.pool.get_conn().await.map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Checks the database answers and holds WordPress's tables under this prefix.
    pub async fn check(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let prefix = self.prefix.as_str();
        for name in ["posts", "postmeta", "options", "term_relationships", "wc_product_meta_lookup"] {
            let full = format!("{prefix}{name}");
            let found: Option<String> = conn
                .exec_first(
                    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                    (full.as_str(),),
                )
                .await
                .ctx("checking the WordPress tables")?;
            if found.is_none() {
                return Err(StoreError::MissingTable(full));
            }
        }
        Ok(())
    }

    /// A cheap query on a WordPress table, for health checks: a bare ping would pass on a pooled
    /// connection whose database is gone.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let _: Option<u64> = conn
            .exec_first(format!("SELECT option_id FROM {} LIMIT 1", self.tables().options), ())
            .await
            .ctx("checking the database")?;
        Ok(())
    }

    pub async fn disconnect(self) {
        // Closing politely lets the server free the connections at once.
        let _ = self.pool.disconnect().await;
        let _ = self.status_pool.disconnect().await;
    }
}

/// Each statement sees the latest committed rows, and locking reads re-check them: what
/// compare-and-set and the parent recompute rely on.
pub(crate) fn read_committed() -> TxOpts {
    let mut opts = TxOpts::default();
    opts.with_isolation_level(IsolationLevel::ReadCommitted);
    opts
}

/// Prepared statements kept per connection: a run's hot statements, with lists padded (see
/// [`padded_len`]), are a few dozen; a statement with a thousand placeholders keeps their
/// metadata, so a larger cache costs memory for statements seldom reused.
const STATEMENT_CACHE: usize = 64;

/// The shortest list a padded statement carries.
const MIN_LIST: usize = 8;

/// The length a list of `n` values is sent as. Each distinct statement text costs a PREPARE on
/// every connection and a place in its statement cache; with lists padded to powers of two, the
/// batches of a run share a handful of statements whatever their sizes.
pub(crate) fn padded_len(n: usize) -> usize {
    n.next_power_of_two().max(MIN_LIST)
}

/// `values` padded to [`padded_len`] by repeating the last one, which an IN list or a CASE
/// ignores. An empty list stays empty.
pub(crate) fn padded<T: Clone>(values: &[T]) -> Vec<T> {
    let mut v = values.to_vec();
    if let Some(last) = values.last() {
        v.resize(padded_len(values.len()), last.clone());
    }
    v
}

/// `items` in runs whose lengths are powers of two, longest first and at most `max`: rows of a
/// multi-row INSERT cannot be padded, but split so they need as few distinct statements.
pub(crate) fn power_of_two_runs<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (head, tail) = rest.split_at(max.min(1 << rest.len().ilog2()));
        rest = tail;
        Some(head)
    })
}

/// `?, ?, ?` for an IN list of `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_padded_to_powers_of_two_with_their_last_value() {
        assert_eq!(padded::<u64>(&[]), Vec::<u64>::new());
        assert_eq!(padded(&[1, 2, 3]), vec![1, 2, 3, 3, 3, 3, 3, 3]);
        assert_eq!(padded(&(0..9).collect::<Vec<u64>>()).len(), 16);
        assert_eq!(padded(&(0..1024).collect::<Vec<u64>>()).len(), 1024);
    }

    #[test]
    fn runs_cover_every_item_once_in_power_of_two_lengths() {
        let items: Vec<u32> = (0..1000).collect();
        let runs: Vec<&[u32]> = power_of_two_runs(&items, 256).collect();
        let lengths: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        assert_eq!(lengths, vec![256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(runs.concat(), items);
        assert_eq!(power_of_two_runs::<u32>(&[], 256).count(), 0);
    }
}
