//! Access control in one place: every procura RPC's permission, declared here beside its
//! method; the tower layer that authenticates every call (a client certificate under mutual
//! TLS, else a bearer token), refuses what the caller's roles cannot allow, hands the
//! handlers a [`Guard`] for the region checks, and writes the access log. Health and
//! reflection stay open.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use chrono::Utc;
use futures::future::BoxFuture;
use tonic::Status;
use tower::{Layer, Service};

use crate::db::access::EventRow;
use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::service::access::{Access, Guard, Note, Refused};
use crate::service::audit::AuditLog;

/// The package every guarded method belongs to.
const PACKAGE: &str = "/procura.v1.";

/// The URI SAN prefix that names a service principal in a client certificate.
pub const CERTIFICATE_PRINCIPAL_PREFIX: &str = "procura://svc/";

/// The permission each procura RPC needs, by full method path. A procura method missing here
/// is refused to everyone (a test checks every method of the contract is listed).
pub const PERMISSIONS: &[(&str, Permission)] = &[
    (
        "/procura.v1.RegionService/GetRegion",
        Permission::RegionsRead,
    ),
    (
        "/procura.v1.RegionService/ListRegions",
        Permission::RegionsRead,
    ),
    ("/procura.v1.CaseService/CreateCase", Permission::CasesWrite),
    ("/procura.v1.CaseService/GetCase", Permission::CasesRead),
    ("/procura.v1.CaseService/ListCases", Permission::CasesRead),
    ("/procura.v1.CaseService/UpdateCase", Permission::CasesWrite),
    (
        "/procura.v1.CaseService/CreateMeasure",
        Permission::CasesWrite,
    ),
    (
        "/procura.v1.CaseService/UpdateMeasure",
        Permission::CasesWrite,
    ),
    (
        "/procura.v1.CaseService/CreateResolution",
        Permission::CasesWrite,
    ),
    (
        "/procura.v1.CaseService/CreateJudicialAid",
        Permission::CasesWrite,
    ),
    (
        "/procura.v1.CaseService/ListCaseRevisions",
        Permission::RevisionsRead,
    ),
    (
        "/procura.v1.CaseService/ImportCases",
        Permission::CasesWrite,
    ),
    (
        "/procura.v1.ReportService/GetRollup",
        Permission::ReportsRead,
    ),
    (
        "/procura.v1.ReportService/PublishRollup",
        Permission::ReleasesPublish,
    ),
    (
        "/procura.v1.ReportService/GetRelease",
        Permission::ReportsRead,
    ),
    (
        "/procura.v1.ReportService/ListReleases",
        Permission::ReportsRead,
    ),
    (
        "/procura.v1.ReportService/DiffRelease",
        Permission::ReportsRead,
    ),
    (
        "/procura.v1.ReportService/ExplainFigure",
        Permission::ReportsRead,
    ),
    ("/procura.v1.AccessService/WhoAmI", Permission::SelfRead),
    (
        "/procura.v1.AccessService/CreatePrincipal",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/ListPrincipals",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/CreateToken",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/ListTokens",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/RevokeToken",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/CreateGrant",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/ListGrants",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/RevokeGrant",
        Permission::AccessAdmin,
    ),
    (
        "/procura.v1.AccessService/ListAccessEvents",
        Permission::AuditRead,
    ),
];

/// The permission a method needs, if it is listed.
pub fn permission_of(path: &str) -> Option<Permission> {
    PERMISSIONS
        .iter()
        .find(|(method, _)| *method == path)
        .map(|(_, p)| *p)
}

/// The guard the access layer put in a request: every procura handler starts here.
pub fn guard<T>(request: &tonic::Request<T>) -> Result<Guard, Status> {
    request
        .extensions()
        .get::<Guard>()
        .cloned()
        .ok_or_else(|| Status::from(ApiError::Internal("no access guard on the call".into())))
}

/// The layer: wraps the router.
#[derive(Clone)]
pub struct AccessLayer {
    access: Arc<Access>,
    audit: AuditLog,
    checks: bool,
}

