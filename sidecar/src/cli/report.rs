//! How a run is printed, whether it came from this process or from the daemon.

use cachicamo_sidecar::proto;
use cachicamo_sidecar::store::runs::{RunRow, Totals};

pub struct RunReport {
    pub id: u64,
    pub status: String,
    pub total_batches: u32,
    pub total_skus: u64,
    pub total_products: u64,
    pub totals: Totals,
    pub duration_ms: u64,
    pub error_message: Option<String>,
}

impl From<&RunRow> for RunReport {
    fn from(r: &RunRow) -> Self {
        Self {
            id: r.id,
            status: r.status.as_str().to_owned(),
            total_batches: r.total_batches,
            total_skus: r.total_skus,
            total_products: r.total_products,
            totals: r.totals,
            duration_ms: r.duration_ms(),
            error_message: r.error_message.clone(),
        }
    }
}

pub fn status_name(v: i32) -> &'static str {
    match proto::RunStatus::try_from(v) {
        Ok(proto::RunStatus::Running) => "running",
        Ok(proto::RunStatus::Completed) => "completed",
        Ok(proto::RunStatus::CompletedWithErrors) => "completed_with_errors",
        Ok(proto::RunStatus::Failed) => "failed",
        Ok(proto::RunStatus::Cancelled) => "cancelled",
        Ok(proto::RunStatus::Planning) => "planning",
        _ => "unknown",
    }
}

pub fn totals_from(t: Option<&proto::Totals>) -> Totals {
    t.map(|t| Totals { synced: t.synced, changed: t.changed, unchanged: t.unchanged, errors: t.errors, not_found: t.not_found, conflicts: t.conflicts })
        .unwrap_or_default()
}

impl From<&proto::Run> for RunReport {
    fn from(r: &proto::Run) -> Self {
        Self {
            id: r.id,
            status: status_name(r.status).to_owned(),
            total_batches: r.total_batches,
            total_skus: r.total_skus,
            total_products: r.total_products,
            totals: totals_from(r.totals.as_ref()),
            duration_ms: r.duration_ms,
            error_message: Some(r.error_message.clone()).filter(|m| !m.is_empty()),
        }
    }
}

impl RunReport {
    pub fn json(&self) -> serde_json::Value {
        let t = self.totals;
        serde_json::json!({
            "run_id": self.id,
            "status": self.status,
            "total_batches": self.total_batches,
            "total_skus": self.total_skus,
            "total_products": self.total_products,
            "synced": t.synced,
            "changed": t.changed,
            "unchanged": t.unchanged,
            "errors": t.errors,
            "not_found": t.not_found,
            "conflicts": t.conflicts,
            "duration_ms": self.duration_ms,
        })
    }

    pub fn sentence(&self) -> String {
        let t = self.totals;
        let mut s = format!(
            "Run {} {}: {} products synced ({} changed, {} unchanged), {} errors, {} not found in Cachicamo, {} conflicts; {} batches, {} SKUs, {:.1} s",
            self.id,
            self.status.replace('_', " "),
            t.synced,
            t.changed,
            t.unchanged,
            t.errors,
            t.not_found,
            t.conflicts,
            self.total_batches,
            self.total_skus,
            self.duration_ms as f64 / 1000.0
        );
        if let Some(msg) = &self.error_message {
            s.push_str(&format!("\n{msg}"));
        }
        s
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json());
        } else {
            println!("{}", self.sentence());
        }
    }
}
