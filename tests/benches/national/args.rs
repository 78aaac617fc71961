//! Command-line options of the benchmark.

use super::*;

#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) cases: u64,
    pub(crate) report: Option<PathBuf>,
    pub(crate) batch: u64,
    pub(crate) in_flight: usize,
    pub(crate) channels: usize,
    pub(crate) rollup_calls: usize,
    pub(crate) baseline_calls: usize,
    pub(crate) seconds: f64,
    /// Most seconds of untimed GetCase load before the timed ones (see [`time_gets`]).
    pub(crate) warmup: f64,
    pub(crate) seed: u64,
    pub(crate) keep_db: bool,
    pub(crate) import_only: bool,
    /// Skip the COPY baseline and the rollups: import, then time GetCase (to tune it).
    pub(crate) get_only: bool,
    /// With `get_only`: a database kept by an earlier run (`--keep-db`) to read instead of
    /// importing into a fresh one; it is left in place.
    pub(crate) database: Option<String>,
    /// After the import, the mixed soak of this many seconds instead of the COPY baseline,
    /// rollups and GetCase timings (`soak.rs`).
    pub(crate) soak: Option<f64>,
    /// At the end of the run, the trusted figures of `trust.rs` after this many changes since
    /// a release (`--trust N`).
    pub(crate) trust: Option<u64>,
    /// False when run without `--bench` (e.g. `cargo test --benches`): a quick smoke run.
    pub(crate) full: bool,
}

pub(crate) const USAGE: &str = "usage: cargo bench -p procura-tests --bench national -- [--cases N] \
    [--report FILE] [--batch N] [--in-flight N] [--channels N] [--rollup-calls N] \
    [--baseline-calls N] [--seconds S] [--warmup S] [--seed N] [--keep-db] [--import-only] [--get-only [--database NAME]] [--soak SECONDS] [--trust CHANGES]";

pub(crate) fn number(text: &str) -> Result<u64> {
    text.replace(['_', ','], "")
        .parse()
        .with_context(|| format!("`{text}` is not a number"))
}

impl Args {
    pub(crate) fn parse() -> Result<Args> {
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
            soak: None,
            trust: None,
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
                "--soak" => args.soak = Some(value()?.parse().context("--soak")?),
                "--trust" => args.trust = Some(number(&value()?)?),
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
            args.soak.is_none_or(|s| s > 0.0 && s.is_finite()),
            "--soak must be a positive number of seconds"
        );
        ensure!(
            args.soak.is_none() || !(args.import_only || args.get_only),
            "--soak goes with neither --import-only nor --get-only"
        );
        ensure!(
            args.trust.is_none() || !(args.get_only || args.soak.is_some()),
            "--trust goes with neither --get-only nor --soak"
        );
        ensure!(
            args.database.is_none() || args.get_only,
            "--database reads a kept database: it goes with --get-only"
        );
        Ok(args)
    }
}

// ---------------------------------------------------------------------------------------------
