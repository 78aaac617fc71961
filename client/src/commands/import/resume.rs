//! The state file of a resumable import (`FILE.import-state`): where it lives, and writing it
//! atomically and reading it back.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::Tally;

/// What `FILE.import-state` holds: how far an import got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportState {
    /// The file imported, as given.
    pub file: String,
    /// The batch size used (a resumed import must batch the same way).
    pub batch_size: u32,
    /// The last batch acknowledged: every batch up to it is committed.
    pub last_batch: u64,
    /// The last line of the file in that batch (checked when resuming).
    pub last_line: u64,
    /// What the import did up to there.
    pub tally: Tally,
}

/// The state file of an import file: `FILE.import-state` beside it.
pub fn state_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".import-state");
    PathBuf::from(name)
}

/// Writes the state file atomically: to a temporary file beside it, then renamed over it.
pub fn save_state(path: &Path, state: &ImportState) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let text = serde_json::to_string_pretty(state)?;
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| {
        format!(
            "cannot rename {} to {}",
            temporary.display(),
            path.display()
        )
    })
}

/// Reads a state file; `None` when there is none.
pub fn load_state(path: &Path) -> anyhow::Result<Option<ImportState>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not an import state file", path.display()))
}
