//! The machine and server version, and the printed table of figures, baselines, ratios and targets.

use super::*;

/// Which server was measured: the workspace's commit (and whether server/ or proto/ had
/// uncommitted changes), or the binary given in `PROCURA_BENCH_SERVER_BIN`.
pub(crate) fn server_version() -> String {
    if let Ok(binary) = std::env::var("PROCURA_BENCH_SERVER_BIN") {
        return format!("the binary {binary}");
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(workspace)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--", "server", "proto"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("commit {commit} with uncommitted changes in server/ or proto/")
            } else {
                format!("commit {commit}")
            }
        }
        None => "unknown (not a git checkout)".to_owned(),
    }
}

pub(crate) fn machine_description() -> Vec<(String, String)> {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let meminfo = read("/proc/meminfo");
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let postgres = psql(
        &db_url("postgres"),
        "SELECT current_setting('server_version') || ', shared_buffers ' || \
         current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem') || \
         ', synchronous_commit ' || current_setting('synchronous_commit') || \
         ', max_wal_size ' || current_setting('max_wal_size') || \
         ', wal_compression ' || current_setting('wal_compression') || \
         ' (the server''s writers ask for lz4 for their sessions)'",
    )
    .unwrap_or_else(|e| format!("unknown ({e})"));
    vec![
        ("CPU".to_owned(), format!("{cpu}, {cores} cores (nproc)")),
        ("Memory".to_owned(), memory),
        (
            "Kernel".to_owned(),
            format!("Linux {}", read("/proc/sys/kernel/osrelease").trim()),
        ),
        ("PostgreSQL".to_owned(), postgres),
        ("Rust".to_owned(), rustc),
        (
            "Load average at start".to_owned(),
            read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

pub(crate) fn thousands(n: f64) -> String {
    let whole = n.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) struct Row {
    pub(crate) figure: String,
    pub(crate) value: String,
    pub(crate) baseline: String,
    pub(crate) ratio: String,
    pub(crate) target: String,
    pub(crate) met: Option<bool>,
}

pub(crate) fn row(
    figure: &str,
    value: String,
    baseline: String,
    ratio: String,
    target: &str,
) -> Row {
    Row {
        figure: figure.to_owned(),
        value,
        baseline,
        ratio,
        target: target.to_owned(),
        met: None,
    }
}

impl Row {
    pub(crate) fn met(mut self, met: bool) -> Row {
        self.met = Some(met);
        self
    }
}

pub(crate) fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| figure | value | baseline | ratio | target | met? |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {met} |",
            r.figure, r.value, r.baseline, r.ratio, r.target
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
