//! The `procura-server` binary: parse configuration, start telemetry, then serve until a
//! signal, or run one maintenance command.

use clap::Parser;
use procura_server::{config::Cli, startup, telemetry};

/// mimalloc instead of the system allocator: a GetCase call allocates for its rows, its
/// message and its HTTP/2 frames (docs/benchmarks.md, "Design measurements").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = cli.into_settings();
    telemetry::init("info", cli.log_format);
    let outcome = match cli.command {
        Some(command) => startup::run_command(&settings, command).await,
        None => serve(settings).await,
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("procura-server: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(
    settings: procura_server::config::Settings,
) -> anyhow::Result<std::process::ExitCode> {
    let app = startup::Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(std::process::ExitCode::SUCCESS)
}
