//! Subcommands that talk to a running sidecar over its socket.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use cachicamo_sidecar::engine::Progress;
use cachicamo_sidecar::proto;
use cachicamo_sidecar::rpc::client;
use cachicamo_sidecar::store::runs::BatchCounts;
use tonic::transport::Channel;

use super::progress;
use super::report::{status_name, totals_from, RunReport};

type Client = proto::sync_service_client::SyncServiceClient<Channel>;

async fn connect(socket: &Path) -> anyhow::Result<Client> {
    Ok(client::connect(socket).await?)
}

/// A refused call becomes its server message alone: that sentence is what a person acts on.
fn call_error(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", s.message())
}

fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

fn state_name(v: i32) -> &'static str {
    match proto::EngineState::try_from(v) {
        Ok(proto::EngineState::Idle) => "idle",
        Ok(proto::EngineState::Planning) => "planning",
        Ok(proto::EngineState::Running) => "running",
        Ok(proto::EngineState::Paused) => "paused",
        Ok(proto::EngineState::Error) => "error",
        Ok(proto::EngineState::Starting) => "starting",
        Ok(proto::EngineState::Recovering) => "recovering",
        _ => "unknown",
    }
}

fn run_json(r: &proto::Run) -> serde_json::Value {
    let mut v = RunReport::from(r).json();
    v["batches_done"] = r.batches_done.into();
    v["batches_failed"] = r.batches_failed.into();
    v["started_at"] = r.started_at.into();
    v["finished_at"] = r.finished_at.into();
    v["error_message"] = r.error_message.clone().into();
    v
}

pub async fn status(socket: &Path, json: bool) -> anyhow::Result<()> {
    let mut c = connect(socket).await?;
    let s = c.get_status(proto::GetStatusRequest {}).await.map_err(call_error)?.into_inner();
    let health = s.health.unwrap_or_default();
    if json {
        let out = serde_json::json!({
            "state": state_name(s.state),
            "state_since": s.state_since,
            "paused": s.paused,
            "current_run": s.current_run.as_ref().map(run_json),
            "last_run": s.last_run.as_ref().map(run_json),
            "batch_counts": s.batch_counts.map(|b| serde_json::json!({"pending": b.pending, "processing": b.processing, "completed": b.completed, "error": b.error})),
            "lock_holder": s.lock_holder,
            "leases": s.leases.iter().map(|l| serde_json::json!({"batch_id": l.batch_id, "owner": l.owner, "expires_at": l.expires_at})).collect::<Vec<_>>(),
            "health": {"database_ok": health.database_ok, "database": health.database_message, "api_ok": health.api_ok, "api": health.api_message},
            "last_error": s.last_error,
            "version": s.version,
            "active_alerts": s.active_alerts.iter().map(alert_json).collect::<Vec<_>>(),
            "recent_alerts": s.recent_alerts.iter().map(alert_json).collect::<Vec<_>>(),
        });
        println!("{out}");
        return Ok(());
    }
    println!("Engine: {} since {}{}", state_name(s.state), when(s.state_since), if s.paused { " (paused: no batches are claimed)" } else { "" });
    match &s.current_run {
        Some(r) => println!(
            "Current run {}: {}/{} batches, {} synced, {} changed, {} errors",
            r.id,
            r.batches_done,
            r.total_batches,
            totals_from(r.totals.as_ref()).synced,
            totals_from(r.totals.as_ref()).changed,
            totals_from(r.totals.as_ref()).errors
        ),
        None => println!("No run is active."),
    }
    if let Some(r) = &s.last_run {
        println!("Last run, finished {}:", when(r.finished_at));
        println!("  {}", RunReport::from(r).sentence().replace('\n', "\n  "));
    }
    println!(
        "Database: {} · Cachicamo API: {}",
        if health.database_ok { "ok".to_owned() } else { health.database_message },
        if health.api_ok { "ok".to_owned() } else { health.api_message }
    );
    if !s.last_error.is_empty() {
        println!("Last error: {}", s.last_error);
    }
    for a in &s.active_alerts {
        println!("ALERT ({}, since {}): {}", a.kind, when(a.raised_at), a.message);
    }
    Ok(())
}

fn alert_json(a: &proto::Alert) -> serde_json::Value {
    serde_json::json!({"id": a.id, "kind": a.kind, "message": a.message, "raised_at": a.raised_at, "cleared_at": a.cleared_at})
}

