//! The server under test: built in release mode, started as a child process on its own database, stopped and cleaned up; CPU and memory readings of it and its PostgreSQL backends.

use super::*;

/// Builds the server binary of the profile this bench was built with and returns its path;
/// `PROCURA_BENCH_SERVER_BIN` names another binary to run instead (e.g. an experimental build).
pub(crate) fn build_server() -> Result<PathBuf> {
    if let Ok(binary) = std::env::var("PROCURA_BENCH_SERVER_BIN") {
        let binary = PathBuf::from(binary);
        ensure!(binary.exists(), "{} is missing", binary.display());
        eprintln!("using the server binary {}", binary.display());
        return Ok(binary);
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/national-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow!("cannot find the target directory from {}", exe.display()))?
        .to_owned();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or_else(|| anyhow!("no workspace directory"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args([
        "build",
        "-p",
        "procura-server",
        "--bin",
        "procura-server",
    ]);
    if release {
        command.arg("--release");
    }
    eprintln!(
        "building procura-server ({})",
        if release { "release" } else { "debug" }
    );
    let status = command.status().context("cannot run cargo")?;
    ensure!(
        status.success(),
        "building procura-server failed; run `cargo build --release -p procura-server`"
    );
    let binary = profile_dir.join("procura-server");
    ensure!(binary.exists(), "{} is missing", binary.display());
    Ok(binary)
}

/// What is to be undone however the run ends: the server to stop and the databases to drop.
pub(crate) struct Cleanup {
    pub(crate) server: Option<Child>,
    pub(crate) databases: Vec<String>,
    pub(crate) keep: bool,
}

pub(crate) fn stop_server(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(child) = self.server.take() {
            stop_server(child);
        }
        for database in &self.databases {
            if self.keep {
                eprintln!("kept database {database}");
            } else if let Err(error) = psql(
                &db_url("postgres"),
                &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
            ) {
                eprintln!("could not drop {database}: {error:#}");
            }
        }
    }
}

/// Starts the server on a free port and waits until its health check says SERVING.
pub(crate) async fn start_server(
    binary: &Path,
    database_url: &str,
    log: &Path,
    cleanup: &mut Cleanup,
) -> Result<(String, u32, String)> {
    let credentials = log.with_file_name("procura-bench-credentials");
    let _ = std::fs::remove_file(&credentials);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let log_file = std::fs::File::create(log)
        .with_context(|| format!("cannot create server log {}", log.display()))?;
    let child = Command::new(binary)
        .args([
            "--listen",
            &listen,
            "--database-url",
            database_url,
            "--pool-size",
            "8",
            "--credentials-file",
        ])
        .arg(&credentials)
        .args(extra_server_args())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = child.id();
    cleanup.server = Some(child);
    let url = format!("http://{listen}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(child) = cleanup.server.as_mut()
            && let Some(status) = child.try_wait()?
        {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            bail!("procura-server exited ({status}) before serving:\n{text}");
        }
        if let Ok(channel) = Endpoint::from_shared(url.clone())?.connect().await {
            let answer = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
                // A new database: the server made its first admin and wrote the token. A kept
                // one (--database) has principals already: the token of its first run stays.
                let token = read_token(&credentials).context(
                    "the server wrote no credentials file: a kept database needs its first run's",
                )?;
                return Ok((url, pid, token));
            }
        }
        ensure!(
            Instant::now() < deadline,
            "procura-server did not become SERVING within 120 s (log: {})",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A field of /proc/<pid>/status in kB (VmHWM: peak resident set; VmRSS: now).
pub(crate) fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Clock ticks per second of /proc/<pid>/stat.
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds (user + system) process `pid` (or `self`) has used so far.
pub(crate) fn cpu_seconds(pid: &str, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

/// CPU seconds all cores of the machine spent busy (not idle or waiting for I/O).
pub(crate) fn machine_busy_seconds(ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let values: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    let busy: f64 = values
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Some(busy / ticks)
}

/// Where CPU time went: this process, the server, the PostgreSQL backends serving the
/// server's database, and the machine as a whole.
#[derive(Debug, Default, Clone)]
pub(crate) struct CpuSnapshot {
    pub(crate) client: f64,
    pub(crate) server: f64,
    pub(crate) backends: BTreeMap<String, f64>,
    pub(crate) machine: f64,
}

pub(crate) fn cpu_snapshot(server_pid: u32, database: &str, ticks: f64) -> CpuSnapshot {
    let pids = psql(
        &db_url("postgres"),
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{database}' AND \
             application_name LIKE 'procura-server%'"
        ),
    )
    .unwrap_or_default();
    CpuSnapshot {
        client: cpu_seconds("self", ticks).unwrap_or(0.0),
        server: cpu_seconds(&server_pid.to_string(), ticks).unwrap_or(0.0),
        backends: pids
            .lines()
            .filter_map(|pid| Some((pid.to_owned(), cpu_seconds(pid, ticks)?)))
            .collect(),
        machine: machine_busy_seconds(ticks).unwrap_or(0.0),
    }
}

/// CPU seconds used between two snapshots, as (client, server, backends, machine).
pub(crate) fn cpu_used(before: &CpuSnapshot, after: &CpuSnapshot) -> (f64, f64, f64, f64) {
    let backends = after
        .backends
        .iter()
        .map(|(pid, t)| t - before.backends.get(pid).copied().unwrap_or(0.0))
        .sum();
    (
        after.client - before.client,
        after.server - before.server,
        backends,
        after.machine - before.machine,
    )
}

// ---------------------------------------------------------------------------------------------

/// Further options for the benchmark's server, from `PROCURA_BENCH_SERVER_ARGS` (split at
/// white space), e.g. `--max-concurrent-calls 64`.
fn extra_server_args() -> Vec<String> {
    std::env::var("PROCURA_BENCH_SERVER_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
