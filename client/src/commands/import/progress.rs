//! What an import did so far ([`Tally`]) with the summary printed at the end, and the progress
//! bar shown on a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use procura_proto::v1::ImportCasesResponse;
use serde::{Deserialize, Serialize};

use super::read::{Batch, Rejection, map_rejections};

/// Rejections listed in the summary and the state file, at most; the rest are only counted.
const MAX_LISTED_REJECTIONS: usize = 10_000;

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
    pub(super) fn add(&mut self, batch: &Batch, ack: &ImportCasesResponse) {
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
    pub(super) fn done(&self) -> u64 {
        self.created + self.already_present + self.rejected
    }

    /// The report printed at the end: the counts, then the rejections by line.
    pub(super) fn summary(&self) -> String {
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

pub(super) fn progress_bar(size: Option<u64>) -> ProgressBar {
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
