//! WordPress core and WooCommerce tables used by the sync, with their real
//! column definitions (wp-admin/includes/schema.php, WooCommerce install schema).

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
}

const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci";

/// `{p}` is replaced by the validated prefix.
const TABLES: [&str; 7] = [
    "CREATE TABLE IF NOT EXISTS `{p}posts` (
  ID bigint(20) unsigned NOT NULL auto_increment,
  post_author bigint(20) unsigned NOT NULL default '0',
  post_date datetime NOT NULL default '0000-00-00 00:00:00',
  post_date_gmt datetime NOT NULL default '0000-00-00 00:00:00',
  post_content longtext NOT NULL,
  post_title text NOT NULL,
  post_excerpt text NOT NULL,
  post_status varchar(20) NOT NULL default 'publish',
  comment_status varchar(20) NOT NULL default 'open',
  ping_status varchar(20) NOT NULL default 'open',
  post_password varchar(255) NOT NULL default '',
  post_name varchar(200) NOT NULL default '',
  to_ping text NOT NULL,
  pinged text NOT NULL,
  post_modified datetime NOT NULL default '0000-00-00 00:00:00',
  post_modified_gmt datetime NOT NULL default '0000-00-00 00:00:00',
  post_content_filtered longtext NOT NULL,
  post_parent bigint(20) unsigned NOT NULL default '0',
  guid varchar(255) NOT NULL default '',
  menu_order int(11) NOT NULL default '0',
  post_type varchar(20) NOT NULL default 'post',
  post_mime_type varchar(100) NOT NULL default '',
  comment_count bigint(20) NOT NULL default '0',
  PRIMARY KEY (ID),
  KEY post_name (post_name(191)),
  KEY type_status_date (post_type,post_status,post_date,ID),
  KEY post_parent (post_parent),
  KEY post_author (post_author)
)",
    "CREATE TABLE IF NOT EXISTS `{p}postmeta` (
  meta_id bigint(20) unsigned NOT NULL auto_increment,
  post_id bigint(20) unsigned NOT NULL default '0',
  meta_key varchar(255) default NULL,
  meta_value longtext,
  PRIMARY KEY (meta_id),
  KEY post_id (post_id),
  KEY meta_key (meta_key(191))
)",
    "CREATE TABLE IF NOT EXISTS `{p}options` (
  option_id bigint(20) unsigned NOT NULL auto_increment,
  option_name varchar(191) NOT NULL default '',
  option_value longtext NOT NULL,
  autoload varchar(20) NOT NULL default 'yes',
  PRIMARY KEY (option_id),
  UNIQUE KEY option_name (option_name),
  KEY autoload (autoload)
)",
    "CREATE TABLE IF NOT EXISTS `{p}terms` (
  term_id bigint(20) unsigned NOT NULL auto_increment,
  name varchar(200) NOT NULL default '',
  slug varchar(200) NOT NULL default '',
  term_group bigint(10) NOT NULL default 0,
  PRIMARY KEY (term_id),
  KEY slug (slug(191)),
  KEY name (name(191))
)",
    "CREATE TABLE IF NOT EXISTS `{p}term_taxonomy` (
  term_taxonomy_id bigint(20) unsigned NOT NULL auto_increment,
  term_id bigint(20) unsigned NOT NULL default 0,
  taxonomy varchar(32) NOT NULL default '',
  description longtext NOT NULL,
  parent bigint(20) unsigned NOT NULL default 0,
  count bigint(20) NOT NULL default 0,
  PRIMARY KEY (term_taxonomy_id),
  UNIQUE KEY term_id_taxonomy (term_id,taxonomy),
  KEY taxonomy (taxonomy)
)",
    "CREATE TABLE IF NOT EXISTS `{p}term_relationships` (
  object_id bigint(20) unsigned NOT NULL default 0,
  term_taxonomy_id bigint(20) unsigned NOT NULL default 0,
  term_order int(11) NOT NULL default 0,
  PRIMARY KEY (object_id,term_taxonomy_id),
  KEY term_taxonomy_id (term_taxonomy_id)
)",
    "CREATE TABLE IF NOT EXISTS `{p}wc_product_meta_lookup` (
  `product_id` bigint(20) NOT NULL,
  `sku` varchar(100) NULL default '',
  `global_unique_id` varchar(100) NULL default '',
  `virtual` tinyint(1) NULL default 0,
  `downloadable` tinyint(1) NULL default 0,
  `min_price` decimal(19,4) NULL default NULL,
  `max_price` decimal(19,4) NULL default NULL,
  `onsale` tinyint(1) NULL default 0,
  `stock_quantity` double NULL default NULL,
  `stock_status` varchar(100) NULL default 'instock',
  `rating_count` bigint(20) NULL default 0,
  `average_rating` decimal(3,2) NULL default 0.00,
  `total_sales` bigint(20) NULL default 0,
  `tax_status` varchar(100) NULL default 'taxable',
  `tax_class` varchar(100) NULL default '',
  PRIMARY KEY (`product_id`),
  KEY `virtual` (`virtual`),
  KEY `downloadable` (`downloadable`),
  KEY `stock_status` (`stock_status`),
  KEY `stock_quantity` (`stock_quantity`),
  KEY `onsale` (`onsale`),
  KEY min_max_price (`min_price`, `max_price`),
  KEY sku (`sku`(50))
)",
];

/// WooCommerce term names per taxonomy (class-wc-install.php, class-wc-post-types.php).
const PRODUCT_TYPES: [&str; 4] = ["simple", "grouped", "variable", "external"];
const VISIBILITY: [&str; 4] = [
    "exclude-from-search",
    "exclude-from-catalog",
    "featured",
    "outofstock",
];

/// `term_taxonomy_id`s of the terms the seed and the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermIds {
    pub simple: u64,
    pub variable: u64,
    pub outofstock: u64,
}

/// Creates the tables if absent and ensures the WooCommerce terms exist.
pub async fn create_tables(conn: &mut Conn, prefix: &str) -> Result<TermIds, SchemaError> {
    let p = validate_prefix(prefix)?;
    for ddl in TABLES {
        let sql = format!("{} {TABLE_OPTIONS}", ddl.replace("{p}", p));
        conn.query_drop(sql).await?;
    }
    let mut ids = TermIds {
        simple: 0,
        variable: 0,
        outofstock: 0,
    };
    for slug in PRODUCT_TYPES {
        let id = ensure_term(conn, p, "product_type", slug).await?;
        match slug {
            "simple" => ids.simple = id,
            "variable" => ids.variable = id,
            _ => {}
        }
    }
    for slug in VISIBILITY {
        let id = ensure_term(conn, p, "product_visibility", slug).await?;
        if slug == "outofstock" {
            ids.outofstock = id;
        }
    }
    Ok(ids)
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

async fn ensure_term(
    conn: &mut Conn,
    p: &str,
    taxonomy: &str,
    slug: &str,
) -> Result<u64, SchemaError> {
    if let Some(id) = find_term(conn, p, taxonomy, slug).await? {
        return Ok(id);
    }
    // Slugs of these taxonomies are also their names.
    conn.exec_drop(
        format!("INSERT INTO `{p}terms` (name, slug, term_group) VALUES (?, ?, 0)"),
        (slug, slug),
    )
    .await?;
    let term_id = conn.last_insert_id().unwrap_or_default();
    conn.exec_drop(
        format!(
            "INSERT INTO `{p}term_taxonomy` (term_id, taxonomy, description, parent, count) \
             VALUES (?, ?, '', 0, 0)"
        ),
        (term_id, taxonomy),
    )
    .await?;
    Ok(conn.last_insert_id().unwrap_or_default())
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
