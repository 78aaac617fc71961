//! `procura cases import FILE`: stores many cases from a CSV or JSON-lines file, one case per
//! line, with a few CreateCase calls in flight at once, and tells what became of each line.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use procura_proto::v1::CreateCaseRequest;
use procura_proto::v1::case_service_client::CaseServiceClient;
use serde_json::{Map, Value};
use tonic::{Code, Status};

use super::{Context, new_request_id, with_retry};
use crate::error::{code_in_words, violations};
use crate::output::emit;
use crate::records::{CASE_COLUMNS, OUTPUT_ONLY_FIELDS, case_from_record};

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// A header row naming the case columns, then one case per row (no nested records).
    Csv,
    /// One JSON object per line, optionally with `measures`, `resolution`, `aid_grants`.
    Jsonl,
}

/// Arguments of `procura cases import`.
#[derive(Debug, Args)]
#[command(after_long_help = IMPORT_HELP)]
pub struct ImportArgs {
    /// The file to read, or - for standard input (then --format is required).
    file: PathBuf,
    /// Format of the file [default: from the extension: .csv, or .jsonl/.json/.ndjson].
    #[arg(long, value_enum)]
    format: Option<InputFormat>,
    /// How many CreateCase calls to keep in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
}

const IMPORT_HELP: &str = "\
Fields (JSON keys or CSV columns): region, case_number, case_type, applicant_type, sector,
accepted_on (required), and concluded_on, status, leader_handled, public_hearing,
private_enterprise, spp_listed_batch, typical, summary. Enum values as the flags of
`cases create` (e.g. judgment, natural-person) or proto names (CASE_TYPE_JUDGMENT_SUPERVISION);
dates YYYY-MM-DD; flags true/false. JSON lines may also carry
  measures:   [{kind, issued_on, addressee_type, addressee, adoption, answered_on}]
  resolution: {method, resolved_on, note}
  aid_grants: [{granted_on, amount_fen | amount_yuan, recipient}]
Fields the server sets (name, etag, create_time, update_time) are ignored, so the output of
`cases list --format json|csv` can be imported again.

Prints `created N, already present M, rejected K`, then one line per rejection
(`line 12: case.accepted_on: ...`). A case whose region and case number are already stored
counts as already present. Exit status: 0 when nothing was rejected, 2 otherwise.";

/// What became of one line of the file.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Stored by this import.
    Created,
    /// A case with the same region and case number was already stored.
    AlreadyPresent,
    /// Rejected, locally or by the server, with one reason per problem.
    Rejected(Vec<String>),
}

/// One case read from the file, or why its line could not be read.
type Parsed = (u64, Result<CreateCaseRequest, String>);

/// Runs `procura cases import`.
pub async fn run(args: ImportArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Some(format) => format,
        None => guess_format(&args.file).ok_or_else(|| {
            anyhow::anyhow!(
                "cannot tell the format of {}: give --format csv or --format jsonl",
                args.file.display()
            )
        })?,
    };
    let text = read_input(&args.file)?;
    let parsed = match format {
        InputFormat::Csv => parse_csv(&text)?,
        InputFormat::Jsonl => parse_jsonl(&text),
    };

    let progress = progress_bar(parsed.len() as u64);
    let mut outcomes: Vec<(u64, Outcome)> = Vec::with_capacity(parsed.len());
    let mut requests = Vec::new();
    for (line, result) in parsed {
        match result {
            Ok(request) => requests.push((line, request)),
            Err(reason) => {
                outcomes.push((line, Outcome::Rejected(vec![reason])));
                progress.inc(1);
            }
        }
    }

    if !requests.is_empty() {
        let client = CaseServiceClient::new(ctx.channel().await?);
        let mut calls = futures::stream::iter(requests)
            .map(|(line, request)| {
                let client = client.clone();
                async move {
                    let result = with_retry(|| {
                        let mut client = client.clone();
                        let request = request.clone();
                        async move { client.create_case(request).await }
                    })
                    .await;
                    (line, outcome_of(result.map(|_| ())))
                }
            })
            .buffer_unordered(usize::from(args.concurrency));
        while let Some(outcome) = calls.next().await {
            outcomes.push(outcome);
            progress.inc(1);
        }
    }
    progress.finish_and_clear();

    outcomes.sort_by_key(|(line, _)| *line);
    let (report, rejected) = summary(&outcomes);
    emit(&report)?;
    Ok(if rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The format an import file's extension says, if it says one.
fn guess_format(path: &Path) -> Option<InputFormat> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" => Some(InputFormat::Csv),
        "jsonl" | "json" | "ndjson" => Some(InputFormat::Jsonl),
        _ => None,
    }
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text))
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} importing [{bar:30}] {pos}/{len} lines, {eta} left",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(len).with_style(style)
}

