//! Wires the application together: database, pool, the three procura services, health and
//! reflection, on a bound listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel_async::RunQueryDsl;
use procura_proto::v1::{
    access_service_server::AccessServiceServer, case_service_server::CaseServiceServer,
    region_service_server::RegionServiceServer, report_service_server::ReportServiceServer,
};
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::guard::AccessLayer;
use crate::api::{
    AppState, access::AccessApi, cases::CaseApi, convert, regions::RegionApi, reports::ReportApi,
};
use crate::config::{Settings, TlsFiles};
use crate::db::{self, Pool};
use crate::service::access::Access;
use crate::service::audit::AuditLog;

/// How often the health service asks the database whether it answers.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);

/// The names that the health service reports on: the server as a whole ("") and each service.
const HEALTH_NAMES: [&str; 5] = [
    "",
    <CaseServiceServer<CaseApi> as NamedService>::NAME,
    <RegionServiceServer<RegionApi> as NamedService>::NAME,
    <ReportServiceServer<ReportApi> as NamedService>::NAME,
    <AccessServiceServer<AccessApi> as NamedService>::NAME,
];

/// A server ready to run: database prepared, listener bound.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    pool: Pool,
    /// The case reader's connections (`GetCase`).
    readers: Pool,
    state: AppState,
    access: Arc<Access>,
    tls: Option<tonic::transport::ServerTlsConfig>,
    bootstrap_token: Option<String>,
    access_checks: bool,
    moment_interval: std::time::Duration,
}

impl Application {
    /// Prepares the database (creating it and applying migrations when needed), builds the
    /// pool and binds the listener. Fails with one clear message when PostgreSQL is
    /// unreachable or the address is taken.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let tls = match &settings.tls {
            Some(files) => Some(tls_config(files)?),
            None if settings.listen.ip().is_loopback() => None,
            None if settings.insecure_plaintext => {
                tracing::warn!(
                    address = %settings.listen,
                    "serving WITHOUT TLS on an address other than loopback (--insecure-plaintext): tokens and case records cross the network in the clear"
                );
                None
            }
            None => anyhow::bail!(
                "refusing to serve without TLS on {}, which is not a loopback address: give --tls-cert and --tls-key (see README, \"Access\"), or --insecure-plaintext to accept plaintext",
                settings.listen
            ),
        };
        db::prepare_database(&settings.database_url).await?;
        let pool = db::build_pool(&settings.database_url, settings.pool_max_size)?;
        let readers = db::build_reader_pool(&settings.database_url, settings.reader_connections)?;
        if let Some(addr) = settings.metrics_listen {
            crate::metrics::install(addr, [pool.clone(), readers.clone()])?;
        }
        let state = AppState::load(pool.clone(), convert::encode_case)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the region tree: {e}"))?;
        let access = Access::load(pool.clone(), state.regions.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the access data: {e}"))?;
        let bootstrap_token = access
            .bootstrap()
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the first admin: {e}"))?;
        if let Some(secret) = &bootstrap_token {
            announce_bootstrap(secret, settings.credentials_file.as_deref());
        }
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
            pool,
            readers,
            state,
            access,
            tls,
            bootstrap_token,
            access_checks: settings.access_checks,
            moment_interval: settings.moment_interval,
        })
    }

    /// The bootstrap admin's token when this start created it (the database had no
    /// principal): for tests and for the first start's credentials file.
    pub fn bootstrap_token(&self) -> Option<&str> {
        self.bootstrap_token.as_deref()
    }

    /// The address the server listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until SIGINT or SIGTERM, then finishes the calls in flight and returns.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then finishes the calls in flight and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        let (reporter, health) = tonic_health::server::health_reporter();
        // The first answer is known before the first call is served.
        // Both pools: the main one and the case reader's (GetCase).
        let pools = vec![self.pool.clone(), self.readers.clone()];
        let first = report_database(&pools, &reporter, None).await;
        let watcher = tokio::spawn(watch_database(pools, reporter, first));
        report_unanswered(&self.pool).await;
        let reflection_v1 = reflection_builder().build_v1()?;
        let reflection_v1alpha = reflection_builder().build_v1alpha()?;

        let audit = AuditLog::start(self.pool.clone());
        let refresher = tokio::spawn(self.access.clone().keep_current());
        let moments = tokio::spawn(db::moments::record_every(
            self.pool.clone(),
            self.moment_interval,
        ));
        tracing::info!(tls = self.tls.is_some(), address = %self.local_addr, "procura-server listening");
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = self.tls {
            server = server.tls_config(tls)?;
        }
        let result = server
            .layer(crate::api::calls::layer())
            .layer(crate::api::decoding::layer())
            .layer(AccessLayer::new(
                self.access.clone(),
                audit,
                self.access_checks,
            ))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(RegionServiceServer::new(RegionApi::new(state.clone())))
            .add_service(
                CaseServiceServer::new(CaseApi::new(state.clone(), self.readers))
                    // An import batch of 10,000 cases with long summaries is tens of MB;
                    // tonic's default limit is 4 MB. The CLI sends up to 64 MB.
                    .max_decoding_message_size(64 << 20),
            )
            .add_service(ReportServiceServer::new(ReportApi::new(state.clone())))
            .add_service(AccessServiceServer::new(AccessApi::new(state, self.access)))
            .serve_with_incoming_shutdown(
                // Without TCP_NODELAY every unary answer waits ~40 ms for the client's delayed
                // ACK before its trailers go out (Nagle).
                tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                shutdown,
            )
            .await;
        watcher.abort();
        refresher.abort();
        moments.abort();
        tracing::info!("procura-server stopped");
        result.context("the gRPC server failed")
    }
}

