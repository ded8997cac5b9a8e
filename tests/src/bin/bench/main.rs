//! `bench --skus N [--latency-ms L] [--workers W] [--json]`: seeds a store of N SKUs, serves it
//! from the simulator with L ms per request, starts `cachicamo-sidecar serve`, and measures full,
//! no-change and 1% syncs, selective syncs and `GetStatus` through the daemon's socket, as
//! WordPress would use it. Progress goes to stderr; the figures to stdout. Never pass/fail on
//! timings: it fails only when a sync itself fails.

mod cpu;
mod daemon;
mod db;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use cachicamo_sidecar::proto;
use cachicamo_sidecar::proto::sync_service_client::SyncServiceClient;
use cachicamo_testkit::seed::SeedOptions;
use cachicamo_testkit::sim::{self, SimHandle, SimOptions};
use cachicamo_testkit::testdb::{TestDb, TestStore, TEST_PREFIX};
use cachicamo_testkit::{Dataset, ProductKind};
use clap::Parser;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use serde::Serialize;
use tonic::transport::Channel;

use daemon::{Daemon, DaemonSettings};
use db::RowCounter;

/// The old plugin: 500 keys per batch, one batch per WP-Cron minute.
const OLD_BATCH_KEYS: u64 = 500;
const OLD_SECONDS_PER_BATCH: u64 = 60;
/// How often each `GetStatus` poller calls while the full sync runs (the admin page polls once a
/// second).
const STATUS_POLL: Duration = Duration::from_millis(100);
/// `GetStatus` calls made one after another with nothing running.
const IDLE_STATUS_CALLS: usize = 200;

#[derive(Parser, Debug)]
#[command(about = "Measures Cachicamo Sync through its daemon on a generated store")]
struct Args {
    /// SKUs in the store: 60% simple products, the rest variable products with 5 variations each
    #[arg(long)]
    skus: usize,
    /// Delay the simulated Cachicamo API adds to every request
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Batches the daemon works at once (CACHICAMO_WORKERS)
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Keys per batch (CACHICAMO_BATCH_SIZE)
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Selective syncs of 3 SKUs to time
    #[arg(long, default_value_t = 100)]
    selective_rounds: usize,
    /// Skip comparing the store with the dataset after the full sync
    #[arg(long)]
    no_verify: bool,
    /// The daemon's log filter (its log is shown when it fails)
    #[arg(long, default_value = "warn")]
    daemon_log: String,
    /// Print one JSON object on stdout instead of a table
    #[arg(long)]
    json: bool,
    /// Leave the benchmark's database behind (its name is printed), for profiling
    #[arg(long)]
    keep_db: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    skus: usize,
    products: usize,
    keys: u64,
    batches: u64,
    latency_ms: u64,
    workers: usize,
    batch_size: usize,
    cpus: usize,
    memory_gib: f64,
    seed_s: f64,
    full_sync_s: f64,
    full_sync_changed: u64,
    full_sync_cpu: cpu::CpuUse,
    full_sync_mismatches: Option<usize>,
    nochange_sync_s: f64,
    nochange_changed: u64,
    nochange_cpu: cpu::CpuUse,
    /// Product-table rows written by the no-change sync; `None` when the server cannot count.
    nochange_rows_written: Option<u64>,
    nochange_checksums_equal: bool,
    one_percent_sync_s: f64,
    one_percent_cpu: cpu::CpuUse,
    one_percent_products: usize,
    one_percent_changed: u64,
    sidecar_peak_rss_mb: f64,
    api_requests: u64,
    api_batch_requests: u64,
    batch_p50_ms: f64,
    batch_p99_ms: f64,
    sync_skus_p50_ms: f64,
    sync_skus_p99_ms: f64,
    /// Measured by the observer (see [`Caller`]).
    get_status_p99_ms: f64,
    get_status_p50_ms: f64,
    get_status_samples: usize,
    get_status_idle_p99_ms: f64,
    /// Measured at the same time by a caller at normal priority, as the PHP plugin calls.
    get_status_normal_priority_p50_ms: f64,
    get_status_normal_priority_p99_ms: f64,
    /// Whether the observer got real-time priority (false: it measured at normal priority).
    get_status_observer_realtime: bool,
    old_design_batches: u64,
    old_design_floor_s: f64,
    old_design_ratio: f64,
}

/// Nearest-rank percentile of `samples` (`q` in 0..=1); 0 for no samples.
fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn say(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

fn memory_gib() -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0
}

