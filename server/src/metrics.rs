//! Prometheus metrics at `--metrics-listen` (README, "Operating"): the gRPC RED set that
//! [`crate::api::calls`] records for every call, and what procura alone knows — its pools,
//! imports, kept-totals writes, releases and database checks.
//!
//! Recorded through the `metrics` facade; `metrics-exporter-prometheus` serves them as the
//! Prometheus text format. Without `--metrics-listen` no recorder is installed and every
//! record here costs next to nothing.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::db::Pool;

/// Calls started, by `grpc_type`, `grpc_service` and `grpc_method`.
pub const STARTED: &str = "grpc_server_started_total";
/// Calls finished, by `grpc_type`, `grpc_service`, `grpc_method` and `grpc_code`.
pub const HANDLED: &str = "grpc_server_handled_total";
/// Seconds from a call's request to its status, by `grpc_type`, `grpc_service` and
/// `grpc_method` (a histogram).
pub const HANDLING_SECONDS: &str = "grpc_server_handling_seconds";
/// Connections of a pool (`pool` = `main` or `reader`), by `state` (`in_use` or `idle`).
pub const POOL_CONNECTIONS: &str = "procura_db_pool_connections";
/// Most connections a pool opens.
pub const POOL_MAX: &str = "procura_db_pool_max_connections";
/// Calls waiting for a connection of a pool.
pub const POOL_WAITING: &str = "procura_db_pool_waiting";
/// Cases sent by ImportCases, by `outcome`: `created`, `already_present` or `rejected`.
pub const IMPORT_CASES: &str = "procura_import_cases_total";
/// Rows of the kept totals written, by `table` (`figure_totals`, `listing_totals`,
/// `pending_totals`, and their logs `figure_totals_log`, `listing_totals_log`,
/// `pending_totals_log`).
pub const KEPT_TOTALS_ROWS: &str = "procura_kept_totals_rows_written_total";
/// Rollups as of a past moment, by what they were counted from (`from`): `totals_log` (the
/// kept totals less the changes logged since), `changed_cases` (the kept totals less the
/// cases changed since) or `records` (the records as they stood).
pub const AS_OF_ROLLUPS: &str = "procura_as_of_rollups_total";
/// Pending-by-age indicators counted, by what they were counted from (`from`): `kept_counts`
/// (the nation's pending counts, at a month's last day) or `records`.
pub const PENDING_COUNTED: &str = "procura_pending_counts_total";
/// Releases published (a retried PublishRollup that gets its release back is not counted).
pub const RELEASES_PUBLISHED: &str = "procura_releases_published_total";
/// Seconds since the health check last reached the database (since the start when it never
/// did).
pub const DATABASE_SECONDS_SINCE_OK: &str = "procura_database_seconds_since_ok";

/// Every metric this module names, with its help text: the `# HELP` lines of a scrape.
pub const DESCRIBED: [(&str, &str); 12] = [
    (STARTED, "gRPC calls started"),
    (HANDLED, "gRPC calls finished, by status code"),
    (
        HANDLING_SECONDS,
        "seconds from a gRPC call's request to its status",
    ),
    (
        POOL_CONNECTIONS,
        "database connections of a pool, in use or idle",
    ),
    (POOL_MAX, "most database connections a pool opens"),
    (POOL_WAITING, "calls waiting for a database connection"),
    (IMPORT_CASES, "cases sent by ImportCases, by outcome"),
    (KEPT_TOTALS_ROWS, "rows of the kept totals written"),
    (
        AS_OF_ROLLUPS,
        "rollups as of a past moment, by what they were counted from",
    ),
    (
        PENDING_COUNTED,
        "pending-by-age indicators counted, by what they were counted from",
    ),
    (RELEASES_PUBLISHED, "releases published"),
    (
        DATABASE_SECONDS_SINCE_OK,
        "seconds since the health check last reached the database",
    ),
];

/// The upper bounds of the [`HANDLING_SECONDS`] buckets: from a GetCase (a fraction of a
/// millisecond) to a large import batch.
const HANDLING_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// How often the pool and database gauges are sampled.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// When the health check last reached the database; `None` before it first did.
static LAST_OK: OnceLock<std::sync::Mutex<Option<Instant>>> = OnceLock::new();

