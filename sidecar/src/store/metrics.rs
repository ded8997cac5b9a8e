//! Figures over recent runs, for the panel's chart and for Prometheus.

use mysql_async::prelude::Queryable;

use super::runs::RunRow;
use super::{SqlContext, Store, StoreError};

#[derive(Debug, Clone, Default)]
pub struct RunMetrics {
    pub runs_today: u32,
    pub success_rate: f64,
    pub skus_per_hour: f64,
    pub run_duration_avg_ms: u64,
    pub run_duration_p95_ms: u64,
    pub queue_depth: u32,
    /// Oldest first.
    pub recent_runs: Vec<RunRow>,
}

impl Store {
    pub async fn run_metrics(&self, recent: u32) -> Result<RunMetrics, StoreError> {
        let t = self.tables().clone();
        let mut runs = self.recent_runs(recent).await?;
        runs.reverse();
        let mut conn = self.conn().await?;
        let runs_today: Option<u32> = conn
            .query_first(format!("SELECT COUNT(*) FROM {} WHERE started_at >= UTC_DATE()", t.runs))
            .await
            .ctx("counting today's runs")?;
        let skus_24h: Option<Option<u64>> = conn
            .query_first(format!(
                "SELECT CAST(SUM(total_skus) AS UNSIGNED) FROM {} WHERE status <> 'running' AND finished_at >= UTC_TIMESTAMP() - INTERVAL 1 DAY",
                t.runs
            ))
            .await
            .ctx("summing the last day's SKUs")?;
        let queue_depth: Option<u32> = conn
            .query_first(format!("SELECT COUNT(*) FROM {} WHERE status = 'pending'", t.queue))
            .await
            .ctx("measuring the queue")?;
        let finished: Vec<&RunRow> = runs.iter().filter(|r| r.finished_at_ms.is_some()).collect();
        let mut durations: Vec<u64> = finished.iter().map(|r| r.duration_ms()).collect();
        durations.sort_unstable();
        let succeeded = finished.iter().filter(|r| r.status.as_str() == "completed").count();
        Ok(RunMetrics {
            runs_today: runs_today.unwrap_or(0),
            success_rate: if finished.is_empty() { 0.0 } else { succeeded as f64 / finished.len() as f64 },
            skus_per_hour: skus_24h.flatten().unwrap_or(0) as f64 / 24.0,
            run_duration_avg_ms: if durations.is_empty() { 0 } else { durations.iter().sum::<u64>() / durations.len() as u64 },
            run_duration_p95_ms: durations
                .get(((durations.len() as f64 * 0.95).ceil() as usize).clamp(1, durations.len().max(1)) - 1)
                .copied()
                .unwrap_or(0),
            queue_depth: queue_depth.unwrap_or(0),
            recent_runs: runs,
        })
    }
}