/// The store's shape for `skus` SKUs: 60% simple products, the rest in variable products of one
/// parent and five variations (six SKUs each).
fn seed_options(skus: usize) -> SeedOptions {
    let simple = (skus as f64 * 0.6).round() as usize;
    let variable = (skus - simple) / 6;
    SeedOptions {
        simple,
        variable,
        variations: 5,
        // Every product differs, so the full sync writes every product.
        differ: 1.0,
        missing: 0.0,
        ..SeedOptions::default()
    }
}

/// One sync through the daemon: StartSync, then WatchRun until it ends.
struct SyncResult {
    seconds: f64,
    cpu: cpu::CpuUse,
    run_id: u64,
    record: db::RunRecord,
}

/// The processes whose CPU time is accounted per phase.
#[derive(Clone, Copy)]
struct Pids {
    sidecar: u32,
    database: Option<u32>,
}

/// Runs one sync; with `poll`, GetStatus is polled from when StartSync has answered (as the
/// admin page does) until the run ends, by the observer and a normal-priority caller at once.
async fn timed_sync(
    client: &mut SyncServiceClient<Channel>,
    pool: &mysql_async::Pool,
    pids: Pids,
    label: &str,
    poll: Option<PathBuf>,
) -> anyhow::Result<(SyncResult, Option<PolledStatus>)> {
    let sampler = cpu::Sampler::start(pids.sidecar, pids.database);
    let t0 = unix_now();
    let started = client
        .start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Manual as i32 })
        .await
        .with_context(|| format!("{label}: StartSync failed"))?
        .into_inner();
    if !started.started {
        bail!("{label}: another run was already active");
    }
    let run_id = started.run.context("StartSync returned no run")?.id;
    let stop = Arc::new(AtomicBool::new(false));
    let polling = poll.map(|socket| {
        let observer = status_calls(socket.clone(), Caller::Observer, Calls::Paced(stop.clone()));
        let normal = status_calls(socket, Caller::NormalPriority, Calls::Paced(stop.clone()));
        (observer, normal)
    });
    let mut stream = client
        .watch_run(proto::WatchRunRequest { run_id })
        .await
        .with_context(|| format!("{label}: WatchRun failed"))?
        .into_inner();
    let tty = std::io::stderr().is_terminal();
    let mut last_line = Instant::now();
    while let Some(p) = stream.message().await.with_context(|| format!("{label}: the progress stream broke"))? {
        if let Some(run) = &p.run {
            if tty || last_line.elapsed() >= Duration::from_secs(2) || p.finished {
                let line = format!(
                    "{label}: {}/{} batches, {:.0} keys/s, {} changed",
                    run.batches_done,
                    run.total_batches,
                    p.skus_per_second,
                    run.totals.as_ref().map_or(0, |t| t.changed)
                );
                if tty {
                    eprint!("\rbench: {line}\x1b[K");
                } else {
                    say(line);
                }
                last_line = Instant::now();
            }
        }
        if p.finished {
            break;
        }
    }
    if tty {
        eprintln!();
    }
    let cpu = sampler.stop();
    stop.store(true, Ordering::SeqCst);
    let polled = match polling {
        Some((observer, normal)) => {
            let (observer, realtime) = join_calls(observer)?;
            let (normal, _) = join_calls(normal)?;
            Some(PolledStatus { observer, realtime, normal })
        }
        None => None,
    };
    let record = db::run_record(pool, TEST_PREFIX, run_id).await?;
    if record.status != "completed" {
        bail!("{label}: run {run_id} ended {} ({} errors, {} conflicts)", record.status, record.errors, record.conflicts);
    }
    let seconds = record.finished_at - t0;
    say(format!(
        "{label}: {seconds:.2} s, {} products synced, {} changed; CPU: sidecar {:.1} s, database {}, simulator {:.1} s; stolen by the host {:.1} s",
        record.synced,
        record.changed,
        cpu.sidecar_s,
        cpu.database_s.map_or("?".to_owned(), |d| format!("{d:.1} s")),
        cpu.simulator_s,
        cpu.steal_s
    ));
    Ok((SyncResult { seconds, cpu, run_id, record }, polled))
}

/// `GetStatus` latencies in ms, during a sync.
struct PolledStatus {
    observer: Vec<f64>,
    realtime: bool,
    normal: Vec<f64>,
}