pub async fn metrics(socket: &Path, json: bool) -> anyhow::Result<()> {
    let mut c = connect(socket).await?;
    let m = c.get_metrics(proto::GetMetricsRequest { recent_runs: 30 }).await.map_err(call_error)?.into_inner();
    if json {
        let runs: Vec<serde_json::Value> = m
            .recent_runs
            .iter()
            .map(|r| {
                let t = totals_from(r.totals.as_ref());
                serde_json::json!({"run_id": r.id, "status": status_name(r.status), "started_at": r.started_at, "duration_ms": r.duration_ms,
                    "total_skus": r.total_skus, "synced": t.synced, "changed": t.changed, "errors": t.errors})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"runs_today": m.runs_today, "success_rate": m.success_rate, "skus_per_hour": m.skus_per_hour,
                "run_duration_avg_ms": m.run_duration_avg_ms, "run_duration_p95_ms": m.run_duration_p95_ms,
                "api_requests": m.api_requests, "api_latency_p50_ms": m.api_latency_p50_ms, "api_latency_p95_ms": m.api_latency_p95_ms,
                "api_error_rate": m.api_error_rate, "queue_depth": m.queue_depth, "recent_runs": runs})
        );
        return Ok(());
    }
    println!("Runs today: {} · success rate {:.0}% · {:.0} SKUs per hour", m.runs_today, m.success_rate * 100.0, m.skus_per_hour);
    println!("Run duration: {:.1} s average, {:.1} s p95", m.run_duration_avg_ms as f64 / 1000.0, m.run_duration_p95_ms as f64 / 1000.0);
    println!(
        "Cachicamo, last 15 minutes: {} requests, {:.0} ms p50, {:.0} ms p95, {:.1}% errors",
        m.api_requests,
        m.api_latency_p50_ms,
        m.api_latency_p95_ms,
        m.api_error_rate * 100.0
    );
    println!("Queue: {} batches pending", m.queue_depth);
    Ok(())
}

