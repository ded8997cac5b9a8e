//! Test kit for Cachicamo Sync: WooCommerce store fixtures, a Cachicamo API
//! simulator and helpers to read a store back and compare it with a dataset.

pub mod check;
pub mod dataset;
pub mod money;
pub mod prefix;
pub mod seed;
pub mod sim;
pub mod testdb;
pub mod wc_terms;

pub use dataset::{Dataset, ExpectedProduct, ProductKind};
