//! The CLI's connection against a fake `AccessService`: the bearer token from the credentials
//! file or the flag reaches the server as `authorization: Bearer ...`, a refused call gets the
//! hint, and over TLS (`https://`, the test PKI of `tests/tls/`, made by `generate.sh`) the
//! server is verified with `--ca` and a client certificate (`--cert`, `--key`) is presented.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use procura_client::commands::Context;
use procura_client::connection::{ConnectOptions, TlsFiles};
use procura_client::credentials::{Secret, TokenInputs};
use procura_proto::v1::access_service_client::AccessServiceClient;
use procura_proto::v1::access_service_server::{AccessService, AccessServiceServer};
use procura_proto::v1::*;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

/// The secret the fake accepts.
const GOOD: &str = "pct_good-secret-123";

/// Answers WhoAmI: `token` for `authorization: Bearer GOOD`, `certificate` for a client
/// certificate, else UNAUTHENTICATED. Everything else is unimplemented.
struct Fake;

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in the fake"))
}

#[tonic::codegen::async_trait]
impl AccessService for Fake {
    async fn who_am_i(
        &self,
        request: Request<WhoAmIRequest>,
    ) -> Result<Response<WhoAmIResponse>, Status> {
        let bearer = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let certificate = request.peer_certs().is_some_and(|certs| !certs.is_empty());
        let (id, by) = match bearer.as_deref() {
            Some(value) if value == format!("Bearer {GOOD}") => ("zhang-san", "token"),
            Some(_) => return Err(Status::unauthenticated("the token is not valid")),
            None if certificate => ("exporter", "certificate"),
            None => return Err(Status::unauthenticated("a credential is required")),
        };
        Ok(Response::new(WhoAmIResponse {
            principal: Some(Principal {
                name: format!("principals/{id}"),
                id: id.to_owned(),
                ..Principal::default()
            }),
            grants: Vec::new(),
            authenticated_by: by.to_owned(),
        }))
    }
    async fn create_principal(
        &self,
        _: Request<CreatePrincipalRequest>,
    ) -> Result<Response<CreatePrincipalResponse>, Status> {
        unimplemented()
    }
    async fn list_principals(
        &self,
        _: Request<ListPrincipalsRequest>,
    ) -> Result<Response<ListPrincipalsResponse>, Status> {
        unimplemented()
    }
    async fn create_token(
        &self,
        _: Request<CreateTokenRequest>,
    ) -> Result<Response<CreateTokenResponse>, Status> {
        unimplemented()
    }
    async fn list_tokens(
        &self,
        _: Request<ListTokensRequest>,
    ) -> Result<Response<ListTokensResponse>, Status> {
        unimplemented()
    }
    async fn revoke_token(
        &self,
        _: Request<RevokeTokenRequest>,
    ) -> Result<Response<RevokeTokenResponse>, Status> {
        unimplemented()
    }
    async fn create_grant(
        &self,
        _: Request<CreateGrantRequest>,
    ) -> Result<Response<CreateGrantResponse>, Status> {
        unimplemented()
    }
    async fn list_grants(
        &self,
        _: Request<ListGrantsRequest>,
    ) -> Result<Response<ListGrantsResponse>, Status> {
        unimplemented()
    }
    async fn revoke_grant(
        &self,
        _: Request<RevokeGrantRequest>,
    ) -> Result<Response<RevokeGrantResponse>, Status> {
        unimplemented()
    }
    async fn list_access_events(
        &self,
        _: Request<ListAccessEventsRequest>,
    ) -> Result<Response<ListAccessEventsResponse>, Status> {
        unimplemented()
    }
}

fn pki(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
}

