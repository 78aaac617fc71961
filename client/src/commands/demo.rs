//! `procura demo load`: generates the demo data set (演示数据, see [`crate::demo`]) and stores
//! it through the public API, streamed in batches over `CaseService.ImportCases` (falling back
//! to CreateCase calls where the server lacks ImportCases). Loading twice stores nothing new:
//! the second load finds every case already present. After the load it compares the national
//! rollups of the published periods with the data set's own counts, and says when other
//! records in the database change them.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{
    Case, Comparison, CreateCaseRequest, DateRange, GetRollupRequest, ImportCasesRequest,
    MeasureKind, Period, Rollup, period,
};
use tonic::{Code, Status};

use super::{Context, Transport, call, new_request_id};
use crate::demo::calendar::{Day, date};
use crate::demo::tally::{Figures, tally};
use crate::demo::{self, ACTIVITY, DEFAULT_SEED, FIRST_DAY, LAST_DAY, YEAR_2019, YEAR_2020};
use crate::error::{code_in_words, violations};
use crate::output::{emit, format_count, format_yuan};

/// The `procura demo` subcommands.
#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Generate the demo data set and store it in the server (演示数据).
    Load(LoadArgs),
}

/// Arguments of `procura demo load`.
#[derive(Debug, Args)]
#[command(after_long_help = LOAD_HELP)]
pub struct LoadArgs {
    /// Seed of the generator: the same seed always gives the same cases. Load one seed per
    /// database: cases are keyed by procuratorate and case number, which another seed reuses.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Cases per ImportCases batch (each batch is one transaction, acknowledged on commit).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=5000))]
    batch_size: u32,
    /// CreateCase calls kept in flight when the server has no ImportCases.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Store the cases with CreateCase calls (--concurrency at a time) instead of the
    /// ImportCases stream.
    #[arg(long)]
    no_stream: bool,
    /// Generate and summarise the data set without sending anything.
    #[arg(long)]
    dry_run: bool,
}

const LOAD_HELP: &str = "\
The demo data set: about 47,000 cases accepted 2019-01-01..2020-12-31 at procuratorates of all
31 provinces (weighted by population; provincial, prefecture and county procuratorates), with
their supervision measures, dispute resolutions, judicial aid grants and markers. Its rollups
give exactly the figures the SPP published on 2021-02-23 (data/published-figures-2020.csv):

  procura rollup --region 000000 --year 2020
  procura rollup --region 000000 --from 2019-11-01 --to 2020-12-31

Cases are numbered 演示〔YEAR〕NNNN号 per procuratorate, so loading again stores nothing new: every
case is reported as already present. Exit status: 0 when nothing was rejected, 2 otherwise.";

/// How many times a dropped import stream is resumed from the first unacknowledged batch.
const RESUMES: u32 = 3;

/// What became of the cases sent.
#[derive(Debug, Default)]
struct Outcome {
    created: u64,
    already_present: u64,
    /// Rejected cases: index in the data set, and why.
    rejected: Vec<(usize, String)>,
    /// How the cases were sent, e.g. `ImportCases, 54 batches`.
    via: String,
}

/// Runs `procura demo`.
pub async fn run(command: DemoCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        DemoCommand::Load(args) => load(args, ctx).await,
    }
}

