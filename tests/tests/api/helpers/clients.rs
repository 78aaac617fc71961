//! The procura clients of a test, calling with a bearer token as the CLI does (shared by the
//! `api` and `faults` test targets).

use procura_proto::v1::access_service_client::AccessServiceClient;
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::region_service_client::RegionServiceClient;
use procura_proto::v1::report_service_client::ReportServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// A channel that sends a bearer token with every call: the CLI's own transport.
pub type Authed = procura_client::commands::Transport;

/// The CLI's interceptor for `token`, as if given with `--token`.
fn bearer(token: &str) -> procura_client::connection::Authorization {
    let token = procura_client::credentials::Token {
        secret: procura_client::credentials::Secret::new(token),
        source: procura_client::credentials::TokenSource::Flag,
    };
    procura_client::connection::Authorization::new(Some(&token)).expect("a token is ASCII")
}

/// The four procura clients, calling with one token.
#[derive(Clone)]
pub struct Clients {
    pub regions: RegionServiceClient<Authed>,
    pub cases: CaseServiceClient<Authed>,
    pub reports: ReportServiceClient<Authed>,
    pub access: AccessServiceClient<Authed>,
}

impl Clients {
    /// Clients over `channel` that send `token`.
    pub fn new(channel: &Channel, token: &str) -> Self {
        let bearer = bearer(token);
        let authed = || InterceptedService::new(channel.clone(), bearer.clone());
        Clients {
            regions: RegionServiceClient::new(authed()),
            cases: CaseServiceClient::new(authed()),
            reports: ReportServiceClient::new(authed()),
            access: AccessServiceClient::new(authed()),
        }
    }
}
