//! Cachicamo Sync sidecar: plans sync runs, works batches against the Cachicamo API and applies
//! stock and prices to a WooCommerce store's tables.
//!
//! Layout: `cachicamo` talks HTTP to the API and prices items, `store` owns every SQL statement,
//! `engine` drives runs and batches over both, `config` resolves flags, environment and
//! `wp-config.php`. The binary (`main.rs`) is a thin CLI over these.

pub mod cachicamo;
pub mod config;
pub mod engine;
pub mod rpc;
pub mod store;

/// The gRPC contract (`proto/cachicamo/sync/v1/sync.proto`).
pub mod proto {
    tonic::include_proto!("cachicamo.sync.v1");

    /// The encoded descriptor set, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("cachicamo_sync_v1_descriptor");
}
