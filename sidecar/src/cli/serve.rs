//! `cachicamo-sidecar serve`: the daemon.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use cachicamo_sidecar::config::ConfigArgs;
use cachicamo_sidecar::engine::daemon::Daemon;
use cachicamo_sidecar::engine::Engine;
use cachicamo_sidecar::rpc::prometheus;
use cachicamo_sidecar::rpc::server::{self, SocketOptions};
use tokio::signal::unix::{signal, SignalKind};

pub async fn run(config: &ConfigArgs, socket: PathBuf, group: Option<String>, mode: &str, metrics_addr: Option<SocketAddr>) -> anyhow::Result<()> {
    let mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o770)
        .with_context(|| format!("--socket-mode {mode:?} is not an octal mode without bits for others, like 660"))?;
    let config = config.resolve().context("invalid configuration")?;
    let daemon = Daemon::new(Engine::new(config));
    let opts = SocketOptions { path: socket.clone(), group, mode };
    let metrics = match metrics_addr {
        Some(addr) => Some(prometheus::bind(addr).await?),
        None => None,
    };
    let listener = server::bind(&opts).await?;
    let engine_loop = match daemon.start().await {
        Ok(handle) => handle,
        Err(e) => {
            // Leave no socket behind for clients to mistake for a crashed sidecar.
            drop(listener);
            let _ = std::fs::remove_file(&socket);
            return Err(anyhow::Error::new(e).context("the sidecar could not start"));
        }
    };
    if let Some(metrics) = metrics {
        tokio::spawn(prometheus::serve(daemon.clone(), metrics));
    }
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
    };
    eprintln!("cachicamo-sidecar: serving on {}", socket.display());
    server::serve(daemon, listener, socket, shutdown).await?;
    engine_loop.abort();
    Ok(())
}