/// Runs a maintenance command against the database of `settings` (prepared and migrated
/// first, as the server does) and says what it found; status 1 when kept answers differ
/// from their records.
pub async fn run_command(
    settings: &Settings,
    command: crate::config::Command,
) -> anyhow::Result<std::process::ExitCode> {
    use crate::config::{AdminCommand, AnswersCommand, Command};
    use crate::service::answers;
    db::prepare_database(&settings.database_url).await?;
    let pool = db::build_pool(&settings.database_url, 2)?;
    let command = match command {
        Command::Answers(command) => command,
        Command::Admin(AdminCommand::BootstrapToken) => {
            let state = AppState::load(pool.clone(), convert::encode_case)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read the region tree: {e}"))?;
            let access = Access::load(pool, state.regions.clone())
                .await
                .map_err(|e| anyhow::anyhow!("cannot read the access data: {e}"))?;
            let secret = access
                .recovery_token()
                .await
                .map_err(|e| anyhow::anyhow!("cannot issue a token: {e}"))?;
            println!("{secret}");
            return Ok(std::process::ExitCode::SUCCESS);
        }
    };
    match command {
        AnswersCommand::Backfill => {
            let built = answers::backfill(&pool, convert::encode_case, |built| {
                tracing::info!(built, "kept answers built so far");
            })
            .await
            .map_err(|e| anyhow::anyhow!("building kept answers failed: {e}"))?;
            println!("built the kept answers of {built} cases");
            Ok(std::process::ExitCode::SUCCESS)
        }
        AnswersCommand::Verify => {
            let found = answers::verify(&pool, convert::encode_case, |cases| {
                tracing::info!(cases, "cases verified so far");
            })
            .await
            .map_err(|e| anyhow::anyhow!("verifying kept answers failed: {e}"))?;
            println!(
                "{} cases: {} kept answers, {} without one, {} differing from their records",
                found.cases,
                found.kept,
                found.missing,
                found.differing.len()
            );
            if found.missing > 0 {
                println!(
                    "cases without a kept answer are read from their records; \
                     `procura-server answers backfill` builds theirs"
                );
            }
            if found.is_clean() {
                return Ok(std::process::ExitCode::SUCCESS);
            }
            let names: Vec<String> = found
                .differing
                .iter()
                .map(|id| crate::domain::names::case(*id))
                .collect();
            println!("differing: {}", names.join(" "));
            Ok(std::process::ExitCode::FAILURE)
        }
    }
}

