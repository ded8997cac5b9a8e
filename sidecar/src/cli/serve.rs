//! `cachicamo-sidecar serve`: the daemon.
//!
//! The control plane (the socket, its gRPC service and the signals) runs on a thread and runtime
//! of its own. A sync keeps the engine's runtime threads busy decoding, planning and applying
//! batches for milliseconds at a time; on a runtime of its own a status request never waits
//! for one of those threads to come free. The other calls are handed to the engine's runtime
//! (see `rpc::server::ControlPlane`), so the control plane's thread only moves bytes and
//! answers the status from memory.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use cachicamo_sidecar::config::ConfigArgs;
use cachicamo_sidecar::engine::daemon::Daemon;
use cachicamo_sidecar::engine::Engine;
use cachicamo_sidecar::rpc::prometheus;
use cachicamo_sidecar::rpc::server::{self, SocketOptions};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::oneshot;

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
    // The socket is bound before the engine starts, so a second daemon on the same socket
    // stops here without touching the queue.
    let (bound_tx, bound_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel::<bool>();
    let control = std::thread::Builder::new()
        .name("control-plane".into())
        .spawn({
            let daemon = daemon.clone();
            let engine = tokio::runtime::Handle::current();
            move || control_plane(daemon, engine, opts, bound_tx, go_rx)
        })
        .context("cannot start the control plane's thread")?;
    let finished = async {
        tokio::task::spawn_blocking(move || control.join())
            .await
            .context("the control plane's thread was lost")?
            .map_err(|_| anyhow::anyhow!("the control plane crashed"))?
    };
    match bound_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return finished.await,
    }
    let engine_loop = match daemon.start().await {
        Ok(handle) => handle,
        Err(e) => {
            // Leave no socket behind for clients to mistake for a crashed sidecar.
            let _ = go_tx.send(false);
            finished.await?;
            return Err(anyhow::Error::new(e).context("the sidecar could not start"));
        }
    };
    if let Some(metrics) = metrics {
        tokio::spawn(prometheus::serve(daemon.clone(), metrics));
    }
    let _ = go_tx.send(true);
    eprintln!("cachicamo-sidecar: serving on {}", socket.display());
    let result = finished.await;
    engine_loop.abort();
    result
}

/// Binds the socket, reports it, and once told to go serves until SIGTERM or SIGINT; when told
/// not to, removes the socket again.
fn control_plane(daemon: Daemon, engine: tokio::runtime::Handle, opts: SocketOptions, bound: oneshot::Sender<anyhow::Result<()>>, go: oneshot::Receiver<bool>) -> anyhow::Result<()> {
    match server::realtime_priority() {
        Ok(()) => tracing::info!("the control plane runs at real-time priority"),
        Err(e) => tracing::info!(
            reason = %e,
            "the control plane runs at normal priority (LimitRTPRIO=1 in the service lets status answers skip the queue while a sync keeps the machine busy)"
        ),
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the control plane's runtime")?;
    runtime.block_on(async move {
        let listener = match server::bind(&opts).await {
            Ok(listener) => listener,
            Err(e) => {
                let _ = bound.send(Err(e.into()));
                return Ok(());
            }
        };
        let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
        let _ = bound.send(Ok(()));
        if !go.await.unwrap_or(false) {
            drop(listener);
            let _ = std::fs::remove_file(&opts.path);
            return Ok(());
        }
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("shutting down");
        };
        Ok(server::serve(daemon, engine, listener, opts.path, shutdown).await?)
    })
}

