//! The daemon SIGKILLed at twenty points of one run: the run completes, no batch is left
//! processing, the store equals the dataset, totals equal the sum of the batches, and no product
//! was changed twice.

mod common;

use std::time::{Duration, Instant};

use cachicamo_sidecar::proto;
use cachicamo_testkit::seed::SeedOptions;
use common::daemon::DaemonProc;
use common::invariants::{assert_consistent, q, wait_completed};
use common::{Harness, PREFIX};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_twenty_points_of_a_run() {
    let h = Harness::new(SeedOptions { simple: 1500, variable: 0, variations: 0, missing: 0.02, differ: 0.8, ..SeedOptions::default() }).await;
    h.sim.faults().set_latency_ms(60);
    let mut d = DaemonProc::start(&h, &[("CACHICAMO_BATCH_SIZE", "40")]).await;
    let mut c = d.client().await;
    // The first kill lands while the StartSync call is planning the run.
    let planning = tokio::spawn(async move { c.start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Cli as i32 }).await });
    tokio::time::sleep(Duration::from_millis(15)).await;
    d.kill9().await;
    let _ = planning.await;
    d.restart(&h, &[("CACHICAMO_BATCH_SIZE", "40")]).await;
    let mut c = d.client().await;
    let run = c.start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Cli as i32 }).await.expect("start").into_inner().run.expect("run");
    let total = i64::from(run.total_batches);
    assert!(total >= 60, "{total} batches");
    // CACHICAMO_SOAK_KILLS raises the count for a manual soak (e.g. 200); CI runs twenty.
    let points: i64 = std::env::var("CACHICAMO_SOAK_KILLS").ok().and_then(|v| v.parse().ok()).filter(|n| *n >= 20).unwrap_or(20);
    let mut kills = 1;
    for i in 1..points {
        let target = total * i / (points + 1);
        let started = Instant::now();
        while q(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} AND status = 'completed'", run.id)).await < target {
            assert!(started.elapsed() < Duration::from_secs(60), "no progress towards {target}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Vary the moment inside a batch: before the API answers, around the commit.
        tokio::time::sleep(Duration::from_millis((i as u64 * 17) % 70)).await;
        if target >= total - 1 {
            break;
        }
        d.kill9().await;
        kills += 1;
        d.restart(&h, &[("CACHICAMO_BATCH_SIZE", "40")]).await;
    }
    assert_eq!(kills, points);
    h.sim.faults().set_latency_ms(0);
    wait_completed(&h, run.id, Duration::from_secs(120)).await;
    assert_consistent(&h, run.id).await;
    assert_eq!(q(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamo_runs")).await, 1, "restarts never start a new run");
}

