//! The PostgreSQL store: connection pool, database set-up and migrations, and one module of
//! query functions per record.

/// `snapshot!(conn, E, |c| body)` runs `body` (an expression that may `.await`, with the
/// connection as `c`, giving `Result<_, E>`) in one snapshot: a read-only repeatable-read
/// transaction, so that every statement of a case read, a rollup, a drill-down or a diff sees
/// the same committed writes. Not inside another transaction. The moment a live rollup
/// reports is the transaction's ([`moments::of_transaction`]): its start and its snapshot, so
/// that a write that began before and committed after is not counted at that moment when it
/// is asked again. An as-of rollup of a large subtree holds its snapshot while it reads every
/// case of the subtree, a chunk at a time (each statement under `statement_timeout`).
macro_rules! snapshot {
    ($conn:expr, $error:ty, |$c:ident| $body:expr) => {
        $conn
            .build_transaction()
            .repeatable_read()
            .read_only()
            .run::<_, $error, _>(async |$c| $body)
            .await
    };
}
pub(crate) use snapshot;

pub mod access;
pub mod answers;
pub mod cases;
pub mod history;
pub mod models;
pub mod moments;
pub mod probe;
pub mod regions;
pub mod releases;
pub mod revisions;
pub mod rollup;
pub mod schema;
pub mod totals;

use std::time::Duration;

use diesel::ConnectionError;
use diesel::result::QueryResult;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, deadpool};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures::FutureExt;

/// The migrations in `server/migrations`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The pool of database connections.
pub type Pool = deadpool::Pool<AsyncPgConnection>;
/// A connection borrowed from the pool.
pub type PooledConnection = deadpool::Object<AsyncPgConnection>;
/// Why no connection could be had from the pool.
pub type PoolError = deadpool::PoolError;

/// Why the database could not be prepared at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// PostgreSQL does not answer at all.
    #[error(
        "cannot reach PostgreSQL at {target}: {cause}. Is it running? Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) or point --database-url / DATABASE_URL at a running server"
    )]
    Unreachable {
        /// Host and port (no password).
        target: String,
        /// What the driver said.
        cause: String,
    },
    /// PostgreSQL answers but refuses the connection: a role that does not exist, a wrong
    /// password, no `pg_hba.conf` entry.
    #[error(
        "PostgreSQL at {target} refused the connection: {cause}. Check the user and password of --database-url / DATABASE_URL"
    )]
    Refused {
        /// Host and port (no password).
        target: String,
        /// What PostgreSQL said.
        cause: String,
    },
    /// The URL is not a PostgreSQL URL procura can use.
    #[error("the database URL is not usable: {0}")]
    BadUrl(String),
    /// Creating the database or applying a migration failed.
    #[error("preparing database `{database}` failed: {cause}")]
    Setup {
        /// The database name.
        database: String,
        /// What went wrong.
        cause: String,
    },
}

/// A PostgreSQL URL split around its database name.
struct DbUrl<'a> {
    prefix: &'a str,
    database: &'a str,
    query: &'a str,
}

impl<'a> DbUrl<'a> {
    fn parse(url: &'a str) -> Result<Self, DbSetupError> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| {
                DbSetupError::BadUrl(
                    "it must start with postgres:// (e.g. postgres://postgres@127.0.0.1:5432/procura)"
                        .to_owned(),
                )
            })?;
        let scheme_len = url.len() - rest.len();
        let (body, query) = match rest.split_once('?') {
            Some((body, query)) => (body, query),
            None => (rest, ""),
        };
        let (authority, database) = body.split_once('/').ok_or_else(|| {
            DbSetupError::BadUrl("it names no database (…/procura at the end)".to_owned())
        })?;
        if database.is_empty()
            || !database
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(DbSetupError::BadUrl(format!(
                "database name `{database}` must be letters, digits, `_` or `-`"
            )));
        }
        // The driver's own reading of the URL names a parameter it cannot use.
        if let Err(error) = url.parse::<tokio_postgres::Config>() {
            let cause = std::error::Error::source(&error)
                .map_or_else(|| error.to_string(), |cause| cause.to_string());
            return Err(DbSetupError::BadUrl(cause));
        }
        Ok(DbUrl {
            prefix: &url[..scheme_len + authority.len() + 1],
            database,
            query,
        })
    }

    /// Host and port, without user or password, for messages.
    fn target(&self) -> String {
        let authority = self.prefix.trim_end_matches('/');
        let authority = authority.rsplit_once("//").map_or(authority, |(_, a)| a);
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host)
            .to_owned()
    }

    fn with_database(&self, database: &str) -> String {
        if self.query.is_empty() {
            format!("{}{database}", self.prefix)
        } else {
            format!("{}{database}?{}", self.prefix, self.query)
        }
    }
}

