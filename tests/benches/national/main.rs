//! The national benchmark: import, rollups and GetCase against their plain baselines, in one
//! run on this machine.
//!
//! ```text
//! cargo bench -p procura-tests --bench national                        # N = 100,000 cases
//! cargo bench -p procura-tests --bench national -- --cases 10000000    # N = 10,000,000
//! cargo bench -p procura-tests --bench national -- --report FILE       # also write markdown
//! ```
//!
//! One run:
//! 1. builds the release server (`cargo build --release -p procura-server`);
//! 2. COPY baseline: loads the N generated cases with their measures, resolutions and aid
//!    grants with `psql \copy ... FROM STDIN` into a fresh database that has the server's
//!    schema (`procura_server::db::prepare_database`), timing each table;
//! 3. starts `procura-server` as a child process on a fresh database `procura_bench_<pid>`
//!    (`--pool-size 8`) and imports the same N cases through `CaseService/ImportCases`, one
//!    stream per segment, pausing at 100,000 and 1,000,000 cases to time the national rollup
//!    (so a 10M run also gives the 100k latency it is compared with); reads the server's peak
//!    RSS (VmHWM) after the import;
//! 4. after `VACUUM (ANALYZE)` and a `CHECKPOINT`, times three rollups through `ReportService/GetRollup` (from
//!    the kept totals) and the same figures from the plain GROUP BY over the raw rows
//!    (`procura_tests::reference::by_bucket` on a direct connection), and checks that both
//!    give the same figures;
//! 5. after untimed GetCase load until its rate is steady, times `CaseService/GetCase` at
//!    concurrency 1 and 64 against `grpc.health.v1.Health/Check` on the same server;
//! 6. prints a table of figures, baselines, ratios and targets, with where CPU time went during
//!    the import and the GetCase load (this client, the server, its PostgreSQL backends, the
//!    rest of the machine), and drops both databases.
//!
//! Options (after `--`): `--cases N`, `--report FILE`, `--batch N` (cases per import batch,
//! default 10000), `--in-flight N` (import batches in flight, default 4), `--channels N` (HTTP/2
//! connections for the GetCase/Health load, default 4), `--rollup-calls N` (default 200),
//! `--baseline-calls N` (default 20), `--seconds S` (per throughput figure, default 5),
//! `--warmup S` (longest untimed GetCase load at concurrency 64 before the timed ones, until
//! its rate is steady; default 120, 0 for none),
//! `--seed N`, `--keep-db` (leave the databases for inspection), `--import-only` (no COPY,
//! rollups or GetCase: to tune the import), `--get-only` (no COPY or rollups: to tune GetCase),
//! `--get-only --database NAME` (GetCase on a database kept by `--keep-db`, no import; the
//! server applies its pending migrations to it first), `--soak SECONDS` (after the import, the
//! mixed soak of `soak.rs` instead of the COPY baseline, rollups and GetCase timings),
//! `--trust CHANGES` (at the end, the figures of `trust.rs`: a release, CHANGES changes, then
//! as-of rollups, DiffRelease and indicators).
//! `PROCURA_BENCH_DATABASE_URL` is the PostgreSQL server (default
//! `postgres://postgres@127.0.0.1:5432`); `psql` must be on the PATH. To see where the server's
//! time goes, `PROCURA_BENCH_SERVER_DB_SETTINGS` sets parameters on its database before it
//! starts, e.g. `session_preload_libraries=auto_explain;auto_explain.log_min_duration=50ms`
//! (plans of slow statements in the PostgreSQL log) or `log_min_duration_statement=0`.
//! `PROCURA_BENCH_SERVER_BIN` runs another server binary instead of building this one.
//!
//! Run without `--bench` (as `cargo test --benches` does) it is a quick smoke run: 2,000 cases,
//! a few calls, no targets.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use chrono::{Datelike, Days, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use procura_proto::v1 as pb;
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_server::db::rollup::{BucketTally, RollupQuery};
use procura_server::domain::period::Period;
use procura_tests::reference as rollup;
use tokio::sync::Semaphore;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

mod args;
mod auth;
mod copy;
mod generate;
mod gets;
mod import;
mod report;
mod rollups;
mod server;
mod soak;
mod trust;

