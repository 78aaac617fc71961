//! `procura cases import FILE`: stores many cases from a CSV or JSON-lines file over the
//! bidirectional stream `CaseService.ImportCases`, in numbered batches, and tells what became
//! of each line.
//!
//! The file is read as a stream (never whole) by a thread that hands batches over a bounded
//! channel; at most [`MAX_IN_FLIGHT`] batches are sent and not yet acknowledged, and only those
//! are kept. Each acknowledgement means its batch is committed, so after a broken stream the
//! import reconnects and re-sends from the first batch not acknowledged (the server reports the
//! cases it already has as already present). Progress is kept in `FILE.import-state` so that a
//! later run with `--resume` continues after the CLI itself stopped. A server without
//! ImportCases (UNIMPLEMENTED) gets the cases one CreateCase call each instead.

use std::collections::{BTreeSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::{
    Case, CreateCaseRequest, ImportCasesRequest, ImportCasesResponse, ImportRejection,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tonic::{Code, Status};

use super::{Context, Transport, call, new_request_id};
use crate::error::{code_in_words, describe_status, violations};
use crate::output::{emit, format_count};
use crate::records::{CASE_COLUMNS, OUTPUT_ONLY_FIELDS, case_from_record};

mod resume;

pub use resume::{ImportState, load_state, save_state, state_path};

/// Batches sent and not yet acknowledged, at most.
const MAX_IN_FLIGHT: usize = 4;
/// Batches read ahead of the sender, at most.
const READ_AHEAD: usize = 2;
/// Rejections listed in the summary and the state file, at most; the rest are only counted.
const MAX_LISTED_REJECTIONS: usize = 10_000;
/// The first pause before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause before reconnecting.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

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
    /// Cases per batch; each batch is stored in one transaction and acknowledged.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10000))]
    batch_size: u32,
    /// How many times to reconnect after the stream breaks (pauses of 1 s doubling up to
    /// 10 s); the count starts again after every acknowledged batch.
    #[arg(long, default_value_t = 10)]
    retries: u32,
    /// Continue an import that stopped, after the last batch its state file
    /// (FILE.import-state) says was acknowledged.
    #[arg(long, conflicts_with = "resume_from")]
    resume: bool,
    /// Start at this batch number, skipping the batches before it.
    #[arg(long, value_name = "BATCH", value_parser = clap::value_parser!(u64).range(1..))]
    resume_from: Option<u64>,
    /// How many CreateCase calls to keep in flight when the server has no ImportCases.
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

The cases go over one stream in batches of --batch-size, numbered 1, 2, 3, ...; each batch is
committed in one transaction and acknowledged. If the connection breaks, the import reconnects
and sends again from the first batch not acknowledged. Progress is written to FILE.import-state
after every batch, and removed when the import completes: after an interruption, run the same
command with --resume to continue.

Prints `created N, already present M, rejected K`, then one line per rejection
(`line 12: case.accepted_on: ...`). A case whose region and case number are already stored
counts as already present. Exit status: 0 when nothing was rejected, 2 otherwise.";

/// A line of the file that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The line of the file (from 1); 0 when the server named a position the batch lacks.
    pub line: u64,
    /// The bad field, e.g. `case.accepted_on`; empty when the whole line is bad.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: ", self.line)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.reason)
    }
}

/// One batch read from the file: the cases to send with the line each came from, and the lines
/// read with it that could not be turned into a case.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The batch number, from 1.
    number: u64,
    /// The cases, in file order.
    cases: Vec<Case>,
    /// The file line of each case.
    lines: Vec<u64>,
    /// Lines rejected before sending.
    local: Vec<Rejection>,
    /// The last line read into this batch.
    last_line: u64,
    /// Bytes of the file read up to the end of this batch.
    end_byte: u64,
}

/// Where the records of an import file come from.
enum Records {
    /// JSON lines, read line by line.
    Jsonl {
        input: Box<dyn BufRead + Send>,
        line: u64,
        bytes: u64,
    },
    /// CSV with a header row.
    Csv {
        reader: Box<csv::Reader<Box<dyn Read + Send>>>,
        headers: Vec<String>,
        last_line: u64,
    },
}

