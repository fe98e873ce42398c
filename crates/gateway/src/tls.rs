//! TLS for the public listener (rustls), with optional client-certificate verification (mTLS).

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::config::{ClientAuth, TlsConfig};

/// TLS could not be set up (shared with the outbound side, `portcullis-tls`).
pub use portcullis_tls::TlsError;

fn err(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Builds the acceptor for `tls`, paths relative to `base`. HTTP/2 and HTTP/1.1 by ALPN.
pub fn acceptor(tls: &TlsConfig, base: &Path) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert_path = base.join(&tls.cert);
    let key_path = base.join(&tls.key);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| err(&cert_path, format!("cannot read certificates: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&cert_path, format!("bad certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err(&cert_path, "no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| err(&key_path, format!("cannot read the private key: {e}")))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&cert_path, e))?;
    let builder = match &tls.client_ca {
        Some(ca) => {
            let ca_path = base.join(ca);
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca_path)
                .map_err(|e| err(&ca_path, format!("cannot read CA certificates: {e}")))?
            {
                let cert = cert.map_err(|e| err(&ca_path, format!("bad CA PEM: {e}")))?;
                roots.add(cert).map_err(|e| err(&ca_path, e))?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if tls.client_auth == Some(ClientAuth::Optional) {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| err(&ca_path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| err(&key_path, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
