//! The mixed soak (`--soak SECONDS`), after the import: imports, single writes with
//! corrections, rollups (a quarter of them as of now, which take a heavy-read slot) and GetCase at
//! concurrency 64 against the one server, with the error rate, p50 and p99 of each RPC and
//! the server's RSS after the warm-up and at the end; before it, the cheap calls (GetCase and
//! rollups from the kept totals) alone, for their p99 without heavy load; after it, an
//! overload step at concurrency 1,000 that must be shed RESOURCE_EXHAUSTED rather than time
//! out.

use std::sync::atomic::{AtomicU64, Ordering};

use tonic::Code;

use super::*;

/// Concurrency of the soak.
const CONCURRENCY: usize = 64;
/// Concurrency of the overload step.
const OVERLOAD: usize = 1000;
/// The deadline of each call of the overload step: an answer later than this is a timeout.
const OVERLOAD_DEADLINE: Duration = Duration::from_secs(10);
/// Cases per import batch in the soak.
const SOAK_BATCH: u64 = 100;

/// The calls of the soak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    GetCase,
    Rollup,
    RollupAsOf,
    CreateCase,
    UpdateCase,
    CreateMeasure,
    ImportBatch,
}

/// What a worker does, by its number: of 16 workers, 1 imports, 2 write and correct, 2 ask
/// for as-of rollups, 2 for rollups from the kept totals, 9 read cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Import,
    Write,
    RollupAsOf,
    Rollup,
    GetCase,
}

fn role(worker: usize) -> Role {
    match worker % 16 {
        0 => Role::Import,
        1 | 2 => Role::Write,
        3 | 4 => Role::RollupAsOf,
        5 | 6 => Role::Rollup,
        _ => Role::GetCase,
    }
}

/// The outcomes of one kind of call.
#[derive(Debug, Default)]
struct Tally {
    samples: Vec<Duration>,
    shed: usize,
    timed_out: usize,
    errors: usize,
    first_error: Option<String>,
    /// Calls that failed (timed out or otherwise), by status code and message.
    failures: BTreeMap<String, usize>,
}

type Tallies = BTreeMap<Call, Tally>;

fn record(tallies: &mut Tallies, call: Call, sent: Instant, result: Result<(), tonic::Status>) {
    let tally = tallies.entry(call).or_default();
    if let Err(status) = &result
        && status.code() != Code::ResourceExhausted
    {
        let mut message = status.message().to_owned();
        message.truncate(80);
        // A transport error's cause, as far down as it is given.
        let mut source = std::error::Error::source(status);
        while let Some(cause) = source {
            let _ = write!(message, ": {cause}");
            source = cause.source();
        }
        message.truncate(240);
        *tally
            .failures
            .entry(format!("{:?}: {message}", status.code()))
            .or_default() += 1;
    }
    match result {
        Ok(()) => tally.samples.push(sent.elapsed()),
        Err(status) if status.code() == Code::ResourceExhausted => tally.shed += 1,
        Err(status) if matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled) => {
            tally.timed_out += 1;
        }
        Err(status) => {
            tally.errors += 1;
            tally
                .first_error
                .get_or_insert_with(|| format!("{:?}: {}", status.code(), status.message()));
        }
    }
}

fn merge(into: &mut Tallies, from: Tallies) {
    for (call, tally) in from {
        let mine = into.entry(call).or_default();
        mine.samples.extend(tally.samples);
        mine.shed += tally.shed;
        mine.timed_out += tally.timed_out;
        mine.errors += tally.errors;
        if mine.first_error.is_none() {
            mine.first_error = tally.first_error;
        }
        for (failure, count) in tally.failures {
            *mine.failures.entry(failure).or_default() += count;
        }
    }
}

/// What every worker shares.
struct Shared {
    generator: Arc<Generator>,
    /// The next generated case to store (numbers beyond the imported ones).
    next_case: AtomicU64,
    /// Ids of the imported cases: first and count.
    ids: (i64, i64),
}