/// One record of the file: its line and the case it describes, or why it does not describe one.
type Record = (u64, Result<Case, Rejection>);

impl Records {
    /// Starts reading. For CSV this reads and checks the header row: an unknown column fails
    /// the whole import before anything is sent.
    fn new(input: Box<dyn BufRead + Send>, format: InputFormat) -> anyhow::Result<Self> {
        match format {
            InputFormat::Jsonl => Ok(Self::Jsonl {
                input,
                line: 0,
                bytes: 0,
            }),
            InputFormat::Csv => {
                let input: Box<dyn Read + Send> = input;
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
                let headers: Vec<String> = reader
                    .headers()
                    .context("cannot read the CSV header row")?
                    .iter()
                    .map(|h| {
                        h.trim_start_matches('\u{feff}')
                            .trim()
                            .to_ascii_lowercase()
                            .replace('-', "_")
                    })
                    .collect();
                for header in &headers {
                    if !CASE_COLUMNS.contains(&header.as_str())
                        && !OUTPUT_ONLY_FIELDS.contains(&header.as_str())
                    {
                        anyhow::bail!(
                            "unknown CSV column \"{header}\"; the columns are {} (measures, \
                             resolutions and aid grants can only be imported from JSON lines)",
                            CASE_COLUMNS.join(", ")
                        );
                    }
                }
                Ok(Self::Csv {
                    reader: Box::new(reader),
                    headers,
                    last_line: 1,
                })
            }
        }
    }

    /// Bytes read so far.
    fn bytes(&self) -> u64 {
        match self {
            Self::Jsonl { bytes, .. } => *bytes,
            Self::Csv { reader, .. } => reader.position().byte(),
        }
    }

    /// The next record, `None` at the end, or an error reading the file (which stops the
    /// import).
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        match self {
            Self::Jsonl { input, line, bytes } => {
                let mut buffer = Vec::new();
                loop {
                    buffer.clear();
                    let read = input
                        .read_until(b'\n', &mut buffer)
                        .context("cannot read the import file")?;
                    if read == 0 {
                        return Ok(None);
                    }
                    *line += 1;
                    *bytes += read as u64;
                    let number = *line;
                    let text = match std::str::from_utf8(&buffer) {
                        Ok(text) => text,
                        Err(_) => {
                            return Ok(Some((number, Err(whole_line(number, "not UTF-8 text")))));
                        }
                    };
                    let text = if number == 1 {
                        text.trim_start_matches('\u{feff}')
                    } else {
                        text
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    let result = match serde_json::from_str::<Value>(text) {
                        Ok(Value::Object(record)) => case_of(number, &record),
                        Ok(_) => Err(whole_line(number, "not a JSON object")),
                        Err(error) => Err(whole_line(number, &format!("invalid JSON: {error}"))),
                    };
                    return Ok(Some((number, result)));
                }
            }
            Self::Csv {
                reader,
                headers,
                last_line,
            } => {
                let mut row = csv::StringRecord::new();
                let result = reader.read_record(&mut row);
                let (line, result) = match result {
                    Ok(false) => return Ok(None),
                    Ok(true) => {
                        let line = row.position().map_or(*last_line + 1, |p| p.line());
                        if row.len() != headers.len() {
                            let reason = format!(
                                "has {} fields where the header has {}",
                                row.len(),
                                headers.len()
                            );
                            (line, Err(whole_line(line, &reason)))
                        } else {
                            let record: Map<String, Value> = headers
                                .iter()
                                .zip(row.iter())
                                .filter(|(_, cell)| !cell.trim().is_empty())
                                .map(|(header, cell)| {
                                    (header.clone(), Value::String(cell.to_owned()))
                                })
                                .collect();
                            (line, case_of(line, &record))
                        }
                    }
                    Err(error) => {
                        if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                            return Err(error).context("cannot read the import file");
                        }
                        let line = error.position().map_or(*last_line + 1, |p| p.line());
                        (
                            line,
                            Err(whole_line(line, &format!("invalid CSV: {error}"))),
                        )
                    }
                };
                *last_line = line;
                Ok(Some((line, result)))
            }
        }
    }
}