/// Creates the database if it is missing and applies every pending migration, loading the
/// region tree on first use.
pub async fn prepare_database(database_url: &str) -> Result<(), DbSetupError> {
    let url = DbUrl::parse(database_url)?;
    let setup_error = |cause: String| DbSetupError::Setup {
        database: url.database.to_owned(),
        cause,
    };
    match AsyncPgConnection::establish(database_url).await {
        Ok(_) => {}
        Err(error)
            if error
                .to_string()
                .contains(&format!("database \"{}\" does not exist", url.database)) =>
        {
            create_database(&url).await?;
        }
        Err(error) => return Err(connect_error(&url, &error)),
    }
    let owned_url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = <diesel_async::async_connection_wrapper::AsyncConnectionWrapper<
            AsyncPgConnection,
        > as diesel::Connection>::establish(&owned_url)
        .map_err(|e| e.to_string())?;
        conn.run_pending_migrations(MIGRATIONS)
            .map(|applied| applied.len())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| setup_error(e.to_string()))?
    .map(|applied| {
        if applied > 0 {
            tracing::info!(applied, database = url.database, "applied migrations");
        }
    })
    .map_err(setup_error)
}

/// What failed when connecting to `url`: PostgreSQL not answering (not running, wrong host or
/// port), a URL it cannot use, or PostgreSQL refusing the connection.
fn connect_error(url: &DbUrl<'_>, error: &ConnectionError) -> DbSetupError {
    const UNREACHABLE: [&str; 9] = [
        // The driver's words for a socket that could not connect (host, port, refused).
        "error connecting to server",
        "connection refused",
        "timed out",
        "no route to host",
        "network is unreachable",
        "failed to lookup address",
        "no such file or directory",
        "the database system is starting up",
        "the database system is shutting down",
    ];
    let cause = error.to_string();
    let lower = cause.to_lowercase();
    if UNREACHABLE.iter().any(|words| lower.contains(words)) {
        DbSetupError::Unreachable {
            target: url.target(),
            cause,
        }
    } else if matches!(error, ConnectionError::InvalidConnectionUrl(_))
        || lower.contains("invalid configuration")
        || lower.contains("unknown option")
        || lower.contains("invalid value")
    {
        DbSetupError::BadUrl(cause)
    } else {
        DbSetupError::Refused {
            target: url.target(),
            cause,
        }
    }
}

async fn create_database(url: &DbUrl<'_>) -> Result<(), DbSetupError> {
    let admin_url = url.with_database("postgres");
    let mut admin = AsyncPgConnection::establish(&admin_url)
        .await
        .map_err(|error| connect_error(url, &error))?;
    // The name was checked to be [A-Za-z0-9_-]+ in DbUrl::parse, so quoting it is enough;
    // CREATE DATABASE takes no bind parameters.
    let statement = format!("CREATE DATABASE \"{}\"", url.database);
    match diesel::sql_query(statement).execute(&mut admin).await {
        Ok(_) => {
            tracing::info!(database = url.database, "created database");
            Ok(())
        }
        Err(error) if error.to_string().contains("already exists") => Ok(()),
        Err(error) => Err(DbSetupError::Setup {
            database: url.database.to_owned(),
            cause: error.to_string(),
        }),
    }
}

/// What every connection is set to: a statement timeout, so that no query can hold a
/// connection longer than a call may last (`--call-timeout`), and its name in
/// `pg_stat_activity`.
fn session(statement_timeout: Duration) -> String {
    format!(
        "SET statement_timeout = {}; SET application_name = 'procura-server'",
        statement_timeout.as_millis().max(1)
    )
}

/// The connections of the case reader (GetCase's batches): as [`session`], and their
/// prepared statements (cases, measures, resolutions and aid grants by `= ANY($1)`) keep one
/// plan each. PostgreSQL would otherwise plan them anew at every call, because the plan it
/// keeps is costed for ten ids.
fn reader_session(statement_timeout: Duration) -> String {
    format!(
        "SET statement_timeout = {}; SET application_name = 'procura-server reader'; \
         SET plan_cache_mode = force_generic_plan",
        statement_timeout.as_millis().max(1)
    )
}

