//! Wires the application together: database, pool, the three procura services, health and
//! reflection, on a bound listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use procura_proto::v1::{
    access_service_server::AccessServiceServer, case_service_server::CaseServiceServer,
    region_service_server::RegionServiceServer, report_service_server::ReportServiceServer,
};
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::guard::AccessLayer;
use crate::api::limits::{LimitLayer, Limits, MAX_MESSAGE_BYTES};
use crate::api::request_bytes::RequestBytesLayer;
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
    limits: Arc<Limits>,
    database_url: String,
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
        let limits = Limits::new(&settings.limits, settings.pool_max_size);
        let statement_timeout = limits.call_timeout();
        let pool = db::build_pool(
            &settings.database_url,
            settings.pool_max_size,
            statement_timeout,
        )?;
        let readers = db::build_reader_pool(
            &settings.database_url,
            settings.reader_connections,
            statement_timeout,
        )?;
        if let Some(addr) = settings.metrics_listen {
            crate::metrics::install(addr, [pool.clone(), readers.clone()])?;
        }
        let state = AppState::load(pool.clone(), convert::encode_case)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the region tree: {e}"))?
            .with_limits(limits.clone());
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
            limits,
            database_url: settings.database_url,
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

    /// Serves until SIGINT or SIGTERM, then lets the calls in flight finish within the
    /// shutdown grace and returns; a second signal returns at once.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (first, second) = shutdown_signals();
        self.run_until_aborted(
            async move {
                let _ = first.await;
            },
            async move {
                let _ = second.await;
            },
        )
        .await
    }

    /// Serves until `shutdown` completes, then lets the calls in flight finish within the
    /// shutdown grace and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.run_until_aborted(shutdown, std::future::pending())
            .await
    }

    /// Serves until `shutdown` completes, then lets the calls in flight finish for at most the
    /// shutdown grace; what is still open then is answered UNAVAILABLE. Returns at once when
    /// `abort` completes.
    pub async fn run_until_aborted(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        abort: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        let limits = self.limits.clone();
        let (reporter, health) = tonic_health::server::health_reporter();
        // The first answer is known before the first call is served. The check has a
        // connection of its own: a pool whose connections are all in use is not a database
        // that does not answer.
        let mut probe = db::probe::Probe::new(&self.database_url);
        let first = report_database(&mut probe, &limits, &reporter, None).await;
        let watcher = tokio::spawn(watch_database(probe, limits.clone(), reporter, first));
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
        let (draining, drain) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            let _ = draining.send(());
        };
        let serving = server
            .layer(crate::api::calls::layer())
            .layer(crate::api::decoding::layer())
            .layer(LimitLayer::new(limits.clone()))
            .layer(RequestBytesLayer::new(limits.clone()))
            .layer(AccessLayer::new(
                self.access.clone(),
                audit,
                self.access_checks,
            ))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            // One limit on a request message for every service: an import batch of 10,000 cases
            // with long summaries is tens of MB (tonic's default is 4 MB).
            .add_service(
                RegionServiceServer::new(RegionApi::new(state.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                CaseServiceServer::new(CaseApi::new(state.clone(), self.readers))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                ReportServiceServer::new(ReportApi::new(state.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                AccessServiceServer::new(AccessApi::new(state, self.access))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .serve_with_incoming_shutdown(
                // Without TCP_NODELAY every unary answer waits ~40 ms for the client's delayed
                // ACK before its trailers go out (Nagle).
                tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                shutdown,
            );
        let result = drain_within(serving, drain, &limits, abort).await;
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
    let pool = db::build_pool(&settings.database_url, 2, db::COMMAND_STATEMENT_TIMEOUT)?;
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
    probe: &mut db::probe::Probe,
    limits: &Limits,
    reporter: &HealthReporter,
    last: Option<ServingStatus>,
) -> ServingStatus {
    let answers = probe.answers().await;
    limits.set_database_answers(answers);
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
async fn watch_database(
    mut probe: db::probe::Probe,
    limits: Arc<Limits>,
    reporter: HealthReporter,
    first: ServingStatus,
) {
    let mut last = first;
    loop {
        tokio::time::sleep(HEALTH_INTERVAL).await;
        last = report_database(&mut probe, &limits, &reporter, Some(last)).await;
    }
}

/// How long the answers of the calls still open at the end of the shutdown grace have to go
/// out before the server stops regardless.
const LAST_ANSWERS: Duration = Duration::from_secs(2);

/// Runs `serving` to its end. Once `drain` says shutdown began, the calls in flight have
/// the shutdown grace to finish; then the calls still open are answered UNAVAILABLE, and
/// [`LAST_ANSWERS`] later the server stops whatever is left. `abort` stops it at once.
async fn drain_within<E>(
    serving: impl Future<Output = Result<(), E>>,
    drain: tokio::sync::oneshot::Receiver<()>,
    limits: &Limits,
    abort: impl Future<Output = ()>,
) -> Result<(), E> {
    tokio::pin!(serving);
    tokio::pin!(abort);
    let grace = limits.shutdown_grace();
    let grace_over = async {
        if drain.await.is_err() {
            // The server ended without a shutdown.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = &mut serving => return result,
        () = &mut abort => {
            tracing::warn!("second signal: stopping at once");
            return Ok(());
        }
        () = grace_over => {}
    }
    tracing::warn!(
        grace = ?grace,
        "shutdown grace over: answering the calls still open UNAVAILABLE"
    );
    limits.expire();
    tokio::select! {
        result = &mut serving => result,
        () = &mut abort => {
            tracing::warn!("second signal: stopping at once");
            Ok(())
        }
        () = tokio::time::sleep(LAST_ANSWERS) => {
            tracing::warn!("stopping with connections still open");
            Ok(())
        }
    }
}

/// The first SIGINT or SIGTERM, and the second: the first begins the shutdown, the second
/// ends it at once.
fn shutdown_signals() -> (
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (first, first_received) = tokio::sync::oneshot::channel();
    let (second, second_received) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut signals = match Signals::listen() {
            Ok(signals) => signals,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGINT and SIGTERM");
                return std::future::pending().await;
            }
        };
        let name = signals.next().await;
        tracing::info!("{name}: shutting down (a second signal stops at once)");
        let _ = first.send(());
        let name = signals.next().await;
        tracing::warn!("{name} again: stopping at once");
        let _ = second.send(());
    });
    (first_received, second_received)
}

/// SIGINT and SIGTERM, listened for from start to end.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The name of the next signal.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "SIGINT",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