fn whole_line(line: u64, reason: &str) -> Rejection {
    Rejection {
        line,
        field: String::new(),
        reason: reason.to_owned(),
    }
}

/// The case a record describes, or the first problem with it.
fn case_of(line: u64, record: &Map<String, Value>) -> Result<Case, Rejection> {
    case_from_record(record).map_err(|e| Rejection {
        line,
        field: e.field,
        reason: e.description,
    })
}

/// The batches of an import file, in order: each holds `size` cases (the last one fewer) and
/// the rejected lines read along with them. Batch composition depends only on the file and the
/// size, so a resumed import numbers the batches as the first run did.
pub struct Batches {
    records: Records,
    size: usize,
    next_number: u64,
    finished: bool,
}

impl Batches {
    fn new(records: Records, size: usize) -> Self {
        Self {
            records,
            size: size.max(1),
            next_number: 1,
            finished: false,
        }
    }
}

impl Iterator for Batches {
    type Item = anyhow::Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut batch = Batch {
            number: self.next_number,
            ..Batch::default()
        };
        while batch.cases.len() < self.size {
            match self.records.next_record() {
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Ok(Some((line, result))) => {
                    batch.last_line = line;
                    match result {
                        Ok(case) => {
                            batch.cases.push(case);
                            batch.lines.push(line);
                        }
                        Err(rejection) => batch.local.push(rejection),
                    }
                }
            }
        }
        batch.end_byte = self.records.bytes();
        if batch.cases.is_empty() && batch.local.is_empty() {
            return None;
        }
        self.next_number += 1;
        Some(Ok(batch))
    }
}

/// The field path a server rejection names, as the CLI names it elsewhere: the batch position
/// `cases[3]` becomes `case`, since the line number already says which case.
fn local_field(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("cases[")
        && let Some(end) = rest.find(']')
        && rest[..end].bytes().all(|b| b.is_ascii_digit())
    {
        return format!("case{}", &rest[end + 1..]);
    }
    field.to_owned()
}

/// Maps the server's rejections of a batch (by position in the batch) to file lines, and
/// counts the cases rejected (a case can have several rejections).
pub fn map_rejections(lines: &[u64], rejections: &[ImportRejection]) -> (Vec<Rejection>, u64) {
    let mut positions = BTreeSet::new();
    let mapped = rejections
        .iter()
        .map(|r| {
            positions.insert(r.position);
            let line = usize::try_from(r.position)
                .ok()
                .and_then(|p| lines.get(p))
                .copied();
            Rejection {
                line: line.unwrap_or(0),
                field: local_field(&r.field),
                reason: match line {
                    Some(_) => r.reason.clone(),
                    None => format!("{} (position {} of its batch)", r.reason, r.position),
                },
            }
        })
        .collect();
    (mapped, positions.len() as u64)
}

/// What the import did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Cases stored.
    pub created: u64,
    /// Cases already stored before.
    pub already_present: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// The rejections, at most [`MAX_LISTED_REJECTIONS`].
    pub rejections: Vec<Rejection>,
    /// Rejections beyond those listed.
    pub unlisted: u64,
}

impl Tally {
    /// Adds an acknowledged batch.
    fn add(&mut self, batch: &Batch, ack: &ImportCasesResponse) {
        let (remote, rejected) = map_rejections(&batch.lines, &ack.rejections);
        self.created += u64::try_from(ack.created).unwrap_or(0);
        self.already_present += u64::try_from(ack.already_present).unwrap_or(0);
        self.rejected += batch.local.len() as u64 + rejected;
        for rejection in batch.local.iter().cloned().chain(remote) {
            if self.rejections.len() < MAX_LISTED_REJECTIONS {
                self.rejections.push(rejection);
            } else {
                self.unlisted += 1;
            }
        }
    }

    /// Cases dealt with.
    fn done(&self) -> u64 {
        self.created + self.already_present + self.rejected
    }

