//! TLS for the gateway's outbound connections (key sets, discovery, introspection, upstreams),
//! from the connection's `tls` block: the shared `portcullis-tls` crate does the work (the
//! scanner uses it too); this module reads the gateway's configuration into it.
//!
//! The peer's certificate must chain to the `ca` file of the connection's `tls` block when one
//! is given (it replaces the system's store), else to the system's trust store. There is
//! deliberately no way to turn verification off.

use std::path::Path;

pub use portcullis_tls::{ClientTls, describe, http_client};
pub(crate) use portcullis_tls::{certificates, is_loopback_http};

use crate::config::ClientTlsConfig;
use crate::tls::TlsError;

/// Builds the client configuration for `tls` (paths relative to `base`), or for the system's
/// roots alone when `tls` is `None`.
pub fn client_config(tls: Option<&ClientTlsConfig>, base: &Path) -> Result<ClientTls, TlsError> {
    let ca = tls.and_then(|t| t.ca.as_ref()).map(|ca| base.join(ca));
    let identity = tls
        .and_then(|t| t.cert.as_ref().zip(t.key.as_ref()))
        .map(|(cert, key)| (base.join(cert), base.join(key)));
    portcullis_tls::client_config(
        portcullis_tls::ClientFiles {
            ca: ca.as_deref(),
            identity: identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        },
        base,
    )
    .map_err(TlsError::from)
}

#[cfg(test)]
mod tests;