/// A request with a deadline of `deadline`, when given.
fn with_deadline<T>(message: T, deadline: Option<Duration>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(deadline) = deadline {
        request.set_timeout(deadline);
    }
    request
}

/// One worker of `role` calling until `end`.
async fn work(
    role: Role,
    seed: u64,
    channel: Authed,
    shared: Arc<Shared>,
    end: Instant,
    deadline: Option<Duration>,
) -> Tallies {
    let mut tallies = Tallies::new();
    let mut cases = CaseServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20);
    let mut reports = ReportServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let mut rng = Rng::new(seed, 7);
    while Instant::now() < end {
        match role {
            Role::GetCase => {
                let id = shared.ids.0 + rng.below(shared.ids.1 as u64) as i64;
                let sent = Instant::now();
                let request = pb::GetCaseRequest {
                    name: format!("cases/{id}"),
                };
                let result = cases.get_case(with_deadline(request, deadline)).await;
                record(&mut tallies, Call::GetCase, sent, result.map(drop));
            }
            Role::Rollup | Role::RollupAsOf => {
                let as_of = role == Role::RollupAsOf;
                let sent = Instant::now();
                let result = reports
                    .get_rollup(with_deadline(
                        national_by_province(
                            as_of.then(|| std::time::SystemTime::now().into()),
                            false,
                        ),
                        deadline,
                    ))
                    .await;
                let call = if as_of {
                    Call::RollupAsOf
                } else {
                    Call::Rollup
                };
                record(&mut tallies, call, sent, result.map(drop));
            }
            Role::Import => {
                let first = shared.next_case.fetch_add(SOAK_BATCH, Ordering::Relaxed);
                let (batch, _) = shared.generator.proto_batch(first, first + SOAK_BATCH);
                let request = pb::ImportCasesRequest {
                    batch_number: 1,
                    cases: batch,
                };
                let sent = Instant::now();
                let result = async {
                    let mut acks = cases
                        .import_cases(tokio_stream::iter([request]))
                        .await?
                        .into_inner();
                    while acks.message().await?.is_some() {}
                    Ok(())
                }
                .await;
                record(&mut tallies, Call::ImportBatch, sent, result);
            }
            Role::Write => write(&mut cases, &shared, deadline, &mut tallies).await,
        }
    }
    tallies
}

/// A single write and its corrections: CreateCase (without its measures), CreateMeasure with
/// its first measure, and UpdateCase flipping its leader-handled marker.
async fn write(
    cases: &mut CaseServiceClient<Authed>,
    shared: &Shared,
    deadline: Option<Duration>,
    tallies: &mut Tallies,
) {
    let number = shared.next_case.fetch_add(1, Ordering::Relaxed);
    let mut case = shared.generator.to_proto(shared.generator.case(number));
    let measures = std::mem::take(&mut case.measures);
    let sent = Instant::now();
    let request = pb::CreateCaseRequest {
        case: Some(case),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let created = cases.create_case(with_deadline(request, deadline)).await;
    let created = match created {
        Ok(answer) => {
            record(tallies, Call::CreateCase, sent, Ok(()));
            answer.into_inner().case.unwrap_or_default()
        }
        Err(status) => return record(tallies, Call::CreateCase, sent, Err(status)),
    };
    if let Some(measure) = measures.into_iter().next() {
        let sent = Instant::now();
        let request = pb::CreateMeasureRequest {
            parent: created.name.clone(),
            measure: Some(measure),
            request_id: uuid::Uuid::new_v4().to_string(),
        };
        let result = cases.create_measure(with_deadline(request, deadline)).await;
        record(tallies, Call::CreateMeasure, sent, result.map(drop));
    }
    let mut corrected = created;
    corrected.etag = String::new();
    corrected.leader_handled = !corrected.leader_handled;
    let sent = Instant::now();
    let request = pb::UpdateCaseRequest {
        case: Some(corrected),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["leader_handled".to_owned()],
        }),
        reason: "soak correction".to_owned(),
    };
    let result = cases.update_case(with_deadline(request, deadline)).await;
    record(tallies, Call::UpdateCase, sent, result.map(drop));
}

