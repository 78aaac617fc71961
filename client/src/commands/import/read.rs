//! Reading an import file: records from CSV, JSON lines or a JSON array turned into cases,
//! grouped into numbered [`Batch`]es with the lines that could not be read, and the server's
//! rejections of a batch mapped back to file lines.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context as _;
use procura_proto::v1::{Case, ImportRejection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::InputFormat;
use crate::records::{CASE_COLUMNS, OUTPUT_ONLY_FIELDS, case_from_record};

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
    pub(super) number: u64,
    /// The cases, in file order.
    pub(super) cases: Vec<Case>,
    /// The file line of each case.
    pub(super) lines: Vec<u64>,
    /// Lines rejected before sending.
    pub(super) local: Vec<Rejection>,
    /// The last line read into this batch.
    pub(super) last_line: u64,
    /// Bytes of the file read up to the end of this batch.
    pub(super) end_byte: u64,
}

/// Where the records of an import file come from.
pub(super) enum Records {
    /// JSON lines, read line by line.
    Jsonl {
        input: Box<dyn BufRead + Send>,
        line: u64,
        bytes: u64,
    },
    /// A JSON array of objects (what `cases list --format json` writes), read whole, then
    /// element by element; `at` is the byte after the last element read, on line `line`.
    JsonArray { text: String, at: usize, line: u64 },
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
    /// JSON (either JSON format) is a JSON array when its first character is `[`, else JSON
    /// lines; an array is checked whole before anything is sent.
    pub(super) fn new(
        mut input: Box<dyn BufRead + Send>,
        format: InputFormat,
    ) -> anyhow::Result<Self> {
        match format {
            InputFormat::Json | InputFormat::Jsonl if starts_an_array(&mut input)? => {
                let mut text = String::new();
                input
                    .read_to_string(&mut text)
                    .context("cannot read the import file as UTF-8 text")?;
                let json = text.trim_start_matches('\u{feff}');
                if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(json) {
                    anyhow::bail!("the import file is not a valid JSON array: {error}");
                }
                let at = text.find('[').map_or(text.len(), |at| at + 1);
                let line = 1 + text[..at].matches('\n').count() as u64;
                Ok(Self::JsonArray { text, at, line })
            }
            InputFormat::Json | InputFormat::Jsonl => Ok(Self::Jsonl {
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
            Self::JsonArray { at, .. } => *at as u64,
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
            Self::JsonArray { text, at, line } => Ok(next_element(text, at, line)),
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

/// Whether the input (after a byte-order mark and blanks) starts with `[`, without consuming
/// it. Only the first buffer is looked at: a file that starts with more blanks than that is
/// read as JSON lines.
fn starts_an_array(input: &mut Box<dyn BufRead + Send>) -> anyhow::Result<bool> {
    let buffer = input.fill_buf().context("cannot read the import file")?;
    let text = buffer.strip_prefix(b"\xef\xbb\xbf").unwrap_or(buffer);
    Ok(text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['))
}

/// The next element of a JSON array already checked to be valid JSON, from byte `at` (on
/// line `line`), moving both past it; `None` at the closing `]`. The record's line is the
/// line its element starts on.
fn next_element(text: &str, at: &mut usize, line: &mut u64) -> Option<Record> {
    loop {
        let rest = &text[*at..];
        let blanks = rest.len() - rest.trim_start().len();
        *line += rest[..blanks].matches('\n').count() as u64;
        *at += blanks;
        match text.as_bytes().get(*at) {
            None | Some(b']') => {
                *at = text.len();
                return None;
            }
            Some(b',') => *at += 1,
            Some(_) => break,
        }
    }
    let number = *line;
    let mut values = serde_json::Deserializer::from_str(&text[*at..]).into_iter::<Value>();
    let value = values.next();
    let end = *at + values.byte_offset().max(1);
    *line += text[*at..end].matches('\n').count() as u64;
    *at = end;
    let result = match value {
        Some(Ok(Value::Object(record))) => case_of(number, &record),
        Some(Ok(_)) => Err(whole_line(number, "not a JSON object")),
        Some(Err(error)) => Err(whole_line(number, &format!("invalid JSON: {error}"))),
        None => return None,
    };
    Some((number, result))
}

pub(super) fn whole_line(line: u64, reason: &str) -> Rejection {
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
    pub(super) fn new(records: Records, size: usize) -> Self {
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
pub(super) fn local_field(field: &str) -> String {
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

/// The format an import file's extension says, if it says one.
pub(super) fn guess_format(path: &Path) -> Option<InputFormat> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "csv" => Some(InputFormat::Csv),
        "json" => Some(InputFormat::Json),
        "jsonl" | "ndjson" => Some(InputFormat::Jsonl),
        _ => None,
    }
}

/// Opens the input: the file, or standard input for `-`. Also returns its size when known.
pub(super) fn open_input(path: &Path) -> anyhow::Result<(Box<dyn BufRead + Send>, Option<u64>)> {
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
