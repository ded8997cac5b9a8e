//! MariaDB itself killed and restarted in the middle of a run, on a server of this test's own:
//! the daemon reports the database as unavailable, reconnects, and the run completes with no
//! partial batch.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cachicamo_sidecar::proto;
use cachicamo_testkit::seed::SeedOptions;
use common::daemon::DaemonProc;
use common::invariants::{assert_consistent, q, wait_completed};
use common::{Harness, PREFIX};

/// A MariaDB server of this test's own, so restarting it disturbs no other test.
struct PrivateMariaDb {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateMariaDb {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let out = std::process::Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", data.display()))
            .output()
            .expect("mariadb-install-db");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // Outside the ephemeral range: while the server is down, the daemon's reconnects to
        // this port could otherwise take it as their own source port and keep it from restarting.
        let port = common::daemon::free_port();
        let mut db = Self { dir, port, child: None };
        db.launch().await;
        db
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    async fn launch(&mut self) {
        let socket: PathBuf = self.dir.path().join("mysqld.sock");
        let child = tokio::process::Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data().display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={}", self.port))
            .args(["--bind-address=127.0.0.1", "--user=root", "--skip-grant-tables", "--innodb-buffer-pool-size=128M", "--skip-log-bin"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mariadbd");
        self.child = Some(child);
        wait_port(self.port).await;
    }

    async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.expect("kill mariadbd");
        }
    }
}

async fn wait_port(port: u16) {
    for _ in 0..300 {
        if let Ok(pool) = mysql_async::Pool::from_url(format!("mysql://root@127.0.0.1:{port}")).map(Ok::<_, ()>) {
            if let Ok(pool) = pool {
                if pool.get_conn().await.is_ok() {
                    let _ = pool.disconnect().await;
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mariadbd did not start on port {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_killed_and_restarted_mid_run() {
    let mut server = PrivateMariaDb::start().await;
    // This test binary holds only this test, so pointing the test kit at the private server
    // affects nothing else.
    let private_url = format!("mysql://root@127.0.0.1:{}", server.port);
    cachicamo_testkit::testdb::copy_template_to(&private_url).await.expect("the real store on the private server");
    std::env::set_var("CACHICAMO_TEST_DB_URL", private_url);
    let h = Harness::new(SeedOptions { simple: 1500, variable: 10, variations: 5, missing: 0.0, ..SeedOptions::default() }).await;
    h.sim.faults().set_latency_ms(60);
    let d = DaemonProc::start(&h, &[("CACHICAMO_BATCH_SIZE", "40")]).await;
    let mut c = d.client().await;
    let run = c.start_sync(proto::StartSyncRequest { trigger: proto::Trigger::Cli as i32 }).await.expect("start").into_inner().run.expect("run");
    while q(&h, format!("SELECT COUNT(*) FROM {PREFIX}cachicamoapp_batch_queue WHERE run_id = {} AND status = 'completed'", run.id)).await < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().await;
    // While the database is down the daemon says so.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let down = c.get_status(proto::GetStatusRequest {}).await.expect_err("the database is down");
    assert_eq!(down.code(), tonic::Code::Unavailable, "{}", down.message());
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.launch().await;
    h.sim.faults().set_latency_ms(0);
    wait_completed(&h, run.id, Duration::from_secs(120)).await;
    assert_consistent(&h, run.id).await;
    assert!(Path::new(&d.socket).exists());
}
