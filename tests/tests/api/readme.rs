//! The README, executed: every `console` block's commands run in order in one shell, against
//! the `procura-server` binary of this build on a fresh database, with the `procura` binary
//! of this build, and print what the README says they print (`procura_tests::readme` has the
//! rules). The shell reaches the server through `PROCURA_SERVER` and `DATABASE_URL`, as the
//! README documents; `127.0.0.1:50051` in a command is replaced by the test server's address,
//! `127.0.0.1:9090` by the address of its metrics (`--metrics-listen`), and
//! `cargo run --release -p procura-server -- ARGS` runs the server binary with ARGS. The
//! shell's directory is a fresh one with a link `data` to the repository's `data/`, so that
//! paths such as `data/samples/cases.jsonl` work as they do from the repository's root.
//!
//! Set `PROCURA_README_TRANSCRIPT=FILE` to have every command and its whole output written
//! to FILE, which is what to read when writing a new example.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use procura_tests::readme::{Step, check_output, console_steps};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::*;

/// How long one README command may take (the demo load is the longest).
const STEP_TIMEOUT: Duration = Duration::from_secs(600);

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1, for a server that must be given its address.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts the `procura-server` binary on `addr` with its metrics on `metrics`, database `url`
/// and home `home` (where its first start writes the admin's credentials file, as on a fresh
/// machine) and waits until its health check answers SERVING. Its log goes to `log`.
async fn start_server(addr: &str, metrics: &str, url: &str, home: &Path, log: &Path) -> Killed {
    let binary = server_binary();
    let log_file = std::fs::File::create(log).expect("the server log file");
    let child = Command::new(binary)
        .args(["--listen", addr, "--database-url", url])
        .args(["--metrics-listen", metrics])
        .env("NO_COLOR", "1")
        .env("HOME", home)
        .env_remove("PROCURA_CREDENTIALS_FILE")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("cannot start the procura-server binary");
    let mut server = Killed(child);
    for _ in 0..600 {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!(
                "procura-server exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap();
        if let Ok(channel) = endpoint.connect().await
            && HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
                .is_ok_and(|r| r.into_inner().status == 1)
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("procura-server did not answer its health check on {addr} within 60 s");
}

/// One bash process that runs the commands one after another, keeping its variables.
struct Shell {
    _process: Killed,
    input: ChildStdin,
    lines: Receiver<String>,
    marker: String,
}

impl Shell {
    fn start(dir: &Path, env: &[(&str, String)]) -> Self {
        let mut child = Command::new("bash")
            .args(["--noprofile", "--norc"])
            .current_dir(dir)
            .env_remove("PROCURA_TOKEN")
            .env_remove("PROCURA_CREDENTIALS_FILE")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash");
        let input = child.stdin.take().unwrap();
        let output = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shell = Shell {
            _process: Killed(child),
            input,
            lines,
            marker: format!("readme-step-done-{}", uuid::Uuid::new_v4().simple()),
        };
        // Both streams in order on one pipe; `cargo run … procura-server -- ARGS` as the binary.
        shell.send(
            "exec 2>&1\n\
             cargo() {\n\
               if [ \"$1 $2 $3 $4 $5\" = 'run --release -p procura-server --' ]; then\n\
                 shift 5; \"$PROCURA_SERVER_BIN\" \"$@\"\n\
               else\n\
                 echo \"the README test runs only 'cargo run --release -p procura-server -- ...'\"\n\
                 return 127\n\
               fi\n\
             }\n",
        );
        shell
    }

    fn send(&mut self, text: &str) {
        self.input
            .write_all(text.as_bytes())
            .and_then(|()| self.input.flush())
            .expect("writing to bash");
    }

    /// Runs `command` (reading nothing from standard input) and returns its exit status and
    /// what it printed. `$?` afterwards is the command's status.
    fn run(&mut self, command: &str) -> (i32, String) {
        let marker = self.marker.clone();
        self.send(&format!(
            "{{\n{command}\n}} < /dev/null\n__status=$?\nprintf '\\n%s %s\\n' {marker} \"$__status\"\n(exit $__status)\n"
        ));
        let mut printed = Vec::new();
        loop {
            let line = self.lines.recv_timeout(STEP_TIMEOUT).unwrap_or_else(|e| {
                panic!(
                    "`{command}` printed nothing more for {STEP_TIMEOUT:?} ({e}) after:\n{}",
                    printed.join("\n")
                )
            });
            if let Some(status) = line.strip_prefix(&format!("{marker} ")) {
                while printed.last().is_some_and(|l: &String| l.is_empty()) {
                    printed.pop();
                }
                let status = status.trim().parse().expect("an exit status");
                return (status, printed.join("\n"));
            }
            printed.push(line);
        }
    }
}

#[tokio::test]
async fn every_readme_example_works_as_written() {
    let text = readme();
    let steps = console_steps(&text);
    assert!(
        steps.len() >= 30,
        "only {} README commands found",
        steps.len()
    );

    let work =
        std::env::temp_dir().join(format!("procura-readme-{}", uuid::Uuid::new_v4().simple()));
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(cli_binary(), bin.join("procura")).unwrap();
    std::os::unix::fs::symlink(grpcurl(), bin.join("grpcurl")).unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    std::os::unix::fs::symlink(data, work.join("data")).unwrap();

    // A database the server creates and migrates itself, as on first start.
    let db_name = format!(
        "procura_test_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let _database = DroppedDatabase(db_name.clone());
    let url = database_url(&db_name);
    let addr = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let log = work.join("server.log");
    let _server = start_server(&addr, &metrics, &url, &work, &log).await;

    let path = std::env::var("PATH").unwrap_or_default();
    let server_bin = server_binary();
    let mut shell = Shell::start(
        &work,
        &[
            ("PATH", format!("{}:{path}", bin.display())),
            ("PROCURA_SERVER", format!("http://{addr}")),
            ("DATABASE_URL", url.clone()),
            ("PROCURA_SERVER_BIN", server_bin.display().to_string()),
            ("NO_COLOR", "1".to_owned()),
            // The CLI finds the token the server's first start wrote under this home.
            ("HOME", work.display().to_string()),
        ],
    );
    let mut transcript = std::env::var_os("PROCURA_README_TRANSCRIPT")
        .map(|p| std::fs::File::create(p).expect("the transcript file"));

    for (index, step) in steps.iter().enumerate() {
        let command = step
            .command
            .replace("127.0.0.1:50051", &addr)
            .replace("127.0.0.1:9090", &metrics);
        let (status, printed) = shell.run(&command);
        if let Some(file) = transcript.as_mut() {
            writeln!(file, "$ {}\n{printed}\n[status {status}]\n", step.command).unwrap();
        }
        let context = |problem: &str| {
            format!(
                "README.md line {}: {problem}\n$ {}\n{}\n--- server log (last lines)\n{}",
                step.line,
                step.command,
                if printed.is_empty() {
                    "(printed nothing)"
                } else {
                    &printed
                },
                tail(&log, 15)
            )
        };
        if status != 0 && !Step::may_fail(&steps, index) {
            panic!(
                "{}",
                context(&format!("the command failed with status {status}"))
            );
        }
        if let Err(difference) = check_output(&step.expected, &printed) {
            panic!(
                "README.md line {}: the output differs from the README\n$ {}\n{difference}",
                step.line, step.command
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// The last `n` lines of a file, for failure messages.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Drops a database when dropped.
struct DroppedDatabase(String);

impl Drop for DroppedDatabase {
    fn drop(&mut self) {
        drop_database_blocking(&self.0);
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let text = readme();
    let after = text
        .split_once("Run the whole test suite")
        .expect("the README says how to run the tests")
        .1;
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("a sh block with the test command")
        .0;
    let ci = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/run"))
        .expect(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == block.trim()),
        ".ci/run does not run the README's test command `{block}`"
    );
}

/// The README's way to get the CLI: `cargo install --path client --locked` installs the
/// binary that package builds, which is called `procura` (what every example calls), and the
/// build the test command makes leaves it where the README says. (Installing it here would
/// build the client once more; the README's examples run that same binary.)
#[test]
fn the_readme_says_how_to_get_the_cli() {
    let text = readme();
    let setup = text
        .split_once("## Set-up on a fresh machine")
        .and_then(|(_, rest)| rest.split_once("\n## "))
        .expect("a set-up section")
        .0;
    assert!(
        setup
            .lines()
            .any(|l| l.trim() == "cargo install --path client --locked"),
        "the set-up section says how to install the CLI:\n{setup}"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata");
    assert!(output.status.success(), "{output:?}");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let client = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| Path::new(m).ends_with("client/Cargo.toml"))
        })
        .expect("the package at client/");
    let bins: Vec<&str> = client["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        bins,
        ["procura"],
        "the binaries `cargo install --path client` installs"
    );
    for path in ["target/release/procura", "target/debug/procura"] {
        assert!(setup.contains(&format!("`{path}`")), "{path} is named");
    }
    // The test command's build of it answers as `procura`, as the README shows.
    let binary = cli_binary();
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("procura {}\n", client["version"].as_str().unwrap())
    );
}