use args::*;
use auth::*;
use copy::*;
use generate::*;
use gets::*;
use import::*;
use report::*;
use rollups::*;
use server::*;

/// The region tree the server loads (its migration is generated from this file).
const REGIONS_CSV: &str = include_str!("../../../data/regions.csv");

/// Import checkpoints at which the national rollup is timed while the data grows.
const CHECKPOINTS: [u64; 2] = [100_000, 1_000_000];

async fn run(args: Args) -> Result<String> {
    let machine = machine_description();
    let server = server_version();
    let generator = Arc::new(Generator {
        places: Places::load()?,
        seed: args.seed,
    });
    let n = args.cases;
    let binary = build_server()?;
    let pid = std::process::id();
    let server_db = args
        .database
        .clone()
        .unwrap_or_else(|| format!("procura_bench_{pid}"));
    let copy_db = format!("procura_bench_{pid}_copy");
    let mut cleanup = Cleanup {
        server: None,
        databases: Vec::new(),
        keep: args.keep_db,
    };

    // The generator alone, for reference: what part of the timings below is data generation.
    let sample = n.min(100_000);
    let started = Instant::now();
    let mut sample_counts = Counts::default();
    for i in 0..sample {
        sample_counts.add(&generator.case(i));
    }
    let generator_rate = sample as f64 / started.elapsed().as_secs_f64();

    // 1. COPY baseline into a fresh database with the same schema.
    let copy = copy_step(&args, &generator, &copy_db, &mut cleanup).await?;

    // 2. The server on a fresh database, and the import (none on a kept database).
    if args.database.is_none() {
        cleanup.databases.push(server_db.clone());
    }
    if let (Ok(settings), None) = (
        std::env::var("PROCURA_BENCH_SERVER_DB_SETTINGS"),
        &args.database,
    ) {
        create_with_settings(&server_db, &settings)?;
    }
    let log = binary.with_file_name("procura-bench-server.log");
    let (url, server_pid, token) =
        start_server(&binary, &db_url(&server_db), &log, &mut cleanup).await?;
    eprintln!(
        "procura-server (pid {server_pid}) on {url}, database {server_db}, log {}",
        log.display()
    );
    let channel = connect(&url, &token).await?;
    let mut reports = ReportServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20);
    let cases = rollup_cases(&generator.places)?;
    // Before timing reads, let the database settle as autovacuum would after a bulk load: the
    // visibility map set (index-only scans) and fresh statistics, for the server and the
    // GROUP BY alike; then a checkpoint, so that the pages the import and the vacuum dirtied
    // (gigabytes at 10M) are not being written out while the reads are timed (one 10M run
    // without it had the national rollup's p50 at 1.07 × its 100k p50 but its p99 at 1.75 ×).
    let settle = || -> Result<()> {
        psql(&db_url(&server_db), "VACUUM (ANALYZE)")?;
        if let Err(error) = psql(&db_url(&server_db), "CHECKPOINT") {
            eprintln!("  no checkpoint before timing reads (needs pg_checkpoint): {error:#}");
        }
        Ok(())
    };

    let ticks = clock_ticks();
    let (import, mut growth, cpu) = import_segments(Segments {
        channel: &channel,
        generator: &generator,
        args: &args,
        server_pid,
        server_db: &server_db,
        reports: &mut reports,
        national: &cases[0].request,
        ticks,
        settle: &settle,
    })
    .await?;
    let peak_rss_import = proc_status_kb(server_pid, "VmHWM")
        .ok_or_else(|| anyhow!("cannot read /proc/{server_pid}/status"))?;
    let import_rate = import.counts.cases as f64 / import.elapsed.as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_line = format!(
        "- CPU during the import ({cores} cores × {:.1} s = {:.1} core-seconds): this client \
         (generating, encoding) {:.1} s, procura-server {:.1} s, the PostgreSQL backends of its \
         pool {:.1} s, everything else on the machine (other processes, WAL writer, \
         checkpointer, autovacuum) {:.1} s.",
        import.elapsed.as_secs_f64(),
        cores as f64 * import.elapsed.as_secs_f64(),
        cpu.0,
        cpu.1,
        cpu.2,
        (cpu.3 - cpu.0 - cpu.1 - cpu.2).max(0.0)
    );
    let batch_line = format!(
        "- Import: {:.1} s, {} cases/s, {} measures/s, {} record rows/s; {} batches of up to {} cases \
         ({:.0} ms per batch, {:.0} bytes per case on the wire), {} in flight, one ImportCases \
         stream per segment (segments end at {}). Server peak RSS {:.0} MB.",
        import.elapsed.as_secs_f64(),
        thousands(import_rate),
        thousands(import.counts.measures as f64 / import.elapsed.as_secs_f64()),
        thousands(import.counts.rows() as f64 / import.elapsed.as_secs_f64()),
        import.batches,
        args.batch,
        ms(import.elapsed) / import.batches as f64,
        import.encoded_bytes as f64 / import.counts.cases as f64,
        args.in_flight,
        growth
            .iter()
            .map(|(count, ..)| thousands(*count as f64))
            .chain(std::iter::once(thousands(n as f64)))
            .collect::<Vec<_>>()
            .join(", "),
        peak_rss_import as f64 / 1024.0
    );
    if args.database.is_none() {
        eprintln!("{batch_line}\n{cpu_line}");
    }
    let Some(copy) = copy else {
        let mut out = match args.database {
            Some(_) => String::new(),
            None => format!("{batch_line}\n{cpu_line}\n"),
        };
        if let Some(seconds) = args.soak {
            settle()?;
            let generator = generator.clone();
            out.push_str(
                &soak::soak(
                    &url, &token, &server_db, server_pid, generator, seconds, &args,
                )
                .await?,
            );
        }
        if args.get_only {
            settle()?;
            let (ids, rates, warmup, access) =
                time_gets(&url, &token, &server_db, server_pid, ticks, &args).await?;
            out.push_str(&gets_report(&rates, &ids, &warmup, &access, &args));
        }
        if let Some(changes) = args.trust {
            settle()?;
            out.push_str(&trust::trust(&url, &token, &server_db, generator, changes, &args).await?);
        }
        return Ok(out);
    };
    ensure!(
        import.counts.cases == copy.counts.cases && import.counts.measures == copy.counts.measures,
        "the import and the COPY did not load the same records"
    );

    // 3. Rollups against the plain GROUP BY.
    settle()?;
    let server_bytes: u64 = psql(
        &db_url(&server_db),
        "SELECT pg_database_size(current_database())",
    )?
    .parse()
    .unwrap_or(0);
    let mut conn = AsyncPgConnection::establish(&db_url(&server_db)).await?;
    let mut rollups = Vec::new();
    for case in &cases {
        eprintln!("timing rollup: {}", case.title);
        let (served, rollup) = time_rollup(&mut reports, &case.request, args.rollup_calls).await?;
        let (plain, buckets) = time_group_by(&mut conn, case, args.baseline_calls).await?;
        check_same_figures(case.title, &rollup, &buckets)?;
        eprintln!("  figures match");
        rollups.push((served, plain, rollup));
    }
    drop(conn);
    let national_p99 = rollups[0].0.p99;
    growth.push((n, rollups[0].0, proc_status_kb(server_pid, "VmRSS")));
    let at_100k = growth
        .iter()
        .find(|(count, ..)| *count == CHECKPOINTS[0].min(n))
        .map(|(_, lat, _)| lat.p99);

    // 4. GetCase against Health/Check.
    let (ids, rates, warmup, access) =
        time_gets(&url, &token, &server_db, server_pid, ticks, &args).await?;
    let peak_rss_end = proc_status_kb(server_pid, "VmHWM").unwrap_or(0);

    // 5. The trusted figures, when asked for.
    let trusted = match args.trust {
        Some(changes) => {
            trust::trust(&url, &token, &server_db, generator.clone(), changes, &args).await?
        }
        None => String::new(),
    };
    drop(reports);
    drop(channel);
    drop(cleanup);

    // 6. The report.
    let report = write_report(Report {
        args,
        machine,
        server,
        n,
        generator_rate,
        copy,
        import,
        import_rate,
        batch_line,
        cpu_line,
        peak_rss_import,
        peak_rss_end,
        server_bytes,
        cases,
        rollups,
        national_p99,
        at_100k,
        growth,
        ids,
        rates,
        warmup,
        access,
    });
    Ok(report + &trusted)
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error:#}");
            return ExitCode::FAILURE;
        }
    };
    if !args.full {
        eprintln!(
            "smoke run ({} cases); the benchmark is `cargo bench -p procura-tests --bench national`",
            args.cases
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args.clone())) {
        Ok(report) => {
            println!("figures match\n\n{report}");
            if let Some(path) = &args.report {
                if let Err(error) = std::fs::write(path, &report) {
                    eprintln!("cannot write {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
                eprintln!("report written to {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("benchmark failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The COPY baseline into a fresh database with the server's schema (dropped after unless
/// `--keep-db`); none with `--import-only` or `--get-only`.
async fn copy_step(
    args: &Args,
    generator: &Arc<Generator>,
    copy_db: &str,
    cleanup: &mut Cleanup,
) -> Result<Option<CopyResult>> {
    let n = args.cases;
    let copy_db = copy_db.to_owned();
    Ok(
        if args.import_only || args.get_only || args.soak.is_some() {
            None
        } else {
            eprintln!("COPY baseline: {n} cases into {copy_db}");
            cleanup.databases.push(copy_db.clone());
            procura_server::db::prepare_database(&db_url(&copy_db)).await?;
            let copy = {
                let generator = generator.clone();
                let url = db_url(&copy_db);
                tokio::task::spawn_blocking(move || copy_baseline(&generator, &url, n)).await??
            };
            if !args.keep_db {
                psql(
                    &db_url("postgres"),
                    &format!("DROP DATABASE IF EXISTS \"{copy_db}\" WITH (FORCE)"),
                )?;
                cleanup.databases.retain(|d| *d != copy_db);
            }
            Some(copy)
        },
    )
}

/// An empty database `server_db` with the parameters of `PROCURA_BENCH_SERVER_DB_SETTINGS`
/// (`name=value;…`); the server applies its own migrations.
fn create_with_settings(server_db: &str, settings: &str) -> Result<()> {
    // An empty database with the settings; the server applies its own migrations.
    psql(
        &db_url("postgres"),
        &format!("CREATE DATABASE \"{server_db}\""),
    )?;
    for setting in settings.split(';').filter(|s| !s.trim().is_empty()) {
        let (name, value) = setting.split_once('=').ok_or_else(|| {
            anyhow!("PROCURA_BENCH_SERVER_DB_SETTINGS: `{setting}` is not name=value")
        })?;
        psql(
            &db_url("postgres"),
            &format!(
                "ALTER DATABASE \"{server_db}\" SET {} = '{}'",
                name.trim(),
                value.trim().replace('\'', "''")
            ),
        )?;
    }
    Ok(())
}

/// What the import of the generated cases needs.
struct Segments<'a> {
    channel: &'a Authed,
    generator: &'a Arc<Generator>,
    args: &'a Args,
    server_pid: u32,
    server_db: &'a str,
    reports: &'a mut ReportServiceClient<Authed>,
    national: &'a pb::GetRollupRequest,
    ticks: f64,
    settle: &'a dyn Fn() -> Result<()>,
}

/// Imports the generated cases through the server, one ImportCases stream per segment (none
/// on a kept database), timing the national rollup at each segment's end but the last;
/// returns the import's totals, the rollup's latency at each pause, and the CPU time used
/// (this client, the server, its PostgreSQL backends, the whole machine).
async fn import_segments(
    segments: Segments<'_>,
) -> Result<(
    ImportResult,
    Vec<(u64, Latency, Option<u64>)>,
    (f64, f64, f64, f64),
)> {
    let Segments {
        channel,
        generator,
        args,
        server_pid,
        server_db,
        reports,
        national,
        ticks,
        settle,
    } = segments;
    let n = args.cases;
    let mut import = ImportResult {
        counts: Counts::default(),
        elapsed: Duration::ZERO,
        batches: 0,
        encoded_bytes: 0,
    };
    let mut growth: Vec<(u64, Latency, Option<u64>)> = Vec::new();
    // Segment ends; none on a kept database, which has its cases already.
    let bounds: Vec<u64> = match args.database {
        Some(_) => Vec::new(),
        None => CHECKPOINTS
            .iter()
            .copied()
            .filter(|c| *c < n)
            .chain(std::iter::once(n))
            .collect(),
    };
    let mut from = 0;
    let mut cpu = (0.0, 0.0, 0.0, 0.0);
    for to in bounds {
        eprintln!("importing cases {from}..{to}");
        let before = cpu_snapshot(server_pid, server_db, ticks);
        let part = import_range(channel.clone(), generator.clone(), from, to, args).await?;
        let used = cpu_used(&before, &cpu_snapshot(server_pid, server_db, ticks));
        cpu = (
            cpu.0 + used.0,
            cpu.1 + used.1,
            cpu.2 + used.2,
            cpu.3 + used.3,
        );
        eprintln!(
            "  {} cases in {:.1} s: {} cases/s",
            part.counts.cases,
            part.elapsed.as_secs_f64(),
            thousands(part.counts.cases as f64 / part.elapsed.as_secs_f64())
        );
        import.counts.merge(part.counts);
        import.elapsed += part.elapsed;
        import.batches += part.batches;
        import.encoded_bytes += part.encoded_bytes;
        if to < n {
            settle()?;
            let (lat, _) = time_rollup(reports, national, args.rollup_calls).await?;
            eprintln!(
                "  national rollup at {to} cases: p50 {:.2} ms, p99 {:.2} ms",
                ms(lat.p50),
                ms(lat.p99)
            );
            growth.push((to, lat, proc_status_kb(server_pid, "VmRSS")));
        }
        from = to;
    }
    Ok((import, growth, cpu))
}

/// Everything the final report is made of.
struct Report {
    args: Args,
    machine: Vec<(String, String)>,
    server: String,
    n: u64,
    generator_rate: f64,
    copy: CopyResult,
    import: ImportResult,
    import_rate: f64,
    batch_line: String,
    cpu_line: String,
    peak_rss_import: u64,
    peak_rss_end: u64,
    server_bytes: u64,
    cases: Vec<RollupCase>,
    rollups: Vec<(Latency, Latency, pb::Rollup)>,
    national_p99: Duration,
    at_100k: Option<Duration>,
    growth: Vec<(u64, Latency, Option<u64>)>,
    ids: Vec<i64>,
    rates: Vec<GetRates>,
    warmup: Vec<f64>,
    access: AccessCost,
}

/// The rows of the report's table: each figure with its baseline, ratio and target.
fn target_rows(report: &Report) -> Vec<Row> {
    let (copy, rollups, cases, rates) =
        (&report.copy, &report.rollups, &report.cases, &report.rates);
    let (import_rate, n, national_p99, at_100k, peak_rss_import) = (
        report.import_rate,
        report.n,
        report.national_p99,
        report.at_100k,
        report.peak_rss_import,
    );
    let copy_rate = copy.counts.cases as f64 / copy.total().as_secs_f64();
    let copy_cases_rows = copy.counts.cases as f64 / copy.cases.as_secs_f64();
    let import_ratio = import_rate / copy_rate;
    let pair = |l: &Latency| format!("{:.2} / {:.2} ms", ms(l.p50), ms(l.p99));
    let mut rows = vec![
        row(
            "Import through gRPC, cases/s (each with its measures, resolution, aid grants, first revision and kept totals)",
            thousands(import_rate),
            format!(
                "COPY of the same records: {} cases/s",
                thousands(copy_rate)
            ),
            format!("{import_ratio:.2}"),
            "≥ 0.5",
        )
        .met(import_ratio >= 0.5),
        row(
            "(for reference) import vs COPY of the case rows alone",
            thousands(import_rate),
            format!("{} case rows/s", thousands(copy_cases_rows)),
            format!("{:.2}", import_rate / copy_cases_rows),
            "—",
        ),
    ];
    let (served, plain, _) = &rollups[0];
    let speedup = ms(plain.p99) / ms(served.p99);
    rows.push(
        row(
            "National by province, 2020: GetRollup p50 / p99",
            pair(served),
            format!("GROUP BY {}", pair(plain)),
            format!("{speedup:.1}× faster (p99)"),
            "p99 ≤ 20 ms (at 10M)",
        )
        .met(ms(served.p99) <= 20.0),
    );
    rows.push(
        row(
            "National by province, 2020: speed-up over GROUP BY (p99)",
            format!("{:.2} ms", ms(served.p99)),
            format!("{:.2} ms", ms(plain.p99)),
            format!("{speedup:.1}×"),
            "≥ 25×",
        )
        .met(speedup >= 25.0),
    );
    match at_100k {
        Some(reference) if n > CHECKPOINTS[0] => {
            let growth_ratio = ms(national_p99) / ms(reference);
            rows.push(
                row(
                    &format!(
                        "National by province p99 at {} vs at 100,000 cases",
                        thousands(n as f64)
                    ),
                    format!("{:.2} ms", ms(national_p99)),
                    format!("{:.2} ms at 100,000", ms(reference)),
                    format!("{growth_ratio:.2}"),
                    "≤ 1.5",
                )
                .met(growth_ratio <= 1.5),
            );
        }
        _ => rows.push(row(
            "National by province p99 vs at 100,000 cases",
            format!("{:.2} ms", ms(national_p99)),
            "this run is the reference".to_owned(),
            "1.00".to_owned(),
            "≤ 1.5",
        )),
    }
    for (case, (served, plain, _)) in cases.iter().zip(rollups).skip(1) {
        rows.push(row(
            &format!("{}: GetRollup p50 / p99", case.title),
            pair(served),
            format!("GROUP BY {}", pair(plain)),
            format!("{:.1}× faster (p99)", ms(plain.p99) / ms(served.p99)),
            "—",
        ));
    }
    for (concurrency, get, health, _) in rates {
        let ratio = get.per_second / health.per_second;
        let r = row(
            &format!("GetCase at concurrency {concurrency}, calls/s"),
            thousands(get.per_second),
            format!("Health/Check {}", thousands(health.per_second)),
            format!("{ratio:.2}"),
            if *concurrency == 64 { "≥ 0.3" } else { "—" },
        );
        rows.push(if *concurrency == 64 {
            r.met(ratio >= 0.3)
        } else {
            r
        });
    }
    let rss_mb = peak_rss_import as f64 / 1024.0;
    rows.push(
        row(
            "Server peak RSS during the import (VmHWM)",
            format!("{rss_mb:.0} MB"),
            "—".to_owned(),
            "—".to_owned(),
            "< 500 MB (10M import)",
        )
        .met(rss_mb < 500.0),
    );
    rows
}

/// The final report: the table of figures, baselines, ratios and targets, then the details.
fn write_report(report: Report) -> String {
    let rows = target_rows(&report);
    let Report {
        args,
        machine,
        server,
        n,
        generator_rate,
        copy,
        import,
        batch_line,
        cpu_line,
        peak_rss_import,
        peak_rss_end,
        server_bytes,
        cases,
        rollups,
        growth,
        ids,
        rates,
        warmup,
        access,
        ..
    } = report;
    let copy_rate = copy.counts.cases as f64 / copy.total().as_secs_f64();
    let rss_mb = peak_rss_import as f64 / 1024.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### N = {} cases ({} UTC)\n",
        thousands(n as f64),
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
    let command = if n == 100_000 {
        "cargo bench -p procura-tests --bench national".to_owned()
    } else {
        format!("cargo bench -p procura-tests --bench national -- --cases {n}")
    };
    let _ = writeln!(out, "Command: `{command}`\n");
    let _ = writeln!(out, "- Server: procura-server at {server}");
    for (key, value) in &machine {
        let _ = writeln!(out, "- {key}: {value}");
    }
    let _ = writeln!(out);
    out.push_str(&table(&rows));
    let _ = writeln!(out, "\nDetails:\n");
    let c = &import.counts;
    let _ = writeln!(
        out,
        "- Data: {} cases, {} measures, {} resolutions, {} aid grants ({} record rows), \
         seed {}; generator alone {} cases/s.",
        thousands(c.cases as f64),
        thousands(c.measures as f64),
        thousands(c.resolutions as f64),
        thousands(c.aid as f64),
        thousands(c.rows() as f64),
        args.seed,
        thousands(generator_rate)
    );
    let _ = writeln!(out, "{batch_line}\n{cpu_line}");
    let per_s = |rows: u64, d: Duration| thousands(rows as f64 / d.as_secs_f64());
    let cc = &copy.counts;
    let _ = writeln!(
        out,
        "- COPY (psql `\\copy ... FROM STDIN`, CSV, into the server's schema with all its \
         indexes{}): cases {:.1} s ({} rows/s), measures {:.1} s ({} rows/s), resolutions {:.1} s, \
         aid {:.1} s; all {} record rows in {:.1} s ({} rows/s, {} cases/s). Cases + measures: \
         {} rows/s.",
        if copy.wal_lz4 {
            ", sessions with `wal_compression = lz4` like the server's writers"
        } else {
            ", the database's `wal_compression`"
        },
        copy.cases.as_secs_f64(),
        per_s(cc.cases, copy.cases),
        copy.measures.as_secs_f64(),
        per_s(cc.measures, copy.measures),
        copy.resolutions.as_secs_f64(),
        copy.aid.as_secs_f64(),
        thousands(cc.rows() as f64),
        copy.total().as_secs_f64(),
        per_s(cc.rows(), copy.total()),
        thousands(copy_rate),
        per_s(cc.cases + cc.measures, copy.cases + copy.measures),
    );
    let _ = writeln!(
        out,
        "- Database size after loading: server {} MB (records, revisions, kept totals), COPY {} MB \
         (records only).",
        server_bytes / (1 << 20),
        copy.database_bytes / (1 << 20)
    );
    let _ = writeln!(
        out,
        "- Server peak RSS (VmHWM): {:.0} MB after the import, {:.0} MB at the end of the run.",
        rss_mb,
        peak_rss_end as f64 / 1024.0
    );
    let _ = writeln!(
        out,
        "\n| rollup | GetRollup p50 | p99 | GROUP BY p50 | p99 | speed-up p50 / p99 | cases.accepted | measures.total |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (case, (served, plain, rollup)) in cases.iter().zip(&rollups) {
        let _ = writeln!(
            out,
            "| {} ({}) | {:.2} ms | {:.2} ms | {:.1} ms | {:.1} ms | {:.0}× / {:.0}× | {} | {} |",
            case.title,
            case.request.region,
            ms(served.p50),
            ms(served.p99),
            ms(plain.p50),
            ms(plain.p99),
            ms(plain.p50) / ms(served.p50),
            ms(plain.p99) / ms(served.p99),
            thousands(figure(rollup, "cases.accepted") as f64),
            thousands(figure(rollup, "measures.total") as f64),
        );
    }
    let _ = writeln!(
        out,
        "\nFigures match: for each rollup the totals and every row served from the kept totals \
         equal the GROUP BY's. GetRollup: {} sequential calls each (after 5 untimed); GROUP BY \
         (`procura_tests::reference::by_bucket` on a direct connection, no gRPC): {} calls \
         each (after 1 untimed; fewer when they take over {} s in all). Both after \
         `VACUUM (ANALYZE)` and a `CHECKPOINT` of the server's database.",
        rollups[0].0.calls,
        rollups
            .iter()
            .map(|r| r.1.calls.to_string())
            .collect::<Vec<_>>()
            .join(" / "),
        GROUP_BY_BUDGET.as_secs()
    );
    out.push_str(&gets_report(&rates, &ids, &warmup, &access, &args));
    if growth.len() > 1 {
        let _ = writeln!(
            out,
            "\n| cases imported | national rollup p50 | p99 | server RSS |\n| --- | --- | --- | --- |"
        );
        for (count, lat, rss) in &growth {
            let _ = writeln!(
                out,
                "| {} | {:.2} ms | {:.2} ms | {} |",
                thousands(*count as f64),
                ms(lat.p50),
                ms(lat.p99),
                rss.map_or("?".to_owned(), |kb| format!("{:.0} MB", kb as f64 / 1024.0))
            );
        }
    }
    out
}