/// A CreateCase request for a record, with a fresh idempotency key: retries of this line
/// within the import reuse it, while a second import of the same file gets ALREADY_EXISTS
/// (counted as already present) rather than the replayed first answer.
fn request_for(record: &Map<String, Value>) -> Result<CreateCaseRequest, String> {
    let case = case_from_record(record).map_err(|e| e.to_string())?;
    Ok(CreateCaseRequest {
        case: Some(case),
        request_id: new_request_id(),
    })
}

/// Reads JSON lines: every non-blank line is one case object.
fn parse_jsonl(text: &str) -> Vec<Parsed> {
    let mut parsed = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(record)) => request_for(&record),
            Ok(_) => Err("not a JSON object".to_owned()),
            Err(error) => Err(format!("invalid JSON: {error}")),
        };
        parsed.push((number, result));
    }
    parsed
}

/// Reads CSV: a header row naming the case columns, then one case per row. An unknown column
/// fails the whole import before anything is sent.
fn parse_csv(text: &str) -> anyhow::Result<Vec<Parsed>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .context("cannot read the CSV header row")?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase().replace('-', "_"))
        .collect();
    for header in &headers {
        if !CASE_COLUMNS.contains(&header.as_str())
            && !OUTPUT_ONLY_FIELDS.contains(&header.as_str())
        {
            anyhow::bail!(
                "unknown CSV column \"{header}\"; the columns are {} (measures, resolutions and \
                 aid grants can only be imported from JSON lines)",
                CASE_COLUMNS.join(", ")
            );
        }
    }
    let mut parsed = Vec::new();
    let mut last_line = 1;
    for row in reader.records() {
        let (line, result) = match row {
            Ok(row) => {
                let line = row.position().map_or(last_line + 1, |p| p.line());
                if row.len() != headers.len() {
                    (
                        line,
                        Err(format!(
                            "has {} fields where the header has {}",
                            row.len(),
                            headers.len()
                        )),
                    )
                } else {
                    let record: Map<String, Value> = headers
                        .iter()
                        .zip(row.iter())
                        .filter(|(_, cell)| !cell.trim().is_empty())
                        .map(|(header, cell)| (header.clone(), Value::String(cell.to_owned())))
                        .collect();
                    (line, request_for(&record))
                }
            }
            Err(error) => (
                error.position().map_or(last_line + 1, |p| p.line()),
                Err(format!("invalid CSV: {error}")),
            ),
        };
        last_line = line;
        parsed.push((line, result));
    }
    Ok(parsed)
}

/// What a CreateCase answer means for the import.
fn outcome_of(result: Result<(), Status>) -> Outcome {
    match result {
        Ok(()) => Outcome::Created,
        Err(status) if status.code() == Code::AlreadyExists => Outcome::AlreadyPresent,
        Err(status) => {
            let found = violations(&status);
            if found.is_empty() {
                Outcome::Rejected(vec![format!(
                    "{}: {}",
                    code_in_words(status.code()),
                    status.message()
                )])
            } else {
                Outcome::Rejected(
                    found
                        .into_iter()
                        .map(|v| format!("{}: {}", v.field, v.description))
                        .collect(),
                )
            }
        }
    }
}

