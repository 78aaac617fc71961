//! `procura`: the command-line client of the procura service, which keeps the case records of
//! administrative procuratorial supervision (行政检察监督) and answers regional rollups.
//!
//! This file only parses the command line, builds the [`Context`] (server URL, output format,
//! connection on first use) and hands over to one module per subcommand group.

mod commands;
mod convert;
mod error;
mod output;
mod records;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::Context;
use output::OutputFormat;

/// Command-line client of the procura service: regions, cases, supervision measures, dispute
/// resolutions, judicial aid and rollups.
#[derive(Debug, Parser)]
#[command(name = "procura", version, propagate_version = true)]
struct Cli {
    /// URL of the procura server.
    #[arg(
        long,
        env = "PROCURA_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true,
        display_order = 900
    )]
    server: String,
    /// Who is making the changes, sent as the `procura-actor` header and kept in case
    /// revisions and releases [default: none, recorded as anonymous].
    #[arg(long, env = "PROCURA_ACTOR", global = true, display_order = 901)]
    actor: Option<String>,
    /// Output format of commands that print records (each also takes --format after it)
    /// [default: table].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    #[command(subcommand)]
    command: Command,
}

/// The subcommand groups. Adding one: a variant here and an arm in [`dispatch`].
#[derive(Debug, Subcommand)]
enum Command {
    /// Read the region tree (行政区划): the procuratorates' divisions.
    #[command(subcommand)]
    Regions(commands::regions::RegionsCommand),
    /// Create, read, list, update and import cases (行政检察监督案件).
    #[command(subcommand)]
    Cases(commands::cases::CasesCommand),
    /// Add supervision measures (监督措施) and record their adoption.
    #[command(subcommand)]
    Measures(commands::measures::MeasuresCommand),
    /// Record dispute resolutions (行政争议实质性化解).
    #[command(subcommand)]
    Resolutions(commands::resolutions::ResolutionsCommand),
    /// Add judicial aid grants (司法救助).
    #[command(subcommand)]
    Aid(commands::aid::AidCommand),
    /// Count a region's figures for a period, year on year (汇总统计).
    Rollup(commands::rollup::RollupArgs),
}

/// Runs one subcommand; the exit code is 0 unless the command says otherwise (import: 2 when
/// lines were rejected).
async fn dispatch(command: Command, ctx: &Context) -> anyhow::Result<ExitCode> {
    let ok = |()| ExitCode::SUCCESS;
    match command {
        Command::Regions(command) => commands::regions::run(command, ctx).await.map(ok),
        Command::Cases(command) => commands::cases::run(command, ctx).await,
        Command::Measures(command) => commands::measures::run(command, ctx).await.map(ok),
        Command::Resolutions(command) => commands::resolutions::run(command, ctx).await.map(ok),
        Command::Aid(command) => commands::aid::run(command, ctx).await.map(ok),
        Command::Rollup(args) => commands::rollup::run(args, ctx).await.map(ok),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Context::new(cli.server, cli.actor, cli.format);
    match dispatch(cli.command, &ctx).await {
        Ok(code) => code,
        Err(error) => {
            for line in error::describe(&error, ctx.server()) {
                eprintln!("{line}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn format_goes_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from(["procura", "--format", "json", "regions", "get", "530000"])
            .unwrap();
        assert_eq!(cli.format, Some(OutputFormat::Json));
        let cli = Cli::try_parse_from([
            "procura",
            "cases",
            "import",
            "x.csv",
            "--format",
            "csv",
            "--server",
            "http://h:1",
        ])
        .unwrap();
        assert_eq!(cli.server, "http://h:1");
    }

    #[test]
    fn rollup_periods_are_exclusive() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(
                ["procura", "rollup", "--region", "530000"]
                    .iter()
                    .chain(args),
            )
        };
        assert!(parse(&["--year", "2020"]).is_ok());
        assert!(parse(&["--year", "2020", "--quarter", "4"]).is_ok());
        assert!(parse(&["--year", "2020", "--month", "2", "--by", "county"]).is_ok());
        assert!(parse(&["--from", "2019-11-01", "--to", "2020-12-31"]).is_ok());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--quarter", "4"]).is_err());
        assert!(parse(&["--year", "2020", "--quarter", "4", "--month", "1"]).is_err());
        assert!(
            parse(&[
                "--year",
                "2020",
                "--from",
                "2019-11-01",
                "--to",
                "2020-12-31"
            ])
            .is_err()
        );
        assert!(parse(&["--from", "2019-11-01"]).is_err());
        assert!(parse(&["--year", "2020", "--quarter", "5"]).is_err());
        assert!(parse(&["--year", "2020", "--by", "national"]).is_err());
    }

    #[test]
    fn bad_input_is_reported_with_the_flag() {
        let error = Cli::try_parse_from([
            "procura",
            "aid",
            "add",
            "42",
            "--granted",
            "2020-02-30",
            "--amount",
            "1",
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("--granted"), "{error}");
        let error = Cli::try_parse_from([
            "procura",
            "aid",
            "add",
            "42",
            "--granted",
            "2020-02-03",
            "--amount",
            "1.234",
        ])
        .unwrap_err()
        .to_string();
        assert!(error.contains("--amount"), "{error}");
        assert!(error.contains("two decimals"), "{error}");
    }
}
