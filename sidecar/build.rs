use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "../proto/cachicamo/sync/v1/sync.proto";
    println!("cargo:rerun-if-changed={proto}");
    // The descriptor set feeds server reflection, for grpcurl and friends.
    let descriptor = PathBuf::from(std::env::var("OUT_DIR")?).join("cachicamo_sync_v1_descriptor.bin");
    tonic_prost_build::configure().file_descriptor_set_path(descriptor).compile_protos(&[proto], &["../proto"])?;
    Ok(())
}
