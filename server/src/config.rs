//! Server configuration: command-line flags with environment fallbacks.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Default address the server listens on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default database: the local PostgreSQL, database `procura`.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/procura";

/// `procura-server` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "procura-server",
    version,
    about = "The procura gRPC service: case records of administrative procuratorial supervision \
             (行政检察监督) and their regional rollups"
)]
pub struct Cli {
    /// Address to listen on for gRPC: an IP address and a port, e.g. 127.0.0.1:50051 (this
    /// machine only) or 0.0.0.0:50051 (every interface).
    #[arg(long, env = "PROCURA_LISTEN", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// PostgreSQL URL. The database is created if it is missing; migrations run at start-up.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Largest number of database connections in the pool.
    #[arg(long, env = "PROCURA_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,
    /// Connections of the GetCase reader, each reading one batch of queued calls at a time
    /// (1 to 64).
    #[arg(long, env = "PROCURA_READER_CONNECTIONS", default_value_t = crate::db::READER_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub reader_connections: usize,
    /// TLS certificate chain (PEM) to serve with; needs --tls-key.
    #[arg(long, env = "PROCURA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) of --tls-cert.
    #[arg(long, env = "PROCURA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) whose client certificates identify services (mutual TLS; the
    /// principal is the certificate's URI SAN `procura://svc/NAME`). Needs --tls-cert.
    #[arg(long, env = "PROCURA_CLIENT_CA", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve without TLS on an address other than loopback (refused otherwise): credentials
    /// and case records then cross the network in the clear.
    #[arg(long, env = "PROCURA_INSECURE_PLAINTEXT")]
    pub insecure_plaintext: bool,
    /// Where the first start writes the bootstrap admin's token (owner-only), which the CLI
    /// on this machine reads by default.
    #[arg(long, env = "PROCURA_CREDENTIALS_FILE", global = true)]
    pub credentials_file: Option<PathBuf>,
    /// Address of the Prometheus metrics listener (plain HTTP, e.g. 127.0.0.1:9090); none
    /// unless given.
    #[arg(long, env = "PROCURA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How log lines are written to stderr: `text`, or `json` (one object per line).
    #[arg(
        long,
        env = "PROCURA_LOG_FORMAT",
        value_enum,
        default_value_t,
        global = true
    )]
    pub log_format: crate::telemetry::LogFormat,
    /// Limits on calls, deadlines and the shutdown drain.
    #[command(flatten)]
    pub limits: crate::api::limits::LimitArgs,
    /// A maintenance command instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `procura-server` does instead of serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The kept GetCase answers (one encoded answer per case, stored by every write).
    #[command(subcommand)]
    Answers(AnswersCommand),
    /// Access control on the server host.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `procura-server admin …`
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Prints a fresh token of the bootstrap admin (principal `admin`, every role at
    /// 000000), creating it when no principal exists: for recovery when every admin token is
    /// lost. Anyone who can run this reaches the database, so it is not a way around access.
    BootstrapToken,
}

/// `procura-server answers …`
#[derive(Debug, clap::Subcommand)]
pub enum AnswersCommand {
    /// Builds the kept answers of every case that has none (cases stored before answers were
    /// kept). Safe beside a running server, and to run again.
    Backfill,
    /// Compares every kept answer with the answer built from its case's records now; exits
    /// with status 1 and names the cases when any differ.
    Verify,
}

/// Parses `--listen`: an IP address and a port. The error says what is wrong with the text
/// and how to write it, with examples (host names such as `localhost` are not looked up).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let problem = match text.rsplit_once(':') {
        _ if text.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() => "no port".to_owned(),
        Some((host, port)) if port.parse::<u16>().is_ok() => {
            format!("\"{host}\" is not an IP address (host names are not looked up)")
        }
        Some((_, port)) => format!("\"{port}\" is not a port (0 to 65535)"),
        None => "not an IP address and a port".to_owned(),
    };
    Err(format!(
        "{problem}: write IP:PORT, e.g. --listen 127.0.0.1:50051 (this machine only, as \
         localhost), --listen [::1]:50051 (IPv6) or --listen 0.0.0.0:50051 (every interface)"
    ))
}

