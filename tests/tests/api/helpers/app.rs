//! The application under test: `spawn_app` starts the real server (the same
//! `Application::build` that `main` uses) on `127.0.0.1:0` against a fresh database cloned
//! from the migrated template, and `TestApp` drops that database when the test ends.
//! `TestApp::restart` stops the server and starts a new one on the same database.

use std::net::SocketAddr;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use procura_proto::v1::access_service_client::AccessServiceClient;
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::region_service_client::RegionServiceClient;
use procura_proto::v1::report_service_client::ReportServiceClient;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};

use super::clients::{Authed, Clients};
use super::database::{admin_connection, database_url, run_admin, template_database};
use super::logs::init_tracing;

/// A running server with its own fresh database, and clients to talk to it.
pub struct TestApp {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, for the CLI's `--server`.
    pub url: String,
    /// URL of this test's own database.
    pub db_url: String,
    /// A channel to the server without credentials (health, reflection, refusals).
    pub channel: Channel,
    /// The bootstrap admin's token (every role at 000000), which the clients below send.
    pub token: String,
    /// `procura.v1.RegionService`, as the bootstrap admin.
    pub regions: RegionServiceClient<Authed>,
    /// `procura.v1.CaseService`, as the bootstrap admin.
    pub cases: CaseServiceClient<Authed>,
    /// `procura.v1.ReportService`, as the bootstrap admin.
    pub reports: ReportServiceClient<Authed>,
    /// `procura.v1.AccessService`, as the bootstrap admin.
    pub access: AccessServiceClient<Authed>,
    /// The database this app drops when dropped (`None` once handed on by `restart`).
    db_name: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the application on `127.0.0.1:0` with a fresh database cloned from the template.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// As [`spawn_app`], with settings changed by `adjust` (TLS, another address). The app's own
/// channel connects lazily, in plaintext.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut procura_server::config::Settings)) -> TestApp {
    init_tracing();
    start(create_database().await, adjust, None).await
}

/// A fresh database cloned from the migrated template, for a server the test starts itself
/// (e.g. the `procura-server` binary); dropped when dropped.
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// Creates a fresh database cloned from the template.
pub async fn fresh_database() -> TestDatabase {
    let name = create_database().await;
    TestDatabase {
        url: database_url(&name),
        name,
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_database_blocking(&self.name);
    }
}

/// Creates a database named for this test process, cloned from the template; returns its name.
async fn create_database() -> String {
    let template = template_database().await;
    let db_name = format!(
        "procura_test_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let mut admin = admin_connection().await;
    run_admin(
        &mut admin,
        &format!("CREATE DATABASE \"{db_name}\" TEMPLATE \"{template}\""),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot create test database {db_name} from {template}: {e}"));
    drop(admin);
    db_name
}

/// Starts the application on `127.0.0.1:0` (settings changed by `adjust`) against the
/// existing database `db_name`, which the returned app drops when dropped (and `start` drops
/// if the application fails to build). The clients call with the bootstrap admin's token: the
/// one this start creates, or `token` on a database that has it already.
async fn start(
    db_name: String,
    adjust: impl FnOnce(&mut procura_server::config::Settings),
    token: Option<String>,
) -> TestApp {
    let db_url = database_url(&db_name);
    let mut settings = procura_server::config::Settings::new(
        "127.0.0.1:0".parse().expect("a socket address"),
        &db_url,
    );
    settings.pool_max_size = 4;
    adjust(&mut settings);
    // From here on the guard drops the database, even if the application fails to build.
    let mut guard = DatabaseGuard(Some(db_name.clone()));
    let app = procura_server::startup::Application::build(settings)
        .await
        .expect("Application::build failed on a fresh test database");
    let addr = app.local_addr();
    let token = app
        .bootstrap_token()
        .map(str::to_owned)
        .or(token)
        .expect("a fresh database gets a bootstrap admin");
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(error) = app.run_until(shutdown).await {
            eprintln!("the application under test stopped with an error: {error:#}");
        }
    });

    let url = format!("http://{addr}");
    let channel = Endpoint::from_shared(url.clone())
        .expect("a valid endpoint URL")
        .connect_lazy();
    guard.0 = None;
    let clients = Clients::new(&channel, &token);
    TestApp {
        addr,
        url,
        db_url,
        regions: clients.regions,
        cases: clients.cases,
        reports: clients.reports,
        access: clients.access,
        token,
        channel,
        db_name: Some(db_name),
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops this server, after the calls in flight, and starts a new one on the same
    /// database, as an operator restarting the service would: the new server knows only what
    /// the database holds. It listens on another port; the clients of the returned app
    /// talk to it.
    pub async fn restart(mut self) -> TestApp {
        let db_name = self.db_name.take().expect("the app owns its database");
        let token = self.token.clone();
        // Drops the database if stopping fails; disarmed when the new server takes it over.
        let mut guard = DatabaseGuard(Some(db_name.clone()));
        let shutdown = self.shutdown.take();
        let server = self.server.take();
        // Closes this app's channel, so that the server has no connection left to wait for.
        drop(self);
        if let Some(tx) = shutdown {
            let _ = tx.send(());
        }
        if let Some(server) = server {
            tokio::time::timeout(Duration::from_secs(30), server)
                .await
                .expect("the server stops within 30 s of its shutdown signal")
                .expect("the server task ends without panicking");
        }
        guard.0 = None;
        start(db_name, |_| {}, Some(token)).await
    }
}

impl TestApp {
    /// `request` with the bootstrap admin's token, for calls made without the clients.
    pub fn authorized<T>(&self, mut request: tonic::Request<T>) -> tonic::Request<T> {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().expect("ASCII"),
        );
        request
    }

    /// Clients that call with `token`.
    pub fn clients(&self, token: &str) -> Clients {
        Clients::new(&self.channel, token)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(name) = self.db_name.take() {
            drop_database_blocking(&name);
        }
    }
}

/// Drops a test database when dropped, unless disarmed (`.0 = None`).
struct DatabaseGuard(Option<String>);

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Some(name) = self.0.take() {
            drop_database_blocking(&name);
        }
    }
}

/// Drops a database from a plain thread with its own runtime: `Drop` cannot await, and the
/// test's runtime may be single-threaded. `WITH (FORCE)` ends the server's pooled connections.
/// Never panics (it may run while a failed test unwinds).
pub fn drop_database_blocking(name: &str) {
    if std::env::var_os("PROCURA_TEST_KEEP_DB").is_some() {
        eprintln!("keeping test database {name}");
        return;
    }
    let name = name.to_owned();
    let result = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let mut admin = AsyncPgConnection::establish(&database_url("postgres"))
                .await
                .map_err(|e| e.to_string())?;
            run_admin(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await
            .map_err(|e| format!("dropping {name}: {e}"))
        })
    })
    .join();
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: could not drop a test database: {e}"),
        Err(_) => eprintln!("warning: the thread dropping a test database panicked"),
    }
}