impl AccessLayer {
    /// Checks calls against `access`, logging into `audit`; with `checks` off (the
    /// benchmark's baseline only: see `Settings::access_checks`), every call acts as the
    /// bootstrap admin unauthenticated and unlogged.
    pub fn new(access: Arc<Access>, audit: AuditLog, checks: bool) -> Self {
        AccessLayer {
            access,
            audit,
            checks,
        }
    }
}

impl<S> Layer<S> for AccessLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guarded {
            inner,
            access: self.access.clone(),
            audit: self.audit.clone(),
            checks: self.checks,
        }
    }
}

/// The router behind the access layer.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    access: Arc<Access>,
    audit: AuditLog,
    checks: bool,
}

/// The URI SAN `procura://svc/NAME` of the client's leaf certificate, if any.
fn certificate_principal<B>(request: &http::Request<B>) -> Option<Result<String, Refused>> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let certs = request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()?
        .peer_certs()?;
    let leaf = certs.first()?;
    let parsed = x509_parser::parse_x509_certificate(leaf.as_ref());
    let Ok((_, cert)) = parsed else {
        return Some(Err(Refused("the client certificate cannot be read".into())));
    };
    let names = cert.subject_alternative_name().ok().flatten()?;
    names
        .value
        .general_names
        .iter()
        .find_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => uri
                .strip_prefix(CERTIFICATE_PRINCIPAL_PREFIX)
                .map(|id| Ok(id.to_owned())),
            _ => None,
        })
}

/// The bearer token of the `authorization` metadata.
fn bearer<B>(request: &http::Request<B>) -> Result<String, Refused> {
    let value = request.headers().get(http::header::AUTHORIZATION).ok_or_else(|| {
        Refused(
            "no credentials: send `authorization: Bearer <token>` (procura --token, PROCURA_TOKEN or the credentials file), or a client certificate"
                .into(),
        )
    })?;
    let text = value
        .to_str()
        .map_err(|_| Refused("the authorization metadata is not text".into()))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(Refused(
            "the authorization metadata must be `Bearer <token>`".into(),
        )),
    }
}

/// How a call ended, numbered as `procura.v1.Outcome`, from its gRPC status code.
fn outcome(code: tonic::Code) -> i16 {
    match code {
        tonic::Code::Ok => 1,
        tonic::Code::Unauthenticated => 2,
        tonic::Code::PermissionDenied => 3,
        _ => 4,
    }
}

