//! The subcommands, one module per group, and what they share: the connection to the server,
//! the output format and the retry of idempotent calls.

pub mod aid;
pub mod cases;
pub mod demo;
pub mod import;
pub mod measures;
pub mod regions;
pub mod releases;
pub mod resolutions;
pub mod rollup;

use std::time::Duration;

use tokio::sync::OnceCell;
use tonic::Status;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub use crate::call::{call, paginate};
use crate::error::{Unreachable, cause_chain};
use crate::output::OutputFormat;

/// Adds the `procura-actor` header (who makes the call, kept in case revisions and releases)
/// to every request, when an actor is given.
#[derive(Debug, Clone, Default)]
pub struct ActorHeader {
    actor: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for ActorHeader {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(actor) = &self.actor {
            request
                .metadata_mut()
                .insert("procura-actor", actor.clone());
        }
        Ok(request)
    }
}

/// The connection the gRPC clients are built on: a channel that adds the actor header.
pub type Transport = InterceptedService<Channel, ActorHeader>;

/// What every command gets: where the server is, who is calling, a connection made on first
/// use, and the output format given before the subcommand (`procura --format json ...`).
#[derive(Debug)]
pub struct Context {
    server: String,
    actor: Option<String>,
    format: Option<OutputFormat>,
    channel: OnceCell<Transport>,
}

impl Context {
    /// A context for the server at `server`; nothing is connected yet.
    pub fn new(server: String, actor: Option<String>, format: Option<OutputFormat>) -> Self {
        Self {
            server,
            actor,
            format,
            channel: OnceCell::new(),
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

    /// The connection to the server, opened on first use (so that input errors are reported
    /// without a server). Fails with [`Unreachable`] if the server cannot be reached.
    pub async fn channel(&self) -> anyhow::Result<Transport> {
        let channel = self
            .channel
            .get_or_try_init(|| async {
                let actor = match self.actor.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(actor) => Some(actor.parse().map_err(|_| {
                        anyhow::anyhow!(
                            "--actor \"{actor}\" must be printable ASCII (it travels in a header)"
                        )
                    })?),
                };
                let unreachable = |reason: String| Unreachable {
                    url: self.server.clone(),
                    reason,
                };
                if !(self.server.starts_with("http://") || self.server.starts_with("https://")) {
                    anyhow::bail!(
                        "invalid server URL \"{}\": expected http://HOST:PORT, e.g. \
                         http://127.0.0.1:50051 (--server or PROCURA_SERVER)",
                        self.server
                    );
                }
                let endpoint = Endpoint::from_shared(self.server.clone())
                    .map_err(|e| unreachable(format!("not a valid URL ({})", cause_chain(&e))))?
                    .connect_timeout(Duration::from_secs(5))
                    .timeout(Duration::from_secs(120));
                let channel = endpoint
                    .connect()
                    .await
                    .map_err(|e| unreachable(cause_chain(&e)))?;
                anyhow::Ok(InterceptedService::new(channel, ActorHeader { actor }))
            })
            .await?;
        Ok(channel.clone())
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