fn last_ok() -> &'static std::sync::Mutex<Option<Instant>> {
    LAST_OK.get_or_init(|| std::sync::Mutex::new(None))
}

/// Serves the metrics at `addr` (any path answers, `/metrics` by convention) and samples the
/// gauges of `pools` (named `main` and `reader`, in that order) every second. Fails when the
/// address cannot be bound, or when this process exports metrics already.
pub fn install(addr: SocketAddr, pools: [Pool; 2]) -> anyhow::Result<()> {
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Full(HANDLING_SECONDS.into()), &HANDLING_BUCKETS)
        .context("the histogram buckets")?
        .build()
        .with_context(|| format!("cannot serve metrics on {addr} (--metrics-listen)"))?;
    ::metrics::set_global_recorder(recorder)
        .map_err(|_| anyhow::anyhow!("this process exports metrics already"))?;
    for (name, help) in DESCRIBED {
        describe(name, help);
    }
    tokio::spawn(async move {
        if let Err(error) = exporter.await {
            tracing::error!(?error, "the metrics listener stopped");
        }
    });
    tokio::spawn(sample(pools));
    tracing::info!(address = %addr, "metrics for Prometheus at http://{addr}/metrics");
    Ok(())
}

fn describe(name: &'static str, help: &'static str) {
    if name == HANDLING_SECONDS {
        ::metrics::describe_histogram!(name, ::metrics::Unit::Seconds, help);
    } else if name.ends_with("_total") {
        ::metrics::describe_counter!(name, help);
    } else {
        ::metrics::describe_gauge!(name, help);
    }
}

/// Sets the pool and database gauges every [`SAMPLE_INTERVAL`], for as long as the process
/// runs.
async fn sample(pools: [Pool; 2]) {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
    loop {
        ticks.tick().await;
        for (name, pool) in ["main", "reader"].into_iter().zip(&pools) {
            let status = pool.status();
            let idle = status.available.min(status.size);
            ::metrics::gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "in_use")
                .set((status.size - idle) as f64);
            ::metrics::gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "idle").set(idle as f64);
            ::metrics::gauge!(POOL_MAX, "pool" => name).set(status.max_size as f64);
            ::metrics::gauge!(POOL_WAITING, "pool" => name).set(status.waiting as f64);
        }
        let since = match *last_ok().lock().unwrap_or_else(|p| p.into_inner()) {
            Some(at) => at.elapsed(),
            None => started.elapsed(),
        };
        ::metrics::gauge!(DATABASE_SECONDS_SINCE_OK).set(since.as_secs_f64());
    }
}

/// The health check reached the database just now.
pub fn database_answered() {
    *last_ok().lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
}

/// An ImportCases batch committed: `created` new cases, `already_present` ones stored before,
/// and `rejected` cases refused by validation.
pub fn cases_imported(created: u64, already_present: u64, rejected: u64) {
    for (outcome, count) in [
        ("created", created),
        ("already_present", already_present),
        ("rejected", rejected),
    ] {
        ::metrics::counter!(IMPORT_CASES, "outcome" => outcome).increment(count);
    }
}

/// `rows` rows of the kept totals table `table` written.
pub fn kept_totals_written(table: &'static str, rows: usize) {
    ::metrics::counter!(KEPT_TOTALS_ROWS, "table" => table).increment(rows as u64);
}

/// A rollup as of a past moment counted from `from` (see [`AS_OF_ROLLUPS`]).
pub fn as_of_rollup(from: &'static str) {
    ::metrics::counter!(AS_OF_ROLLUPS, "from" => from).increment(1);
}

/// Pending-by-age indicators counted from `from` (see [`PENDING_COUNTED`]).
pub fn pending_counted(from: &'static str) {
    ::metrics::counter!(PENDING_COUNTED, "from" => from).increment(1);
}

/// A release published.
pub fn release_published() {
    ::metrics::counter!(RELEASES_PUBLISHED).increment(1);
}
