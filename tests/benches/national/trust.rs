//! The trusted figures (`--trust CHANGES`), at the end of a run: publishes the national
//! rollup of 2020 by province, makes CHANGES changes through the API (in turn a correction
//! that flips a case's leader-handled marker, a late case, a withdrawal), then times the same
//! rollup as of the release's moment against the live rollup, as of the moment when half of
//! the imported cases existed, DiffRelease naming every changed record, and the national
//! rollup by province with its indicators (pending cases by age).

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

/// Callers making the changes at once.
const WRITERS: usize = 16;
/// Timed calls of the as-of rollup at the half-records moment and of DiffRelease (each may
/// read millions of records).
const SLOW_CALLS: usize = 3;

/// Times `calls` GetRollup calls of `request`, after `warmup` untimed ones.
async fn time_calls(
    reports: &mut ReportServiceClient<Authed>,
    request: &pb::GetRollupRequest,
    warmup: usize,
    calls: usize,
) -> Result<(Latency, pb::Rollup)> {
    let mut samples = Vec::with_capacity(calls);
    let mut last = None;
    for call in 0..warmup + calls {
        let started = Instant::now();
        let answer = reports
            .get_rollup(request.clone())
            .await
            .context("GetRollup")?;
        if call >= warmup {
            samples.push(started.elapsed());
        }
        last = answer.into_inner().rollup;
    }
    Ok((
        latency(samples),
        last.ok_or_else(|| anyhow!("GetRollup returned no rollup"))?,
    ))
}

/// Makes change number `i`: a correction, a late case or a withdrawal of imported case
/// `target`, or a new case numbered `late`.
async fn change(
    cases: &mut CaseServiceClient<Authed>,
    generator: &Generator,
    i: u64,
    target: i64,
    late: u64,
) -> Result<()> {
    if i % 3 == 1 {
        let case = generator.to_proto(generator.case(late));
        cases
            .create_case(pb::CreateCaseRequest {
                case: Some(case),
                request_id: String::new(),
            })
            .await
            .context("CreateCase")?;
        return Ok(());
    }
    let mut case = cases
        .get_case(pb::GetCaseRequest {
            name: format!("cases/{target}"),
        })
        .await
        .context("GetCase")?
        .into_inner()
        .case
        .ok_or_else(|| anyhow!("GetCase returned no case"))?;
    case.etag = String::new();
    let path = if i.is_multiple_of(3) {
        case.leader_handled = !case.leader_handled;
        "leader_handled"
    } else {
        case.status = pb::CaseStatus::Withdrawn as i32;
        "status"
    };
    cases
        .update_case(pb::UpdateCaseRequest {
            case: Some(case),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![path.to_owned()],
            }),
            reason: "benchmark change after a release".to_owned(),
        })
        .await
        .context("UpdateCase")?;
    Ok(())
}