    /// The report printed at the end: the counts, then the rejections by line.
    fn summary(&self) -> String {
        let mut report = format!(
            "created {}, already present {}, rejected {}\n",
            self.created, self.already_present, self.rejected
        );
        let mut rejections: Vec<&Rejection> = self.rejections.iter().collect();
        rejections.sort_by_key(|r| r.line);
        for rejection in rejections {
            report.push_str(&format!("{rejection}\n"));
        }
        if self.unlisted > 0 {
            report.push_str(&format!(
                "... and {} more rejections not listed\n",
                self.unlisted
            ));
        }
        report
    }
}

/// Why one stream session ended without finishing.
enum SessionError {
    /// The server has no ImportCases.
    Unimplemented,
    /// The connection or the stream broke: reconnect and re-send.
    Broken(String),
    /// Something re-sending will not fix.
    Fatal(anyhow::Error),
}

/// Whether a failed stream is worth reconnecting for: the server went away or the transport
/// failed (errors raised below gRPC carry their cause), not the server refusing the input.
fn is_retryable(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Aborted
    ) || std::error::Error::source(status).is_some()
}

fn classify(status: Status) -> SessionError {
    if status.code() == Code::Unimplemented {
        SessionError::Unimplemented
    } else if is_retryable(&status) {
        let mut text = format!("{}: {}", code_in_words(status.code()), status.message());
        if let Some(source) = std::error::Error::source(&status) {
            let cause = crate::error::cause_chain(source);
            let new: Vec<&str> = cause
                .split(": ")
                .filter(|part| !status.message().contains(part))
                .collect();
            if !new.is_empty() {
                text.push_str(&format!(" ({})", new.join(": ")));
            }
        }
        SessionError::Broken(text)
    } else {
        SessionError::Fatal(anyhow::anyhow!(describe_status(&status).join("\n")))
    }
}

/// The pause before reconnection attempt `attempt` (from 1): 1 s, 2 s, 4 s, 8 s, then 10 s.
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

/// One import run: the batches read but not yet acknowledged, and what was done.
struct Importer {
    client: CaseServiceClient<Transport>,
    batches: mpsc::Receiver<anyhow::Result<Batch>>,
    reader_done: bool,
    pending: VecDeque<Batch>,
    tally: Tally,
    state_path: Option<PathBuf>,
    file: String,
    batch_size: u32,
    progress: ProgressBar,
    started: Instant,
    done_at_start: u64,
    reconnections: u32,
    breaks: u32,
}

impl Importer {
    fn notice(&self, text: &str) {
        self.progress.suspend(|| eprintln!("{text}"));
    }

    /// Records an acknowledged batch: counts, state file, progress.
    fn acknowledge(&mut self, batch: &Batch, ack: &ImportCasesResponse) -> anyhow::Result<()> {
        self.tally.add(batch, ack);
        if let Some(path) = &self.state_path {
            save_state(
                path,
                &ImportState {
                    file: self.file.clone(),
                    batch_size: self.batch_size,
                    last_batch: batch.number,
                    last_line: batch.last_line,
                    tally: self.tally.clone(),
                },
            )?;
        }
        self.progress.set_position(batch.end_byte);
        let done = self.tally.done();
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (done - self.done_at_start) as f64 / seconds;
        self.progress.set_message(format!(
            "{} cases (batch {}), {}/s",
            format_count(i64::try_from(done).unwrap_or(i64::MAX)),
            batch.number,
            format_count(rate.round() as i64)
        ));
        Ok(())
    }

    /// Acknowledges the batches at the front that have no case to send (only rejected lines).
    fn settle_local_batches(&mut self) -> anyhow::Result<()> {
        while self.pending.front().is_some_and(|b| b.cases.is_empty()) {
            if let Some(batch) = self.pending.pop_front() {
                self.acknowledge(&batch, &ImportCasesResponse::default())?;
            }
        }
        Ok(())
    }

    fn first_unacknowledged(&self) -> Option<u64> {
        self.pending.front().map(|b| b.number)
    }

