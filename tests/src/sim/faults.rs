//! Fault injection: latency, random errors, rate limiting and malformed bodies.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Ways a batch response can be broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MalformedKind {
    /// An HTML error page with status 200.
    NotJson,
    /// The first half of the real JSON array.
    Truncated,
    /// `{"data": [...]}` instead of a bare array.
    Object,
    /// Valid array, but the items holding the SKU carry a string
    /// `stock_billable` and a string retail `amount_float`.
    WrongTypes,
    /// Status 200 with an empty body.
    Empty,
    /// A valid JSON array padded to about 50 MB with filler items.
    Huge,
}

/// A partial change of the fault settings; absent fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultUpdate {
    /// Clears every fault before applying the rest.
    pub reset: bool,
    pub error_rate: Option<f64>,
    pub malformed_rate: Option<f64>,
    pub latency_ms: Option<u64>,
    /// Requests per second; 0 or less disables the limit.
    pub rate_limit_rps: Option<f64>,
    /// Batches containing any of these SKUs always fail with 500.
    pub fail_skus: Vec<String>,
    pub malformed_skus: BTreeMap<String, MalformedKind>,
}

/// Token bucket holding at most one second's worth of requests.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64) -> Self {
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            last: Instant::now(),
        }
    }

    fn try_take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.rate.max(1.0));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What the request gate decided.
pub(crate) enum Verdict {
    Pass,
    RateLimited,
    ServerError,
}

/// What to do with a batch response.
pub(crate) enum BatchFault {
    None,
    Fail,
    Malformed(MalformedKind),
}

#[derive(Debug)]
pub(crate) struct FaultState {
    error_rate: f64,
    malformed_rate: f64,
    latency_ms: u64,
    bucket: Option<TokenBucket>,
    fail_skus: HashSet<String>,
    malformed_skus: HashMap<String, MalformedKind>,
    rng: StdRng,
    /// Random malformed bodies alternate truncated and object bodies.
    truncate_next: bool,
}

impl FaultState {
    pub(crate) fn new(seed: u64) -> Self {
        FaultState {
            error_rate: 0.0,
            malformed_rate: 0.0,
            latency_ms: 0,
            bucket: None,
            fail_skus: HashSet::new(),
            malformed_skus: HashMap::new(),
            rng: StdRng::seed_from_u64(seed),
            truncate_next: true,
        }
    }

    pub(crate) fn apply(&mut self, update: FaultUpdate) {
        if update.reset {
            self.error_rate = 0.0;
            self.malformed_rate = 0.0;
            self.latency_ms = 0;
            self.bucket = None;
            self.fail_skus.clear();
            self.malformed_skus.clear();
        }
        if let Some(rate) = update.error_rate {
            self.error_rate = rate.clamp(0.0, 1.0);
        }
        if let Some(rate) = update.malformed_rate {
            self.malformed_rate = rate.clamp(0.0, 1.0);
        }
        if let Some(ms) = update.latency_ms {
            self.latency_ms = ms;
        }
        if let Some(rps) = update.rate_limit_rps {
            self.bucket = (rps > 0.0).then(|| TokenBucket::new(rps));
        }
        self.fail_skus.extend(update.fail_skus);
        self.malformed_skus.extend(update.malformed_skus);
    }

    pub(crate) fn latency_ms(&self) -> u64 {
        self.latency_ms
    }

    /// Rate limit first, then the random server error.
    pub(crate) fn gate(&mut self) -> Verdict {
        if let Some(bucket) = &mut self.bucket {
            if !bucket.try_take() {
                return Verdict::RateLimited;
            }
        }
        // Only draw when enabled so the sequence depends on the seed alone.
        if self.error_rate > 0.0 && self.rng.random_bool(self.error_rate) {
            return Verdict::ServerError;
        }
        Verdict::Pass
    }

    /// SKU-targeted faults win over the random malformed rate.
    pub(crate) fn batch_fault(&mut self, skus: &[String]) -> BatchFault {
        if skus.iter().any(|s| self.fail_skus.contains(s)) {
            return BatchFault::Fail;
        }
        let targeted = skus
            .iter()
            .filter_map(|s| self.malformed_skus.get(s))
            .find(|k| **k != MalformedKind::WrongTypes);
        if let Some(kind) = targeted {
            return BatchFault::Malformed(*kind);
        }
        if self.malformed_rate > 0.0 && self.rng.random_bool(self.malformed_rate) {
            let kind = if self.truncate_next {
                MalformedKind::Truncated
            } else {
                MalformedKind::Object
            };
            self.truncate_next = !self.truncate_next;
            return BatchFault::Malformed(kind);
        }
        BatchFault::None
    }

    /// SKUs whose items get wrong field types.
    pub(crate) fn wrong_type_skus(&self) -> HashSet<String> {
        self.malformed_skus
            .iter()
            .filter(|(_, k)| **k == MalformedKind::WrongTypes)
            .map(|(s, _)| s.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_limits_burst() {
        let mut state = FaultState::new(1);
        state.apply(FaultUpdate {
            rate_limit_rps: Some(2.0),
            ..FaultUpdate::default()
        });
        let passed = (0..10)
            .filter(|_| matches!(state.gate(), Verdict::Pass))
            .count();
        assert_eq!(passed, 2);
        state.apply(FaultUpdate {
            rate_limit_rps: Some(0.0),
            ..FaultUpdate::default()
        });
        assert!(matches!(state.gate(), Verdict::Pass));
    }

    #[test]
    fn random_malformed_alternates() {
        let mut state = FaultState::new(1);
        state.apply(FaultUpdate {
            malformed_rate: Some(1.0),
            ..FaultUpdate::default()
        });
        let kinds: Vec<_> = (0..4)
            .map(|_| match state.batch_fault(&[]) {
                BatchFault::Malformed(k) => Some(k),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                Some(MalformedKind::Truncated),
                Some(MalformedKind::Object),
                Some(MalformedKind::Truncated),
                Some(MalformedKind::Object)
            ]
        );
    }
}
