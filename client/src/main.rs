//! `procura`: the command-line client of the procura service, which keeps the case records of
//! administrative procuratorial supervision (行政检察监督) and answers regional rollups.
//!
//! This file only parses the command line, builds the [`Context`] (server URL, credential and
//! TLS options, output format, connection on first use) and hands over to one module per
//! subcommand group of the `procura_client` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use procura_client::commands::{self, Context};
use procura_client::connection::{ConnectOptions, TlsFiles};
use procura_client::credentials::{Secret, TokenInputs};
use procura_client::output::OutputFormat;

/// Command-line client of the procura service: regions, cases, supervision measures, dispute
/// resolutions, judicial aid, rollups and releases, and who may do what (principals, tokens,
/// grants, the access log).
///
/// Every call carries a credential: a bearer token (--token, else PROCURA_TOKEN, else the
/// credentials file) or, with https://, a client certificate (--cert and --key).
#[derive(Debug, Parser)]
#[command(name = "procura", version, propagate_version = true)]
struct Cli {
    /// URL of the procura server: http://HOST:PORT, or https://HOST:PORT for TLS.
    #[arg(
        long,
        env = "PROCURA_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true,
        display_order = 900
    )]
    server: String,
    /// Bearer token to authenticate with, sent as `authorization: Bearer <token>` [default:
    /// the PROCURA_TOKEN environment variable, else the credentials file]. A command line can
    /// be seen by other users of the machine: prefer PROCURA_TOKEN or the credentials file.
    #[arg(long, value_name = "TOKEN", value_parser = parse_secret, global = true, display_order = 901)]
    token: Option<Secret>,
    /// File holding the token as a line `token = <secret>` (`#` starts a comment), readable by
    /// you only (chmod 600); read when neither --token nor PROCURA_TOKEN gives a token
    /// [default: $HOME/.config/procura/credentials].
    #[arg(
        long,
        value_name = "FILE",
        env = "PROCURA_CREDENTIALS_FILE",
        global = true,
        display_order = 902
    )]
    credentials_file: Option<PathBuf>,
    /// PEM certificate of the CA that signed the server's certificate, for https:// servers
    /// [default: the public web CAs (Mozilla's list)].
    #[arg(
        long,
        value_name = "FILE",
        env = "PROCURA_CA",
        global = true,
        display_order = 903
    )]
    ca: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (a service principal: URI SAN procura://svc/ID);
    /// needs --key and an https:// server.
    #[arg(
        long,
        value_name = "FILE",
        env = "PROCURA_CERT",
        global = true,
        display_order = 904
    )]
    cert: Option<PathBuf>,
    /// PEM private key of the --cert client certificate.
    #[arg(
        long,
        value_name = "FILE",
        env = "PROCURA_KEY",
        global = true,
        display_order = 905
    )]
    key: Option<PathBuf>,
    /// Output format of commands that print records (each also takes --format after it)
    /// [default: table].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    #[command(subcommand)]
    command: Command,
}

/// `--token` as a [`Secret`], so that it is never shown.
fn parse_secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
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
    /// Show who you are to the server and the roles you hold (whoami).
    #[command(subcommand)]
    Auth(commands::auth::AuthCommand),
    /// Manage principals, their tokens and their grants (访问控制).
    #[command(subcommand)]
    Admin(commands::admin::AdminCommand),
    /// Read the access log (访问日志): who called what, and how it ended.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
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
        Command::Auth(command) => commands::auth::run(command, ctx).await.map(ok),
        Command::Admin(command) => commands::admin::run(command, ctx).await.map(ok),
        Command::Audit(command) => commands::audit::run(command, ctx).await.map(ok),
    }
}