    /// Runs the import over ImportCases, reconnecting after breaks. Returns false if the
    /// server does not implement it (nothing was sent then).
    async fn stream(&mut self, retries: u32) -> anyhow::Result<bool> {
        let mut attempt = 0;
        loop {
            let acknowledged_before = self.tally.done();
            match self.session().await {
                Ok(()) => return Ok(true),
                Err(SessionError::Unimplemented) => {
                    if self.tally.done() == 0 && self.reconnections == 0 {
                        return Ok(false);
                    }
                    anyhow::bail!("the server stopped answering ImportCases (unimplemented)");
                }
                Err(SessionError::Fatal(error)) => return Err(error),
                Err(SessionError::Broken(why)) => {
                    if self.tally.done() > acknowledged_before || attempt == 0 {
                        attempt = 0;
                        self.breaks += 1;
                    }
                    attempt += 1;
                    if attempt > retries {
                        anyhow::bail!(
                            "the import stream broke ({why}) and {retries} reconnection attempts \
                             failed"
                        );
                    }
                    let delay = backoff(attempt);
                    let resume = self
                        .first_unacknowledged()
                        .map_or_else(String::new, |n| format!(", resuming at batch {n}"));
                    self.notice(&format!(
                        "connection lost ({why}); reconnecting in {} s (attempt {attempt} of \
                         {retries}){resume}",
                        delay.as_secs()
                    ));
                    tokio::time::sleep(delay).await;
                    self.reconnections += 1;
                }
            }
        }
    }

    /// Reads the next batch into `pending`; false at the end of the file.
    async fn read_batch(&mut self) -> anyhow::Result<Option<&Batch>> {
        match self.batches.recv().await {
            None => {
                self.reader_done = true;
                Ok(None)
            }
            Some(Err(error)) => Err(error),
            Some(Ok(batch)) => {
                self.pending.push_back(batch);
                Ok(self.pending.back())
            }
        }
    }

    fn in_flight(&self) -> usize {
        self.pending.iter().filter(|b| !b.cases.is_empty()).count()
    }