/// Runs the trusted figures (see the module's doc) and returns its part of the report.
pub(crate) async fn trust(
    url: &str,
    token: &str,
    server_db: &str,
    generator: Arc<Generator>,
    changes: u64,
    args: &Args,
) -> Result<String> {
    let server = db_url(server_db);
    let (first, count) = stored_case_ids(server_db)?;
    let channel = connect(url, token).await?;
    let mut reports = ReportServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20);
    eprintln!("trust: publishing the national rollup of 2020 by province");
    let release = reports
        .publish_rollup(pb::PublishRollupRequest {
            rollup: Some(national_by_province(None, false)),
            title: "Benchmark release".to_owned(),
            ..Default::default()
        })
        .await
        .context("PublishRollup")?
        .into_inner()
        .release
        .ok_or_else(|| anyhow!("PublishRollup returned no release"))?;
    let released_at = release
        .rollup
        .as_ref()
        .and_then(|r| r.as_of)
        .ok_or_else(|| anyhow!("the release has no moment"))?;

    // The first moment that saw the case in the middle of the import (the release's own, at
    // the latest).
    let half = psql(
        &server,
        &format!(
            "SELECT to_char(m.time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             FROM moments m, cases c WHERE c.id = {} \
             AND pg_visible_in_snapshot(c.create_xid, m.snapshot::pg_snapshot) \
             ORDER BY m.time LIMIT 1",
            first + count / 2
        ),
    )?;
    let half: chrono::DateTime<chrono::Utc> = half
        .parse()
        .with_context(|| format!("no moment saw half of the cases ({half:?})"))?;

    eprintln!("trust: {changes} changes after the release");
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (channel, generator, next) = (channel.clone(), generator.clone(), next.clone());
            let late_base = args.cases + 2_000_000_000;
            tokio::spawn(async move {
                let mut cases = CaseServiceClient::new(channel);
                let mut rng = Rng::new(w as u64 + 1, 11);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= changes {
                        return Ok::<_, anyhow::Error>(());
                    }
                    let target = first + rng.below(count as u64) as i64;
                    change(&mut cases, &generator, i, target, late_base + i).await?;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    let change_seconds = started.elapsed().as_secs_f64();

    eprintln!("trust: timing rollups live, as of the release and with indicators");
    let calls = args.rollup_calls;
    let (live, _) = time_calls(&mut reports, &national_by_province(None, false), 5, calls).await?;
    let (at_release, _) = time_calls(
        &mut reports,
        &national_by_province(Some(released_at), false),
        5,
        calls,
    )
    .await?;
    let (indicators, _) =
        time_calls(&mut reports, &national_by_province(None, true), 5, calls).await?;
    eprintln!("trust: timing the rollup as of the half-records moment ({half})");
    let half_time: std::time::SystemTime = half.into();
    let (at_half, _) = time_calls(
        &mut reports,
        &national_by_province(Some(half_time.into()), false),
        0,
        SLOW_CALLS,
    )
    .await?;
    eprintln!("trust: timing DiffRelease");
    let mut diff_samples = Vec::new();
    let (mut figures, mut records) = (0, 0);
    for _ in 0..SLOW_CALLS {
        let started = Instant::now();
        let diff = reports
            .diff_release(pb::DiffReleaseRequest {
                name: release.name.clone(),
            })
            .await
            .context("DiffRelease")?
            .into_inner();
        diff_samples.push(started.elapsed());
        figures = diff.changes.len();
        records = diff.changes.iter().map(|c| c.records.len()).sum::<usize>();
    }
    let diff = latency(diff_samples);

    let mut out = format!(
        "\n## Trusted figures\n\nThe national rollup of 2020 by province published as a \
         release, then {changes} changes through the API ({WRITERS} callers, {change_seconds:.0} \
         s): corrections of the leader-handled marker, late cases and withdrawals in turn, on \
         random imported cases. Then {calls} timed calls each (after 5 untimed) of the rollup \
         live, as of the release's moment and with indicators, and {SLOW_CALLS} of the rollup as \
         of the moment half of the imported cases existed ({half}) and of DiffRelease.\n\n\
         | figure | p50 | p99 | target |\n| --- | --- | --- | --- |\n"
    );
    let row = |out: &mut String, name: &str, lat: Latency, target: &str| {
        let _ = writeln!(
            out,
            "| {name} | {:.2} ms | {:.2} ms | {target} |",
            ms(lat.p50),
            ms(lat.p99)
        );
    };
    row(&mut out, "live national by province", live, "—");
    row(
        &mut out,
        "as of the release's moment",
        at_release,
        &format!(
            "p99 ≤ 50 ms and ≤ 5 × live: {:.1} ×",
            at_release.p99.as_secs_f64() / live.p99.as_secs_f64()
        ),
    );
    row(
        &mut out,
        "as of the half-records moment",
        at_half,
        "p99 ≤ 1 s",
    );
    row(
        &mut out,
        &format!("DiffRelease ({figures} changed figures, {records} record mentions)"),
        diff,
        "≤ 1 s",
    );
    row(&mut out, "with indicators", indicators, "p99 ≤ 30 ms");
    Ok(out)
}