/// Serves the fake on a free port of 127.0.0.1, with TLS when `tls` (client certificates
/// signed by the test CA accepted but not required); returns the URL.
async fn serve(tls: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut builder = Server::builder();
    if tls {
        let read = |name| std::fs::read(pki(name)).unwrap();
        builder = builder
            .tls_config(
                ServerTlsConfig::new()
                    .identity(Identity::from_pem(read("server.pem"), read("server.key")))
                    .client_ca_root(Certificate::from_pem(read("ca.pem")))
                    .client_auth_optional(true),
            )
            .unwrap();
    }
    tokio::spawn(
        builder
            .add_service(AccessServiceServer::new(Fake))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    format!("{}://{address}", if tls { "https" } else { "http" })
}

/// WhoAmI through the context's channel: the principal id and how it was authenticated.
async fn whoami(ctx: &Context) -> anyhow::Result<(String, String)> {
    let mut client = AccessServiceClient::new(ctx.channel().await?);
    let response = client.who_am_i(WhoAmIRequest {}).await?.into_inner();
    Ok((
        response.principal.unwrap_or_default().id,
        response.authenticated_by,
    ))
}

/// A credentials file, mode 600, in a fresh directory.
fn credentials_file(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("procura-conn-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("credentials");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn token_from(file: Option<PathBuf>, flag: Option<&str>) -> TokenInputs {
    TokenInputs {
        flag: flag.map(Secret::new),
        env: None,
        file,
    }
}

#[tokio::test]
async fn the_token_of_the_credentials_file_is_sent_as_a_bearer_token() {
    let url = serve(false).await;
    let file = credentials_file(&format!("# procura\ntoken = {GOOD}\n"));
    let options = ConnectOptions {
        token: token_from(Some(file.clone()), None),
        tls: TlsFiles::default(),
    };
    let ctx = Context::new(url, options, None);
    assert_eq!(
        whoami(&ctx).await.unwrap(),
        ("zhang-san".to_owned(), "token".to_owned())
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn without_a_token_the_refusal_says_how_to_give_one() {
    let url = serve(false).await;
    let absent = std::env::temp_dir().join("procura-no-such-dir/credentials");
    let options = ConnectOptions {
        token: token_from(Some(absent.clone()), None),
        tls: TlsFiles::default(),
    };
    let ctx = Context::new(url, options, None);
    let error = whoami(&ctx).await.unwrap_err();
    let lines = ctx.describe(&error).join("\n");
    assert!(
        lines.starts_with("error: unauthenticated: a credential is required"),
        "{lines}"
    );
    assert!(lines.contains("no credential was sent"), "{lines}");
    assert!(lines.contains(&absent.display().to_string()), "{lines}");
    assert!(
        lines.contains("procura-server admin bootstrap-token"),
        "{lines}"
    );
}

#[tokio::test]
async fn a_refused_token_is_named_by_its_source_not_shown() {
    let url = serve(false).await;
    let options = ConnectOptions {
        token: token_from(None, Some("pct_wrong-secret-456")),
        tls: TlsFiles::default(),
    };
    let ctx = Context::new(url, options, None);
    let error = whoami(&ctx).await.unwrap_err();
    let lines = ctx.describe(&error).join("\n");
    assert!(
        lines.contains("the token from --token was refused"),
        "{lines}"
    );
    assert!(!lines.contains("wrong-secret"), "{lines}");
    assert!(!format!("{ctx:?}").contains("wrong-secret"));
}

#[tokio::test]
async fn over_tls_the_server_is_verified_with_the_ca_and_a_token_is_sent() {
    let url = serve(true).await;
    let options = ConnectOptions {
        token: token_from(None, Some(GOOD)),
        tls: TlsFiles {
            ca: Some(pki("ca.pem")),
            ..TlsFiles::default()
        },
    };
    let ctx = Context::new(url, options, None);
    assert_eq!(
        whoami(&ctx).await.unwrap(),
        ("zhang-san".to_owned(), "token".to_owned())
    );
}

#[tokio::test]
async fn over_mutual_tls_the_client_certificate_authenticates() {
    let url = serve(true).await;
    let options = ConnectOptions {
        token: TokenInputs::default(),
        tls: TlsFiles {
            ca: Some(pki("ca.pem")),
            cert: Some(pki("client.pem")),
            key: Some(pki("client.key")),
        },
    };
    let ctx = Context::new(url, options, None);
    assert_eq!(
        whoami(&ctx).await.unwrap(),
        ("exporter".to_owned(), "certificate".to_owned())
    );
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_is_refused() {
    let url = serve(true).await;
    let options = ConnectOptions {
        token: token_from(None, Some(GOOD)),
        tls: TlsFiles::default(),
    };
    let ctx = Context::new(url, options, None);
    let error = whoami(&ctx).await.unwrap_err();
    let lines = ctx.describe(&error).join("\n");
    assert!(lines.contains("cannot reach the procura server"), "{lines}");
    assert!(lines.contains("--ca"), "{lines}");
}

#[tokio::test]
async fn tls_files_with_an_http_url_are_refused_before_connecting() {
    let options = ConnectOptions {
        token: TokenInputs::default(),
        tls: TlsFiles {
            ca: Some(pki("ca.pem")),
            ..TlsFiles::default()
        },
    };
    let ctx = Context::new("http://127.0.0.1:9".to_owned(), options, None);
    let error = whoami(&ctx).await.unwrap_err().to_string();
    assert!(error.contains("use https://"), "{error}");
}
