//! A `cachicamo-sidecar serve` process on a socket of its own, for tests that kill and restart it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cachicamo_sidecar::proto::sync_service_client::SyncServiceClient;
use cachicamo_sidecar::rpc::client;
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use super::{binary, Harness, PREFIX};

/// A TCP port of 127.0.0.1 that is free now, for a server that must be told its port. It is
/// picked outside the kernel's ephemeral range: a port from binding port 0 is in that range, so
/// between the check and the server's bind another test's listener on port 0 or any outgoing
/// connection (even a reconnect to this very port, which then connects to itself) could be
/// handed it.
pub fn free_port() -> u16 {
    let range =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let low: u16 = range
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(32768);
    if low > 11_000 {
        for _ in 0..200 {
            let port = rand::random_range(10_000..low);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

pub struct DaemonProc {
    pub child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Environment a daemon of this harness runs with; `extra` adds or overrides.
pub fn daemon_env(h: &Harness) -> Vec<(String, String)> {
    vec![
        ("CACHICAMO_DB_URL".into(), h.db.url.clone()),
        ("CACHICAMO_API_URL".into(), h.sim.base_url()),
        ("CACHICAMO_TABLE_PREFIX".into(), PREFIX.into()),
        ("CACHICAMO_WORKERS".into(), "2".into()),
        ("CACHICAMO_BATCH_SIZE".into(), "50".into()),
        ("CACHICAMO_RATE_LIMIT".into(), "1000".into()),
        ("CACHICAMO_LEASE_SECS".into(), "10".into()),
        ("CACHICAMO_API_ATTEMPTS".into(), "3".into()),
        ("CACHICAMO_LOG".into(), "info".into()),
    ]
}

impl DaemonProc {
    pub async fn start(h: &Harness, extra: &[(&str, &str)]) -> Self {
        Self::start_with_args(h, extra, &[]).await
    }

    pub async fn start_with_args(h: &Harness, extra: &[(&str, &str)], args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("sidecar.sock");
        let log = dir.path().join("sidecar.log");
        let child = spawn(h, &socket, &log, extra, args);
        let d = Self {
            child,
            socket,
            log,
            _dir: dir,
        };
        d.wait_ready().await;
        d
    }

    /// Starts again on the same socket and log (after a kill).
    pub async fn restart(&mut self, h: &Harness, extra: &[(&str, &str)]) {
        self.child = spawn(h, &self.socket, &self.log, extra, &[]);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if client::connect(&self.socket).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the daemon did not start; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    pub async fn client(&self) -> SyncServiceClient<Channel> {
        client::connect(&self.socket)
            .await
            .expect("connect to the daemon")
    }

    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("SIGKILL the daemon");
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .expect("SIGTERM");
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the daemon stops within 30 s")
            .expect("wait")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn spawn(h: &Harness, socket: &Path, log: &Path, extra: &[(&str, &str)], args: &[&str]) -> Child {
    let mut cmd = Command::new(binary("cachicamo-sidecar"));
    cmd.arg("serve")
        .args(args)
        .env_clear()
        .env("CACHICAMO_SOCKET", socket);
    for (k, v) in daemon_env(h) {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    cmd.stdout(Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true);
    cmd.spawn().expect("spawn cachicamo-sidecar serve")
}