/// The canonical name of a gRPC status code, as the access log gives it (`PERMISSION_DENIED`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status a response carries in its headers (a trailers-only answer), else OK: a handler
/// that fails answers trailers-only.
fn status_code<B>(response: &http::Response<B>) -> tonic::Code {
    Status::from_header_map(response.headers()).map_or(tonic::Code::Ok, |s| s.code())
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Guarded<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().to_owned();
        if !path.starts_with(PACKAGE) {
            // Health and reflection.
            return Box::pin(self.inner.call(request));
        }
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let access = self.access.clone();
        if !self.checks {
            let unchecked = access
                .unchecked_caller()
                .map(|caller| Guard::new(caller, access.regions().clone(), Arc::default(), None));
            if let Some(guard) = unchecked {
                request.extensions_mut().insert(guard);
            }
            return Box::pin(inner.call(request));
        }
        let audit = self.audit.clone();
        Box::pin(async move {
            let time = Utc::now();
            let permission = permission_of(&path);
            // An unlisted path is logged as such, not as sent (it could be kilobytes long).
            let method = if permission.is_some() {
                path.clone()
            } else {
                "(unlisted method)".to_owned()
            };
            let event = |principal: &str, code: tonic::Code, note: &Note| EventRow {
                event_time: time,
                principal: principal.to_owned(),
                method: method.clone(),
                resource: note.resource.clone(),
                region_code: note.region.clone(),
                outcome: outcome(code),
                code: code_name(code).to_owned(),
                permission: note
                    .denied
                    .map(str::to_owned)
                    .or_else(|| permission.map(|p| p.as_str().to_owned()))
                    .unwrap_or_default(),
            };
            let caller = match certificate_principal(&request) {
                // One credential a call: a service that forwards someone's token over its own
                // mutual TLS connection would otherwise act as itself for them.
                Some(Ok(_)) if request.headers().contains_key(http::header::AUTHORIZATION) => {
                    Err(Refused(
                        "send one credential: a client certificate naming a service, or a bearer token, not both"
                            .into(),
                    ))
                }
                Some(Ok(id)) => access.by_certificate(&id),
                Some(Err(refused)) => Err(refused),
                None => bearer(&request).and_then(|token| access.by_token(&token)),
            };
            let caller = match caller {
                Ok(caller) => {
                    // Into the call's span (api::calls): every later log line of the call has it.
                    tracing::Span::current().record("principal", caller.principal.as_str());
                    caller
                }
                Err(Refused(why)) => {
                    let status = Status::from(ApiError::Unauthenticated(why));
                    audit
                        .record(event("", status.code(), &Note::default()), true)
                        .await;
                    return Ok(status.into_http());
                }
            };
            let Some(permission) = permission.filter(|p| caller.may_somewhere(*p)) else {
                let needed = permission.map_or("unlisted method", Permission::as_str);
                let status = Status::from(ApiError::PermissionDenied {
                    permission: needed,
                    region: String::new(),
                });
                let note = Note {
                    denied: Some(needed),
                    ..Note::default()
                };
                audit
                    .record(event(&caller.principal, status.code(), &note), true)
                    .await;
                return Ok(status.into_http());
            };
            let principal = caller.principal.clone();
            let note = Arc::new(Mutex::new(Note::default()));
            request.extensions_mut().insert(Guard::new(
                caller,
                access.regions().clone(),
                note.clone(),
                Some((audit.clone(), Arc::from(path.as_str()))),
            ));
            let response = inner.call(request).await?;
            let code = status_code(&response);
            let note = {
                let mut shared = match note.lock() {
                    Ok(n) => n,
                    Err(poisoned) => poisoned.into_inner(),
                };
                shared.answered = true;
                shared.clone()
            };
            let denied = code == tonic::Code::PermissionDenied;
            if permission.writes() || denied || note.logged_read {
                audit
                    .record(
                        event(&principal, code, &note),
                        permission.writes() || denied,
                    )
                    .await;
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// Every method of every service of the contract, as a full path.
    fn contract_methods() -> Vec<String> {
        let set = prost_types::FileDescriptorSet::decode(procura_proto::FILE_DESCRIPTOR_SET)
            .expect("the contract's descriptors");
        let mut methods = Vec::new();
        for file in set.file.iter().filter(|f| f.package() == "procura.v1") {
            for service in &file.service {
                for method in &service.method {
                    methods.push(format!("/procura.v1.{}/{}", service.name(), method.name()));
                }
            }
        }
        methods
    }

    #[test]
    fn every_rpc_of_the_contract_declares_its_permission() {
        let methods = contract_methods();
        assert!(methods.len() >= 28, "{methods:?}");
        let missing: Vec<&String> = methods
            .iter()
            .filter(|m| permission_of(m).is_none())
            .collect();
        assert!(missing.is_empty(), "RPCs without a permission: {missing:?}");
        let stale: Vec<&str> = PERMISSIONS
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| !methods.iter().any(|c| c == m))
            .collect();
        assert!(stale.is_empty(), "permissions of no RPC: {stale:?}");
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_metadata() {
        let request = |value: Option<&str>| {
            let mut builder = http::Request::builder();
            if let Some(v) = value {
                builder = builder.header("authorization", v);
            }
            builder.body(()).expect("a request")
        };
        assert_eq!(bearer(&request(Some("Bearer abc"))), Ok("abc".to_owned()));
        assert_eq!(bearer(&request(Some("bearer  abc "))), Ok("abc".to_owned()));
        assert!(bearer(&request(Some("Basic abc"))).is_err());
        assert!(bearer(&request(Some("Bearer "))).is_err());
        assert!(bearer(&request(None)).is_err());
    }
}
