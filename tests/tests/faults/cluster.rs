//! A PostgreSQL cluster of the test's own: `initdb` into a temporary folder once per test
//! process (with the procura database migrated), copied for each test, started with `pg_ctl`
//! on a free port of 127.0.0.1, so that a test can stop, freeze and restart it without
//! touching the shared server. As root, every PostgreSQL program runs as the `postgres` user
//! (`runuser`), since PostgreSQL refuses to run as root.
//!
//! The binaries: `PROCURA_PG_BIN` when set, else `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The folders of this process's clusters start with this, followed by the process id.
const PREFIX: &str = "procura-faults-";

/// A running cluster of the test's own, stopped and removed when dropped.
pub struct Cluster {
    /// The folder holding the data folder and the socket.
    root: PathBuf,
    /// The port it listens on.
    pub port: u16,
    frozen: std::sync::atomic::AtomicBool,
}

/// Where the PostgreSQL programs are.
fn bin_dir() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(dir) = std::env::var_os("PROCURA_PG_BIN") {
                return PathBuf::from(dir);
            }
            if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
                && output.status.success()
            {
                let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
                if dir.join("initdb").is_file() {
                    return dir;
                }
            }
            let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .map(|dirs| {
                    dirs.filter_map(Result::ok)
                        .map(|d| d.path().join("bin"))
                        .filter(|bin| bin.join("initdb").is_file())
                        .collect()
                })
                .unwrap_or_default();
            found.sort_by_key(|p| {
                p.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            });
            found.pop().expect(
                "no PostgreSQL binaries (initdb, pg_ctl): set PROCURA_PG_BIN to their folder",
            )
        })
        .clone()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program` of the PostgreSQL binaries, run as `postgres` when this process is root.
fn pg(program: &str) -> Command {
    let path = bin_dir().join(program);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

/// Runs `command`, panicking with its output when it fails.
fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes `path` the PostgreSQL user's when this process is root.
fn hand_over(path: &Path) {
    if is_root() {
        let mut command = Command::new("chown");
        command.arg("-R").arg("postgres:postgres").arg(path);
        run(command, "chown");
    }
}

/// A free TCP port on 127.0.0.1 (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A folder of this process's for a cluster.
fn new_root(what: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "{PREFIX}{}-{what}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&root).expect("a temporary folder");
    root
}

/// The migrated data folder every cluster of this process starts from: made once.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        remove_leftovers();
        let root = new_root("template");
        let data = root.join("data");
        hand_over(&root);
        let mut initdb = pg("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync"]);
        run(initdb, "initdb");
        let cluster = Cluster {
            root: root.clone(),
            port: free_port(),
            frozen: false.into(),
        };
        cluster.configure();
        cluster.start();
        // Migrated once here, not at every test; the runtime is a plain thread's own.
        let url = cluster.url("procura");
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(procura_server::db::prepare_database(&url))
        })
        .join()
        .expect("the migrating thread")
        .unwrap_or_else(|e| panic!("migrating the template cluster: {e}"));
        cluster.stop();
        // The folder stays for the copies; Drop would remove it.
        let root = cluster.root.clone();
        std::mem::forget(cluster);
        root.join("data")
    })
}

/// Stops and removes the clusters of test processes that are gone.
fn remove_leftovers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        let data = entry.path().join("data");
        if data.join("postmaster.pid").exists() {
            let _ = pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["stop", "-m", "immediate", "-w"])
                .output();
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

impl Cluster {
    /// A new running cluster with a migrated `procura` database (no procura data yet).
    pub fn start_new() -> Cluster {
        let template = template();
        let root = new_root("cluster");
        let mut copy = Command::new("cp");
        copy.arg("-a").arg(template).arg(root.join("data"));
        run(copy, "copying the template cluster");
        let _ = std::fs::remove_file(root.join("data/postmaster.pid"));
        hand_over(&root);
        let cluster = Cluster {
            root,
            port: free_port(),
            frozen: false.into(),
        };
        cluster.configure();
        cluster.start();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Sets port, socket folder and what makes a test cluster quick without losing a commit
    /// when it is stopped as a crash would (no fsync, but every commit written out).
    fn configure(&self) {
        let settings = format!(
            "\n# procura fault tests\nport = {}\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\nfsync = off\nfull_page_writes = off\nmax_connections = 200\nshared_buffers = 32MB\n",
            self.port,
            self.root.display()
        );
        let path = self.data().join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        // A copy of the template carries the template's port: the last setting wins.
        text.push_str(&settings);
        std::fs::write(&path, text).expect("writing postgresql.auto.conf");
    }

    /// Appends `line` to `pg_hba.conf` before the others, and reloads.
    pub fn authenticate_first(&self, line: &str) {
        let path = self.data().join("pg_hba.conf");
        let text = std::fs::read_to_string(&path).expect("reading pg_hba.conf");
        std::fs::write(&path, format!("{line}\n{text}")).expect("writing pg_hba.conf");
        let mut reload = pg("pg_ctl");
        reload.arg("-D").arg(self.data()).arg("reload");
        run(reload, "pg_ctl reload");
    }

    /// Starts it and waits until it accepts connections.
    pub fn start(&self) {
        let mut start = pg("pg_ctl");
        start
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.root.join("log"))
            .args(["-w", "-t", "60", "start"]);
        run(start, "pg_ctl start");
    }

    /// Stops it cleanly.
    fn stop(&self) {
        let mut stop = pg("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "fast", "stop"]);
        run(stop, "pg_ctl stop");
    }

    /// Stops it as a crash would (`pg_ctl stop -m immediate`): every connection is cut.
    pub fn stop_immediately(&self) {
        let mut stop = pg("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"]);
        run(stop, "pg_ctl stop -m immediate");
    }

    /// The URL of database `name` on it.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The postmaster and every process it started (the backends and helpers).
    fn processes(&self) -> Vec<String> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .expect("the cluster runs (postmaster.pid)");
        let postmaster = pid_file
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut pids = vec![postmaster.clone()];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …: the command may hold spaces, so read after its ')'.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if parent == Some(postmaster.as_str()) {
                pids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        pids
    }

    fn signal(&self, signal: &str, pids: &[String]) {
        let mut kill = Command::new("kill");
        kill.arg(format!("-{signal}")).args(pids);
        // A backend may end between listing and signalling.
        let _ = kill.output();
    }

    /// Freezes the postmaster and all its processes (SIGSTOP): connections stay open and
    /// nothing answers, as a database that hangs.
    pub fn freeze(&self) {
        let pids = self.processes();
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
        self.signal("STOP", &pids);
    }

    /// Lets a frozen cluster run again (SIGCONT), backends first.
    pub fn thaw(&self) {
        let mut pids = self.processes();
        pids.reverse();
        self.signal("CONT", &pids);
        self.frozen
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.frozen.load(std::sync::atomic::Ordering::SeqCst) {
            self.thaw();
        }
        if self.data().join("postmaster.pid").exists() {
            let _ = pg("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-w", "-m", "immediate", "stop"])
                .output();
        }
        if std::env::var_os("PROCURA_TEST_KEEP_DB").is_none() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Waits until `check` holds, at most `within`; false if it never did.
pub async fn eventually(within: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
