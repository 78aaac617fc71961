//! The subcommands, one module per group, and what they share: the connection to the server
//! (with the caller's credential and TLS), the output format and the retry of idempotent calls.

pub mod admin;
pub mod aid;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod demo;
pub mod import;
pub mod measures;
pub mod regions;
pub mod releases;
pub mod resolutions;
pub mod rollup;

use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::OnceCell;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub use crate::call::{call, paginate};
use crate::connection::{Authorization, ConnectOptions, tls_config};
use crate::credentials::TokenSource;
use crate::error::{Unreachable, cause_chain};
use crate::output::{FiguresFormat, OutputFormat};

/// The connection the gRPC clients are built on: a channel (TLS for `https://`) that adds the
/// `authorization: Bearer <token>` header when a token is known.
pub type Transport = InterceptedService<Channel, Authorization>;

/// What every command gets: where the server is, how to connect and authenticate, a
/// connection made on first use, and the output format given before the subcommand
/// (`procura --format json ...`).
#[derive(Debug)]
pub struct Context {
    server: String,
    options: ConnectOptions,
    format: Option<OutputFormat>,
    channel: OnceCell<Transport>,
    /// Where the token sent came from (`None` inside: no token), once connected.
    sent: OnceLock<Option<TokenSource>>,
}

impl Context {
    /// A context for the server at `server`; nothing is read or connected yet.
    pub fn new(server: String, options: ConnectOptions, format: Option<OutputFormat>) -> Self {
        Self {
            server,
            options,
            format,
            channel: OnceCell::new(),
            sent: OnceLock::new(),
        }
    }

    /// The server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The output format: the subcommand's `--format`, else the global one, else table.
    pub fn format(&self, local: &FormatArg) -> OutputFormat {
        local.format.or(self.format).unwrap_or_default()
    }

    /// The output format of figures: the subcommand's `--format` (which may be `sdmx-csv`),
    /// else the global one, else table.
    pub fn figures_format(&self, local: &FiguresFormatArg) -> FiguresFormat {
        local
            .format
            .or(self.format.map(FiguresFormat::from))
            .unwrap_or(FiguresFormat::Table)
    }

    /// The connection to the server, opened on first use (so that input errors are reported
    /// without a server, and commands that send nothing need no credential). The token is
    /// looked up here (`--token`, `PROCURA_TOKEN`, the credentials file) and TLS set up for
    /// `https://`. Fails with [`Unreachable`] if the server cannot be reached.
    pub async fn channel(&self) -> anyhow::Result<Transport> {
        let channel = self
            .channel
            .get_or_try_init(|| async {
                if !(self.server.starts_with("http://") || self.server.starts_with("https://")) {
                    anyhow::bail!(
                        "invalid server URL \"{}\": expected http://HOST:PORT or \
                         https://HOST:PORT, e.g. http://127.0.0.1:50051 (--server or \
                         PROCURA_SERVER)",
                        self.server
                    );
                }
                let tls = tls_config(&self.server, &self.options.tls)?;
                let token = self.options.token.resolve()?;
                let authorization = Authorization::new(token.as_ref())?;
                let unreachable = |reason: String| Unreachable {
                    url: self.server.clone(),
                    reason,
                };
                let mut endpoint = Endpoint::from_shared(self.server.clone())
                    .map_err(|e| unreachable(format!("not a valid URL ({})", cause_chain(&e))))?
                    .connect_timeout(Duration::from_secs(5))
                    .timeout(Duration::from_secs(120));
                if let Some(tls) = tls {
                    endpoint = endpoint
                        .tls_config(tls)
                        .map_err(|e| anyhow::anyhow!("cannot set up TLS: {}", cause_chain(&e)))?;
                }
                let channel = endpoint
                    .connect()
                    .await
                    .map_err(|e| unreachable(cause_chain(&e)))?;
                let _ = self.sent.set(token.map(|t| t.source));
                anyhow::Ok(InterceptedService::new(channel, authorization))
            })
            .await?;
        Ok(channel.clone())
    }

    /// The lines that describe an error a command returned: [`crate::error::describe`], and
    /// for a refused credential how to give one.
    pub fn describe(&self, error: &anyhow::Error) -> Vec<String> {
        let mut lines = crate::error::describe(error, &self.server);
        let certificate_trouble = lines.first().is_some_and(|line| {
            line.starts_with("error: cannot reach") && line.to_lowercase().contains("certificate")
        });
        if certificate_trouble && self.server.starts_with("https://") {
            lines.push(
                "  TLS: the server's certificate must be signed by the CA given with --ca \
                 (PROCURA_CA), or by a public CA when --ca is not given; a client certificate \
                 goes with --cert and --key"
                    .to_owned(),
            );
        }
        if let Some(status) = error.downcast_ref::<tonic::Status>() {
            let sent = self.sent.get().cloned().flatten();
            lines.extend(crate::error::access_hint(
                status,
                sent.as_ref(),
                self.options.token.file.as_deref(),
                self.options.tls.cert.is_some(),
            ));
        }
        lines
    }
}

/// The `--format` option of a subcommand that prints records.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FormatArg {
    /// Output format [default: table, or the one given before the subcommand].
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
}

/// A fresh idempotency key (AIP-155) for a create call: a random UUID (v4).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The request id of a create call: the one given with `--request-id`, else a fresh one.
pub fn request_id(given: Option<uuid::Uuid>) -> String {
    given.map_or_else(new_request_id, |id| id.to_string())
}

/// The `--format` option of a subcommand that prints figures, which may also be SDMX-CSV.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FiguresFormatArg {
    /// Output format: table, json, csv, or sdmx-csv (SDMX-CSV 2.0, one observation per row)
    /// [default: table, or the one given before the subcommand].
    #[arg(long, value_enum)]
    pub format: Option<FiguresFormat>,
}
