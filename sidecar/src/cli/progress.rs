//! Progress of a run on stderr: a bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use cachicamo_sidecar::engine::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

fn skus_per_second(p: &Progress) -> f64 {
    if p.total_batches == 0 || p.elapsed.is_zero() {
        return 0.0;
    }
    let done = p.total_skus as f64 * p.batches_done() as f64 / p.total_batches as f64;
    done / p.elapsed.as_secs_f64()
}

/// Follows the engine's progress until the sender is dropped.
pub async fn show(mut rx: watch::Receiver<Progress>) {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} batches · {msg} · ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        while rx.changed().await.is_ok() {
            let p = rx.borrow_and_update().clone();
            bar.set_length(p.total_batches as u64);
            bar.set_position(p.batches_done() as u64);
            bar.set_message(format!("{:.0} SKUs/s · {} changed · {} errors", skus_per_second(&p), p.totals.changed, p.totals.errors));
        }
        bar.finish_and_clear();
    } else {
        let mut last_line = Instant::now() - Duration::from_secs(10);
        let mut last_done = u32::MAX;
        let mut last = Progress::default();
        while rx.changed().await.is_ok() {
            let p = rx.borrow_and_update().clone();
            if p.batches_done() != last_done && last_line.elapsed() >= Duration::from_secs(1) {
                eprintln!("{}", line(&p));
                last_line = Instant::now();
                last_done = p.batches_done();
            }
            last = p;
        }
        if last.total_batches > 0 && last.batches_done() != last_done {
            eprintln!("{}", line(&last));
        }
    }
}

fn line(p: &Progress) -> String {
    format!(
        "run {}: {}/{} batches, {:.0} SKUs/s, {} synced, {} changed, {} errors, {} not found",
        p.run_id,
        p.batches_done(),
        p.total_batches,
        skus_per_second(p),
        p.totals.synced,
        p.totals.changed,
        p.totals.errors,
        p.totals.not_found
    )
}
