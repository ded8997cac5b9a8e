//! Health monitoring: conditions the daemon watches while it runs. Each raises an alert once
//! when it starts (a row in the alerts table, shared by every sidecar of the store) and clears it
//! when it ends. The WordPress plugin turns new alerts into an admin notice, an e-mail and an
//! optional webhook call.

use std::time::Duration;

use super::daemon::Daemon;
use super::EngineError;
use crate::store::runs::RunRow;

/// A lease this far past its expiry means nobody is taking batches over.
const LEASE_GRACE_MS: i64 = 60_000;

/// One watched condition: `Some(message)` while it holds.
struct Finding {
    kind: &'static str,
    message: Option<String>,
}

impl Daemon {
    /// Evaluates every condition and raises or clears its alert.
    pub async fn watch_health(&self) -> Result<(), EngineError> {
        let findings = self.findings().await?;
        let store = self.engine().store();
        let mut moved = false;
        for f in findings {
            moved |= match f.message {
                Some(message) => store.raise_alert(f.kind, &message).await?,
                None => store.clear_alert(f.kind).await?,
            };
        }
        if moved {
            self.changed().await;
        }
        Ok(())
    }

    async fn findings(&self) -> Result<Vec<Finding>, EngineError> {
        let store = self.engine().store();
        let config = self.engine().config();
        let now = chrono::Utc::now().timestamp_millis();
        let active = store.active_run().await?;
        let paused = self.is_paused();

        let stalled = match (&active, paused) {
            (Some(run), false) => {
                let idle_ms = now - store.last_progress_ms(run.id).await?;
                let limit = Duration::from_secs(u64::from(config.stall_minutes) * 60);
                (idle_ms > limit.as_millis() as i64).then(|| {
                    format!(
                        "Run {} has made no progress for {} minutes; check `cachicamo-sidecar status` and the sidecar's log.",
                        run.id,
                        idle_ms / 60_000
                    )
                })
            }
            _ => None,
        };

        let watched: Option<RunRow> = match active.clone() {
            Some(run) => Some(run),
            None => store.last_finished_run().await?,
        };
        let failures = match &watched {
            Some(run) => {
                let n = config.failure_streak;
                let outcomes = store.last_batch_outcomes(run.id, n).await?;
                (outcomes.len() == n as usize && outcomes.iter().all(|(s, _)| s == "error")).then(|| {
                    let last = outcomes.first().and_then(|(_, m)| m.clone()).unwrap_or_default();
                    format!("{n} batches of run {} failed in a row; the last: {last}", run.id)
                })
            }
            None => None,
        };

        let overdue = store
            .leases()
            .await?
            .into_iter()
            .find(|l| now - l.expires_at_ms > LEASE_GRACE_MS)
            .map(|l| {
                format!(
                    "Batch {} is held by {} {} s past its lease and no sidecar takes it over: is every sidecar stopped or paused?",
                    l.batch_id,
                    l.owner,
                    (now - l.expires_at_ms) / 1000
                )
            });

        let api = self.api_problem().map(|m| format!("The Cachicamo API is not answering: {m}"));

        let interval_ms = i64::from(store.load_settings().await?.plugin.interval_minutes) * 60_000;
        let sync_overdue = match store.last_completed_run().await?.and_then(|r| r.finished_at_ms) {
            Some(at) if now - at > 2 * interval_ms => Some(format!(
                "The last successful sync finished {} hours ago, more than twice the {}-minute interval.",
                (now - at) / 3_600_000,
                interval_ms / 60_000
            )),
            _ => None,
        };

        Ok(vec![
            Finding { kind: "stalled_run", message: stalled },
            Finding { kind: "batch_failures", message: failures },
            Finding { kind: "lease_overdue", message: overdue },
            Finding { kind: "api_unreachable", message: api },
            Finding { kind: "sync_overdue", message: sync_overdue },
        ])
    }
}