/// Who calls `GetStatus`. The observer runs at the control plane's real-time priority (see
/// `rpc::server::realtime_priority`) where the bench may (root, or an RLIMIT_RTPRIO of 1), so
/// that its figures are the sidecar's answer time, not the bench's own
/// wait for a processor on a machine the sync keeps busy; the normal-priority caller waits as the
/// plugin's PHP process would.
#[derive(Clone, Copy, PartialEq)]
enum Caller {
    Observer,
    NormalPriority,
}

enum Calls {
    /// One call every [`STATUS_POLL`] until the flag is set.
    Paced(Arc<AtomicBool>),
    /// This many calls, one after another.
    BackToBack(usize),
}

/// Calls GetStatus from a thread and a connection of its own, as the admin page's PHP process
/// would: the bench's other work (the simulator, the progress stream) must not delay it.
/// Returns each call's latency in ms and whether the thread ran at real-time priority.
fn status_calls(socket: PathBuf, caller: Caller, calls: Calls) -> std::thread::JoinHandle<anyhow::Result<(Vec<f64>, bool)>> {
    std::thread::spawn(move || {
        let realtime = caller == Caller::Observer && cachicamo_sidecar::rpc::server::realtime_priority().is_ok();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the poller's runtime")?;
        runtime.block_on(async move {
            let mut client = cachicamo_sidecar::rpc::client::connect(&socket).await?;
            if caller == Caller::NormalPriority && matches!(calls, Calls::Paced(_)) {
                // Half a period apart, the two pollers' calls never queue behind each other.
                tokio::time::sleep(STATUS_POLL / 2).await;
            }
            let mut samples = Vec::new();
            loop {
                match &calls {
                    Calls::Paced(stop) if stop.load(Ordering::SeqCst) => break,
                    Calls::BackToBack(n) if samples.len() >= *n => break,
                    _ => {}
                }
                let t = Instant::now();
                client.get_status(proto::GetStatusRequest {}).await.context("GetStatus failed")?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                if matches!(calls, Calls::Paced(_)) {
                    tokio::time::sleep(STATUS_POLL).await;
                }
            }
            Ok((samples, realtime))
        })
    })
}

fn join_calls(thread: std::thread::JoinHandle<anyhow::Result<(Vec<f64>, bool)>>) -> anyhow::Result<(Vec<f64>, bool)> {
    thread.join().map_err(|_| anyhow::anyhow!("a GetStatus poller crashed"))?
}

/// Products whose stock a sync writes: simple products and variations, not virtual.
fn stocked(dataset: &Dataset) -> Vec<&cachicamo_testkit::ExpectedProduct> {
    dataset
        .expected
        .iter()
        .filter(|e| matches!(e.kind, ProductKind::Simple | ProductKind::Variation) && e.found && e.stock.is_some())
        .collect()
}

async fn run(args: &Args) -> anyhow::Result<Report> {
    if args.skus < 12 {
        bail!("--skus must be at least 12 (one variable product needs 6)");
    }
    let binary = daemon::daemon_binary()?;
    let opts = seed_options(args.skus);
    say(format!("seeding {} simple and {} variable products with 5 variations each", opts.simple, opts.variable));
    let seed_started = Instant::now();
    let (db, dataset) = TestStore::seed(&opts).await.context("cannot seed the store (is MariaDB up? CACHICAMO_TEST_DB_URL)")?;
    let seed_s = seed_started.elapsed().as_secs_f64();
    say(format!("seeded {} products in {seed_s:.1} s into {}", dataset.expected.len(), db.name));
    let result = measure(args, &binary, &db, dataset, seed_s).await;
    if args.keep_db {
        say(format!("keeping database {}", db.name));
        // Skips the drop that `TestDb` does when it goes away.
        std::mem::forget(db);
    }
    result
}

async fn measure(args: &Args, binary: &std::path::Path, db: &TestDb, dataset: Dataset, seed_s: f64) -> anyhow::Result<Report> {
    // The simulator gets threads of its own: serialising and compressing answers must not delay
    // the bench's own gRPC calls, whose latency is what is measured.
    let sim_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("simulator")
        .enable_all()
        .build()
        .context("cannot start the simulator's runtime")?;
    let opts = SimOptions { latency_ms: args.latency_ms, ..SimOptions::default() };
    let sim = sim_runtime
        .spawn(sim::start(dataset.clone(), opts, "127.0.0.1:0".parse()?))
        .await
        .context("the simulator's start crashed")?
        .context("cannot start the simulator")?;
    let settings = DaemonSettings {
        db_url: db.url.clone(),
        api_url: sim.base_url(),
        prefix: TEST_PREFIX.to_owned(),
        workers: args.workers,
        batch_size: args.batch_size,
        log_filter: args.daemon_log.clone(),
    };
    let daemon = Daemon::start(binary, &settings).await?;
    say(format!("daemon pid {} on {}", daemon.pid().unwrap_or(0), daemon.socket.display()));
    let outcome = phases(args, db, &dataset, &sim, &daemon, seed_s).await;
    let peak = daemon.peak_rss_mb();
    let stopped = daemon.stop().await;
    let _ = sim.shutdown().await;
    sim_runtime.shutdown_background();
    let mut report = outcome?;
    stopped?;
    report.sidecar_peak_rss_mb = round3(peak?);
    Ok(report)
}

