//! The `procura` CLI binary of this build: running it against a `TestApp`, its output, and
//! temporary files for what it reads and writes.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::app::TestApp;

/// Path of the `procura` binary of this build (`target/<profile>/procura`), next to the
/// directory holding this test executable (`target/<profile>/deps/`).
pub fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("procura{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "build the CLI first: cargo build --workspace --bins (no {})",
        binary.display()
    );
    binary
}

/// What a CLI run printed and how it ended.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CliOutput {
    fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// True when the process exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with both streams unless the run succeeded; returns stdout.
    pub fn expect_success(&self, what: &str) -> &str {
        assert!(
            self.success(),
            "`{what}` failed with {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Panics unless the run failed (non-zero exit); returns stderr.
    pub fn expect_failure(&self, what: &str) -> &str {
        assert!(
            !self.success(),
            "`{what}` succeeded but must fail\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        assert!(self.code.is_some(), "`{what}` was killed: {self:?}");
        &self.stderr
    }
}

impl TestApp {
    /// Runs `procura --server <this app> <args..>` and collects its output. The process runs on
    /// the blocking pool so that the server keeps running on the test's runtime meanwhile.
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        let binary = cli_binary();
        let mut command = std::process::Command::new(binary);
        command
            .arg("--server")
            .arg(&self.url)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("PROCURA_SERVER")
            .stdin(std::process::Stdio::null());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the CLI runner thread")
            .expect("cannot start the procura binary");
        CliOutput::from_output(output)
    }
}

/// True when `word` stands in `text` as a whole word, between whitespace or line ends: `cases/1`
/// is not found in `cases/10`, nor `1+` in `11+`.
pub fn has_word(text: &str, word: &str) -> bool {
    text.split_whitespace().any(|w| w == word)
}

/// For every line of `text` whose words begin with the words of `start`, the words after
/// them. Words are separated by whitespace, so the columns of a table row come out as words.
pub fn rows_starting<'a>(text: &'a str, start: &str) -> Vec<Vec<&'a str>> {
    let start: Vec<&str> = start.split_whitespace().collect();
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .starts_with(&start)
                .then(|| words[start.len()..].to_vec())
        })
        .collect()
}

/// The words after `start` on the one line of `text` that begins with the words of `start`;
/// panics unless exactly one line does.
pub fn row<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    let mut rows = rows_starting(text, start);
    assert_eq!(
        rows.len(),
        1,
        "expected one line starting with {start:?}, found {}:\n{text}",
        rows.len()
    );
    rows.remove(0)
}

/// A unique path in the temporary directory, removed when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// A new path ending in `suffix`, with `contents` written to it.
    pub fn with_contents(suffix: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "procura-test-{}{suffix}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        Self(path)
    }

    /// The path as a string.
    pub fn path_str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        // `procura cases import FILE` keeps its progress in `FILE.import-state`.
        let mut state = self.0.clone().into_os_string();
        state.push(".import-state");
        let _ = std::fs::remove_file(state);
    }
}
