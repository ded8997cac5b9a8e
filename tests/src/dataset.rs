//! The dataset file shared by `seed-store`, the simulator and the tests.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DatasetError {
    #[error("cannot open dataset {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("dataset {path} is not valid: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Everything the simulated Cachicamo API serves, plus the oracle of what the
/// store must hold after a full sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub access_token: String,
    pub store_uuid: String,
    pub users_configuration: serde_json::Value,
    pub stores_configuration: serde_json::Value,
    pub currencies: serde_json::Value,
    pub currency_rates: serde_json::Value,
    pub taxes: serde_json::Value,
    pub taxes_store: serde_json::Value,
    /// Kept as raw JSON so tests can inject odd shapes.
    pub items: Vec<serde_json::Value>,
    pub expected: Vec<ExpectedProduct>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductKind {
    Simple,
    Virtual,
    Variable,
    Variation,
}

/// What one product must look like in the store after a full sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedProduct {
    pub product_id: u64,
    /// 0 when the product has no parent.
    pub parent_id: u64,
    pub kind: ProductKind,
    /// The `_sku` meta value; empty when the product has none.
    pub sku: String,
    /// The product has a Cachicamo item.
    pub found: bool,
    /// The seeded store differs from this expectation before a sync.
    pub differs: bool,
    /// `_stock`; `None` for virtual products and variable parents.
    pub stock: Option<i64>,
    pub stock_status: String,
    pub regular_price: Option<String>,
    pub sale_price: Option<String>,
    /// `_price`; `None` for variable parents (they hold one row per child price).
    pub price: Option<String>,
    /// Lookup-table values with 4 decimals, like "14.2332".
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub onsale: bool,
}

impl Dataset {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DatasetError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| DatasetError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_reader(BufReader::new(file)).map_err(|source| DatasetError::Json {
            path: path.to_owned(),
            source,
        })
    }

    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DatasetError> {
        let path = path.as_ref();
        let io_err = |source| DatasetError::Io {
            path: path.to_owned(),
            source,
        };
        let mut out = BufWriter::new(File::create(path).map_err(io_err)?);
        serde_json::to_writer(&mut out, self).map_err(|source| DatasetError::Json {
            path: path.to_owned(),
            source,
        })?;
        out.flush().map_err(io_err)
    }

    /// The SKUs (real ones and `WC-<id>` aliases) a full scan would send for
    /// the expected catalog, in product order.
    pub fn scan_keys(&self) -> Vec<String> {
        self.expected
            .iter()
            .flat_map(|p| {
                let sku = p.sku.trim();
                (!sku.is_empty())
                    .then(|| sku.to_owned())
                    .into_iter()
                    .chain(std::iter::once(format!("WC-{}", p.product_id)))
            })
            .collect()
    }
}