    /// One stream: re-sends the batches not acknowledged, then reads, sends and settles batches
    /// until the file is done or the stream breaks.
    async fn session(&mut self) -> Result<(), SessionError> {
        let (sender, receiver) = mpsc::channel::<ImportCasesRequest>(MAX_IN_FLIGHT + 1);
        let request = |batch: &Batch| ImportCasesRequest {
            batch_number: i64::try_from(batch.number).unwrap_or(i64::MAX),
            cases: batch.cases.clone(),
        };
        // Fill the pipeline before the call, so that a server that answers only after the
        // first batch still gets one.
        while !self.reader_done && self.in_flight() < MAX_IN_FLIGHT {
            if self
                .read_batch()
                .await
                .map_err(SessionError::Fatal)?
                .is_none()
            {
                break;
            }
        }
        for batch in self.pending.iter().filter(|b| !b.cases.is_empty()) {
            // The channel holds MAX_IN_FLIGHT + 1, so this never waits.
            let _ = sender.send(request(batch)).await;
        }
        let mut sender = (!self.reader_done).then_some(sender);
        let mut client = self.client.clone();
        let mut responses = client
            .import_cases(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
            .map_err(classify)?
            .into_inner();
        loop {
            self.settle_local_batches().map_err(SessionError::Fatal)?;
            if self.reader_done && self.pending.is_empty() {
                return Ok(());
            }
            let can_read = !self.reader_done && self.in_flight() < MAX_IN_FLIGHT;
            tokio::select! {
                biased;
                message = responses.message() => match message {
                    Ok(Some(ack)) => {
                        let Some(batch) = self.pending.pop_front() else {
                            return Err(SessionError::Fatal(anyhow::anyhow!(
                                "the server acknowledged batch {} that was not sent",
                                ack.batch_number
                            )));
                        };
                        if i64::try_from(batch.number) != Ok(ack.batch_number) {
                            return Err(SessionError::Fatal(anyhow::anyhow!(
                                "the server acknowledged batch {} where batch {} was due",
                                ack.batch_number,
                                batch.number
                            )));
                        }
                        self.acknowledge(&batch, &ack).map_err(SessionError::Fatal)?;
                    }
                    Ok(None) => {
                        return Err(SessionError::Broken(format!(
                            "the server ended the stream before acknowledging batch {}",
                            self.first_unacknowledged().unwrap_or_default()
                        )));
                    }
                    Err(status) => return Err(classify(status)),
                },
                read = self.batches.recv(), if can_read => match read {
                    None => {
                        self.reader_done = true;
                        // Half-close: the server ends its stream after the last answer.
                        sender = None;
                    }
                    Some(Err(error)) => return Err(SessionError::Fatal(error)),
                    Some(Ok(batch)) => {
                        if !batch.cases.is_empty()
                            && let Some(sender) = &sender
                        {
                            // A closed stream shows up as an error on the answers.
                            let _ = sender.send(request(&batch)).await;
                        }
                        self.pending.push_back(batch);
                    }
                },
            }
        }
    }

    /// Runs the import with one CreateCase call per case, for a server without ImportCases.
    async fn one_by_one(&mut self, concurrency: usize) -> anyhow::Result<()> {
        loop {
            self.settle_local_batches()?;
            let batch = match self.pending.pop_front() {
                Some(batch) => batch,
                None if self.reader_done => return Ok(()),
                None => {
                    self.read_batch().await?;
                    continue;
                }
            };
            let client = self.client.clone();
            let mut calls = futures::stream::iter(batch.cases.iter().cloned().enumerate())
                .map(|(position, case)| {
                    let client = client.clone();
                    async move {
                        let request = CreateCaseRequest {
                            case: Some(case),
                            request_id: new_request_id(),
                        };
                        let result = call(&client, &request, |mut c, r| async move {
                            c.create_case(r).await
                        })
                        .await;
                        (position, result)
                    }
                })
                .buffer_unordered(concurrency);
            let mut ack = ImportCasesResponse {
                batch_number: i64::try_from(batch.number).unwrap_or(i64::MAX),
                ..ImportCasesResponse::default()
            };
            while let Some((position, result)) = calls.next().await {
                let position = i32::try_from(position).unwrap_or(i32::MAX);
                match result {
                    Ok(_) => ack.created += 1,
                    Err(status) if status.code() == Code::AlreadyExists => {
                        ack.already_present += 1;
                    }
                    Err(status) if status.code() == Code::Unavailable => {
                        return Err(anyhow::Error::from(status)
                            .context(format!("while importing batch {}", batch.number)));
                    }
                    Err(status) => ack.rejections.extend(rejections_of(position, &status)),
                }
            }
            drop(calls);
            self.acknowledge(&batch, &ack)?;
        }
    }
}

/// The rejections a failed CreateCase call means for the case at `position`.
fn rejections_of(position: i32, status: &Status) -> Vec<ImportRejection> {
    let found = violations(status);
    if found.is_empty() {
        return vec![ImportRejection {
            position,
            field: String::new(),
            reason: format!("{}: {}", code_in_words(status.code()), status.message()),
        }];
    }
    found
        .into_iter()
        .map(|v| ImportRejection {
            position,
            field: v.field,
            reason: v.description,
        })
        .collect()
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

/// Opens the input: the file, or standard input for `-`. Also returns its size when known.
fn open_input(path: &Path) -> anyhow::Result<(Box<dyn BufRead + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(BufReader::new(std::io::stdin())), None));
    }
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 16, file)), size))
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match size {
        Some(size) => (
            ProgressBar::new(size),
            "{spinner} importing [{bar:30}] {percent:>3}% {msg}, {eta} left",
        ),
        None => (ProgressBar::no_length(), "{spinner} importing {msg}"),
    };
    let style = ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Where an import starts: the batches to skip, what was done before, and the last line the
/// skipped batches must end on.
#[derive(Debug, Default)]
struct Start {
    skip: u64,
    tally: Tally,
    last_line: Option<u64>,
    batch_size: Option<u32>,
}