/// Runs `count` workers (roles by `role_of`) over `channels` for `seconds`.
async fn load(
    channels: &[Authed],
    shared: &Arc<Shared>,
    count: usize,
    role_of: impl Fn(usize) -> Role,
    seconds: f64,
    deadline: Option<Duration>,
    seed: u64,
) -> Result<Tallies> {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..count)
        .map(|w| {
            tokio::spawn(work(
                role_of(w),
                seed + w as u64,
                channels[w % channels.len()].clone(),
                shared.clone(),
                end,
                deadline,
            ))
        })
        .collect();
    let mut all = Tallies::new();
    for worker in workers {
        merge(&mut all, worker.await?);
    }
    Ok(all)
}

/// The RSS of the server now, in MB.
fn rss_mb(server_pid: u32) -> f64 {
    proc_status_kb(server_pid, "VmRSS").unwrap_or(0) as f64 / 1024.0
}

/// The p99 of `call` in `tallies`, if it completed at all.
fn p99(tallies: &Tallies, call: Call) -> Option<Duration> {
    let samples = &tallies.get(&call)?.samples;
    (!samples.is_empty()).then(|| latency(samples.clone()).p99)
}

/// Runs the soak (see the module's doc) and returns its part of the report.
pub(crate) async fn soak(
    url: &str,
    token: &str,
    server_db: &str,
    server_pid: u32,
    generator: Arc<Generator>,
    seconds: f64,
    args: &Args,
) -> Result<String> {
    let (first, count) = stored_case_ids(server_db)?;
    let shared = Arc::new(Shared {
        generator,
        next_case: AtomicU64::new(args.cases + 1_000_000_000),
        ids: (first, count),
    });
    let mut channels = Vec::new();
    for _ in 0..args.channels.max(8) {
        channels.push(connect(url, token).await?);
    }

    // The cheap calls alone: the same workers as in the soak, without the others.
    let alone_seconds = (seconds / 5.0).clamp(1.0, 60.0);
    eprintln!("soak: the cheap calls alone for {alone_seconds:.0} s");
    let cheap = |w: usize| match role(w) {
        Role::Rollup => Role::Rollup,
        _ => Role::GetCase,
    };
    let alone = load(
        &channels[..args.channels],
        &shared,
        CONCURRENCY,
        cheap,
        alone_seconds,
        None,
        args.seed,
    )
    .await?;

    eprintln!("soak: the mixed load at concurrency {CONCURRENCY} for {seconds:.0} s");
    let rss_at_start = Arc::new(std::sync::Mutex::new(rss_mb(server_pid)));
    let warmup = Duration::from_secs_f64(seconds / 10.0);
    let sampler = {
        let rss_at_start = rss_at_start.clone();
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            if let Ok(mut rss) = rss_at_start.lock() {
                *rss = rss_mb(server_pid);
            }
        })
    };
    let started = Instant::now();
    let mixed = load(
        &channels[..args.channels],
        &shared,
        CONCURRENCY,
        role,
        seconds,
        None,
        args.seed + 100,
    )
    .await?;
    let elapsed = started.elapsed();
    sampler.await?;
    let rss_start = rss_at_start.lock().map(|r| *r).unwrap_or(0.0);
    let rss_end = rss_mb(server_pid);

    let overload_seconds = seconds.clamp(1.0, 10.0);
    eprintln!("soak: overload at concurrency {OVERLOAD} for {overload_seconds:.0} s");
    let overload_role = |w: usize| match w % 4 {
        0 => Role::Write,
        1 => Role::Rollup,
        _ => Role::GetCase,
    };
    let overload = load(
        &channels,
        &shared,
        OVERLOAD,
        overload_role,
        overload_seconds,
        Some(OVERLOAD_DEADLINE),
        args.seed + 200,
    )
    .await?;

    let mut out = format!(
        "\n## Mixed soak\n\n{seconds:.0} s at concurrency {CONCURRENCY} against one server \
         ({:.0} s measured), after the import: of every 16 workers 1 imports batches of \
         {SOAK_BATCH} new cases (one stream each), 2 create cases and correct them (CreateCase, \
         CreateMeasure, UpdateCase), 2 ask for national rollups as of now (heavy reads: the \
         live figures less what changed since the moment found), 2 for the same rollup from the kept totals, 9 read random cases.\n\n\
         | RPC | calls | errors | shed | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |\n",
        elapsed.as_secs_f64()
    );
    let mut errors = 0;
    let mut calls = 0;
    for (call, tally) in &mixed {
        let done = tally.samples.len();
        let failed = tally.errors + tally.timed_out;
        errors += failed;
        calls += done + failed + tally.shed;
        let lat = (done > 0).then(|| latency(tally.samples.clone()));
        let _ = writeln!(
            out,
            "| {call:?} | {done} | {failed} | {} | {} | {} |",
            tally.shed,
            lat.map_or("—".to_owned(), |l| format!("{:.1} ms", ms(l.p50))),
            lat.map_or("—".to_owned(), |l| format!("{:.1} ms", ms(l.p99))),
        );
        if let Some(first) = &tally.first_error {
            let _ = writeln!(out, "|  first error of {call:?}: {first} | | | | | |");
        }
    }
    let _ = writeln!(
        out,
        "\nErrors other than shed load: {errors} of {calls} calls (target 0)."
    );
    for call in [Call::GetCase, Call::Rollup] {
        if let (Some(alone), Some(mixed)) = (p99(&alone, call), p99(&mixed, call)) {
            let _ = writeln!(
                out,
                "{call:?} p99 alone ({alone_seconds:.0} s of cheap calls only) {:.1} ms, under \
                 the mixed load {:.1} ms: {:.2} × (target ≤ 3).",
                ms(alone),
                ms(mixed),
                mixed.as_secs_f64() / alone.as_secs_f64()
            );
        }
    }
    let _ = writeln!(
        out,
        "Server RSS after the warm-up ({:.0} s) {rss_start:.0} MB, at the end {rss_end:.0} MB: \
         {:.2} × (target ≤ 1.2).",
        warmup.as_secs_f64(),
        rss_end / rss_start.max(1.0)
    );
    let (mut served, mut shed, mut timed_out, mut failed) = (0, 0, 0, 0);
    let mut failures: BTreeMap<(String, Call), usize> = BTreeMap::new();
    for (call, tally) in &overload {
        served += tally.samples.len();
        shed += tally.shed;
        timed_out += tally.timed_out;
        failed += tally.errors;
        for (failure, count) in &tally.failures {
            *failures.entry((failure.clone(), *call)).or_default() += count;
        }
    }
    let _ = writeln!(
        out,
        "\nOverload: {OVERLOAD} callers for {overload_seconds:.0} s (half GetCase, a quarter \
         rollups from the kept totals, a quarter writes), each call with a deadline of {} s: \
         {served} served, {shed} shed RESOURCE_EXHAUSTED, {timed_out} past their deadline, \
         {failed} other errors (target: shed, not timed out).",
        OVERLOAD_DEADLINE.as_secs()
    );
    if !failures.is_empty() {
        let _ = writeln!(
            out,
            "\n| failed call | status | count |\n| --- | --- | --- |"
        );
        for ((failure, call), count) in failures {
            let failure = failure.replace('|', "/");
            let _ = writeln!(out, "| {call:?} | {failure} | {count} |");
        }
    }
    Ok(out)
}
