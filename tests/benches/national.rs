//! The benchmark of issue 4: import, rollups and GetCase against their plain baselines, in one
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
//!    (`procura_server::db::rollup::by_bucket` on a direct connection), and checks that both
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
//! server applies its pending migrations to it first).
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
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The region tree the server loads (its migration is generated from this file).
const REGIONS_CSV: &str = include_str!("../../data/regions.csv");

/// Import checkpoints at which the national rollup is timed while the data grows.
const CHECKPOINTS: [u64; 2] = [100_000, 1_000_000];

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Args {
    cases: u64,
    report: Option<PathBuf>,
    batch: u64,
    in_flight: usize,
    channels: usize,
    rollup_calls: usize,
    baseline_calls: usize,
    seconds: f64,
    /// Most seconds of untimed GetCase load before the timed ones (see [`time_gets`]).
    warmup: f64,
    seed: u64,
    keep_db: bool,
    import_only: bool,
    /// Skip the COPY baseline and the rollups: import, then time GetCase (to tune it).
    get_only: bool,
    /// With `get_only`: a database kept by an earlier run (`--keep-db`) to read instead of
    /// importing into a fresh one; it is left in place.
    database: Option<String>,
    /// False when run without `--bench` (e.g. `cargo test --benches`): a quick smoke run.
    full: bool,
}

const USAGE: &str = "usage: cargo bench -p procura-tests --bench national -- [--cases N] \
    [--report FILE] [--batch N] [--in-flight N] [--channels N] [--rollup-calls N] \
    [--baseline-calls N] [--seconds S] [--warmup S] [--seed N] [--keep-db] [--import-only] [--get-only [--database NAME]]";

fn number(text: &str) -> Result<u64> {
    text.replace(['_', ','], "")
        .parse()
        .with_context(|| format!("`{text}` is not a number"))
}

