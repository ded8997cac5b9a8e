//! CPU time per process over a phase, from /proc: what dominated it (the sidecar, MariaDB, or
//! this process, which hosts the simulator), in a way that other load on the machine does not
//! distort as much as wall-clock time.

use serde::Serialize;

/// Seconds of CPU (user + system) a process has used so far; `None` when it cannot be read.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // /proc counts in USER_HZ, which Linux fixes at 100 whatever the kernel's own tick rate.
    Some(ticks / 100.0)
}

/// Seconds of CPU the hypervisor gave to other guests while this one wanted it (steal), summed
/// over all processors; 0 on bare metal or when it cannot be read.
fn steal_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // "cpu  user nice system idle iowait irq softirq steal ...", in USER_HZ (100 per second).
    stat.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(8))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |ticks| ticks / 100.0)
}

/// The local MariaDB (or MySQL) server process, when there is one.
pub fn database_pid() -> Option<u32> {
    let dir = std::fs::read_dir("/proc").ok()?;
    dir.filter_map(Result::ok).find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
    })
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUse {
    pub sidecar_s: f64,
    /// `None` when the database server is not a local process.
    pub database_s: Option<f64>,
    /// The bench itself: the simulator and the gRPC client.
    pub simulator_s: f64,
    /// Taken by the hypervisor from this machine's processors: how much other guests on a
    /// shared host got in the way.
    pub steal_s: f64,
}

pub struct Sampler {
    sidecar: u32,
    database: Option<u32>,
    start: (f64, Option<f64>, f64, f64),
}

impl Sampler {
    pub fn start(sidecar: u32, database: Option<u32>) -> Self {
        let mut s = Self { sidecar, database, start: (0.0, None, 0.0, 0.0) };
        s.start = s.now();
        s
    }

    fn now(&self) -> (f64, Option<f64>, f64, f64) {
        (
            cpu_seconds(self.sidecar).unwrap_or(0.0),
            self.database.and_then(cpu_seconds),
            cpu_seconds(std::process::id()).unwrap_or(0.0),
            steal_seconds(),
        )
    }

    pub fn stop(&self) -> CpuUse {
        let (s, d, b, st) = self.now();
        let round = |x: f64| (x * 100.0).round() / 100.0;
        CpuUse {
            sidecar_s: round(s - self.start.0),
            database_s: d.zip(self.start.1).map(|(a, b)| round(a - b)),
            simulator_s: round(b - self.start.2),
            steal_s: round(st - self.start.3),
        }
    }
}
