//! Server configuration: command-line flags with environment fallbacks.

use std::net::SocketAddr;

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
    /// Address to listen on for gRPC.
    #[arg(long, env = "PROCURA_LISTEN", default_value = DEFAULT_LISTEN)]
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

impl Cli {
    /// The settings these flags describe.
    pub fn into_settings(&self) -> Settings {
        Settings {
            listen: self.listen,
            database_url: self.database_url.clone(),
            pool_max_size: self.pool_size,
            reader_connections: self.reader_connections,
        }
    }
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
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

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
