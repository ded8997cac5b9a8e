//! Latency and outcome of recent Cachicamo requests, for metrics. Kept in memory per sidecar.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Requests older than this are forgotten.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// At most this many requests are remembered, whatever the window.
const CAPACITY: usize = 20_000;

#[derive(Debug, Default)]
pub struct ApiStats {
    samples: Mutex<VecDeque<(Instant, Duration, bool)>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ApiSnapshot {
    pub requests: u64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub error_rate: f64,
}

impl ApiStats {
    /// One HTTP attempt: how long it took and whether it got a usable answer.
    pub fn record(&self, latency: Duration, ok: bool) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        samples.push_back((now, latency, ok));
        while samples.len() > CAPACITY || samples.front().is_some_and(|(at, _, _)| now.duration_since(*at) > WINDOW) {
            samples.pop_front();
        }
    }

    pub fn snapshot(&self) -> ApiSnapshot {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let recent: Vec<&(Instant, Duration, bool)> = samples.iter().filter(|(at, _, _)| now.duration_since(*at) <= WINDOW).collect();
        if recent.is_empty() {
            return ApiSnapshot::default();
        }
        let mut ms: Vec<f64> = recent.iter().map(|(_, d, _)| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let errors = recent.iter().filter(|(_, _, ok)| !ok).count();
        ApiSnapshot {
            requests: recent.len() as u64,
            latency_p50_ms: percentile(&ms, 0.50),
            latency_p95_ms: percentile(&ms, 0.95),
            error_rate: errors as f64 / recent.len() as f64,
        }
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_of_recorded_requests() {
        let stats = ApiStats::default();
        assert_eq!(stats.snapshot(), ApiSnapshot::default());
        for ms in 1..=100 {
            stats.record(Duration::from_millis(ms), ms % 10 != 0);
        }
        let s = stats.snapshot();
        assert_eq!(s.requests, 100);
        assert_eq!(s.latency_p50_ms, 50.0);
        assert_eq!(s.latency_p95_ms, 95.0);
        assert!((s.error_rate - 0.1).abs() < 1e-9);
    }
}
