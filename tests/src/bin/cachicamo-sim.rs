//! Serves a dataset as the Cachicamo API, with optional fault injection.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use cachicamo_testkit::sim::{start, SimOptions};
use cachicamo_testkit::Dataset;
use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Dataset JSON written by seed-store.
    #[arg(long)]
    dataset: PathBuf,
    /// Delay before answering every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of API requests answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Requests per second allowed before answering 429.
    #[arg(long)]
    rate_limit: Option<f64>,
    /// Fraction of batch responses with a body that is not a JSON array.
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// Overrides the dataset's access token.
    #[arg(long)]
    access_token: Option<String>,
    /// Overrides the dataset's store uuid.
    #[arg(long)]
    store_uuid: Option<String>,
    /// Seed of the fault-injection decisions.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

async fn stop_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let dataset = Dataset::load(&args.dataset)?;
    let opts = SimOptions {
        latency_ms: args.latency_ms,
        error_rate: args.error_rate,
        rate_limit_rps: args.rate_limit,
        malformed_rate: args.malformed_rate,
        seed: args.seed,
        access_token: args.access_token,
        store_uuid: args.store_uuid,
    };
    let handle = start(dataset, opts, args.listen).await?;
    // Scripts wait for this exact line before sending requests.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{}", handle.addr())?;
    stdout.flush()?;
    drop(stdout);
    stop_signal().await?;
    handle.shutdown().await?;
    Ok(())
}
