//! procura servers on a test's own cluster: in this process (the same `Application::build`
//! that `main` uses), or as the `procura-server` binary when the test signals it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use procura_server::config::Settings;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

pub use crate::clients::Clients;

/// A lazily connecting channel to `http://{addr}`.
pub fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid endpoint URL")
        .connect_lazy()
}

/// The overall health status the server at `channel` reports.
pub async fn health(channel: &Channel) -> Result<ServingStatus, tonic::Status> {
    let answer = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(answer.into_inner().status())
}

/// A server running in this test process.
pub struct App {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A channel to it.
    pub channel: Channel,
    /// The bootstrap admin's token.
    pub token: String,
    /// Clients calling as the bootstrap admin.
    pub clients: Clients,
    /// Stops the server at once when dropped, with the app.
    _abort: oneshot::Sender<()>,
}

/// Starts a server on `127.0.0.1:0` against `database_url`, with settings changed by
/// `adjust`; `token` is the admin token when the database has one already.
pub async fn start(
    database_url: &str,
    token: Option<&str>,
    adjust: impl FnOnce(&mut Settings),
) -> App {
    crate::logs::init_tracing();
    let mut settings = Settings::new("127.0.0.1:0".parse().expect("an address"), database_url);
    settings.pool_max_size = 4;
    adjust(&mut settings);
    let app = procura_server::startup::Application::build(settings)
        .await
        .expect("Application::build on the test's cluster");
    let addr = app.local_addr();
    let token = app
        .bootstrap_token()
        .map(str::to_owned)
        .or(token.map(str::to_owned))
        .expect("a fresh database gets a bootstrap admin");
    let (abort, abort_received) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_aborted(std::future::pending(), async move {
        let _ = abort_received.await;
    }));
    let channel = channel(addr);
    let clients = Clients::new(&channel, &token);
    App {
        addr,
        channel,
        token,
        clients,
        _abort: abort,
    }
}

impl App {
    /// Clients over a channel (one HTTP/2 connection) of their own.
    pub fn own_clients(&self) -> Clients {
        Clients::new(&channel(self.addr), &self.token)
    }
}

/// A binary of this build (`target/<profile>/NAME`), beside the folder of this test
/// executable (`target/<profile>/deps/`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps")
        .join(name);
    assert!(
        binary.is_file(),
        "build the binaries first: cargo build --workspace --bins (no {})",
        binary.display()
    );
    binary
}

/// A folder of the test's, removed when dropped: a home for the CLI and the server's
/// credentials file, never the real home.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "procura-faults-files-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path).expect("a temporary folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `procura-server` process, killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
    files: TempDir,
}

impl ServerProcess {
    /// Starts `procura-server` on a free port against `database_url`, with `args` besides,
    /// and waits until it serves.
    pub async fn start(database_url: &str, args: &[&str]) -> ServerProcess {
        let files = TempDir::new();
        let addr: SocketAddr = format!("127.0.0.1:{}", super::cluster::free_port())
            .parse()
            .expect("an address");
        let stderr = std::fs::File::create(files.0.join("stderr")).expect("a stderr file");
        let child = std::process::Command::new(binary("procura-server"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--database-url")
            .arg(database_url)
            .args(args)
            .env("HOME", &files.0)
            .env("PROCURA_CREDENTIALS_FILE", files.0.join("credentials"))
            .env("RUST_LOG", "info")
            .env_remove("PROCURA_POOL_SIZE")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cannot start procura-server");
        let mut process = ServerProcess { child, addr, files };
        let serving = super::cluster::eventually(Duration::from_secs(30), async || {
            health(&channel(addr)).await.is_ok()
        })
        .await;
        assert!(
            serving,
            "procura-server never served:\n{}",
            process.stderr()
        );
        assert!(process.child.try_wait().expect("its status").is_none());
        process
    }

    /// The admin token its first start wrote.
    pub fn token(&self) -> String {
        let text = std::fs::read_to_string(self.files.0.join("credentials")).unwrap_or_default();
        match procura_client::credentials::parse_credentials(&text) {
            Ok(Some(secret)) => secret.expose().to_owned(),
            other => panic!("no token in the credentials file: {other:?}"),
        }
    }

    /// Its peak resident memory so far (VmHWM of /proc/PID/status), in MB.
    pub fn peak_rss_mb(&self) -> u64 {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let kb: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in {path}"));
        kb / 1024
    }

    /// What it wrote to standard error.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.files.0.join("stderr")).unwrap_or_default()
    }

    /// Sends it `signal` (TERM, INT).
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Its exit status once it ended within `within`; `None` while it runs.
    pub async fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("its status") {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
