//! `procura cases import FILE`: stores many cases from a CSV, JSON or JSON-lines file over the
//! bidirectional stream `CaseService.ImportCases`, in numbered batches, and tells what became
//! of each line.
//!
//! The file is read as a stream (never whole) by a thread that hands batches over a bounded
//! channel; at most [`send::MAX_IN_FLIGHT`] batches are sent and not yet acknowledged, and only those
//! are kept. Each acknowledgement means its batch is committed, so after a broken stream the
//! import reconnects and re-sends from the first batch not acknowledged (the server reports the
//! cases it already has as already present). Progress is kept in `FILE.import-state` so that a
//! later run with `--resume` continues after the CLI itself stopped. A server without
//! ImportCases (UNIMPLEMENTED) gets the cases one CreateCase call each instead.
//!
//! [`read`] turns the file into batches, [`send`] sends them, [`progress`] counts and shows what
//! was done, [`resume`] keeps the state file; this module holds the arguments and [`run`].

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use procura_proto::v1::case_service_client::CaseServiceClient;
use tokio::sync::mpsc;

use super::Context;
use crate::output::emit;

mod progress;
mod read;
mod resume;
mod send;

pub use progress::Tally;
pub use read::{Batch, Batches, Rejection, map_rejections};
pub use resume::{ImportState, load_state, save_state, state_path};

use progress::progress_bar;
use read::{Records, guess_format, open_input};
use send::Importer;

/// Batches read ahead of the sender, at most.
const READ_AHEAD: usize = 2;

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// A header row naming the case columns, then one case per row (no nested records), as
    /// `cases list --format csv` writes.
    Csv,
    /// A JSON array of case objects, as `cases list --format json` writes (or JSON lines).
    Json,
    /// One JSON object per line, optionally with `measures`, `resolution`, `aid_grants` (or
    /// a JSON array).
    Jsonl,
}

/// Arguments of `procura cases import`.
#[derive(Debug, Args)]
#[command(after_long_help = IMPORT_HELP)]
pub struct ImportArgs {
    /// The file to read, or - for standard input (then --format is required).
    file: PathBuf,
    /// Format of the file [default: from the extension: .csv, .json, or .jsonl/.ndjson].
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
Formats: CSV with a header row naming the columns; JSON lines, one case object per line; or a
JSON array of case objects. Whatever `cases list --format csv|json` writes can be imported.

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
                "cannot tell the format of {}: give --format csv, --format json or --format jsonl",
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