impl Cli {
    /// The settings these flags describe.
    pub fn into_settings(&self) -> Settings {
        Settings {
            listen: self.listen,
            database_url: self.database_url.clone(),
            pool_max_size: self.pool_size,
            reader_connections: self.reader_connections,
            tls: self
                .tls_cert
                .clone()
                .zip(self.tls_key.clone())
                .map(|(cert, key)| TlsFiles {
                    cert,
                    key,
                    client_ca: self.client_ca.clone(),
                }),
            insecure_plaintext: self.insecure_plaintext,
            credentials_file: self
                .credentials_file
                .clone()
                .or_else(default_credentials_file),
            access_checks: true,
            moment_interval: std::time::Duration::from_secs(1),
            metrics_listen: self.metrics_listen,
            limits: self.limits.settings(),
        }
    }
}

/// `$HOME/.config/procura/credentials`, where the CLI looks for its token by default.
pub fn default_credentials_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config/procura/credentials"))
}

/// The PEM files of TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
    /// CAs of client certificates (mutual TLS), if any.
    pub client_ca: Option<PathBuf>,
}

/// Everything the application needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// PostgreSQL URL of the procura database.
    pub database_url: String,
    /// Largest number of pooled database connections.
    pub pool_max_size: usize,
    /// Connections of the GetCase reader ([`crate::db::READER_CONNECTIONS`] by default).
    pub reader_connections: usize,
    /// TLS, if served with it.
    pub tls: Option<TlsFiles>,
    /// Whether plaintext is allowed on an address other than loopback.
    pub insecure_plaintext: bool,
    /// Where a first start writes the bootstrap admin's token; `None` writes none.
    pub credentials_file: Option<PathBuf>,
    /// Whether calls are authenticated and checked. Always on from the command line; off
    /// only where code builds the settings, for the benchmark's baseline (GetCase without
    /// access checks): every call then acts as the bootstrap admin, and nothing is logged.
    pub access_checks: bool,
    /// How often a moment is recorded (see [`crate::db::moments`]): the finest step of
    /// as-of times besides releases and rollups answered.
    pub moment_interval: std::time::Duration,
    /// Where Prometheus scrapes the metrics; `None` exports none.
    pub metrics_listen: Option<SocketAddr>,
    /// Limits on calls, deadlines and the shutdown drain (`api::limits`).
    pub limits: crate::api::limits::LimitSettings,
}

impl Settings {
    /// Plain settings for `listen` and `database_url`: default pool, no TLS, no credentials
    /// file.
    pub fn new(listen: SocketAddr, database_url: &str) -> Self {
        Settings {
            listen,
            database_url: database_url.to_owned(),
            pool_max_size: 16,
            reader_connections: crate::db::READER_CONNECTIONS,
            tls: None,
            insecure_plaintext: false,
            credentials_file: None,
            access_checks: true,
            moment_interval: std::time::Duration::from_secs(1),
            metrics_listen: None,
            limits: crate::api::limits::LimitSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, parse_listen};

    #[test]
    fn a_listen_address_that_is_not_ip_and_port_is_explained() {
        assert_eq!(parse_listen("127.0.0.1:50051").map(|a| a.port()), Ok(50051));
        for (text, problem) in [
            ("localhost", "not an IP address and a port"),
            ("localhost:50051", "\"localhost\" is not an IP address"),
            ("127.0.0.1", "no port"),
            ("[::1]", "no port"),
            ("127.0.0.1:http", "\"http\" is not a port"),
        ] {
            let error = parse_listen(text).expect_err(text);
            assert!(
                error.starts_with(problem) && error.contains("--listen 127.0.0.1:50051"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn reader_connections_are_bounded() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("procura-server").chain(args.iter().copied()))
        };
        let given = parse(&["--reader-connections", "4"]).expect("4 is accepted");
        assert_eq!(given.reader_connections, 4);
        assert!(given.command.is_none());
        let verify = parse(&["answers", "verify", "--database-url", "postgres://x@h/db"])
            .expect("a subcommand takes the database flag after it");
        assert_eq!(verify.database_url, "postgres://x@h/db");
        assert!(matches!(
            verify.command,
            Some(super::Command::Answers(super::AnswersCommand::Verify))
        ));
        for bad in ["0", "65", "two"] {
            let error = parse(&["--reader-connections", bad]).expect_err("out of range");
            assert!(
                error.to_string().contains("--reader-connections"),
                "{error}"
            );
        }
    }
}
