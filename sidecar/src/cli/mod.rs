//! Subcommands, output formats and progress display. Errors are `anyhow` here and nowhere else.

mod progress;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use cachicamo_sidecar::config::ConfigArgs;
use cachicamo_sidecar::engine::{Engine, EngineError};
use cachicamo_sidecar::store::runs::{RunRow, RunStatus, Trigger};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "cachicamo-sidecar", version, about = "Keeps a WooCommerce store's stock and prices in step with Cachicamo")]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Log filter, e.g. info or cachicamo_sidecar=debug
    #[arg(long, env = "CACHICAMO_LOG", default_value = "warn", global = true)]
    pub log: String,
    /// Log lines as JSON
    #[arg(long, env = "CACHICAMO_LOG_JSON", global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a full sync
    Sync {
        /// Plan a run (or join the active one) and work every batch in this process
        #[arg(long, required = true)]
        once: bool,
        /// Print the result as one JSON object on stdout
        #[arg(long)]
        json: bool,
    },
}

pub fn init_logging(args: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if args.log_json {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

pub async fn run(args: Cli) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Sync { once: _, json } => sync_once(&args.config, json).await,
    }
}

async fn sync_once(config: &ConfigArgs, json: bool) -> anyhow::Result<ExitCode> {
    let config = config.resolve().context("invalid configuration")?;
    let engine = Engine::new(config);
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let (tx, rx) = tokio::sync::watch::channel(Default::default());
    let display = tokio::spawn(progress::show(rx));
    let result = engine.sync_once(Trigger::Cli, Some(tx), cancel).await;
    let _ = display.await;
    engine.store().clone().disconnect().await;
    let run = match result {
        Ok(run) => run,
        Err(e @ EngineError::Interrupted) => anyhow::bail!("{e}"),
        Err(e) => return Err(anyhow::Error::new(e).context("the sync could not run")),
    };
    print_run(&run, json)?;
    Ok(match run.status {
        RunStatus::Failed => {
            eprintln!(
                "cachicamo-sidecar: run {} failed: every batch failed ({}); see `error_message` of the batches in the queue table",
                run.id,
                run.error_message.as_deref().unwrap_or("no details")
            );
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    })
}

fn print_run(run: &RunRow, json: bool) -> anyhow::Result<()> {
    if json {
        let t = run.totals;
        let out = serde_json::json!({
            "run_id": run.id,
            "status": run.status.as_str(),
            "total_batches": run.total_batches,
            "total_skus": run.total_skus,
            "total_products": run.total_products,
            "synced": t.synced,
            "changed": t.changed,
            "unchanged": t.unchanged,
            "errors": t.errors,
            "not_found": t.not_found,
            "conflicts": t.conflicts,
            "duration_ms": run.duration_ms(),
        });
        println!("{}", serde_json::to_string(&out)?);
    } else {
        let t = run.totals;
        println!(
            "Run {} {}: {} products synced ({} changed, {} unchanged), {} errors, {} not found in Cachicamo, {} conflicts; {} batches, {} SKUs, {:.1} s",
            run.id,
            run.status.as_str().replace('_', " "),
            t.synced,
            t.changed,
            t.unchanged,
            t.errors,
            t.not_found,
            t.conflicts,
            run.total_batches,
            run.total_skus,
            run.duration_ms() as f64 / 1000.0
        );
        if let Some(msg) = &run.error_message {
            println!("{msg}");
        }
    }
    Ok(())
}