async fn phases(args: &Args, db: &TestDb, dataset: &Dataset, sim: &SimHandle, daemon: &Daemon, seed_s: f64) -> anyhow::Result<Report> {
    let pool = &db.pool;
    let mut client = daemon.client().await?;
    let pids = Pids { sidecar: daemon.pid().context("the daemon is not running")?, database: cpu::database_pid() };
    let mut rng = StdRng::seed_from_u64(7);

    // Full sync: every product differs. GetStatus is polled meanwhile, as the admin page would.
    sim.reset_stats();
    let (full, polled) = timed_sync(&mut client, pool, pids, "full sync", Some(daemon.socket.clone())).await?;
    let polled = polled.context("the full sync's GetStatus polls are missing")?;
    if !polled.realtime {
        say("GetStatus observer at normal priority: real-time priority was refused (run as root, or with an RLIMIT_RTPRIO of 1)");
    }
    let api = sim.stats();
    let batch_ms = db::batch_durations_ms(pool, TEST_PREFIX, full.run_id).await?;
    let full_sync_mismatches = if args.no_verify {
        None
    } else {
        let found = cachicamo_testkit::check::compare_with_expected(pool, TEST_PREFIX, &dataset.expected).await?;
        for m in found.iter().take(5) {
            say(format!("mismatch after the full sync: {m}"));
        }
        say(format!("store compared with the dataset: {} mismatches", found.len()));
        Some(found.len())
    };

    // No change: the same data again must write no product row.
    let counter = RowCounter::new(pool, TEST_PREFIX).await?;
    let sums_before = counter.checksums().await?;
    let rows_before = counter.snapshot().await?;
    let (nochange, _) = timed_sync(&mut client, pool, pids, "no-change sync", None).await?;
    let rows_after = counter.snapshot().await?;
    let sums_after = counter.checksums().await?;
    counter.restore().await?;
    let nochange_rows_written = rows_before.zip(rows_after).map(|(b, a)| db::rows_between(&b, &a));

    // 1% of the products change in Cachicamo (a sale or a delivery each).
    let candidates = stocked(dataset);
    let count = ((dataset.expected.len() as f64) * 0.01).round().max(1.0) as usize;
    let picked: Vec<_> = candidates.choose_multiple(&mut rng, count.min(candidates.len())).collect();
    for e in &picked {
        let stock = e.stock.unwrap_or(0) + 7;
        if !sim.faults().set_stock(&format!("WC-{}", e.product_id), stock) {
            bail!("the simulator has no item for product {}", e.product_id);
        }
    }
    let (one, _) = timed_sync(&mut client, pool, pids, "1% sync", None).await?;

    // Selective syncs of 3 SKUs, each just changed in Cachicamo (an order was placed).
    let with_sku: Vec<_> = candidates.iter().filter(|e| !e.sku.trim().is_empty()).collect();
    let mut selective = Vec::with_capacity(args.selective_rounds);
    for round in 0..args.selective_rounds {
        let three: Vec<_> = with_sku.choose_multiple(&mut rng, 3).collect();
        for e in &three {
            sim.faults().set_stock(&e.sku, 1000 + round as i64);
        }
        let skus: Vec<String> = three.iter().map(|e| e.sku.clone()).collect();
        let t = Instant::now();
        let resp = client.sync_skus(proto::SyncSkusRequest { skus }).await.context("SyncSkus failed")?.into_inner();
        selective.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(bad) = resp.results.iter().find(|r| r.outcome != "changed") {
            bail!("a selective sync did not change SKU {:?}: {} {}", bad.sku, bad.outcome, bad.message);
        }
    }
    say(format!("selective sync of 3 SKUs: p50 {:.1} ms over {} rounds", percentile(&selective, 0.5), selective.len()));

    // GetStatus with nothing running.
    let socket = daemon.socket.clone();
    let (idle, _) = tokio::task::spawn_blocking(move || join_calls(status_calls(socket, Caller::Observer, Calls::BackToBack(IDLE_STATUS_CALLS))))
        .await
        .context("the idle GetStatus calls crashed")??;

    let keys = full.record.total_skus;
    let old_batches = keys.div_ceil(OLD_BATCH_KEYS);
    let old_floor = (old_batches * OLD_SECONDS_PER_BATCH) as f64;
    Ok(Report {
        skus: args.skus,
        products: dataset.expected.len(),
        keys,
        batches: full.record.total_batches,
        latency_ms: args.latency_ms,
        workers: args.workers,
        batch_size: args.batch_size,
        cpus: std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        memory_gib: memory_gib(),
        seed_s: round3(seed_s),
        full_sync_s: round3(full.seconds),
        full_sync_changed: full.record.changed,
        full_sync_cpu: full.cpu,
        full_sync_mismatches,
        nochange_sync_s: round3(nochange.seconds),
        nochange_changed: nochange.record.changed,
        nochange_cpu: nochange.cpu,
        nochange_rows_written,
        nochange_checksums_equal: sums_before == sums_after,
        one_percent_sync_s: round3(one.seconds),
        one_percent_cpu: one.cpu,
        one_percent_products: picked.len(),
        one_percent_changed: one.record.changed,
        sidecar_peak_rss_mb: 0.0,
        api_requests: api.total_requests,
        api_batch_requests: api.batch_requests,
        batch_p50_ms: round3(percentile(&batch_ms, 0.5)),
        batch_p99_ms: round3(percentile(&batch_ms, 0.99)),
        sync_skus_p50_ms: round3(percentile(&selective, 0.5)),
        sync_skus_p99_ms: round3(percentile(&selective, 0.99)),
        get_status_p99_ms: round3(percentile(&polled.observer, 0.99)),
        get_status_p50_ms: round3(percentile(&polled.observer, 0.5)),
        get_status_samples: polled.observer.len(),
        get_status_idle_p99_ms: round3(percentile(&idle, 0.99)),
        get_status_normal_priority_p50_ms: round3(percentile(&polled.normal, 0.5)),
        get_status_normal_priority_p99_ms: round3(percentile(&polled.normal, 0.99)),
        get_status_observer_realtime: polled.realtime,
        old_design_batches: old_batches,
        old_design_floor_s: old_floor,
        old_design_ratio: if full.seconds > 0.0 { (old_floor / full.seconds).round() } else { 0.0 },
    })
}