fn starting_point(args: &ImportArgs, state_path: Option<&Path>) -> anyhow::Result<Start> {
    if args.resume {
        let Some(path) = state_path else {
            anyhow::bail!("--resume needs a file (standard input cannot be read again)");
        };
        return Ok(match load_state(path)? {
            Some(state) => {
                eprintln!(
                    "resuming after batch {} (line {}) from {}: created {}, already present {}, \
                     rejected {} so far",
                    state.last_batch,
                    state.last_line,
                    path.display(),
                    state.tally.created,
                    state.tally.already_present,
                    state.tally.rejected
                );
                Start {
                    skip: state.last_batch,
                    last_line: Some(state.last_line),
                    batch_size: Some(state.batch_size),
                    tally: state.tally,
                }
            }
            None => {
                eprintln!(
                    "no state file {}: nothing to resume, starting at batch 1",
                    path.display()
                );
                Start::default()
            }
        });
    }
    if let Some(path) = state_path
        && let Ok(Some(state)) = load_state(path)
    {
        eprintln!(
            "note: {} says an earlier import of this file stopped after batch {}; give --resume \
             to continue it. Starting at batch {}.",
            path.display(),
            state.last_batch,
            args.resume_from.unwrap_or(1)
        );
    }
    Ok(Start {
        skip: args.resume_from.map_or(0, |n| n - 1),
        ..Start::default()
    })
}

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
    let from_stdin = args.file.as_os_str() == "-";
    let state_path = (!from_stdin).then(|| state_path(&args.file));
    let start = starting_point(&args, state_path.as_deref())?;
    let batch_size = match start.batch_size {
        Some(size) if size != args.batch_size => {
            eprintln!("using the batch size of the interrupted import, {size}");
            size
        }
        Some(size) => size,
        None => args.batch_size,
    };

    let (input, size) = open_input(&args.file)?;
    let mut batches = Batches::new(Records::new(input, format)?, batch_size as usize);
    let mut skipped_bytes = 0;
    let mut skipped_line = 0;
    for _ in 0..start.skip {
        match batches.next() {
            Some(batch) => {
                let batch = batch?;
                skipped_bytes = batch.end_byte;
                skipped_line = batch.last_line;
            }
            None => anyhow::bail!(
                "{} has fewer than {} batches of {batch_size}: nothing to resume from",
                args.file.display(),
                start.skip + 1
            ),
        }
    }
    if let Some(expected) = start.last_line
        && expected != skipped_line
    {
        anyhow::bail!(
            "{} changed since the interrupted import (its batch {} ended on line {expected}, now \
             on line {skipped_line}); remove {} to start again",
            args.file.display(),
            start.skip,
            state_path
                .as_deref()
                .map_or_else(String::new, |p| p.display().to_string())
        );
    }

    let (sender, receiver) = mpsc::channel(READ_AHEAD);
    std::thread::spawn(move || {
        for batch in batches {
            if sender.blocking_send(batch).is_err() {
                break;
            }
        }
    });

    let progress = progress_bar(size);
    progress.set_position(skipped_bytes);
    let client = CaseServiceClient::new(ctx.channel().await?)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let done_at_start = start.tally.done();
    let mut importer = Importer {
        client,
        batches: receiver,
        reader_done: false,
        pending: VecDeque::new(),
        tally: start.tally,
        state_path: state_path.clone(),
        file: args.file.display().to_string(),
        batch_size,
        progress,
        started: Instant::now(),
        done_at_start,
        reconnections: 0,
        breaks: 0,
    };
    let result = match importer.stream(args.retries).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            importer.notice(
                "the server has no ImportCases (unimplemented): storing the cases one CreateCase \
                 call each",
            );
            importer.one_by_one(usize::from(args.concurrency)).await
        }
        Err(error) => Err(error),
    };
    importer.progress.finish_and_clear();
    if let Err(error) = result {
        let saved = state_path
            .as_deref()
            .filter(|p| p.exists())
            .map(|p| {
                format!(
                    "; progress is saved in {}: run the same command with --resume to continue",
                    p.display()
                )
            })
            .unwrap_or_default();
        eprint!("{}", importer.tally.summary());
        return Err(error.context(format!(
            "import stopped after {} cases{saved}",
            importer.tally.done()
        )));
    }
    if let Some(path) = &state_path
        && path.exists()
    {
        std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    if importer.breaks > 0 {
        eprintln!(
            "note: the stream broke {} time(s) and was resumed each time; cases of re-sent \
             batches that the server had stored before a break count as already present",
            importer.breaks
        );
    }
    emit(&importer.tally.summary())?;
    Ok(if importer.tally.rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests;
