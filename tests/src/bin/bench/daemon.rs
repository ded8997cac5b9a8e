//! The `cachicamo-sidecar serve` process the bench measures: spawned from the binary next to the
//! bench's own, on a socket in a private temporary folder, stopped with SIGTERM at the end.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use cachicamo_sidecar::proto::sync_service_client::SyncServiceClient;
use cachicamo_sidecar::rpc::client;
use tokio::process::{Child, Command};
use tonic::transport::Channel;

const DAEMON_BINARY: &str = "cachicamo-sidecar";

pub struct Daemon {
    child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
    dir: PathBuf,
}

/// What the daemon is configured with, beyond its socket.
pub struct DaemonSettings {
    pub db_url: String,
    pub api_url: String,
    pub prefix: String,
    pub workers: usize,
    pub batch_size: usize,
    pub log_filter: String,
}

/// The daemon binary of the same build as this bench (`target/<profile>/`).
pub fn daemon_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the bench's own executable")?;
    let dir = exe.parent().context("the bench executable has no parent folder")?;
    let path = dir.join(DAEMON_BINARY);
    if !path.is_file() {
        bail!(
            "{DAEMON_BINARY} is missing next to the bench ({}): build both with `cargo build --release --workspace --bins`",
            path.display()
        );
    }
    Ok(path)
}

impl Daemon {
    pub async fn start(binary: &Path, settings: &DaemonSettings) -> anyhow::Result<Self> {
        // A private folder per bench: the socket must not collide with a real sidecar's.
        let dir = std::env::temp_dir().join(format!("cachicamo-bench-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let socket = dir.join("sidecar.sock");
        let log = dir.join("sidecar.log");
        let log_file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new(binary);
        cmd.arg("serve")
            .env_clear()
            .env("CACHICAMO_SOCKET", &socket)
            .env("CACHICAMO_DB_URL", &settings.db_url)
            .env("CACHICAMO_API_URL", &settings.api_url)
            .env("CACHICAMO_TABLE_PREFIX", &settings.prefix)
            .env("CACHICAMO_WORKERS", settings.workers.to_string())
            .env("CACHICAMO_BATCH_SIZE", settings.batch_size.to_string())
            // The simulator is local: the bench measures the sidecar, not a request quota.
            .env("CACHICAMO_RATE_LIMIT", "10000")
            .env("CACHICAMO_LOG", &settings.log_filter)
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        let child = cmd.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
        let mut daemon = Self { child, socket, log, dir };
        daemon.wait_ready().await?;
        Ok(daemon)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().context("cannot check the daemon process")? {
                bail!("the daemon exited with {status} while starting; its log:\n{}", self.log_tail());
            }
            if client::connect(&self.socket).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the daemon did not open its socket within 30 s; its log:\n{}", self.log_tail())
    }

    pub async fn client(&self) -> anyhow::Result<SyncServiceClient<Channel>> {
        Ok(client::connect(&self.socket).await?)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The daemon's peak resident set (VmHWM) so far, in MiB.
    pub fn peak_rss_mb(&self) -> anyhow::Result<f64> {
        let pid = self.pid().context("the daemon is no longer running")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("cannot read the daemon's /proc status")?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("the daemon's /proc status has no VmHWM line")?;
        Ok(kib / 1024.0)
    }

    /// The last lines of the daemon's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM, a clean exit within 30 s, and the temporary folder removed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let pid = i32::try_from(pid).context("the daemon's pid does not fit a pid_t")?;
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM).context("cannot signal the daemon")?;
        }
        let waited = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        let result = match waited {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(anyhow::anyhow!("the daemon exited with {status}; its log:\n{}", self.log_tail())),
            Ok(Err(e)) => Err(anyhow::anyhow!("cannot wait for the daemon: {e}")),
            Err(_) => {
                self.child.kill().await.context("cannot kill the daemon")?;
                Err(anyhow::anyhow!("the daemon did not stop within 30 s of SIGTERM"))
            }
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        result
    }
}