/// The TLS set-up of `files`: the server's certificate and key, and the CAs of client
/// certificates when mutual TLS is on (a client certificate is then optional: people come
/// with tokens).
fn tls_config(files: &TlsFiles) -> anyhow::Result<tonic::transport::ServerTlsConfig> {
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
    };
    let identity = tonic::transport::Identity::from_pem(
        read(&files.cert, "TLS certificate (--tls-cert)")?,
        read(&files.key, "TLS key (--tls-key)")?,
    );
    let mut config = tonic::transport::ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &files.client_ca {
        config = config
            .client_ca_root(tonic::transport::Certificate::from_pem(read(
                ca,
                "client CA (--client-ca)",
            )?))
            .client_auth_optional(true);
    }
    Ok(config)
}

/// Writes the bootstrap admin's token to `path` (owner-only) and says where; the token
/// itself is never logged.
fn announce_bootstrap(secret: &str, path: Option<&std::path::Path>) {
    let Some(path) = path else {
        tracing::warn!(
            "created the first admin (principal admin, every role at 000000); no credentials file to write its token to: `procura-server admin bootstrap-token` prints a fresh one"
        );
        return;
    };
    match write_credentials(path, secret) {
        Ok(()) => tracing::info!(
            path = %path.display(),
            "created the first admin (principal admin, every role at 000000); its token is in the credentials file, readable by its owner only"
        ),
        Err(error) => tracing::error!(
            path = %path.display(),
            %error,
            "created the first admin but cannot write its token: `procura-server admin bootstrap-token` prints a fresh one"
        ),
    }
}

/// Writes a credentials file readable by its owner only: the format the CLI reads.
pub fn write_credentials(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(
        file,
        "# procura credentials: a bearer token, read by the procura CLI (procura --help)\ntoken = {secret}"
    )
}

/// Says at start when cases stored before answers were kept may lack theirs, and the command
/// that builds them. GetCase serves those cases from their records meanwhile.
async fn report_unanswered(pool: &Pool) {
    match crate::service::answers::backfill_pending(pool).await {
        Ok(true) => tracing::warn!(
            "cases stored before GetCase answers were kept may lack theirs: GetCase reads them \
             from their records until `procura-server answers backfill` has built them"
        ),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "could not tell whether kept answers are missing"),
    }
}

/// Reflection over procura.v1, google.rpc error details and grpc.health.v1, so that grpcurl
/// can describe every service and decode error details.
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(procura_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Asks the database whether it answers and, when that changed since `last`, reports it
/// for every name the health service knows.
async fn report_database(
    pools: &[Pool],
    reporter: &HealthReporter,
    last: Option<ServingStatus>,
) -> ServingStatus {
    let mut answers = true;
    for pool in pools {
        answers &= match tokio::time::timeout(Duration::from_secs(2), pool.get()).await {
            Ok(Ok(mut conn)) => diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .is_ok(),
            _ => false,
        };
    }
    if answers {
        crate::metrics::database_answered();
    }
    let status = if answers {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    if last != Some(status) {
        if answers {
            tracing::info!("database answers: SERVING");
        } else {
            tracing::warn!("database does not answer: NOT_SERVING");
        }
        for name in HEALTH_NAMES {
            reporter.set_service_status(name, status).await;
        }
    }
    status
}

/// Keeps the health service honest: SERVING only while the database answers.
async fn watch_database(pools: Vec<Pool>, reporter: HealthReporter, first: ServingStatus) {
    let mut last = first;
    loop {
        tokio::time::sleep(HEALTH_INTERVAL).await;
        last = report_database(&pools, &reporter, Some(last)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
