//! Request counters the tests read to check how the sidecar used the API.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A point-in-time copy of the simulator's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    pub total_requests: u64,
    pub batch_requests: u64,
    /// SKUs received over all well-formed batch requests.
    pub batch_skus: u64,
    pub by_status: BTreeMap<u16, u64>,
    pub by_path: BTreeMap<String, u64>,
    /// Arrival of each batch request, in ms since the simulator started.
    pub batch_arrivals_ms: Vec<f64>,
    /// Most requests being served at the same time.
    pub max_in_flight: u64,
}

#[derive(Debug)]
pub(crate) struct Stats {
    started: Instant,
    snapshot: StatsSnapshot,
    in_flight: u64,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Stats {
            started: Instant::now(),
            snapshot: StatsSnapshot::default(),
            in_flight: 0,
        }
    }

    pub(crate) fn request_started(&mut self, path: &str, is_batch: bool) {
        let s = &mut self.snapshot;
        s.total_requests += 1;
        *s.by_path.entry(path.to_owned()).or_default() += 1;
        if is_batch {
            s.batch_requests += 1;
            s.batch_arrivals_ms
                .push(self.started.elapsed().as_secs_f64() * 1000.0);
        }
        self.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(self.in_flight);
    }

    pub(crate) fn request_finished(&mut self, status: u16) {
        self.in_flight = self.in_flight.saturating_sub(1);
        *self.snapshot.by_status.entry(status).or_default() += 1;
    }

    pub(crate) fn batch_skus(&mut self, count: usize) {
        self.snapshot.batch_skus += count as u64;
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.snapshot.clone()
    }

    /// Clears the counters; arrival times stay relative to the start and
    /// requests already in flight still count as such.
    pub(crate) fn reset(&mut self) {
        self.snapshot = StatsSnapshot::default();
    }
}
