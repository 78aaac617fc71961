//! `procura`: the command-line client of the procura service, which keeps the case records of
//! administrative procuratorial supervision (行政检察监督) and answers regional rollups.
//!
//! This file only parses the command line, builds the [`Context`] (server URL, output format,
//! connection on first use) and hands over to one module per subcommand group of the
//! `procura_client` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use procura_client::commands::{self, Context};
use procura_client::error;
use procura_client::output::OutputFormat;

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
    /// Count a region's figures for a period, year on year (汇总统计), or drill one down.
    Rollup(commands::rollup::RollupCommand),
    /// Publish rollups as releases (发布版本), show them, and compare them with the live records.
    #[command(subcommand)]
    Releases(commands::releases::ReleasesCommand),
    /// Load the demo data set (演示数据) that reproduces the SPP's published figures.
    #[command(subcommand)]
    Demo(commands::demo::DemoCommand),
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
        Command::Rollup(command) => commands::rollup::run(command, ctx).await.map(ok),
        Command::Releases(command) => commands::releases::run(command, ctx).await.map(ok),
        Command::Demo(command) => commands::demo::run(command, ctx).await,
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
    fn rollup_explain_and_releases_parse() {
        let parse = |args: &[&str]| Cli::try_parse_from(["procura"].iter().chain(args));
        assert!(
            parse(&[
                "rollup",
                "explain",
                "--region",
                "530000",
                "--year",
                "2020",
                "--metric",
                "measures.protest"
            ])
            .is_ok()
        );
        assert!(parse(&["rollup", "explain", "--region", "530000", "--metric", "m"]).is_err());
        assert!(
            parse(&["rollup", "--year", "2020"]).is_err(),
            "rollup needs --region"
        );
        assert!(
            parse(&[
                "rollup",
                "--region",
                "530000",
                "--year",
                "2020",
                "--chart",
                "a.svg",
                "--chart-metric",
                "aid.grants"
            ])
            .is_ok()
        );
        assert!(
            parse(&[
                "releases",
                "publish",
                "--region",
                "000000",
                "--year",
                "2020",
                "--by",
                "province",
                "--title",
                "T",
                "--more-than",
                "a",
                "b",
                "--exact",
                "c"
            ])
            .is_ok()
        );
        assert!(
            parse(&[
                "releases", "publish", "--region", "000000", "--year", "2020"
            ])
            .is_err()
        );
        assert!(parse(&["releases", "diff", "releases/3"]).is_ok());
        assert!(
            parse(&["cases", "withdraw", "7"]).is_err(),
            "withdraw needs --reason"
        );
        assert!(parse(&["cases", "withdraw", "7", "--reason", "entered twice"]).is_ok());
        assert!(
            parse(&[
                "cases",
                "import",
                "a.jsonl",
                "--resume",
                "--resume-from",
                "3"
            ])
            .is_err()
        );
        assert!(parse(&["cases", "import", "a.jsonl", "--batch-size", "10001"]).is_err());
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
