//! Metrics as Prometheus text on an optional loopback HTTP port (`serve --metrics-addr`).

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::engine::daemon::{Daemon, EngineState};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("--metrics-addr {0} is not a loopback address: metrics are for this machine only (use 127.0.0.1:PORT)")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr} for metrics: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Binds the metrics port; the listener is served by [`serve`].
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, MetricsError> {
    if !addr.ip().is_loopback() {
        return Err(MetricsError::NotLoopback(addr));
    }
    tokio::net::TcpListener::bind(addr).await.map_err(|source| MetricsError::Bind { addr, source })
}

pub async fn serve(daemon: Daemon, listener: tokio::net::TcpListener) {
    let app = Router::new().route("/metrics", get(metrics)).with_state(daemon.clone());
    let stop = async move { daemon.stopping().await };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::warn!(error = %e, "the metrics server stopped");
    }
}

fn gauge(out: &mut String, name: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

async fn metrics(State(daemon): State<Daemon>) -> Response {
    let store = daemon.engine().store();
    let m = match store.run_metrics(30).await {
        Ok(m) => m,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let alerts = store.active_alerts().await.unwrap_or_default();
    let api = daemon.engine().api_stats().snapshot();
    let state = daemon.current_state();
    let mut out = String::new();
    let states = [
        ("starting", EngineState::Starting),
        ("recovering", EngineState::Recovering),
        ("idle", EngineState::Idle),
        ("planning", EngineState::Planning),
        ("running", EngineState::Running),
        ("paused", EngineState::Paused),
        ("error", EngineState::Error),
    ];
    let state_labels: Vec<(String, f64)> =
        states.iter().map(|(name, s)| (format!("{{state=\"{name}\"}}"), f64::from(u8::from(*s == state)))).collect();
    let state_refs: Vec<(&str, f64)> = state_labels.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    gauge(&mut out, "cachicamo_engine_state", "The engine's state (1 for the current one).", &state_refs);
    gauge(&mut out, "cachicamo_paused", "1 while the engine is paused.", &[("", f64::from(u8::from(daemon.is_paused())))]);
    gauge(&mut out, "cachicamo_runs_today", "Runs started since midnight UTC.", &[("", f64::from(m.runs_today))]);
    gauge(&mut out, "cachicamo_run_success_ratio", "Share of the last 30 finished runs that completed without errors.", &[("", m.success_rate)]);
    gauge(&mut out, "cachicamo_skus_per_hour", "SKUs of the runs finished in the last 24 hours, per hour.", &[("", m.skus_per_hour)]);
    gauge(
        &mut out,
        "cachicamo_run_duration_seconds",
        "Duration of the last 30 finished runs.",
        &[("{stat=\"avg\"}", m.run_duration_avg_ms as f64 / 1000.0), ("{stat=\"p95\"}", m.run_duration_p95_ms as f64 / 1000.0)],
    );
    gauge(&mut out, "cachicamo_queue_depth", "Pending batches.", &[("", f64::from(m.queue_depth))]);
    gauge(&mut out, "cachicamo_api_requests", "Cachicamo requests in the last 15 minutes.", &[("", api.requests as f64)]);
    gauge(
        &mut out,
        "cachicamo_api_latency_seconds",
        "Latency of Cachicamo requests in the last 15 minutes.",
        &[("{quantile=\"0.5\"}", api.latency_p50_ms / 1000.0), ("{quantile=\"0.95\"}", api.latency_p95_ms / 1000.0)],
    );
    gauge(&mut out, "cachicamo_api_error_ratio", "Share of Cachicamo requests that failed in the last 15 minutes.", &[("", api.error_rate)]);
    let alert_labels: Vec<String> = alerts.iter().map(|a| format!("{{kind=\"{}\"}}", a.kind)).collect();
    let alert_refs: Vec<(&str, f64)> = alert_labels.iter().map(|l| (l.as_str(), 1.0)).collect();
    gauge(&mut out, "cachicamo_alert_active", "1 for each alert raised and not yet cleared.", &alert_refs);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