async fn load(args: LoadArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let cases = demo::generate(args.seed);
    let generated_in = started.elapsed();
    let mut report = data_set_summary(&cases, args.seed, generated_in);
    if args.dry_run {
        report.push_str("dry run: nothing sent\n");
        emit(&report)?;
        return Ok(ExitCode::SUCCESS);
    }

    let channel = ctx.channel().await?;
    let channel_for_check = channel.clone();
    let cases = Arc::new(cases);
    let progress = progress_bar(cases.len() as u64);
    let sending = Instant::now();
    let streamed = if args.no_stream {
        None
    } else {
        import_stream(channel.clone(), &cases, args.batch_size as usize, &progress).await?
    };
    let outcome = match streamed {
        Some(outcome) => outcome,
        None => {
            let why = if args.no_stream {
                "--no-stream"
            } else {
                "the server has no ImportCases"
            };
            progress.set_message(format!("CreateCase calls ({why})"));
            let mut outcome =
                create_each(channel, &cases, usize::from(args.concurrency), &progress).await;
            outcome.via = format!("CreateCase, {} at a time: {why}", args.concurrency);
            outcome
        }
    };
    progress.finish_and_clear();
    let sent_in = sending.elapsed();

    report.push_str(&format!(
        "sent in {:.1} s ({}): created {}, already present {}, rejected {}\n",
        sent_in.as_secs_f64(),
        outcome.via,
        format_count(outcome.created as i64),
        format_count(outcome.already_present as i64),
        format_count(outcome.rejected.len() as i64),
    ));
    const SHOWN: usize = 20;
    for (index, reason) in outcome.rejected.iter().take(SHOWN) {
        let case = &cases[*index];
        report.push_str(&format!(
            "  rejected {} {}: {reason}\n",
            case.region.trim_start_matches("regions/"),
            case.case_number
        ));
    }
    if outcome.rejected.len() > SHOWN {
        report.push_str(&format!(
            "  ... and {} more rejected\n",
            outcome.rejected.len() - SHOWN
        ));
    }
    if let Some(note) = compare_with_the_data_set(channel_for_check, &cases).await {
        report.push_str(&note);
    }
    emit(&report)?;
    Ok(if outcome.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The periods whose national rollups the demo's summary and the published figures name.
const CHECKED_PERIODS: [(Day, Day); 3] = [YEAR_2019, YEAR_2020, ACTIVITY];

/// A figure whose national rollup differs from the demo data set's own count.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Difference {
    /// The period, e.g. `2020-01-01..2020-12-31`.
    period: String,
    /// The metric id.
    metric: String,
    /// What the server counts.
    live: i64,
    /// What the demo's records alone give.
    demo: i64,
}

/// The figures of a national rollup of `period` that differ from `expected`, the demo's own.
fn differences(period: (Day, Day), expected: &Figures, rollup: &Rollup) -> Vec<Difference> {
    rollup
        .figures
        .iter()
        .filter_map(|figure| {
            let demo = expected.metric(&figure.metric)?;
            (demo != figure.value).then(|| Difference {
                period: format!("{}..{}", range_text(period.0), range_text(period.1)),
                metric: figure.metric.clone(),
                live: figure.value,
                demo,
            })
        })
        .collect()
}

/// The note of a load whose national figures differ from the data set's: the database holds
/// other records (or changed ones) that move the published figures.
fn other_records_note(differences: &[Difference]) -> Option<String> {
    const SHOWN: usize = 3;
    if differences.is_empty() {
        return None;
    }
    let mut listed: Vec<String> = differences
        .iter()
        .take(SHOWN)
        .map(|d| {
            format!(
                "{} {} is {}, the demo's {}",
                d.period,
                d.metric,
                format_count(d.live),
                format_count(d.demo)
            )
        })
        .collect();
    if differences.len() > SHOWN {
        listed.push(format!("{} more", differences.len() - SHOWN));
    }
    Some(format!(
        "note: the database holds other records besides the demo's (or changed ones), and they \
         change its figures: {}. The published figures come out as documented only on a \
         database that holds the demo alone (a new database: procura-server --database-url)\n",
        listed.join("; ")
    ))
}

/// Compares the national rollups of the periods the published figures cover with the data
/// set's own counts, and returns the note when they differ. A rollup the caller may not read
/// (or any other failure) is said in one line instead.
async fn compare_with_the_data_set(channel: Transport, cases: &[Case]) -> Option<String> {
    let client = ReportServiceClient::new(channel);
    let mut found = Vec::new();
    for period in CHECKED_PERIODS {
        let request = GetRollupRequest {
            region: "regions/000000".to_owned(),
            period: Some(Period {
                kind: Some(period::Kind::Range(DateRange {
                    start: Some(date(period.0)),
                    end: Some(date(period.1)),
                })),
            }),
            comparison: Comparison::None.into(),
            ..GetRollupRequest::default()
        };
        let rollup = match call(&client, &request, |mut c, r| async move {
            c.get_rollup(r).await
        })
        .await
        {
            Ok(response) => response.rollup.unwrap_or_default(),
            Err(status) => {
                return Some(format!(
                    "(not checked whether other records change the demo's figures: the national \
                     rollup failed: {})\n",
                    rejection_reason(&status)
                ));
            }
        };
        found.extend(differences(
            period,
            &tally(cases, period.0, period.1),
            &rollup,
        ));
    }
    other_records_note(&found)
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} loading demo cases [{bar:30}] {pos}/{len} {msg} ({eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(len).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Sends the cases over one ImportCases stream, `batch_size` per batch numbered from 1, and
/// counts the acknowledgements. A stream that breaks is resumed from the first batch not yet
/// acknowledged (the server reports re-sent cases as already present). `None` when the server
/// does not implement ImportCases.
async fn import_stream(
    channel: Transport,
    cases: &Arc<Vec<Case>>,
    batch_size: usize,
    progress: &ProgressBar,
) -> anyhow::Result<Option<Outcome>> {
    let batches = cases.len().div_ceil(batch_size);
    let mut client = CaseServiceClient::new(channel);
    let mut outcome = Outcome {
        via: format!("ImportCases, {batches} batches of up to {batch_size}"),
        ..Outcome::default()
    };
    let mut next = 0usize;
    let mut resumes = 0;
    while next < batches {
        let shared = Arc::clone(cases);
        let requests = futures::stream::iter(next..batches).map(move |batch| {
            let start = batch * batch_size;
            let end = (start + batch_size).min(shared.len());
            ImportCasesRequest {
                batch_number: batch as i64 + 1,
                cases: shared[start..end].to_vec(),
            }
        });
        let failure = match client.import_cases(requests).await {
            Err(status) => status,
            Ok(response) => {
                let mut acks = response.into_inner();
                loop {
                    match acks.message().await {
                        Ok(Some(ack)) => {
                            let expected = next as i64 + 1;
                            if ack.batch_number != expected {
                                anyhow::bail!(
                                    "the server acknowledged batch {} where batch {expected} \
                                     was due",
                                    ack.batch_number
                                );
                            }
                            let start = next * batch_size;
                            let len = (cases.len() - start).min(batch_size);
                            outcome.created += u64::from(ack.created.max(0) as u32);
                            outcome.already_present += u64::from(ack.already_present.max(0) as u32);
                            for rejection in ack.rejections {
                                let position = usize::try_from(rejection.position).unwrap_or(0);
                                let reason = if rejection.field.is_empty() {
                                    rejection.reason
                                } else {
                                    format!("{}: {}", rejection.field, rejection.reason)
                                };
                                outcome
                                    .rejected
                                    .push((start + position.min(len - 1), reason));
                            }
                            progress.inc(len as u64);
                            progress.set_message(format!(
                                "created {}, already present {}",
                                outcome.created, outcome.already_present
                            ));
                            next += 1;
                        }
                        Ok(None) if next == batches => return Ok(Some(outcome)),
                        Ok(None) => {
                            break Status::unavailable(format!(
                                "the server ended the import after {next} of {batches} batches"
                            ));
                        }
                        Err(status) => break status,
                    }
                }
            }
        };
        if failure.code() == Code::Unimplemented && next == 0 {
            return Ok(None);
        }
        let transient = matches!(
            failure.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled | Code::Aborted
        );
        if !transient || resumes >= RESUMES {
            return Err(anyhow::Error::new(failure).context(format!(
                "ImportCases failed after {next} of {batches} batches were acknowledged"
            )));
        }
        resumes += 1;
        progress.set_message(format!("resuming at batch {}", next + 1));
        tokio::time::sleep(Duration::from_millis(500 * u64::from(resumes))).await;
    }
    Ok(Some(outcome))
}

/// Stores the cases one CreateCase call each, `concurrency` at a time: for a server without
/// ImportCases. ALREADY_EXISTS counts as already present.
async fn create_each(
    channel: Transport,
    cases: &Arc<Vec<Case>>,
    concurrency: usize,
    progress: &ProgressBar,
) -> Outcome {
    let client = CaseServiceClient::new(channel);
    let mut outcome = Outcome::default();
    let mut calls = futures::stream::iter(0..cases.len())
        .map(|index| {
            let client = client.clone();
            let request = CreateCaseRequest {
                case: Some(cases[index].clone()),
                request_id: new_request_id(),
            };
            async move {
                let result = call(&client, &request, |mut c, r| async move {
                    c.create_case(r).await
                })
                .await;
                (index, result.map(|_| ()))
            }
        })
        .buffer_unordered(concurrency);
    while let Some((index, result)) = calls.next().await {
        match result {
            Ok(()) => outcome.created += 1,
            Err(status) if status.code() == Code::AlreadyExists => outcome.already_present += 1,
            Err(status) => outcome.rejected.push((index, rejection_reason(&status))),
        }
        progress.inc(1);
    }
    outcome.rejected.sort_by_key(|(index, _)| *index);
    outcome
}

fn rejection_reason(status: &Status) -> String {
    let found = violations(status);
    if found.is_empty() {
        format!("{}: {}", code_in_words(status.code()), status.message())
    } else {
        found
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What the data set holds and the figures its rollups must give.
fn data_set_summary(cases: &[Case], seed: u64, generated_in: Duration) -> String {
    let all = tally(cases, FIRST_DAY, LAST_DAY);
    let regions: BTreeSet<&str> = cases
        .iter()
        .map(|c| c.region.trim_start_matches("regions/"))
        .collect();
    let provinces: BTreeSet<&str> = regions.iter().filter_map(|r| r.get(..2)).collect();
    let mut out = format!(
        "demo data set, seed {seed} (generated in {} ms): {} cases accepted {}..{} at {} \
         procuratorates in {} provinces\n",
        generated_in.as_millis(),
        format_count(all.cases_accepted),
        range_text(FIRST_DAY),
        range_text(LAST_DAY),
        format_count(regions.len() as i64),
        provinces.len(),
    );
    out.push_str(&format!(
        "  {} measures ({} protests, {} retrial suggestions, {} trial violation, {} enforcement \
         violation, {} social governance, {} administrative organ suggestions), {} disputes \
         resolved, {} aid grants ({} yuan)\n",
        format_count(all.metric("measures.total").unwrap_or_default()),
        format_count(all.measure(MeasureKind::Protest)),
        format_count(all.measure(MeasureKind::RetrialSuggestion)),
        format_count(all.measure(MeasureKind::TrialViolationSuggestion)),
        format_count(all.measure(MeasureKind::EnforcementViolationSuggestion)),
        format_count(all.measure(MeasureKind::SocialGovernanceSuggestion)),
        format_count(all.measure(MeasureKind::AdministrativeOrganSuggestion)),
        format_count(all.resolutions),
        format_count(all.aid_grants),
        format_yuan(all.aid_amount_fen),
    ));
    let y2020 = tally(cases, YEAR_2020.0, YEAR_2020.1);
    let y2019 = tally(cases, YEAR_2019.0, YEAR_2019.1);
    let activity = tally(cases, ACTIVITY.0, ACTIVITY.1);
    out.push_str("  its rollups give, for 2020 (2019):");
    for (label, metric) in [
        (
            "protests and retrial suggestions",
            "measures.protest_and_retrial",
        ),
        ("trial violation", "measures.trial_violation_suggestion"),
        (
            "enforcement violation",
            "measures.enforcement_violation_suggestion",
        ),
        ("social governance", "measures.social_governance_suggestion"),
    ] {
        out.push_str(&format!(
            " {label} {} ({}),",
            figure(&y2020, metric),
            figure(&y2019, metric)
        ));
    }
    out.pop();
    out.push('\n');
    out.push_str(&format!(
        "  and for the special activity {}..{}: administrative organ suggestions {}, disputes \
         resolved {} (private enterprises {}), aid {} grants of {} yuan, listed cases {} in {} \
         batches (private enterprises {}), typical cases {}\n",
        range_text(ACTIVITY.0),
        range_text(ACTIVITY.1),
        figure(&activity, "measures.administrative_organ_suggestion"),
        figure(&activity, "resolutions.total"),
        figure(&activity, "resolutions.private_enterprise"),
        figure(&activity, "aid.grants"),
        format_yuan(activity.aid_amount_fen),
        figure(&activity, "markers.spp_listed"),
        figure(&activity, "markers.spp_listed_batches"),
        figure(&activity, "markers.spp_listed_private_enterprise"),
        figure(&activity, "markers.typical"),
    ));
    out
}

fn figure(figures: &Figures, metric: &str) -> String {
    format_count(figures.metric(metric).unwrap_or_default())
}

fn range_text(day: Day) -> String {
    let d = date(day);
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_published_figures() {
        let cases = demo::generate(DEFAULT_SEED);
        let text = data_set_summary(&cases, DEFAULT_SEED, Duration::from_millis(5));
        assert!(
            text.contains("protests and retrial suggestions 380 (239)"),
            "{text}"
        );
        assert!(
            text.contains("enforcement violation 25,000 (12,953)"),
            "{text}"
        );
        assert!(
            text.contains("aid 190 grants of 4,200,000.00 yuan"),
            "{text}"
        );
        assert!(text.contains("listed cases 45 in 2 batches"), "{text}");
    }

    #[test]
    fn other_records_are_named_by_the_figures_they_change() {
        let cases = demo::generate(DEFAULT_SEED);
        let expected = tally(&cases, YEAR_2020.0, YEAR_2020.1);
        let figure = |metric: &str, value: i64| procura_proto::v1::Figure {
            metric: metric.to_owned(),
            value,
            ..procura_proto::v1::Figure::default()
        };
        let same = Rollup {
            figures: vec![
                figure("measures.protest_and_retrial", 380),
                figure("aid.grants", expected.aid_grants),
                figure("no.such.metric", 7),
            ],
            ..Rollup::default()
        };
        assert_eq!(differences(YEAR_2020, &expected, &same), vec![]);
        assert_eq!(other_records_note(&[]), None);

        let more = Rollup {
            figures: vec![
                figure("measures.protest_and_retrial", 382),
                figure("aid.grants", expected.aid_grants + 1),
            ],
            ..Rollup::default()
        };
        let found = differences(YEAR_2020, &expected, &more);
        assert_eq!(found.len(), 2);
        let note = other_records_note(&found).unwrap();
        assert!(
            note.starts_with(
                "note: the database holds other records besides the demo's (or changed ones), \
                 and they change its figures: 2020-01-01..2020-12-31 \
                 measures.protest_and_retrial is 382, the demo's 380; "
            ),
            "{note}"
        );
        let many = vec![found[0].clone(); 5];
        assert!(
            other_records_note(&many).unwrap().contains("; 2 more. "),
            "{many:?}"
        );
    }

    #[test]
    fn rejections_name_their_fields() {
        use tonic_types::{ErrorDetails, FieldViolation, StatusExt};
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "bad case",
            ErrorDetails::with_bad_request(vec![FieldViolation::new(
                "case.accepted_on",
                "is in the future",
            )]),
        );
        assert_eq!(
            rejection_reason(&status),
            "case.accepted_on: is in the future"
        );
        assert_eq!(
            rejection_reason(&Status::internal("boom")),
            "internal error: boom"
        );
    }
}
