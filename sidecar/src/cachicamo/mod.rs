//! Everything about the Cachicamo API: the HTTP client, the shapes it returns and the price rules.

pub mod client;
pub mod model;
pub mod pricing;
pub mod stats;

pub use client::{ApiError, Client};
pub use model::{InventoryItem, PriceTier};
pub use pricing::{PriceError, PricingContext};
