//! The WooCommerce terms the seed and the checks need, read from a real store (WooCommerce
//! creates them on install; a seed never invents them).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use thiserror::Error;

use crate::prefix::{validate_prefix, InvalidPrefix};

#[derive(Debug, Error)]
pub enum SchemaError {
    #[error(transparent)]
    Prefix(#[from] InvalidPrefix),
    #[error("database error: {0}")]
    Db(#[from] mysql_async::Error),
    #[error("not a WooCommerce store: the {taxonomy} term '{slug}' is missing (seed into a clone of the real store, tests/store)")]
    NotWooCommerce {
        taxonomy: &'static str,
        slug: &'static str,
    },
}

/// `term_taxonomy_id`s of the terms the seed and the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermIds {
    pub simple: u64,
    pub variable: u64,
    pub outofstock: u64,
}

/// The ids of WooCommerce's own terms in this store.
pub async fn woocommerce_terms(conn: &mut Conn, prefix: &str) -> Result<TermIds, SchemaError> {
    Ok(TermIds {
        simple: required_term(conn, prefix, "product_type", "simple").await?,
        variable: required_term(conn, prefix, "product_type", "variable").await?,
        outofstock: required_term(conn, prefix, "product_visibility", "outofstock").await?,
    })
}

async fn required_term(
    conn: &mut Conn,
    prefix: &str,
    taxonomy: &'static str,
    slug: &'static str,
) -> Result<u64, SchemaError> {
    find_term(conn, prefix, taxonomy, slug)
        .await?
        .ok_or(SchemaError::NotWooCommerce { taxonomy, slug })
}

/// The `term_taxonomy_id` of a term, if it exists.
pub async fn find_term(
    conn: &mut Conn,
    prefix: &str,
    taxonomy: &str,
    slug: &str,
) -> Result<Option<u64>, SchemaError> {
    let p = validate_prefix(prefix)?;
    let sql = format!(
        "SELECT tt.term_taxonomy_id FROM `{p}term_taxonomy` tt \
         JOIN `{p}terms` t ON t.term_id = tt.term_id \
         WHERE tt.taxonomy = ? AND t.slug = ? ORDER BY tt.term_taxonomy_id LIMIT 1"
    );
    Ok(conn.exec_first(sql, (taxonomy, slug)).await?)
}

/// Recomputes `count` of the WooCommerce taxonomies from their relationships.
pub async fn recount_terms(conn: &mut Conn, prefix: &str) -> Result<(), SchemaError> {
    let p = validate_prefix(prefix)?;
    conn.query_drop(format!(
        "UPDATE `{p}term_taxonomy` tt SET count = \
         (SELECT COUNT(*) FROM `{p}term_relationships` tr \
          WHERE tr.term_taxonomy_id = tt.term_taxonomy_id) \
         WHERE tt.taxonomy IN ('product_type', 'product_visibility')"
    ))
    .await?;
    Ok(())
}