impl Args {
    fn parse() -> Result<Args> {
        let raw: Vec<String> = std::env::args().skip(1).collect();
        let full = raw.iter().any(|a| a == "--bench");
        let mut args = Args {
            cases: if full { 100_000 } else { 2_000 },
            report: None,
            batch: 10_000,
            in_flight: 4,
            channels: 4,
            rollup_calls: if full { 200 } else { 5 },
            baseline_calls: if full { 20 } else { 2 },
            seconds: if full { 5.0 } else { 0.5 },
            warmup: if full { 120.0 } else { 0.0 },
            seed: 20_201_231,
            keep_db: false,
            import_only: false,
            get_only: false,
            database: None,
            full,
        };
        let mut it = raw.into_iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| anyhow!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--bench" => {}
                "--cases" => args.cases = number(&value()?)?,
                "--report" => args.report = Some(PathBuf::from(value()?)),
                "--batch" => args.batch = number(&value()?)?,
                "--in-flight" => args.in_flight = number(&value()?)? as usize,
                "--channels" => args.channels = number(&value()?)? as usize,
                "--rollup-calls" => args.rollup_calls = number(&value()?)? as usize,
                "--baseline-calls" => args.baseline_calls = number(&value()?)? as usize,
                "--seconds" => args.seconds = value()?.parse().context("--seconds")?,
                "--warmup" => args.warmup = value()?.parse().context("--warmup")?,
                "--seed" => args.seed = number(&value()?)?,
                "--keep-db" => args.keep_db = true,
                "--import-only" => args.import_only = true,
                "--get-only" => args.get_only = true,
                "--database" => args.database = Some(value()?),
                "-h" | "--help" => bail!("{USAGE}"),
                other => bail!("unknown argument `{other}`\n{USAGE}"),
            }
        }
        ensure!(args.cases > 0, "--cases must be at least 1");
        ensure!(
            (1..=procura_server::api::cases::MAX_IMPORT_BATCH as u64).contains(&args.batch),
            "--batch must be 1 to {} (the server takes at most {} cases per batch)",
            procura_server::api::cases::MAX_IMPORT_BATCH,
            procura_server::api::cases::MAX_IMPORT_BATCH
        );
        ensure!(args.in_flight > 0, "--in-flight must be at least 1");
        ensure!(args.channels > 0, "--channels must be at least 1");
        ensure!(
            args.rollup_calls > 0 && args.baseline_calls > 0,
            "call counts must be at least 1"
        );
        ensure!(args.seconds > 0.0, "--seconds must be positive");
        ensure!(
            args.warmup >= 0.0 && args.warmup.is_finite(),
            "--warmup must be 0 or more seconds"
        );
        ensure!(
            !(args.import_only && args.get_only),
            "--import-only and --get-only exclude each other"
        );
        ensure!(
            args.database.is_none() || args.get_only,
            "--database reads a kept database: it goes with --get-only"
        );
        Ok(args)
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic data
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, fast and the same on every platform and crate version.
struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream of case (or task) `index` under `seed`: each case can be regenerated alone.
    fn new(seed: u64, index: u64) -> Rng {
        Rng(mix(
            seed ^ index.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index into `weights`, drawn in proportion to them.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

/// A procuratorate: a region below the national level.
struct Place {
    code: String,
    name: String,
}

/// Draws places in proportion to fixed weights.
struct Sampler {
    places: Vec<usize>,
    cumulative: Vec<u64>,
}

impl Sampler {
    fn new(weighted: Vec<(usize, u64)>) -> Sampler {
        let mut total = 0;
        let mut places = Vec::with_capacity(weighted.len());
        let mut cumulative = Vec::with_capacity(weighted.len());
        for (place, weight) in weighted {
            total += weight;
            places.push(place);
            cumulative.push(total);
        }
        Sampler { places, cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> usize {
        let x = rng.below(*self.cumulative.last().unwrap());
        self.places[self.cumulative.partition_point(|c| *c <= x)]
    }
}

/// The procuratorates of `data/regions.csv` and how many cases each handles: 94% of cases
/// at county procuratorates (weights 1..16 times a provincial factor 1..4), 5% at prefecture
/// and 1% at provincial procuratorates.
struct Places {
    places: Vec<Place>,
    counties: Sampler,
    prefectures: Sampler,
    provinces: Sampler,
    /// The county with the largest weight.
    busiest_county: usize,
}

fn code_number(code: &str) -> u64 {
    code.parse().unwrap_or(0)
}

impl Places {
    fn load() -> Result<Places> {
        let mut places = Vec::new();
        let (mut counties, mut prefectures, mut provinces) = (Vec::new(), Vec::new(), Vec::new());
        for line in REGIONS_CSV.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            ensure!(fields.len() == 5, "data/regions.csv: bad line `{line}`");
            let (code, level, name) = (fields[0], fields[2], fields[3]);
            let n = code_number(code);
            let province_factor = 1 + mix(n / 10_000 * 10_000) % 4;
            let weight = match level {
                "county" => 94 * (1 + mix(n) % 16) * province_factor,
                "prefecture" => 5 * (1 + mix(n) % 4),
                "province" => 1,
                _ => continue,
            };
            let index = places.len();
            places.push(Place {
                code: code.to_owned(),
                name: name.to_owned(),
            });
            match level {
                "county" => counties.push((index, weight)),
                "prefecture" => prefectures.push((index, weight)),
                _ => provinces.push((index, weight)),
            }
        }
        ensure!(
            !counties.is_empty() && !prefectures.is_empty() && !provinces.is_empty(),
            "data/regions.csv has no counties, prefectures or provinces"
        );
        let busiest_county = counties
            .iter()
            .max_by_key(|(index, weight)| (*weight, std::cmp::Reverse(*index)))
            .map(|(index, _)| *index)
            .unwrap();
        Ok(Places {
            places,
            counties: Sampler::new(counties),
            prefectures: Sampler::new(prefectures),
            provinces: Sampler::new(provinces),
            busiest_county,
        })
    }
}

struct GenMeasure {
    kind: i32,
    issued_on: NaiveDate,
    addressee_type: i32,
    addressee: String,
    adoption: i32,
    answered_on: Option<NaiveDate>,
}

struct GenResolution {
    method: i32,
    resolved_on: NaiveDate,
    note: &'static str,
}

struct GenAid {
    granted_on: NaiveDate,
    amount_fen: i64,
    recipient: &'static str,
}

/// One generated case with everything under it.
struct GenCase {
    place: usize,
    case_number: String,
    case_type: i32,
    status: i32,
    applicant_type: i32,
    sector: i32,
    accepted_on: NaiveDate,
    concluded_on: Option<NaiveDate>,
    leader_handled: bool,
    public_hearing: bool,
    private_enterprise: bool,
    spp_listed_batch: i32,
    typical: bool,
    summary: &'static str,
    measures: Vec<GenMeasure>,
    resolution: Option<GenResolution>,
    aid: Vec<GenAid>,
}

const SUMMARIES: [&str; 8] = [
    "申请人不服行政处罚决定，申请对生效行政判决进行监督",
    "申请人认为房屋征收补偿决定违法，法院裁定驳回起诉",
    "工伤认定行政诉讼，申请人不服二审判决",
    "行政机关申请法院强制执行拆除违法建筑",
    "申请人反映审判人员违反法定程序",
    "不动产登记行政争议，当事人申请监督",
    "民营企业不服市场监管部门行政处罚",
    "生态环境行政处罚非诉执行案件",
];

/// The administrative organ of each sector (1..7).
const ORGANS: [&str; 7] = [
    "自然资源局",
    "住房和城乡建设局",
    "人力资源和社会保障局",
    "公安局",
    "市场监督管理局",
    "生态环境局",
    "人民政府",
];

/// Generates case `i` of a seeded data set: accepted 2019-01-01..2020-12-31, 2.0 measures
/// on average, 30% with a resolution, 5% with aid grants.
struct Generator {
    places: Places,
    seed: u64,
}

/// How many records a range of generated cases holds.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    cases: u64,
    measures: u64,
    resolutions: u64,
    aid: u64,
}

impl Counts {
    fn add(&mut self, c: &GenCase) {
        self.cases += 1;
        self.measures += c.measures.len() as u64;
        self.resolutions += u64::from(c.resolution.is_some());
        self.aid += c.aid.len() as u64;
    }

    fn merge(&mut self, other: Counts) {
        self.cases += other.cases;
        self.measures += other.measures;
        self.resolutions += other.resolutions;
        self.aid += other.aid;
    }

    fn rows(&self) -> u64 {
        self.cases + self.measures + self.resolutions + self.aid
    }
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 1).unwrap()
}

impl Generator {
    fn case(&self, i: u64) -> GenCase {
        let mut r = Rng::new(self.seed, i);
        let p = &self.places;
        let group = r.below(1000);
        let place = if group < 10 {
            p.provinces.pick(&mut r)
        } else if group < 60 {
            p.prefectures.pick(&mut r)
        } else {
            p.counties.pick(&mut r)
        };
        let place_name = &p.places[place].name;
        let accepted_on = first_day() + Days::new(r.below(731));
        let case_type = 1 + r.weighted(&[500, 150, 250, 100]) as i32;
        let applicant_type = 1 + r.weighted(&[800, 150, 50]) as i32;
        let sector = 1 + r.below(7) as i32;
        let status = 1 + r.weighted(&[280, 700, 20]) as i32;
        let concluded_on = (status == 2).then(|| accepted_on + Days::new(15 + r.below(200)));
        let private_enterprise = applicant_type == 2 || r.chance(30);
        let leader_handled = r.chance(50);
        let public_hearing = r.chance(80);
        let spp_listed_batch = if r.chance(2) {
            1 + r.below(5) as i32
        } else {
            0
        };
        let typical = r.chance(3);
        let summary = SUMMARIES[r.below(SUMMARIES.len() as u64) as usize];
        let measure_count = r.weighted(&[150, 250, 250, 200, 100, 50]);
        let measures = (0..measure_count)
            .map(|_| {
                let kind = 1 + r.weighted(&[50, 150, 150, 250, 100, 300]) as i32;
                let addressee_type = match kind {
                    1..=4 => 1,
                    6 => 2,
                    _ => 1 + r.below(3) as i32,
                };
                let addressee = match addressee_type {
                    1 => format!("{place_name}人民法院"),
                    2 => format!("{place_name}{}", ORGANS[(sector - 1) as usize]),
                    _ => format!("{place_name}人民政府"),
                };
                let issued_on = accepted_on + Days::new(r.below(120));
                let adoption = 1 + r.weighted(&[300, 600, 100]) as i32;
                let answered_on = (adoption != 1).then(|| issued_on + Days::new(5 + r.below(55)));
                GenMeasure {
                    kind,
                    issued_on,
                    addressee_type,
                    addressee,
                    adoption,
                    answered_on,
                }
            })
            .collect();
        let resolution = r.chance(300).then(|| GenResolution {
            method: 1 + r.below(5) as i32,
            resolved_on: accepted_on + Days::new(r.below(180)),
            note: if r.chance(500) {
                "经公开听证，当事人达成和解"
            } else {
                ""
            },
        });
        let aid_count = if r.chance(50) { 1 + r.below(2) } else { 0 };
        let aid = (0..aid_count)
            .map(|_| GenAid {
                granted_on: accepted_on + Days::new(r.below(90)),
                amount_fen: 50_000 + r.below(5_000_000) as i64,
                recipient: "申请人",
            })
            .collect();
        GenCase {
            place,
            case_number: format!(
                "{}检行监〔{}〕{}号",
                p.places[place].code,
                accepted_on.year(),
                i + 1
            ),
            case_type,
            status,
            applicant_type,
            sector,
            accepted_on,
            concluded_on,
            leader_handled,
            public_hearing,
            private_enterprise,
            spp_listed_batch,
            typical,
            summary,
            measures,
            resolution,
            aid,
        }
    }

    /// Cases `from..to` as an import batch, with what they hold.
    fn proto_batch(&self, from: u64, to: u64) -> (Vec<pb::Case>, Counts) {
        let mut counts = Counts::default();
        let cases = (from..to)
            .map(|i| {
                let c = self.case(i);
                counts.add(&c);
                self.to_proto(c)
            })
            .collect();
        (cases, counts)
    }

    fn to_proto(&self, c: GenCase) -> pb::Case {
        pb::Case {
            region: format!("regions/{}", self.places.places[c.place].code),
            case_number: c.case_number,
            case_type: c.case_type,
            status: c.status,
            applicant_type: c.applicant_type,
            sector: c.sector,
            accepted_on: Some(proto_date(c.accepted_on)),
            concluded_on: c.concluded_on.map(proto_date),
            leader_handled: c.leader_handled,
            public_hearing: c.public_hearing,
            private_enterprise: c.private_enterprise,
            spp_listed_batch: c.spp_listed_batch,
            typical: c.typical,
            summary: c.summary.to_owned(),
            measures: c
                .measures
                .into_iter()
                .map(|m| pb::Measure {
                    kind: m.kind,
                    issued_on: Some(proto_date(m.issued_on)),
                    addressee_type: m.addressee_type,
                    addressee: m.addressee,
                    adoption: m.adoption,
                    answered_on: m.answered_on.map(proto_date),
                    ..Default::default()
                })
                .collect(),
            resolution: c.resolution.map(|r| pb::Resolution {
                method: r.method,
                resolved_on: Some(proto_date(r.resolved_on)),
                note: r.note.to_owned(),
                ..Default::default()
            }),
            aid_grants: c
                .aid
                .into_iter()
                .map(|a| pb::JudicialAid {
                    granted_on: Some(proto_date(a.granted_on)),
                    amount_fen: a.amount_fen,
                    recipient: a.recipient.to_owned(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }
}

fn proto_date(d: NaiveDate) -> pb::Date {
    pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL through psql
// ---------------------------------------------------------------------------------------------

fn base_url() -> String {
    std::env::var("PROCURA_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

fn db_url(database: &str) -> String {
    format!("{}/{database}", base_url())
}

/// Runs SQL with psql and returns its unaligned, tuples-only output.
fn psql(url: &str, sql: &str) -> Result<String> {
    let output = Command::new("psql")
        .args([url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("cannot run psql: is the PostgreSQL client installed?")?;
    ensure!(
        output.status.success(),
        "psql `{sql}` failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `\copy table FROM STDIN` with the CSV lines `write` produces; returns rows and time taken.
fn copy_in(
    url: &str,
    pgoptions: &str,
    table: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<u64>,
) -> Result<(u64, Duration)> {
    let started = Instant::now();
    let mut child = Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("\\copy {table} FROM STDIN WITH (FORMAT csv)"),
        ])
        .env("PGOPTIONS", pgoptions)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run psql: is the PostgreSQL client installed?")?;
    let stdin = child.stdin.take().unwrap();
    let mut out = BufWriter::with_capacity(1 << 20, stdin);
    let written = write(&mut out).and_then(|rows| out.flush().map(|()| rows));
    drop(out);
    let output = child.wait_with_output()?;
    ensure!(
        output.status.success(),
        "COPY into {table} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let rows = written.with_context(|| format!("writing COPY data for {table}"))?;
    Ok((rows, started.elapsed()))
}

fn csv_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Timings of the COPY baseline, per table.
struct CopyResult {
    counts: Counts,
    cases: Duration,
    measures: Duration,
    resolutions: Duration,
    aid: Duration,
    /// Whether its sessions had lz4 write-ahead log compression.
    wal_lz4: bool,
    database_bytes: u64,
}

impl CopyResult {
    fn total(&self) -> Duration {
        self.cases + self.measures + self.resolutions + self.aid
    }
}

/// The session option that asks for lz4 write-ahead log compression, as the server's writers
/// do (see `procura_server::db`), if this PostgreSQL and role take it; so that both sides
/// write their log alike.
fn wal_compression_option(url: &str) -> Option<&'static str> {
    psql(url, "SET wal_compression = lz4")
        .ok()
        .map(|_| "-c wal_compression=lz4")
}

/// Loads the N cases and the records under them with COPY, one table after the other (cases
/// first: the others reference them). Case `i` gets id `i + 1` in the fresh table.
/// Text fields are quoted (the generated texts hold no quotes) so that an empty text is an
/// empty string, not NULL.
fn copy_baseline(generator: &Generator, url: &str, n: u64) -> Result<CopyResult> {
    let mut counts = Counts::default();
    let wal_lz4 = wal_compression_option(url);
    let pgoptions = wal_lz4.unwrap_or("");
    let places = &generator.places.places;
    let (rows, cases) = copy_in(
        url,
        pgoptions,
        "cases (region_code, case_number, case_type, status, applicant_type, sector, \
         accepted_on, concluded_on, leader_handled, public_hearing, private_enterprise, \
         spp_listed_batch, typical, summary)",
        |out| {
            let mut line = String::with_capacity(256);
            for i in 0..n {
                let c = generator.case(i);
                counts.add(&c);
                line.clear();
                let _ = writeln!(
                    line,
                    "{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
                    places[c.place].code,
                    c.case_number,
                    c.case_type,
                    c.status,
                    c.applicant_type,
                    c.sector,
                    c.accepted_on,
                    csv_date(c.concluded_on),
                    c.leader_handled,
                    c.public_hearing,
                    c.private_enterprise,
                    c.spp_listed_batch,
                    c.typical,
                    c.summary
                );
                out.write_all(line.as_bytes())?;
            }
            Ok(n)
        },
    )?;
    ensure!(rows == n, "COPY wrote {rows} cases, not {n}");
    let ids = psql(
        url,
        "SELECT min(id) || ' ' || max(id) || ' ' || count(*) FROM cases",
    )?;
    ensure!(
        ids == format!("1 {n} {n}"),
        "the COPY database's case ids are not 1..{n}: {ids}"
    );
    let (_, measures) = copy_in(
        url,
        pgoptions,
        "measures (case_id, kind, issued_on, addressee_type, addressee, adoption, answered_on)",
        |out| {
            let mut rows = 0;
            let mut line = String::with_capacity(256);
            for i in 0..n {
                for m in generator.case(i).measures {
                    line.clear();
                    let _ = writeln!(
                        line,
                        "{},{},{},{},\"{}\",{},{}",
                        i + 1,
                        m.kind,
                        m.issued_on,
                        m.addressee_type,
                        m.addressee,
                        m.adoption,
                        csv_date(m.answered_on)
                    );
                    out.write_all(line.as_bytes())?;
                    rows += 1;
                }
            }
            Ok(rows)
        },
    )?;
    let (_, resolutions) = copy_in(
        url,
        pgoptions,
        "resolutions (case_id, method, resolved_on, note)",
        |out| {
            let mut rows = 0;
            for i in 0..n {
                if let Some(r) = generator.case(i).resolution {
                    writeln!(
                        out,
                        "{},{},{},\"{}\"",
                        i + 1,
                        r.method,
                        r.resolved_on,
                        r.note
                    )?;
                    rows += 1;
                }
            }
            Ok(rows)
        },
    )?;
    let (_, aid) = copy_in(
        url,
        pgoptions,
        "judicial_aid (case_id, granted_on, amount_fen, recipient)",
        |out| {
            let mut rows = 0;
            for i in 0..n {
                for a in generator.case(i).aid {
                    writeln!(
                        out,
                        "{},{},{},\"{}\"",
                        i + 1,
                        a.granted_on,
                        a.amount_fen,
                        a.recipient
                    )?;
                    rows += 1;
                }
            }
            Ok(rows)
        },
    )?;
    let database_bytes = psql(url, "SELECT pg_database_size(current_database())")?
        .parse()
        .unwrap_or(0);
    Ok(CopyResult {
        counts,
        cases,
        measures,
        resolutions,
        aid,
        wal_lz4: wal_lz4.is_some(),
        database_bytes,
    })
}

// ---------------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------------

/// Builds the server binary of the profile this bench was built with and returns its path;
/// `PROCURA_BENCH_SERVER_BIN` names another binary to run instead (e.g. an experimental build).
fn build_server() -> Result<PathBuf> {
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
struct Cleanup {
    server: Option<Child>,
    databases: Vec<String>,
    keep: bool,
}

fn stop_server(mut child: Child) {
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
async fn start_server(
    binary: &Path,
    database_url: &str,
    log: &Path,
    cleanup: &mut Cleanup,
) -> Result<(String, u32)> {
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
        ])
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
                return Ok((url, pid));
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
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Clock ticks per second of /proc/<pid>/stat.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds (user + system) process `pid` (or `self`) has used so far.
fn cpu_seconds(pid: &str, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

/// CPU seconds all cores of the machine spent busy (not idle or waiting for I/O).
fn machine_busy_seconds(ticks: f64) -> Option<f64> {
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
struct CpuSnapshot {
    client: f64,
    server: f64,
    backends: BTreeMap<String, f64>,
    machine: f64,
}

fn cpu_snapshot(server_pid: u32, database: &str, ticks: f64) -> CpuSnapshot {
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
fn cpu_used(before: &CpuSnapshot, after: &CpuSnapshot) -> (f64, f64, f64, f64) {
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
// Import
// ---------------------------------------------------------------------------------------------

struct ImportResult {
    counts: Counts,
    elapsed: Duration,
    batches: u64,
    encoded_bytes: u64,
}

/// Imports cases `from..to` over one ImportCases stream, `in_flight` batches at a time.
async fn import_range(
    channel: Channel,
    generator: Arc<Generator>,
    from: u64,
    to: u64,
    args: &Args,
) -> Result<ImportResult> {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(args.in_flight));
    let (sender, receiver) = tokio::sync::mpsc::channel::<pb::ImportCasesRequest>(args.in_flight);
    let batch = args.batch;
    let producer = {
        let permits = permits.clone();
        tokio::spawn(async move {
            let mut counts = Counts::default();
            let mut bytes = 0u64;
            let mut number = 0i64;
            let mut start = from;
            while start < to {
                let end = (start + batch).min(to);
                permits.acquire().await?.forget();
                let generator = generator.clone();
                let (cases, batch_counts) =
                    tokio::task::spawn_blocking(move || generator.proto_batch(start, end)).await?;
                counts.merge(batch_counts);
                number += 1;
                let request = pb::ImportCasesRequest {
                    batch_number: number,
                    cases,
                };
                bytes += prost::Message::encoded_len(&request) as u64;
                if sender.send(request).await.is_err() {
                    break;
                }
                start = end;
            }
            anyhow::Ok((counts, number as u64, bytes))
        })
    };
    let mut client = CaseServiceClient::new(channel)
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20);
    let mut acks = client
        .import_cases(ReceiverStream::new(receiver))
        .await
        .context("ImportCases")?
        .into_inner();
    let mut created = 0u64;
    let mut acked = 0u64;
    while let Some(ack) = acks.message().await.context("ImportCases stream")? {
        ensure!(
            ack.rejections.is_empty(),
            "batch {} had {} rejections, the first: {:?}",
            ack.batch_number,
            ack.rejections.len(),
            ack.rejections.first()
        );
        ensure!(
            ack.already_present == 0,
            "batch {} found {} cases already present",
            ack.batch_number,
            ack.already_present
        );
        created += ack.created as u64;
        acked += 1;
        permits.add_permits(1);
    }
    let elapsed = started.elapsed();
    let (counts, batches, encoded_bytes) = producer.await??;
    ensure!(
        acked == batches,
        "{acked} acknowledgements for {batches} batches"
    );
    ensure!(
        created == counts.cases,
        "the server created {created} cases of {}",
        counts.cases
    );
    Ok(ImportResult {
        counts,
        elapsed,
        batches,
        encoded_bytes,
    })
}

// ---------------------------------------------------------------------------------------------
// Latency and throughput
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: Duration,
    p99: Duration,
    calls: usize,
}

/// p50 and p99 by the nearest-rank method.
fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let rank = |p: f64| {
        let r = (p / 100.0 * samples.len() as f64).ceil() as usize;
        samples[r.clamp(1, samples.len()) - 1]
    };
    Latency {
        p50: rank(50.0),
        p99: rank(99.0),
        calls: samples.len(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One rollup of the benchmark: the request and the same query for the plain GROUP BY.
struct RollupCase {
    title: &'static str,
    request: pb::GetRollupRequest,
    region: String,
    period: Period,
    bucket_level: i16,
}

fn rollup_cases(places: &Places) -> Result<Vec<RollupCase>> {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let county = &places.places[places.busiest_county];
    let request = |region: &str, kind, breakdown: pb::RegionLevel| pb::GetRollupRequest {
        region: format!("regions/{region}"),
        period: Some(pb::Period { kind: Some(kind) }),
        breakdown: breakdown as i32,
        ..Default::default()
    };
    Ok(vec![
        RollupCase {
            title: "national by province, year 2020",
            request: request(
                "000000",
                pb::period::Kind::Year(2020),
                pb::RegionLevel::Province,
            ),
            region: "000000".to_owned(),
            period: Period::year(2020).map_err(|e| anyhow!(e))?,
            bucket_level: 2,
        },
        RollupCase {
            title: "Shandong (370000) by prefecture, Q2 2020",
            request: request(
                "370000",
                pb::period::Kind::Quarter(pb::YearQuarter {
                    year: 2020,
                    quarter: 2,
                }),
                pb::RegionLevel::Prefecture,
            ),
            region: "370000".to_owned(),
            period: Period::quarter(2020, 2).map_err(|e| anyhow!(e))?,
            bucket_level: 3,
        },
        RollupCase {
            title: "county, 2019-11-01..2020-12-31",
            request: request(
                &county.code,
                pb::period::Kind::Range(pb::DateRange {
                    start: Some(proto_date(d(2019, 11, 1))),
                    end: Some(proto_date(d(2020, 12, 31))),
                }),
                pb::RegionLevel::Unspecified,
            ),
            region: county.code.clone(),
            period: Period::range(d(2019, 11, 1), d(2020, 12, 31)).map_err(|e| anyhow!(e))?,
            // No breakdown: the server buckets by the level below the county's.
            bucket_level: 5,
        },
    ])
}

/// Times `calls` GetRollup calls one after the other (after 5 untimed ones).
async fn time_rollup(
    client: &mut ReportServiceClient<Channel>,
    request: &pb::GetRollupRequest,
    calls: usize,
) -> Result<(Latency, pb::Rollup)> {
    let mut last = None;
    let mut samples = Vec::with_capacity(calls);
    for call in 0..calls + 5 {
        let started = Instant::now();
        let response = client
            .get_rollup(request.clone())
            .await
            .with_context(|| format!("GetRollup {}", request.region))?;
        if call >= 5 {
            samples.push(started.elapsed());
        }
        last = response.into_inner().rollup;
    }
    Ok((
        latency(samples),
        last.ok_or_else(|| anyhow!("GetRollup returned no rollup"))?,
    ))
}

/// Longest time spent timing one GROUP BY: at 10M cases a call takes many seconds, so fewer
/// calls are made (at least 3).
const GROUP_BY_BUDGET: Duration = Duration::from_secs(120);

/// Times `calls` runs of the plain GROUP BY over the raw rows (after one untimed run), or as
/// many as fit in [`GROUP_BY_BUDGET`], at least 3.
async fn time_group_by(
    conn: &mut AsyncPgConnection,
    case: &RollupCase,
    calls: usize,
) -> Result<(Latency, BTreeMap<String, BucketTally>)> {
    let q = RollupQuery {
        region: &case.region,
        period: case.period.span(),
        previous: case.period.year_earlier().span(),
        bucket_level: case.bucket_level,
    };
    let mut last = rollup::by_bucket(conn, q).await?;
    let mut samples = Vec::with_capacity(calls);
    let began = Instant::now();
    while samples.len() < calls && (samples.len() < 3 || began.elapsed() < GROUP_BY_BUDGET) {
        let started = Instant::now();
        last = rollup::by_bucket(conn, q).await?;
        samples.push(started.elapsed());
    }
    Ok((latency(samples), last))
}

/// Checks that the rollup served from the kept totals has the figures of the GROUP BY: the
/// totals and every row.
fn check_same_figures(
    title: &str,
    rollup: &pb::Rollup,
    buckets: &BTreeMap<String, BucketTally>,
) -> Result<()> {
    use procura_server::api::reports::figures;
    let same = |what: &str, got: &[pb::Figure], want: &[pb::Figure]| -> Result<()> {
        ensure!(
            got.len() == want.len(),
            "{title}, {what}: {} figures served, {} from GROUP BY",
            got.len(),
            want.len()
        );
        for (g, w) in got.iter().zip(want) {
            ensure!(
                g.metric == w.metric && g.value == w.value && g.previous_value == w.previous_value,
                "{title}, {what}: {} is {} (previous {:?}) from the totals but {} (previous {:?}) \
                 from GROUP BY",
                g.metric,
                g.value,
                g.previous_value,
                w.value,
                w.previous_value
            );
        }
        Ok(())
    };
    let mut total = BucketTally::default();
    for bucket in buckets.values() {
        total.merge(bucket);
    }
    same(
        "totals",
        &rollup.figures,
        &figures(&total.current, Some(&total.previous)),
    )?;
    if rollup.breakdown != 0 {
        let served: BTreeMap<&str, &[pb::Figure]> = rollup
            .rows
            .iter()
            .map(|r| (r.region.as_str(), r.figures.as_slice()))
            .collect();
        let expected: Vec<(String, Vec<pb::Figure>)> = buckets
            .iter()
            .filter(|(_, t)| !t.current.is_empty() || !t.previous.is_empty())
            .map(|(code, t)| {
                (
                    format!("regions/{code}"),
                    figures(&t.current, Some(&t.previous)),
                )
            })
            .collect();
        ensure!(
            served.len() == expected.len(),
            "{title}: {} rows served, {} from GROUP BY",
            served.len(),
            expected.len()
        );
        for (region, want) in &expected {
            let got = served
                .get(region.as_str())
                .ok_or_else(|| anyhow!("{title}: no row for {region} served"))?;
            same(region, got, want)?;
        }
    }
    Ok(())
}

/// A figure of a rollup by metric id.
fn figure(rollup: &pb::Rollup, metric: &str) -> i64 {
    rollup
        .figures
        .iter()
        .find(|f| f.metric == metric)
        .map_or(0, |f| f.value)
}

#[derive(Debug, Clone, Copy)]
enum Rpc {
    GetCase { first: i64, count: i64 },
    Health,
}

#[derive(Debug, Clone, Copy)]
struct Throughput {
    per_second: f64,
    latency: Latency,
    /// Calls made, warm-up included (for CPU per call).
    all_calls: usize,
}

/// Calls `rpc` from `concurrency` tasks spread over `channels` for `seconds` (after 0.5 s of
/// warm-up) and returns the calls completed per second.
async fn measure_rate(
    channels: &[Channel],
    rpc: Rpc,
    concurrency: usize,
    seconds: f64,
    seed: u64,
) -> Result<Throughput> {
    let start = Instant::now() + Duration::from_millis(500);
    let end = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let channel = channels[t % channels.len()].clone();
            tokio::spawn(async move {
                let mut cases = CaseServiceClient::new(channel.clone());
                let mut health = HealthClient::new(channel);
                let mut rng = Rng::new(seed, 1_000_000 + t as u64);
                let mut samples = Vec::new();
                let mut calls = 0usize;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let result = match rpc {
                        Rpc::GetCase { first, count } => cases
                            .get_case(pb::GetCaseRequest {
                                name: format!("cases/{}", first + rng.below(count as u64) as i64),
                            })
                            .await
                            .map(drop),
                        Rpc::Health => health
                            .check(HealthCheckRequest {
                                service: String::new(),
                            })
                            .await
                            .map(drop),
                    };
                    let done = Instant::now();
                    result.with_context(|| format!("{rpc:?}"))?;
                    calls += 1;
                    if done >= start && done < end {
                        samples.push(done - sent);
                    }
                }
                anyhow::Ok((samples, calls))
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut all_calls = 0;
    for task in tasks {
        let (samples, calls) = task.await??;
        all.extend(samples);
        all_calls += calls;
    }
    ensure!(!all.is_empty(), "no {rpc:?} call completed");
    Ok(Throughput {
        per_second: all.len() as f64 / seconds,
        latency: latency(all),
        all_calls,
    })
}

/// GetCase on random imported cases and Health/Check, at concurrency 1 and 64, with the CPU
/// each GetCase load used; and the first id, last id and count of the cases.
///
/// The timed loads come after untimed GetCase load at concurrency 64 until its rate is steady
/// (windows that fit in `--warmup` seconds; the rate of each window is returned too), so that
/// they measure a server that has been under that load, with the pages of the answers in the
/// page cache as a steady load keeps them, not the first touches of pages the machine evicted
/// while the rollups were timed. The first window's rate is that cold start. On the
/// machine of docs/benchmarks.md the kernel pages out file pages that go unread for 60 s
/// (DAMON reclaim), so after the minutes of GROUP BY before this step most of the answers of
/// a 10M database are read from disk at first; under a steady load they stay in memory.
async fn time_gets(
    url: &str,
    server_db: &str,
    server_pid: u32,
    ticks: f64,
    args: &Args,
) -> Result<(Vec<i64>, Vec<GetRates>, Vec<f64>)> {
    let ids = psql(
        &db_url(server_db),
        "SELECT min(id) || ' ' || max(id) || ' ' || count(*) FROM cases",
    )?;
    let ids: Vec<i64> = ids
        .split(' ')
        .map(|v| v.parse().context("case ids"))
        .collect::<Result<_>>()?;
    ensure!(
        ids.len() == 3 && ids[2] == ids[1] - ids[0] + 1,
        "case ids are not contiguous: {ids:?}"
    );
    let get_case = Rpc::GetCase {
        first: ids[0],
        count: ids[2],
    };
    let mut channels = Vec::new();
    for _ in 0..args.channels {
        channels.push(Endpoint::from_shared(url.to_owned())?.connect().await?);
    }
    // Warm-up: windows of `--seconds` each (their own seeds, so other draws than the timed
    // loads'; the pages they warm are shared all the same), until a window is less than 3%
    // faster than the one before or the next would not fit in `--warmup` seconds.
    let mut warmup = Vec::new();
    let started = Instant::now();
    while started.elapsed().as_secs_f64() + args.seconds <= args.warmup {
        if warmup.is_empty() {
            eprintln!("GetCase untimed at concurrency 64 until its rate is steady (warm-up)");
        }
        let seed = args.seed ^ (1 + warmup.len() as u64);
        let rate = measure_rate(&channels, get_case, 64, args.seconds, seed)
            .await?
            .per_second;
        eprintln!("  {} calls/s", thousands(rate));
        let steady = warmup.last().is_some_and(|last| rate < last * 1.03);
        warmup.push(rate);
        if steady {
            break;
        }
    }
    let mut rates = Vec::new();
    for concurrency in [1usize, 64] {
        eprintln!("timing GetCase and Health/Check at concurrency {concurrency}");
        let used = &channels[..concurrency.min(channels.len())];
        let before = cpu_snapshot(server_pid, server_db, ticks);
        let get = measure_rate(used, get_case, concurrency, args.seconds, args.seed).await?;
        let get_cpu = cpu_used(&before, &cpu_snapshot(server_pid, server_db, ticks));
        let before = cpu_snapshot(server_pid, server_db, ticks);
        let health = measure_rate(used, Rpc::Health, concurrency, args.seconds, args.seed).await?;
        let health_cpu = cpu_used(&before, &cpu_snapshot(server_pid, server_db, ticks));
        eprintln!(
            "  CPU per Health/Check call: server {:.0} µs, client {:.0} µs, machine {:.0} µs",
            health_cpu.1 * 1e6 / health.all_calls as f64,
            health_cpu.0 * 1e6 / health.all_calls as f64,
            health_cpu.3 * 1e6 / health.all_calls as f64,
        );
        eprintln!(
            "  GetCase {} calls/s, Health/Check {} calls/s: {:.2}; CPU per GetCase call: \
             server {:.0} µs, backends {:.0} µs, client {:.0} µs, machine {:.0} µs",
            thousands(get.per_second),
            thousands(health.per_second),
            get.per_second / health.per_second,
            get_cpu.1 * 1e6 / get.all_calls as f64,
            get_cpu.2 * 1e6 / get.all_calls as f64,
            get_cpu.0 * 1e6 / get.all_calls as f64,
            get_cpu.3 * 1e6 / get.all_calls as f64,
        );
        rates.push((concurrency, get, health, get_cpu));
    }
    Ok((ids, rates, warmup))
}

/// The GetCase and Health/Check table of a report, with the CPU per call.
fn gets_report(rates: &[GetRates], ids: &[i64], warmup: &[f64], args: &Args) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n| concurrency | GetCase calls/s | p50 | p99 | Health/Check calls/s | p50 | p99 | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for (concurrency, get, health, _) in rates {
        let _ = writeln!(
            out,
            "| {concurrency} | {} | {:.2} ms | {:.2} ms | {} | {:.2} ms | {:.2} ms | {:.2} |",
            thousands(get.per_second),
            ms(get.latency.p50),
            ms(get.latency.p99),
            thousands(health.per_second),
            ms(health.latency.p50),
            ms(health.latency.p99),
            get.per_second / health.per_second
        );
    }
    for (concurrency, get, _, cpu) in rates {
        let per_call = |seconds: f64| seconds * 1e6 / get.all_calls as f64;
        let _ = writeln!(
            out,
            "\nCPU per GetCase call at concurrency {concurrency}: procura-server {:.0} µs, its \
             PostgreSQL backends {:.0} µs, this client {:.0} µs; the whole machine {:.0} µs.",
            per_call(cpu.1),
            per_call(cpu.2),
            per_call(cpu.0),
            per_call(cpu.3)
        );
    }
    let _ = writeln!(
        out,
        "\n{} s per figure over {} HTTP/2 connections (1 at concurrency 1), random cases of \
         the {} imported.",
        args.seconds,
        args.channels,
        thousands(ids[2] as f64)
    );
    if !warmup.is_empty() {
        let _ = writeln!(
            out,
            "\nBefore them, GetCase ran untimed at concurrency 64, {} s at a time, until a window \
             was less than 3% faster than the one before (at most {} s; warm-up), so the timed \
             loads ran with the answers' pages in the page cache as a steady load keeps them; \
             the first window is the cold start: {} calls/s.",
            args.seconds,
            args.warmup,
            warmup
                .iter()
                .map(|rate| thousands(*rate))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// Concurrency, GetCase, Health/Check, and the CPU the GetCase load used.
type GetRates = (usize, Throughput, Throughput, (f64, f64, f64, f64));

// ---------------------------------------------------------------------------------------------
// Machine and report
// ---------------------------------------------------------------------------------------------

/// Which server was measured: the workspace's commit (and whether server/ or proto/ had
/// uncommitted changes), or the binary given in `PROCURA_BENCH_SERVER_BIN`.
fn server_version() -> String {
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

fn machine_description() -> Vec<(String, String)> {
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

fn thousands(n: f64) -> String {
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

struct Row {
    figure: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
    met: Option<bool>,
}

fn row(figure: &str, value: String, baseline: String, ratio: String, target: &str) -> Row {
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
    fn met(mut self, met: bool) -> Row {
        self.met = Some(met);
        self
    }
}

fn table(rows: &[Row]) -> String {
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
// The run
// ---------------------------------------------------------------------------------------------

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
    let copy = if args.import_only || args.get_only {
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
    };

    // 2. The server on a fresh database, and the import (none on a kept database).
    if args.database.is_none() {
        cleanup.databases.push(server_db.clone());
    }
    if let (Ok(settings), None) = (
        std::env::var("PROCURA_BENCH_SERVER_DB_SETTINGS"),
        &args.database,
    ) {
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
    }
    let log = binary.with_file_name("procura-bench-server.log");
    let (url, server_pid) = start_server(&binary, &db_url(&server_db), &log, &mut cleanup).await?;
    eprintln!(
        "procura-server (pid {server_pid}) on {url}, database {server_db}, log {}",
        log.display()
    );
    let channel = Endpoint::from_shared(url.clone())?.connect().await?;
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
    let ticks = clock_ticks();
    let mut cpu = (0.0, 0.0, 0.0, 0.0);
    for to in bounds {
        eprintln!("importing cases {from}..{to}");
        let before = cpu_snapshot(server_pid, &server_db, ticks);
        let part = import_range(channel.clone(), generator.clone(), from, to, &args).await?;
        let used = cpu_used(&before, &cpu_snapshot(server_pid, &server_db, ticks));
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
            let (lat, _) = time_rollup(&mut reports, &cases[0].request, args.rollup_calls).await?;
            eprintln!(
                "  national rollup at {to} cases: p50 {:.2} ms, p99 {:.2} ms",
                ms(lat.p50),
                ms(lat.p99)
            );
            growth.push((to, lat, proc_status_kb(server_pid, "VmRSS")));
        }
        from = to;
    }
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
        if args.get_only {
            settle()?;
            let (ids, rates, warmup) =
                time_gets(&url, &server_db, server_pid, ticks, &args).await?;
            out.push_str(&gets_report(&rates, &ids, &warmup, &args));
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
    let (ids, rates, warmup) = time_gets(&url, &server_db, server_pid, ticks, &args).await?;
    let peak_rss_end = proc_status_kb(server_pid, "VmHWM").unwrap_or(0);
    drop(reports);
    drop(channel);
    drop(cleanup);

    // 5. The report.
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
    for (case, (served, plain, _)) in cases.iter().zip(&rollups).skip(1) {
        rows.push(row(
            &format!("{}: GetRollup p50 / p99", case.title),
            pair(served),
            format!("GROUP BY {}", pair(plain)),
            format!("{:.1}× faster (p99)", ms(plain.p99) / ms(served.p99)),
            "—",
        ));
    }
    for (concurrency, get, health, _) in &rates {
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
         (`procura_server::db::rollup::by_bucket` on a direct connection, no gRPC): {} calls \
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
    out.push_str(&gets_report(&rates, &ids, &warmup, &args));
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
    Ok(out)
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
