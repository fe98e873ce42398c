//! # portcullis-tls
//!
//! TLS for Portcullis' outbound connections (the gateway's key sets, discovery, introspection
//! and upstreams; the scanner's target): rustls client configurations that always verify the
//! peer, and failures told in words.
//!
//! The peer's certificate must chain to the given CA file when there is one (it replaces the
//! system's store: a private CA trusts only itself), else to the system's trust store
//! (`rustls-native-certs`: the distribution's bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`),
//! read once per process. There is deliberately no way to turn verification off.

use std::error::Error as StdError;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, ClientConfig, RootCertStore};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The files of a client configuration (absolute, or relative to the working directory).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientFiles<'a> {
    /// PEM CA certificates the peer's certificate must chain to, instead of the system's.
    pub ca: Option<&'a Path>,
    /// PEM certificate chain presented to the peer, and its PEM private key.
    pub identity: Option<(&'a Path, &'a Path)>,
}

/// What [`TlsError::path`] names when the system's trust store is at fault.
const SYSTEM_STORE: &str = "the system trust store";

/// A verified-TLS client configuration and a digest of what it was built from (so
/// connections made with other settings are never mixed up with its own).
#[derive(Clone)]
pub struct ClientTls {
    /// The rustls configuration (no ALPN set).
    pub config: Arc<ClientConfig>,
    /// The first 64 bits (hex) of a SHA-256 over the trust anchors and client certificate
    /// used (stable across reloads while the files are unchanged).
    pub fingerprint: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The system's trust anchors, read on first use.
fn system_roots() -> Result<Arc<RootCertStore>, TlsError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            for e in &found.errors {
                tracing::warn!(error = %e, "part of the system trust store could not be read");
            }
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "no certificates found".to_owned(), ToString::to_string);
                return Err(format!(
                    "{why}; install the CA bundle (Debian: ca-certificates), set SSL_CERT_FILE, \
                     or give `ca` in the connection's `tls`"
                ));
            }
            Ok(Arc::new(roots))
        })
        .clone()
        .map_err(|message| TlsError {
            path: SYSTEM_STORE.to_owned(),
            message,
        })
}

fn err(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Reads every certificate of a PEM file (at least one).
pub fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(path, format!("cannot read {what}: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(path, format!("bad {what} PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err(path, format!("no certificate in the file ({what})")));
    }
    Ok(certs)
}

/// Builds the client configuration for `files`: the CA given, else the system's roots, and
/// the client certificate when one is given. `base` is named by errors that concern no file.
pub fn client_config(files: ClientFiles<'_>, base: &Path) -> Result<ClientTls, TlsError> {
    use sha2::{Digest, Sha256};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut digest = Sha256::new();
    let ca_path = files.ca.map(Path::to_path_buf);
    let roots = match &ca_path {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path, "CA certificates")? {
                digest.update(cert.as_ref());
                roots
                    .add(cert)
                    .map_err(|e| err(path, format!("not a usable CA certificate: {e}")))?;
            }
            Arc::new(roots)
        }
        None => {
            digest.update(b"system");
            system_roots()?
        }
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| err(ca_path.as_deref().unwrap_or(Path::new(SYSTEM_STORE)), e))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(base, e))?
        .with_webpki_verifier(verifier);
    let config = match files.identity {
        Some((cert, key)) => {
            let cert_path = cert.to_path_buf();
            let key_path = key.to_path_buf();
            let chain = certificates(&cert_path, "the client certificate")?;
            for c in &chain {
                digest.update(b"client");
                digest.update(c.as_ref());
            }
            let key = PrivateKeyDer::from_pem_file(&key_path)
                .map_err(|e| err(&key_path, format!("cannot read the private key: {e}")))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                err(
                    &key_path,
                    format!("unusable with {}: {e}", cert_path.display()),
                )
            })?
        }
        None => builder.with_no_client_auth(),
    };
    let fingerprint = digest
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(ClientTls {
        config: Arc::new(config),
        fingerprint,
    })
}

/// The HTTP client of hyper-util that key sets, discovery and introspection use: `http://`
/// plainly, `https://` verified by `tls`. Without `tls` it has no trust anchors, so only
/// `http://` URLs can work (an `https://` one fails as an unknown issuer: closed).
pub fn http_client<B>(
    tls: Option<&ClientTls>,
) -> Result<Client<HttpsConnector<HttpConnector>, B>, TlsError>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let config = match tls {
        Some(t) => (*t.config).clone(),
        None => {
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| err(Path::new("rustls"), e))?
                .with_root_certificates(RootCertStore::empty())
                .with_no_client_auth()
        }
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Describes a failed connection: the TLS failure in words when there was one (unknown
/// issuer, name mismatch, expired...), else the error and its sources joined.
pub fn describe(e: &(dyn StdError + 'static)) -> String {
    if let Some(tls) = rustls_error(e) {
        return format!("TLS handshake failed: {}", tls_words(tls));
    }
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

/// The rustls error somewhere in `e`'s chain. It travels inside an `io::Error` (sometimes
/// inside another one), whose `source` skips it, so those layers are opened by hand.
fn rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next: Option<&'a (dyn StdError + 'static)> = Some(e);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = if let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner)
        } else {
            cause.source()
        };
    }
    None
}

fn tls_words(e: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = e else {
        return e.to_string();
    };
    match cert {
        CertificateError::UnknownIssuer => "the server's certificate is not trusted (unknown \
                                            issuer): it does not chain to the trusted CAs (`ca`, \
                                            or the system's)"
            .to_owned(),
        CertificateError::NotValidForName => {
            "the server's certificate is not valid for this host name (name mismatch)".to_owned()
        }
        CertificateError::NotValidForNameContext { .. } => {
            format!("name mismatch: the server's {cert}")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the server's certificate has expired ({cert})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the server's certificate is not valid yet ({cert})")
        }
        other => format!("the server's certificate is invalid: {other}"),
    }
}

/// Whether `url` is plain `http://` to this machine (`localhost` or a loopback address), the
/// only place cleartext is acceptable for identity endpoints.
pub fn is_loopback_http(url: &str) -> bool {
    if !url.starts_with("http://") {
        return false;
    }
    let host = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned))
        .unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_and_missing_files() {
        assert!(is_loopback_http("http://127.0.0.1:8080/x"));
        assert!(is_loopback_http("http://localhost/"));
        assert!(is_loopback_http("http://[::1]:1/"));
        assert!(!is_loopback_http("http://example.com/"));
        assert!(!is_loopback_http("https://127.0.0.1/"));
        let missing = Path::new("/nonexistent/ca.pem");
        let e = client_config(
            ClientFiles {
                ca: Some(missing),
                identity: None,
            },
            Path::new("."),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.starts_with("/nonexistent/ca.pem: cannot read CA certificates"),
            "{e}"
        );
    }
}