impl Cli {
    /// How to connect: the TLS files, and the token inputs (`--token`, `PROCURA_TOKEN`, the
    /// credentials file), read only when a command connects.
    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            token: TokenInputs::from_environment(self.token.clone(), self.credentials_file.clone()),
            tls: TlsFiles {
                ca: self.ca.clone(),
                cert: self.cert.clone(),
                key: self.key.clone(),
            },
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Context::new(cli.server.clone(), cli.connect_options(), cli.format);
    match dispatch(cli.command, &ctx).await {
        Ok(code) => code,
        Err(error) => {
            for line in ctx.describe(&error) {
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
    use procura_client::commands::admin::{
        AdminCommand, GrantsCommand, PrincipalsCommand, TokensCommand,
    };
    use procura_client::commands::audit::AuditCommand;
    use procura_client::commands::auth::AuthCommand;
    use procura_client::connection::check_tls_flags;
    use procura_proto::v1::Role;
    use std::path::Path;

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
    fn the_actor_flag_is_gone() {
        assert!(Cli::try_parse_from(["procura", "--actor", "alice", "regions", "list"]).is_err());
    }

    #[test]
    fn credential_and_tls_flags_are_global() {
        let cli = Cli::try_parse_from([
            "procura",
            "regions",
            "list",
            "--token",
            "pct_abc",
            "--credentials-file",
            "/tmp/creds",
            "--server",
            "https://procura.example:50051",
            "--ca",
            "ca.pem",
            "--cert",
            "svc.pem",
            "--key",
            "svc.key",
        ])
        .unwrap();
        assert_eq!(cli.token.as_ref().unwrap().expose(), "pct_abc");
        assert!(
            !format!("{cli:?}").contains("pct_abc"),
            "Debug hides the token"
        );
        let options = cli.connect_options();
        assert_eq!(options.token.file.as_deref(), Some(Path::new("/tmp/creds")));
        assert_eq!(options.tls.ca.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(options.tls.cert.as_deref(), Some(Path::new("svc.pem")));
        assert_eq!(options.tls.key.as_deref(), Some(Path::new("svc.key")));
    }

    #[test]
    fn the_help_never_shows_a_token() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("--token <TOKEN>"), "{help}");
        assert!(help.contains("PROCURA_TOKEN"), "{help}");
        assert!(help.contains("--credentials-file <FILE>"), "{help}");
        assert!(!help.contains("--actor"), "{help}");
    }

    #[test]
    fn tls_flags_are_checked_when_connecting() {
        let options = |args: &[&str]| {
            let cli = Cli::try_parse_from(["procura"].iter().chain(args)).unwrap();
            (cli.server.clone(), cli.connect_options())
        };
        let (server, o) = options(&[
            "--cert",
            "c.pem",
            "--server",
            "https://h:1",
            "auth",
            "whoami",
        ]);
        let error = check_tls_flags(&server, &o.tls).unwrap_err().to_string();
        assert!(error.contains("--cert needs --key"), "{error}");
        let (server, o) = options(&["--ca", "ca.pem", "--server", "http://h:1", "auth", "whoami"]);
        let error = check_tls_flags(&server, &o.tls).unwrap_err().to_string();
        assert!(error.contains("use https://"), "{error}");
    }

    #[test]
    fn access_commands_parse() {
        let parse = |args: &[&str]| Cli::try_parse_from(["procura"].iter().chain(args));
        assert!(matches!(
            parse(&["auth", "whoami", "--format", "json"])
                .unwrap()
                .command,
            Command::Auth(AuthCommand::Whoami { .. })
        ));

        let cli = parse(&[
            "admin",
            "principals",
            "create",
            "principals/zhang-san",
            "--name",
            "张三",
        ])
        .unwrap();
        let Command::Admin(AdminCommand::Principals(PrincipalsCommand::Create {
            id,
            name,
            service,
            ..
        })) = cli.command
        else {
            panic!("not principals create");
        };
        assert_eq!(
            (id.as_str(), name.as_str(), service),
            ("zhang-san", "张三", false)
        );
        assert!(
            parse(&[
                "admin",
                "principals",
                "create",
                "svc",
                "--name",
                "S",
                "--service"
            ])
            .is_ok()
        );
        assert!(
            parse(&["admin", "principals", "create", "zhang-san"]).is_err(),
            "--name is required"
        );
        assert!(parse(&["admin", "principals", "create", "Zhang San", "--name", "x"]).is_err());
        assert!(parse(&["admin", "principals", "list", "--format", "csv"]).is_ok());

        let cli = parse(&[
            "admin",
            "tokens",
            "create",
            "zhang-san",
            "--description",
            "laptop",
        ])
        .unwrap();
        let Command::Admin(AdminCommand::Tokens(TokensCommand::Create {
            principal,
            description,
            expires_in_days,
            ..
        })) = cli.command
        else {
            panic!("not tokens create");
        };
        assert_eq!(principal, "zhang-san");
        assert_eq!(description.as_deref(), Some("laptop"));
        assert_eq!(expires_in_days, 90, "the default");
        assert!(parse(&["admin", "tokens", "create", "a", "--expires-in-days", "400"]).is_ok());
        assert!(parse(&["admin", "tokens", "create", "a", "--expires-in-days", "401"]).is_err());
        assert!(parse(&["admin", "tokens", "create", "a", "--expires-in-days", "0"]).is_err());
        assert!(parse(&["admin", "tokens", "list"]).is_ok());
        assert!(parse(&["admin", "tokens", "list", "--principal", "principals/a"]).is_ok());
        for token in ["7", "tokens/7"] {
            let cli = parse(&["admin", "tokens", "revoke", token]).unwrap();
            let Command::Admin(AdminCommand::Tokens(TokensCommand::Revoke { name, .. })) =
                cli.command
            else {
                panic!("not tokens revoke");
            };
            assert_eq!(name, "tokens/7");
        }
        assert!(parse(&["admin", "tokens", "revoke", "grants/7"]).is_err());

        let cli = parse(&[
            "admin",
            "grants",
            "create",
            "zhang-san",
            "--role",
            "submitter",
            "--region",
            "regions/530100",
            "--expires",
            "2025-12-31",
        ])
        .unwrap();
        let Command::Admin(AdminCommand::Grants(GrantsCommand::Create {
            role,
            region,
            expires,
            ..
        })) = cli.command
        else {
            panic!("not grants create");
        };
        assert_eq!(role, Role::Submitter);
        assert_eq!(region, "530100");
        assert_eq!(
            expires.map(|t| procura_client::convert::format_timestamp(&t)),
            Some("2026-01-01T00:00:00Z".to_owned()),
            "in force through the day given"
        );
        for role in ["submitter", "viewer", "publisher", "auditor", "admin"] {
            assert!(
                parse(&[
                    "admin", "grants", "create", "a", "--role", role, "--region", "000000"
                ])
                .is_ok()
            );
        }
        assert!(
            parse(&[
                "admin", "grants", "create", "a", "--role", "root", "--region", "000000"
            ])
            .is_err()
        );
        assert!(parse(&["admin", "grants", "create", "a", "--role", "viewer"]).is_err());
        assert!(
            parse(&[
                "admin",
                "grants",
                "create",
                "a",
                "--role",
                "viewer",
                "--region",
                "000000",
                "--expires",
                "2025-06-30T18:00:00+08:00"
            ])
            .is_ok()
        );
        assert!(parse(&["admin", "grants", "list", "--principal", "a"]).is_ok());
        assert!(parse(&["admin", "grants", "revoke", "12"]).is_ok());
        assert!(parse(&["admin", "grants", "revoke", "grants/12"]).is_ok());
        assert!(parse(&["admin", "grants", "revoke", "x"]).is_err());

        let cli = parse(&[
            "audit",
            "events",
            "--principal",
            "zhang-san",
            "--region",
            "530000",
            "--from",
            "2025-06-01",
            "--to",
            "2025-06-30T00:00:00Z",
            "--outcome",
            "denied",
            "--limit",
            "20",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Audit(AuditCommand::Events(_))
        ));
        assert!(parse(&["audit", "events"]).is_ok());
        for outcome in ["ok", "unauthenticated", "denied", "failed"] {
            assert!(parse(&["audit", "events", "--outcome", outcome]).is_ok());
        }
        assert!(parse(&["audit", "events", "--outcome", "refused"]).is_err());
        assert!(parse(&["audit", "events", "--from", "June"]).is_err());
        assert!(parse(&["audit", "events", "--limit", "0"]).is_err());
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
