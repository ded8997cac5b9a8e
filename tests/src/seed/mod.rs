//! Seeds a WooCommerce store and builds the matching Cachicamo dataset.

mod catalog;
mod items;
mod store;

use mysql_async::prelude::Queryable;
use mysql_async::{Pool, TxOpts};
use rand::rngs::StdRng;
use rand::SeedableRng;
use thiserror::Error;

use crate::dataset::{Dataset, ExpectedProduct, ProductKind};
use crate::money::{lookup_price, php_price};
use crate::prefix::{validate_prefix, InvalidPrefix};
use crate::wc_terms::{self, SchemaError};
use catalog::{Product, Values, SALE_PRICE};
use items::Reference;

pub use store::SETTINGS_OPTION;

/// Store uuid used when none is given.
pub const DEFAULT_STORE_UUID: &str = "5b0c6d2e-8f3a-4c1b-9e7d-2a4f6b8c0d1e";
pub const DEFAULT_ACCESS_TOKEN: &str = "demo-token";

#[derive(Debug, Error)]
pub enum SeedError {
    #[error(transparent)]
    Prefix(#[from] InvalidPrefix),
    #[error("invalid seed option: {0}")]
    InvalidOption(String),
    #[error("{table} already holds {count} products: seed into an empty catalog")]
    CatalogNotEmpty { table: String, count: u64 },
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("database error: {0}")]
    Db(#[from] mysql_async::Error),
    #[error("cannot serialize the plugin settings: {0}")]
    Settings(#[from] php_serde::Error),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeedOptions {
    /// Simple products, virtual ones included.
    pub simple: usize,
    /// Variable products.
    pub variable: usize,
    /// Variations per variable product.
    pub variations: usize,
    /// Fraction (0..=1) of the simple products that are virtual.
    pub virtual_fraction: f64,
    /// Fraction (0..=1) of found products whose Cachicamo values differ from the store.
    pub differ: f64,
    /// Fraction (0..=1) of products without a Cachicamo item.
    pub missing: f64,
    pub seed: u64,
    pub access_token: String,
    pub store_uuid: String,
}

impl Default for SeedOptions {
    /// A small store, quick to seed in tests.
    fn default() -> Self {
        SeedOptions {
            simple: 100,
            variable: 10,
            variations: 4,
            virtual_fraction: 0.05,
            differ: 0.5,
            missing: 0.02,
            seed: 42,
            access_token: DEFAULT_ACCESS_TOKEN.to_owned(),
            store_uuid: DEFAULT_STORE_UUID.to_owned(),
        }
    }
}

impl SeedOptions {
    fn validate(&self) -> Result<(), SeedError> {
        for (name, value) in [
            ("virtual", self.virtual_fraction),
            ("differ", self.differ),
            ("missing", self.missing),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(SeedError::InvalidOption(format!(
                    "{name} must be a fraction between 0 and 1, got {value}"
                )));
            }
        }
        if self.access_token.is_empty() || self.store_uuid.is_empty() {
            return Err(SeedError::InvalidOption(
                "access token and store uuid must not be empty".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Writes the catalog and settings into an installed WooCommerce store (a clone of the real
/// one, see `testdb`) in one transaction and returns the dataset describing it.
pub async fn seed_store(
    pool: &Pool,
    prefix: &str,
    opts: &SeedOptions,
) -> Result<Dataset, SeedError> {
    let p = validate_prefix(prefix)?;
    opts.validate()?;
    let mut conn = pool.get_conn().await?;
    let terms = wc_terms::woocommerce_terms(&mut conn, p).await?;

    let existing: u64 = conn
        .exec_first(
            format!(
                "SELECT COUNT(*) FROM `{p}posts` \
                 WHERE post_type IN ('product', 'product_variation')"
            ),
            (),
        )
        .await?
        .unwrap_or_default();
    if existing > 0 {
        return Err(SeedError::CatalogNotEmpty {
            table: format!("{p}posts"),
            count: existing,
        });
    }
    // Explicit ids keep `WC-<id>` aliases known before inserting.
    let max_id: Option<u64> = conn
        .exec_first(format!("SELECT MAX(ID) FROM `{p}posts`"), ())
        .await?
        .flatten();
    let first_id = max_id.unwrap_or(0) + 1;

    let mut rng = StdRng::seed_from_u64(opts.seed);
    let reference = Reference::generate(&mut rng);
    let products = catalog::generate(opts, first_id, &mut rng);
    let items = items::build_items(&products, &reference, &mut rng);

    let mut tx = conn.start_transaction(TxOpts::default()).await?;
    store::write_posts(&mut tx, p, &products).await?;
    store::write_meta(&mut tx, p, &products).await?;
    store::write_lookup(&mut tx, p, &products).await?;
    store::write_terms(&mut tx, p, &products, terms).await?;
    store::write_options(&mut tx, p, &opts.access_token, &opts.store_uuid).await?;
    tx.commit().await?;
    wc_terms::recount_terms(&mut conn, p).await?;

    Ok(Dataset {
        access_token: opts.access_token.clone(),
        store_uuid: opts.store_uuid.clone(),
        users_configuration: reference.users_configuration(),
        stores_configuration: reference.stores_configuration(),
        currencies: reference.currencies(),
        currency_rates: reference.currency_rates(),
        taxes: reference.taxes(),
        taxes_store: reference.taxes_store(&opts.store_uuid),
        items,
        expected: products.iter().map(expected_of).collect(),
    })
}

fn expected_of(prod: &Product) -> ExpectedProduct {
    let base = ExpectedProduct {
        product_id: prod.id,
        parent_id: prod.parent_id,
        kind: prod.kind,
        sku: prod.sku.as_str().to_owned(),
        found: prod.item.is_some(),
        differs: prod.differs,
        stock: None,
        stock_status: String::new(),
        regular_price: None,
        sale_price: None,
        price: None,
        min_price: None,
        max_price: None,
        onsale: false,
    };
    match &prod.values {
        Values::Leaf { expected, .. } => {
            let price = expected.price();
            ExpectedProduct {
                stock: expected.stock,
                stock_status: expected.status().to_owned(),
                regular_price: Some(php_price(expected.regular)),
                sale_price: expected.on_sale.then(|| SALE_PRICE.to_owned()),
                price: Some(expected.price_str()),
                min_price: Some(lookup_price(price)),
                max_price: Some(lookup_price(price)),
                onsale: expected.on_sale,
                ..base
            }
        }
        Values::Parent { expected, .. } => ExpectedProduct {
            stock_status: expected.status().to_owned(),
            // WooCommerce's lookup row says 0 when no child has a visible price.
            min_price: Some(lookup_price(expected.min().unwrap_or_default())),
            max_price: Some(lookup_price(expected.max().unwrap_or_default())),
            ..base
        },
    }
}

/// Counts by kind, for summaries.
pub fn summary(dataset: &Dataset) -> String {
    let count = |kind: ProductKind| dataset.expected.iter().filter(|p| p.kind == kind).count();
    let missing = dataset.expected.iter().filter(|p| !p.found).count();
    let differs = dataset.expected.iter().filter(|p| p.differs).count();
    format!(
        "{} simple ({} virtual), {} variable with {} variations; {} items, {} without item, {} differing",
        count(ProductKind::Simple) + count(ProductKind::Virtual),
        count(ProductKind::Virtual),
        count(ProductKind::Variable),
        count(ProductKind::Variation),
        dataset.items.len(),
        missing,
        differs,
    )
}
