//! Subcommands, output formats and progress display. Errors are `anyhow` here and nowhere else.

mod doctor;
mod progress;
mod remote;
mod report;
mod serve;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cachicamo_sidecar::config::ConfigArgs;
use cachicamo_sidecar::engine::{Engine, EngineError};
use cachicamo_sidecar::rpc::server::DEFAULT_SOCKET;
use cachicamo_sidecar::store::runs::{RunStatus, Trigger};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use report::RunReport;

#[derive(Debug, Parser)]
#[command(name = "cachicamo-sidecar", version, about = "Keeps a WooCommerce store's stock and prices in step with Cachicamo")]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The daemon's Unix socket
    #[arg(long, env = "CACHICAMO_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
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
    /// Run the daemon: serve the control plane on the socket and work runs in the background
    Serve {
        /// Group that may connect to the socket (the web server's, e.g. www-data)
        #[arg(long, env = "CACHICAMO_SOCKET_GROUP")]
        socket_group: Option<String>,
        /// Socket permissions, octal; others never get any
        #[arg(long, env = "CACHICAMO_SOCKET_MODE", default_value = "660")]
        socket_mode: String,
        /// Serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:9464
        #[arg(long, env = "CACHICAMO_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
    },
    /// Start a full sync on the daemon, or with --once run one in this process without a daemon
    Sync {
        /// Plan a run (or join the active one) and work every batch in this process
        #[arg(long, conflicts_with = "wait")]
        once: bool,
        /// Follow the run with a progress bar until it ends
        #[arg(long)]
        wait: bool,
        /// Print the result as one JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Show the engine state, the current and last run, and health
    Status {
        #[arg(long)]
        json: bool,
    },
    /// List the batches of a run (default: the active or last run)
    Batches {
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 0)]
        run: u64,
        #[arg(long)]
        json: bool,
    },
    /// Put the failed batches of a run (default: the last run) back in the queue
    RetryFailed {
        #[arg(long, default_value_t = 0)]
        run: u64,
    },
    /// Cancel the active run (or --run N); pending batches are dropped
    Cancel {
        #[arg(long, default_value_t = 0)]
        run: u64,
    },
    /// Stop claiming batches, on every sidecar of this store, until resumed
    Pause,
    /// Resume claiming batches
    Resume,
    /// Show run and Cachicamo API figures (runs today, success rate, durations, latency)
    Metrics {
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration, database, settings, Cachicamo API, socket and clock
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Sync these SKUs now, outside the queue
    Sku {
        #[arg(required = true)]
        skus: Vec<String>,
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
    let socket = args.socket.as_path();
    match args.command {
        Command::Serve { socket_group, socket_mode, metrics_addr } => {
            serve::run(&args.config, socket.to_owned(), socket_group, &socket_mode, metrics_addr).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync { once: true, json, .. } => sync_once(&args.config, json).await,
        Command::Sync { wait, json, .. } => remote::sync(socket, wait, json).await,
        Command::Status { json } => remote::status(socket, json).await.map(|_| ExitCode::SUCCESS),
        Command::Batches { status, run, json } => remote::batches(socket, run, status.as_deref(), json).await.map(|_| ExitCode::SUCCESS),
        Command::RetryFailed { run } => remote::retry_failed(socket, run).await.map(|_| ExitCode::SUCCESS),
        Command::Cancel { run } => remote::cancel(socket, run).await.map(|_| ExitCode::SUCCESS),
        Command::Pause => remote::pause(socket, true).await.map(|_| ExitCode::SUCCESS),
        Command::Resume => remote::pause(socket, false).await.map(|_| ExitCode::SUCCESS),
        Command::Metrics { json } => remote::metrics(socket, json).await.map(|_| ExitCode::SUCCESS),
        Command::Doctor { json } => doctor::run(&args.config, socket, json).await,
        Command::Sku { skus, json } => remote::sku(socket, skus, json).await.map(|_| ExitCode::SUCCESS),
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
    RunReport::from(&run).print(json);
    Ok(match run.status {
        RunStatus::Failed => {
            eprintln!(
                "cachicamo-sidecar: run {} failed: every batch failed ({}); see `cachicamo-sidecar batches --status error`",
                run.id,
                run.error_message.as_deref().unwrap_or("no details")
            );
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    })
}