/// The report printed at the end, and the number of rejected lines.
fn summary(outcomes: &[(u64, Outcome)]) -> (String, usize) {
    let count = |wanted: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| wanted(o)).count();
    let created = count(|o| *o == Outcome::Created);
    let present = count(|o| *o == Outcome::AlreadyPresent);
    let rejected = count(|o| matches!(o, Outcome::Rejected(_)));
    let mut report = format!("created {created}, already present {present}, rejected {rejected}\n");
    for (line, outcome) in outcomes {
        if let Outcome::Rejected(reasons) = outcome {
            for reason in reasons {
                report.push_str(&format!("line {line}: {reason}\n"));
            }
        }
    }
    (report, rejected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

    const CSV: &str = "\
region,case_number,case_type,applicant_type,sector,accepted_on,leader_handled
530100,A-1,judgment,natural-person,housing,2020-03-01,true
530100,A-2,judgment,natural-person,housing,2020-02-30,
530100,A-3,nonsense,natural-person,housing,2020-03-01,
";

    #[test]
    fn csv_rows_become_requests_or_rejections_with_line_numbers() {
        let parsed = parse_csv(CSV).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].0, 2);
        let request = parsed[0].1.as_ref().unwrap();
        let case = request.case.as_ref().unwrap();
        assert!(case.leader_handled);
        assert_eq!(case.region, "regions/530100");
        assert!(uuid::Uuid::parse_str(&request.request_id).is_ok());
        assert_eq!(parsed[1].0, 3);
        assert!(
            parsed[1]
                .1
                .as_ref()
                .unwrap_err()
                .starts_with("case.accepted_on: ")
        );
        assert_eq!(parsed[2].0, 4);
        assert!(
            parsed[2]
                .1
                .as_ref()
                .unwrap_err()
                .starts_with("case.case_type: ")
        );
    }

    #[test]
    fn an_unknown_csv_column_fails_the_import() {
        let error = parse_csv("region,colour\n530100,red\n").unwrap_err();
        assert!(error.to_string().contains("colour"));
    }

    #[test]
    fn jsonl_lines_keep_their_numbers_and_skip_blanks() {
        let text = "{\"region\":\"530100\",\"case_number\":\"1\",\"case_type\":\"judgment\",\
            \"applicant_type\":\"natural-person\",\"sector\":\"other\",\"accepted_on\":\"2020-01-02\"}\n\
            \n\
            [1,2]\n\
            {oops\n";
        let parsed = parse_jsonl(text);
        let lines: Vec<u64> = parsed.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![1, 3, 4]);
        assert!(parsed[0].1.is_ok());
        assert_eq!(parsed[1].1.as_ref().unwrap_err(), "not a JSON object");
        assert!(
            parsed[2]
                .1
                .as_ref()
                .unwrap_err()
                .starts_with("invalid JSON")
        );
    }

    #[test]
    fn formats_are_guessed_from_the_extension() {
        assert_eq!(guess_format(Path::new("a.CSV")), Some(InputFormat::Csv));
        assert_eq!(guess_format(Path::new("a.jsonl")), Some(InputFormat::Jsonl));
        assert_eq!(guess_format(Path::new("a.json")), Some(InputFormat::Jsonl));
        assert_eq!(guess_format(Path::new("a.txt")), None);
    }

    #[test]
    fn server_answers_map_to_outcomes() {
        assert_eq!(outcome_of(Ok(())), Outcome::Created);
        assert_eq!(
            outcome_of(Err(Status::already_exists("dup"))),
            Outcome::AlreadyPresent
        );
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "bad case",
            ErrorDetails::with_bad_request(vec![FieldViolation::new(
                "case.accepted_on",
                "must not be in the future",
            )]),
        );
        assert_eq!(
            outcome_of(Err(status)),
            Outcome::Rejected(vec![
                "case.accepted_on: must not be in the future".to_owned()
            ])
        );
        assert_eq!(
            outcome_of(Err(Status::internal("boom"))),
            Outcome::Rejected(vec!["internal error: boom".to_owned()])
        );
    }

    #[test]
    fn the_summary_counts_and_lists_rejections() {
        let outcomes = vec![
            (2, Outcome::Created),
            (3, Outcome::AlreadyPresent),
            (
                12,
                Outcome::Rejected(vec!["case.accepted_on: bad".to_owned()]),
            ),
        ];
        let (report, rejected) = summary(&outcomes);
        assert_eq!(rejected, 1);
        assert_eq!(
            report,
            "created 1, already present 1, rejected 1\nline 12: case.accepted_on: bad\n"
        );
    }
}
