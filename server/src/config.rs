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
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Largest number of database connections in the pool.
    #[arg(long, env = "PROCURA_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,
}

impl Cli {
    /// The settings these flags describe.
    pub fn into_settings(self) -> Settings {
        Settings {
            listen: self.listen,
            database_url: self.database_url,
            pool_max_size: self.pool_size,
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
}