fn print_table(r: &Report) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let rows: Vec<(&str, String)> = vec![
        ("SKUs / products / keys", format!("{} / {} / {}", r.skus, r.products, r.keys)),
        ("API latency, workers", format!("{} ms, {}", r.latency_ms, r.workers)),
        ("full sync", format!("{:.2} s ({} changed)", r.full_sync_s, r.full_sync_changed)),
        (
            "no-change sync",
            format!("{:.2} s ({} product rows written)", r.nochange_sync_s, r.nochange_rows_written.map_or("uncounted".to_owned(), |n| n.to_string())),
        ),
        ("1% change sync", format!("{:.2} s ({} changed)", r.one_percent_sync_s, r.one_percent_changed)),
        ("sidecar peak RSS", format!("{:.1} MB", r.sidecar_peak_rss_mb)),
        ("API requests (full sync)", format!("{} ({} batch)", r.api_requests, r.api_batch_requests)),
        ("batch p50 / p99", format!("{:.0} / {:.0} ms", r.batch_p50_ms, r.batch_p99_ms)),
        ("SyncSkus (3) p50 / p99", format!("{:.1} / {:.1} ms", r.sync_skus_p50_ms, r.sync_skus_p99_ms)),
        ("GetStatus p99 during sync / idle", format!("{:.2} / {:.2} ms", r.get_status_p99_ms, r.get_status_idle_p99_ms)),
        ("  at normal priority, during sync", format!("{:.2} ms", r.get_status_normal_priority_p99_ms)),
        ("old design floor", format!("{:.0} s ({} batches x 60 s), {:.0}x the full sync", r.old_design_floor_s, r.old_design_batches, r.old_design_ratio)),
    ];
    for (k, v) in rows {
        writeln!(out, "{k:<34} {v}")?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let report = run(&args).await?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_table(&report)?;
    }
    Ok(())
}
