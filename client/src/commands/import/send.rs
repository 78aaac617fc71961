//! Sending an import: the [`Importer`] streams batches over `CaseService.ImportCases` with a
//! bounded number in flight, reconnects with backoff after a break and re-sends the batches not
//! acknowledged, and falls back to one CreateCase call per case for a server without
//! ImportCases.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::ProgressBar;
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::{
    CreateCaseRequest, ImportCasesRequest, ImportCasesResponse, ImportRejection,
};
use tokio::sync::mpsc;
use tonic::{Code, Status};

use super::progress::Tally;
use super::read::Batch;
use super::resume::{ImportState, save_state};
use crate::commands::{Transport, call, new_request_id};
use crate::error::{code_in_words, describe_status, violations};
use crate::output::format_count;

/// Batches sent and not yet acknowledged, at most.
pub(super) const MAX_IN_FLIGHT: usize = 4;
/// The first pause before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause before reconnecting.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why one stream session ended without finishing.
pub(super) enum SessionError {
    /// The server has no ImportCases.
    Unimplemented,
    /// The connection or the stream broke: reconnect and re-send.
    Broken(String),
    /// The server shed the stream for load (RESOURCE_EXHAUSTED): re-send after the delay it
    /// asked for, if any.
    Busy(String, Option<Duration>),
    /// Something re-sending will not fix.
    Fatal(anyhow::Error),
}

/// The ErrorInfo reason of a request message over the server's size limit, which re-sending
/// does not cure.
const MESSAGE_TOO_LARGE: &str = "MESSAGE_TOO_LARGE";

/// Whether a failed stream is worth reconnecting for: the server went away, the transport
/// failed (errors raised below gRPC carry their cause) or the server is busy
/// (RESOURCE_EXHAUSTED: too many streams or request bytes at once), not the server refusing
/// the input.
pub(super) fn is_retryable(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Aborted
    ) || is_busy(status)
        || std::error::Error::source(status).is_some()
}

/// Whether `status` is the server shedding load, to be retried: RESOURCE_EXHAUSTED, other than
/// a message too large.
fn is_busy(status: &Status) -> bool {
    use tonic_types::StatusExt;
    status.code() == Code::ResourceExhausted
        && status
            .get_error_details()
            .error_info()
            .is_none_or(|info| info.reason != MESSAGE_TOO_LARGE)
}

/// The delay a busy server asked for (`google.rpc.RetryInfo`), at most [`MAX_BACKOFF`].
pub(super) fn retry_delay(status: &Status) -> Option<Duration> {
    use tonic_types::StatusExt;
    let delay = status.get_error_details().retry_info()?.retry_delay?;
    Some(delay.min(MAX_BACKOFF))
}

pub(super) fn classify(status: Status) -> SessionError {
    if status.code() == Code::Unimplemented {
        SessionError::Unimplemented
    } else if is_busy(&status) {
        SessionError::Busy(status.message().to_owned(), retry_delay(&status))
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
pub(super) fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(MAX_BACKOFF)
}

/// One import run: the batches read but not yet acknowledged, and what was done.
pub(super) struct Importer {
    pub(super) client: CaseServiceClient<Transport>,
    pub(super) batches: mpsc::Receiver<anyhow::Result<Batch>>,
    pub(super) reader_done: bool,
    pub(super) pending: VecDeque<Batch>,
    pub(super) tally: Tally,
    pub(super) state_path: Option<PathBuf>,
    pub(super) file: String,
    pub(super) batch_size: u32,
    pub(super) progress: ProgressBar,
    pub(super) started: Instant,
    pub(super) done_at_start: u64,
    pub(super) reconnections: u32,
    pub(super) breaks: u32,
}

impl Importer {
    pub(super) fn notice(&self, text: &str) {
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
    pub(super) async fn stream(&mut self, retries: u32) -> anyhow::Result<bool> {
        let mut attempt = 0;
        loop {
            let acknowledged_before = self.tally.done();
            let (why, asked) = match self.session().await {
                Ok(()) => return Ok(true),
                Err(SessionError::Unimplemented) => {
                    if self.tally.done() == 0 && self.reconnections == 0 {
                        return Ok(false);
                    }
                    anyhow::bail!("the server stopped answering ImportCases (unimplemented)");
                }
                Err(SessionError::Fatal(error)) => return Err(error),
                Err(SessionError::Broken(why)) => (why, None),
                Err(SessionError::Busy(why, delay)) => (why, Some(delay)),
            };
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
            let delay = asked.flatten().unwrap_or_else(|| backoff(attempt));
            let resume = self
                .first_unacknowledged()
                .map_or_else(String::new, |n| format!(", resuming at batch {n}"));
            let what = if asked.is_some() {
                "the server is busy"
            } else {
                "connection lost"
            };
            self.notice(&format!(
                "{what} ({why}); reconnecting in {} s (attempt {attempt} of \
                 {retries}){resume}",
                delay.as_secs_f64()
            ));
            tokio::time::sleep(delay).await;
            self.reconnections += 1;
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
    pub(super) async fn one_by_one(&mut self, concurrency: usize) -> anyhow::Result<()> {
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
pub(super) fn rejections_of(position: i32, status: &Status) -> Vec<ImportRejection> {
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
