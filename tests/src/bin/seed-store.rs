//! Seeds a WooCommerce store's tables with a synthetic catalog and writes the
//! matching Cachicamo dataset file.

use std::path::PathBuf;

use anyhow::Context;
use cachicamo_testkit::seed::{
    seed_store, summary, SeedOptions, DEFAULT_ACCESS_TOKEN, DEFAULT_STORE_UUID,
};
use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// MySQL/MariaDB URL of the WordPress database, e.g. mysql://root@127.0.0.1:3306/wordpress
    #[arg(long)]
    db_url: String,
    /// WordPress table prefix.
    #[arg(long, default_value = "wp_")]
    table_prefix: String,
    /// Number of simple products (virtual ones included).
    #[arg(long)]
    simple: usize,
    /// Number of variable products.
    #[arg(long)]
    variable: usize,
    /// Variations per variable product.
    #[arg(long)]
    variations: usize,
    /// Fraction of simple products that are virtual.
    #[arg(long = "virtual", default_value_t = 0.05)]
    virtual_fraction: f64,
    /// Fraction of products whose Cachicamo values differ from the store.
    #[arg(long, default_value_t = 0.5)]
    differ: f64,
    /// Fraction of products without a Cachicamo item.
    #[arg(long, default_value_t = 0.02)]
    missing: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value = DEFAULT_ACCESS_TOKEN)]
    access_token: String,
    #[arg(long, default_value = DEFAULT_STORE_UUID)]
    store_uuid: String,
    /// Where to write the dataset JSON.
    #[arg(long)]
    dataset_out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let opts = SeedOptions {
        simple: args.simple,
        variable: args.variable,
        variations: args.variations,
        virtual_fraction: args.virtual_fraction,
        differ: args.differ,
        missing: args.missing,
        seed: args.seed,
        access_token: args.access_token,
        store_uuid: args.store_uuid,
    };
    let pool = mysql_async::Pool::from_url(&args.db_url).context("invalid --db-url")?;
    let seeded = seed_store(&pool, &args.table_prefix, &opts).await;
    pool.disconnect()
        .await
        .context("closing the database pool")?;
    let dataset = seeded.context("seeding the store")?;
    dataset
        .save(&args.dataset_out)
        .context("writing the dataset")?;
    eprintln!(
        "seeded {}; dataset written to {}",
        summary(&dataset),
        args.dataset_out.display()
    );
    Ok(())
}
