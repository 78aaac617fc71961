//! The COPY baseline: the generated cases loaded with `psql \\copy` into a database with the server's schema, timed per table.

use super::*;

pub(crate) fn base_url() -> String {
    std::env::var("PROCURA_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

pub(crate) fn db_url(database: &str) -> String {
    format!("{}/{database}", base_url())
}

/// Runs SQL with psql and returns its unaligned, tuples-only output.
pub(crate) fn psql(url: &str, sql: &str) -> Result<String> {
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
pub(crate) fn copy_in(
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

pub(crate) fn csv_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Timings of the COPY baseline, per table.
pub(crate) struct CopyResult {
    pub(crate) counts: Counts,
    pub(crate) cases: Duration,
    pub(crate) measures: Duration,
    pub(crate) resolutions: Duration,
    pub(crate) aid: Duration,
    /// Whether its sessions had lz4 write-ahead log compression.
    pub(crate) wal_lz4: bool,
    pub(crate) database_bytes: u64,
}

impl CopyResult {
    pub(crate) fn total(&self) -> Duration {
        self.cases + self.measures + self.resolutions + self.aid
    }
}

/// The session option that asks for lz4 write-ahead log compression, as the server's writers
/// do (see `procura_server::db`), if this PostgreSQL and role take it; so that both sides
/// write their log alike.
pub(crate) fn wal_compression_option(url: &str) -> Option<&'static str> {
    psql(url, "SET wal_compression = lz4")
        .ok()
        .map(|_| "-c wal_compression=lz4")
}

/// Loads the N cases and the records under them with COPY, one table after the other (cases
/// first: the others reference them). Case `i` gets id `i + 1` in the fresh table.
/// Text fields are quoted (the generated texts hold no quotes) so that an empty text is an
/// empty string, not NULL.
pub(crate) fn copy_baseline(generator: &Generator, url: &str, n: u64) -> Result<CopyResult> {
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
