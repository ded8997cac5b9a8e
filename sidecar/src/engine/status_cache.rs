//! The database part of the status, kept in memory so `GetStatus` rarely waits on the database.
//! While this sidecar plans or works a run the database is busy, and a status read live would
//! queue its small queries behind the batches' statements, so the daemon refreshes it in the
//! background a few times a second; outside runs a read is kept for a moment, so callers that ask
//! together (the panel, WP-Cron and WP-CLI) share it. A command or a state change that alters what
//! the status says drops the cached part, commands read it anew before they answer, and the end of
//! a run holds the cache empty, so a caller never sees a status older than its own action.
//!
//! The view is shared as an `Arc`, so the lock is held only to swap a pointer: the control plane
//! never waits on a lower-priority engine thread that was preempted while copying a view.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::daemon::RunView;
use crate::store::alerts::AlertRow;
use crate::store::queue::LeaseRow;

/// What the status shows from the database.
#[derive(Debug, Clone, Default)]
pub(super) struct StoredStatus {
    /// Why the database could not be read, when it could not.
    pub database_down: Option<String>,
    pub current_run: Option<RunView>,
    pub last_run: Option<RunView>,
    pub lock_holder: String,
    pub leases: Vec<LeaseRow>,
    pub active_alerts: Vec<AlertRow>,
    pub recent_alerts: Vec<AlertRow>,
    /// A detail that could not be read although the database answered.
    pub error: Option<String>,
}

#[derive(Default)]
struct Slot {
    /// Bumped on every invalidation: a view computed from an older generation is stale.
    generation: u64,
    /// While held (a run is being finished), nothing is cached.
    held: bool,
    view: Option<(Instant, Arc<StoredStatus>)>,
}

#[derive(Default)]
pub(super) struct StatusCache {
    slot: Mutex<Slot>,
}

impl StatusCache {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generation a refresh starts from; pass it back to [`StatusCache::store`].
    pub fn generation(&self) -> u64 {
        self.slot().generation
    }

    pub fn invalidate(&self) {
        self.drop_view(false);
    }

    /// Invalidates and keeps the cache empty until [`StatusCache::release`].
    pub fn hold(&self) {
        self.drop_view(true);
    }

    fn drop_view(&self, hold: bool) {
        let dropped = {
            let mut s = self.slot();
            s.generation += 1;
            s.held |= hold;
            s.view.take()
        };
        drop(dropped);
    }

    pub fn release(&self) {
        let mut s = self.slot();
        s.generation += 1;
        s.held = false;
    }

    /// Keeps `view` unless something invalidated the cache since `generation` was read.
    pub fn store(&self, generation: u64, view: Arc<StoredStatus>) {
        let replaced = {
            let mut s = self.slot();
            (s.generation == generation && !s.held).then(|| s.view.replace((Instant::now(), view))).flatten()
        };
        drop(replaced);
    }

    /// The cached part, if it is younger than `max_age`.
    pub fn fresh(&self, max_age: Duration) -> Option<Arc<StoredStatus>> {
        let s = self.slot();
        s.view.as_ref().filter(|(at, _)| at.elapsed() < max_age).map(|(_, v)| Arc::clone(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(lock_holder: &str) -> Arc<StoredStatus> {
        Arc::new(StoredStatus { lock_holder: lock_holder.into(), ..StoredStatus::default() })
    }

    fn holder(cache: &StatusCache) -> Option<String> {
        cache.fresh(AGE).map(|v| v.lock_holder.clone())
    }

    const AGE: Duration = Duration::from_secs(60);

    #[test]
    fn a_view_computed_before_an_invalidation_is_dropped() {
        let cache = StatusCache::default();
        let g = cache.generation();
        cache.invalidate();
        cache.store(g, view("a"));
        assert_eq!(holder(&cache), None);
        let g = cache.generation();
        cache.store(g, view("b"));
        assert_eq!(holder(&cache).as_deref(), Some("b"));
        cache.invalidate();
        assert_eq!(holder(&cache), None, "an invalidation drops the cached view");
    }

    #[test]
    fn nothing_is_cached_while_held() {
        let cache = StatusCache::default();
        cache.hold();
        let g = cache.generation();
        cache.store(g, view("a"));
        assert_eq!(holder(&cache), None);
        cache.release();
        cache.store(g, view("a"));
        assert_eq!(holder(&cache), None, "a view begun while held is stale after the release");
        let g = cache.generation();
        cache.store(g, view("c"));
        assert_eq!(holder(&cache).as_deref(), Some("c"));
    }

    #[test]
    fn an_old_view_is_not_served() {
        let cache = StatusCache::default();
        let g = cache.generation();
        cache.store(g, view("a"));
        assert!(cache.fresh(Duration::ZERO).is_none());
    }
}
