//! How the CLI connects to the server: the credential sent with every call (the
//! [`Authorization`] interceptor, from [`crate::credentials`]) and TLS for `https://` URLs
//! (`--ca`, and `--cert`/`--key` for mutual TLS). [`crate::commands::Context`] builds the
//! channel from these.

use std::path::{Path, PathBuf};

use tonic::Status;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::credentials::{Token, TokenInputs};

/// Adds `authorization: Bearer <token>` to every request when a token is known. The header
/// value is marked sensitive, and `Debug` does not show it.
#[derive(Clone, Default)]
pub struct Authorization {
    header: Option<MetadataValue<Ascii>>,
}

impl Authorization {
    /// The interceptor for this token (none: requests go without an authorization header).
    pub fn new(token: Option<&Token>) -> anyhow::Result<Self> {
        let header = match token {
            None => None,
            Some(token) => {
                let mut value: MetadataValue<Ascii> = format!("Bearer {}", token.secret.expose())
                    .parse()
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "the token from {} cannot be sent in a header",
                            token.source
                        )
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(Self { header })
    }

    /// Whether a token is sent.
    pub fn sends_token(&self) -> bool {
        self.header.is_some()
    }
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("bearer", &self.header.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Interceptor for Authorization {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// The TLS files given on the command line: a CA to trust, and a client certificate and key
/// for mutual TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// `--ca`: PEM certificate(s) of the CA that signed the server's certificate.
    pub ca: Option<PathBuf>,
    /// `--cert`: PEM client certificate (chain).
    pub cert: Option<PathBuf>,
    /// `--key`: PEM private key of the client certificate.
    pub key: Option<PathBuf>,
}

/// How to connect, besides the server URL: the credential inputs and the TLS files.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Where the token comes from (resolved on connecting, not before).
    pub token: TokenInputs,
    /// The TLS files.
    pub tls: TlsFiles,
}

/// Checks that the TLS flags fit together and fit the server URL: `--cert` and `--key` go
/// together, and any of them needs an `https://` URL.
pub fn check_tls_flags(server: &str, tls: &TlsFiles) -> anyhow::Result<()> {
    match (&tls.cert, &tls.key) {
        (Some(_), None) => anyhow::bail!(
            "--cert needs --key: give the private key of the client certificate too \
             (--key FILE or PROCURA_KEY)"
        ),
        (None, Some(_)) => anyhow::bail!(
            "--key needs --cert: give the client certificate too (--cert FILE or PROCURA_CERT)"
        ),
        _ => {}
    }
    if !server.starts_with("https://") {
        let given: Vec<&str> = [
            ("--ca", tls.ca.is_some()),
            ("--cert", tls.cert.is_some()),
            ("--key", tls.key.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        if !given.is_empty() {
            anyhow::bail!(
                "{} given, but the server URL {server} is not TLS: use https:// \
                 (--server or PROCURA_SERVER)",
                given.join(", ")
            );
        }
    }
    Ok(())
}

/// Reads a PEM file given with `flag`.
fn read_pem(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read {flag} file {}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
        anyhow::bail!(
            "{flag} file {} is not PEM (expected a -----BEGIN ...----- block)",
            path.display()
        );
    }
    Ok(bytes)
}

/// The TLS configuration of an `https://` server URL: the `--ca` CA if given, else the Mozilla
/// root certificates (webpki-roots); the client certificate if given. `None` for `http://`.
pub fn tls_config(server: &str, tls: &TlsFiles) -> anyhow::Result<Option<ClientTlsConfig>> {
    check_tls_flags(server, tls)?;
    if !server.starts_with("https://") {
        return Ok(None);
    }
    let mut config = ClientTlsConfig::new();
    config = match &tls.ca {
        Some(ca) => config.ca_certificate(Certificate::from_pem(read_pem("--ca", ca)?)),
        None => config.with_webpki_roots(),
    };
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        config = config.identity(Identity::from_pem(
            read_pem("--cert", cert)?,
            read_pem("--key", key)?,
        ));
    }
    Ok(Some(config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::credentials::{Secret, TokenSource};

    fn files(ca: bool, cert: bool, key: bool) -> TlsFiles {
        let path = |given: bool, name: &str| given.then(|| PathBuf::from(name));
        TlsFiles {
            ca: path(ca, "ca.pem"),
            cert: path(cert, "client.pem"),
            key: path(key, "client.key"),
        }
    }

    #[test]
    fn cert_and_key_go_together() {
        let https = "https://procura.example:50051";
        let error = check_tls_flags(https, &files(false, true, false))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--cert needs --key"), "{error}");
        let error = check_tls_flags(https, &files(true, false, true))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--key needs --cert"), "{error}");
        assert!(check_tls_flags(https, &files(true, true, true)).is_ok());
        assert!(check_tls_flags(https, &files(false, false, false)).is_ok());
    }

    #[test]
    fn tls_files_need_an_https_url() {
        let http = "http://127.0.0.1:50051";
        let error = check_tls_flags(http, &files(true, false, false))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--ca given"), "{error}");
        assert!(error.contains("use https://"), "{error}");
        let error = check_tls_flags(http, &files(false, true, true))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--cert, --key given"), "{error}");
        assert!(check_tls_flags(http, &files(false, false, false)).is_ok());
        assert!(tls_config(http, &TlsFiles::default()).unwrap().is_none());
    }

    #[test]
    fn https_without_ca_uses_the_built_in_roots() {
        assert!(
            tls_config("https://procura.example", &TlsFiles::default())
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_named() {
        let dir = std::env::temp_dir().join(format!("procura-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, "not a certificate").unwrap();
        let tls = TlsFiles {
            ca: Some(ca.clone()),
            ..TlsFiles::default()
        };
        let error = tls_config("https://h", &tls).unwrap_err().to_string();
        assert!(
            error.contains(&format!("--ca file {}", ca.display())),
            "{error}"
        );
        let tls = TlsFiles {
            ca: Some(dir.join("absent.pem")),
            ..TlsFiles::default()
        };
        let error = tls_config("https://h", &tls).unwrap_err().to_string();
        assert!(error.contains("cannot read --ca file"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_interceptor_adds_a_bearer_header_it_does_not_show() {
        let token = Token {
            secret: Secret::new("pct_s3cr3t"),
            source: TokenSource::Env,
        };
        let mut auth = Authorization::new(Some(&token)).unwrap();
        assert!(auth.sends_token());
        assert!(!format!("{auth:?}").contains("s3cr3t"));
        let request = auth.call(tonic::Request::new(())).unwrap();
        let header = request.metadata().get("authorization").unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer pct_s3cr3t");
        assert!(header.is_sensitive());
        assert!(!format!("{:?}", request.metadata()).contains("s3cr3t"));

        let mut none = Authorization::new(None).unwrap();
        assert!(!none.sends_token());
        let request = none.call(tonic::Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }
}