/// The statement timeout of the maintenance commands' connections.
pub const COMMAND_STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections of the case reader by default (`--reader-connections`), each with a batch out
/// at a time. Two: since a batch is one statement reading kept answers (no transaction around
/// it), the database reads one batch while the server answers the other (docs/benchmarks.md,
/// "Design measurements"). The price of each: a slow batch holds up the calls queued behind
/// it (at most `statement_timeout`).
pub const READER_CONNECTIONS: usize = 2;

/// Builds the pool, each connection set up with [`session`] and, where the database allows
/// it, [`WAL_COMPRESSION`].
pub fn build_pool(
    database_url: &str,
    max_size: usize,
    statement_timeout: Duration,
) -> Result<Pool, DbSetupError> {
    pool_with(database_url, max_size, session(statement_timeout), true)
}

/// Builds the case reader's pool of `connections`, each set up with [`reader_session`].
pub fn build_reader_pool(
    database_url: &str,
    connections: usize,
    statement_timeout: Duration,
) -> Result<Pool, DbSetupError> {
    pool_with(
        database_url,
        connections,
        reader_session(statement_timeout),
        false,
    )
}

/// What the writers ask for beyond [`session`], best first: compressed full-page images in the
/// write-ahead log. Imports update kept totals all over their tables, so after each checkpoint
/// most of the log they write is whole 8 kB pages; lz4 halves it (and the checkpoints it
/// causes). It changes no result and no guarantee. Setting it needs a superuser or
/// `GRANT SET ON PARAMETER wal_compression`; without either, the database's setting stays.
const WAL_COMPRESSION: [&str; 3] = [
    "SET wal_compression = lz4",
    "SET wal_compression = pglz",
    // PostgreSQL 14 and older take a boolean.
    "SET wal_compression = on",
];

/// What the first writer connection got from [`WAL_COMPRESSION`]: the statement that was
/// taken, or none. Later connections repeat it, or skip it, without asking again.
static WAL_COMPRESSION_TAKEN: std::sync::OnceLock<Option<&'static str>> =
    std::sync::OnceLock::new();

/// An error of the database (a refused setting) is no error here; a broken connection is.
fn tolerate_refusal(result: QueryResult<()>) -> QueryResult<()> {
    match result {
        Err(diesel::result::Error::DatabaseError(..)) => Ok(()),
        other => other,
    }
}

/// Asks for [`WAL_COMPRESSION`] on `conn`; the first time, says what it got.
async fn compress_wal(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    match WAL_COMPRESSION_TAKEN.get() {
        Some(Some(statement)) => return tolerate_refusal(conn.batch_execute(statement).await),
        Some(None) => return Ok(()),
        None => {}
    }
    let mut refusal = None;
    for statement in WAL_COMPRESSION {
        match conn.batch_execute(statement).await {
            Ok(()) => {
                if WAL_COMPRESSION_TAKEN.set(Some(statement)).is_ok() {
                    tracing::info!(statement, "write-ahead log compression");
                }
                return Ok(());
            }
            // Refused: no privilege, or a value this PostgreSQL does not know.
            Err(error @ diesel::result::Error::DatabaseError(..)) => refusal = Some(error),
            Err(error) => return Err(error),
        }
    }
    if WAL_COMPRESSION_TAKEN.set(None).is_ok()
        && let Some(error) = refusal
    {
        tracing::info!(%error, "write-ahead log compression left to the database's setting");
    }
    Ok(())
}

fn pool_with(
    database_url: &str,
    max_size: usize,
    session: String,
    compress: bool,
) -> Result<Pool, DbSetupError> {
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    // A broken connection fails its query and is dropped; checking every connection with a
    // round trip before each use would double the cost of a small call.
    config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        let session = session.clone();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&session)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            if compress {
                compress_wal(&mut conn)
                    .await
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
            }
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .runtime(::deadpool::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(5)))
        .build()
        .map_err(|e| DbSetupError::BadUrl(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let url = DbUrl::parse("postgres://postgres:secret@127.0.0.1:5432/procura?sslmode=disable")
            .expect("valid");
        assert_eq!(url.database, "procura");
        assert_eq!(url.target(), "127.0.0.1:5432");
        assert_eq!(
            url.with_database("postgres"),
            "postgres://postgres:secret@127.0.0.1:5432/postgres?sslmode=disable"
        );
        assert!(DbUrl::parse("mysql://x/y").is_err());
        assert!(DbUrl::parse("postgres://x").is_err());
        assert!(DbUrl::parse("postgres://x/a;b").is_err());
    }
}