pub async fn sync(socket: &Path, wait: bool, json: bool) -> anyhow::Result<std::process::ExitCode> {
    let mut c = connect(socket).await?;
    let resp = c
        .start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Cli as i32 })
        .await
        .map_err(call_error)?
        .into_inner();
    let run = resp.run.context("the sidecar returned no run")?;
    if !wait {
        if json {
            println!("{}", serde_json::json!({"run_id": run.id, "started": resp.started, "total_batches": run.total_batches}));
        } else if resp.started {
            println!("Started run {} ({} batches); follow it with `cachicamo-sidecar status`", run.id, run.total_batches);
        } else {
            println!("Run {} is already active ({}/{} batches)", run.id, run.batches_done, run.total_batches);
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let mut stream = c.watch_run(proto::WatchRunRequest { run_id: run.id }).await.map_err(call_error)?.into_inner();
    let (tx, rx) = tokio::sync::watch::channel(Progress::default());
    let display = tokio::spawn(progress::show(rx));
    let started = std::time::Instant::now();
    let mut last = run;
    while let Some(msg) = stream.message().await.map_err(call_error)? {
        let Some(r) = msg.run else { continue };
        let _ = tx.send(Progress {
            run_id: r.id,
            total_batches: r.total_batches,
            total_skus: r.total_skus,
            batches: BatchCounts { completed: r.batches_done - r.batches_failed, error: r.batches_failed, ..BatchCounts::default() },
            totals: totals_from(r.totals.as_ref()),
            elapsed: started.elapsed(),
        });
        last = r;
        if msg.finished {
            break;
        }
    }
    drop(tx);
    let _ = display.await;
    RunReport::from(&last).print(json);
    Ok(match status_name(last.status) {
        "failed" | "cancelled" | "running" => std::process::ExitCode::from(1),
        _ => std::process::ExitCode::SUCCESS,
    })
}

fn batch_status(name: &str) -> anyhow::Result<i32> {
    Ok(match name {
        "pending" => proto::BatchStatus::Pending,
        "processing" => proto::BatchStatus::Processing,
        "completed" => proto::BatchStatus::Completed,
        "error" => proto::BatchStatus::Error,
        "superseded" => proto::BatchStatus::Superseded,
        other => bail!("--status {other:?} is not one of pending, processing, completed, error, superseded"),
    } as i32)
}

pub async fn batches(socket: &Path, run: u64, status: Option<&str>, json: bool) -> anyhow::Result<()> {
    let status = status.map(batch_status).transpose()?.unwrap_or(0);
    let mut c = connect(socket).await?;
    let mut token = String::new();
    let mut rows = Vec::new();
    loop {
        let page = c
            .list_batches(proto::ListBatchesRequest { run_id: run, status, page_size: 500, page_token: token })
            .await
            .map_err(call_error)?
            .into_inner();
        rows.extend(page.batches);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let name = |b: &proto::Batch| match proto::BatchStatus::try_from(b.status) {
        Ok(proto::BatchStatus::Pending) => "pending",
        Ok(proto::BatchStatus::Processing) => "processing",
        Ok(proto::BatchStatus::Completed) => "completed",
        Ok(proto::BatchStatus::Error) => "error",
        Ok(proto::BatchStatus::Superseded) => "superseded",
        _ => "unknown",
    };
    if json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|b| {
                let t = totals_from(b.totals.as_ref());
                serde_json::json!({"id": b.id, "run_id": b.run_id, "batch_number": b.batch_number, "total_batches": b.total_batches,
                    "status": name(b), "skus": b.sku_count, "attempts": b.attempts, "synced": t.synced, "changed": t.changed,
                    "errors": t.errors, "not_found": t.not_found, "conflicts": t.conflicts, "error_message": b.error_message,
                    "lease_owner": b.lease_owner, "processed_at": b.processed_at})
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
        return Ok(());
    }
    println!("{:>8} {:>9} {:<11} {:>5} {:>8} {:>7} {:>7} {:>6} {:>9}  message", "id", "batch", "status", "skus", "attempts", "synced", "changed", "errors", "not_found");
    for b in &rows {
        let t = totals_from(b.totals.as_ref());
        println!(
            "{:>8} {:>9} {:<11} {:>5} {:>8} {:>7} {:>7} {:>6} {:>9}  {}",
            b.id,
            format!("{}/{}", b.batch_number, b.total_batches),
            name(b),
            b.sku_count,
            b.attempts,
            t.synced,
            t.changed,
            t.errors,
            t.not_found,
            b.error_message
        );
    }
    Ok(())
}

pub async fn retry_failed(socket: &Path, run: u64) -> anyhow::Result<()> {
    let mut c = connect(socket).await?;
    let r = c.retry_failed(proto::RetryFailedRequest { run_id: run }).await.map_err(call_error)?.into_inner();
    let id = r.run.map(|r| r.id).unwrap_or(run);
    println!("Requeued {} failed batches of run {id}", r.batches_requeued);
    Ok(())
}

pub async fn cancel(socket: &Path, run: u64) -> anyhow::Result<()> {
    let mut c = connect(socket).await?;
    let r = c.cancel_run(proto::CancelRunRequest { run_id: run }).await.map_err(call_error)?.into_inner();
    println!("Cancelled run {}", r.run.map(|r| r.id).unwrap_or(run));
    Ok(())
}

pub async fn pause(socket: &Path, paused: bool) -> anyhow::Result<()> {
    let mut c = connect(socket).await?;
    if paused {
        c.pause(proto::PauseRequest {}).await.map_err(call_error)?;
        println!("Paused: no new batches are claimed until `cachicamo-sidecar resume` (batches in flight finish)");
    } else {
        c.resume(proto::ResumeRequest {}).await.map_err(call_error)?;
        println!("Resumed");
    }
    Ok(())
}

pub async fn sku(socket: &Path, skus: Vec<String>, json: bool) -> anyhow::Result<()> {
    let mut c = connect(socket).await?;
    let call = c.sync_skus(proto::SyncSkusRequest { skus });
    let r = tokio::time::timeout(Duration::from_secs(120), call).await.context("the selective sync took over 2 minutes")?.map_err(call_error)?.into_inner();
    if json {
        let out: Vec<serde_json::Value> = r
            .results
            .iter()
            .map(|x| serde_json::json!({"sku": x.sku, "product_id": x.product_id, "outcome": x.outcome, "message": x.message}))
            .collect();
        println!("{}", serde_json::Value::Array(out));
    } else {
        for x in &r.results {
            let id = if x.product_id > 0 { format!(" (product {})", x.product_id) } else { String::new() };
            let msg = if x.message.is_empty() { String::new() } else { format!(": {}", x.message) };
            println!("{}{id}: {}{msg}", x.sku, x.outcome);
        }
    }
    Ok(())
}
