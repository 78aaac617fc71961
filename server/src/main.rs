//! The `procura-server` binary: parse configuration, start telemetry, run until a signal.

use clap::Parser;
use procura_server::{config::Cli, startup::Application, telemetry};

/// mimalloc instead of the system allocator: a GetCase call allocates for its rows, its
/// message and its HTTP/2 frames, and glibc's malloc took about 12% of the server's CPU
/// under load (perf, GetCase at concurrency 64).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = Cli::parse().into_settings();
    telemetry::init("info");
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("procura-server: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("procura-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
