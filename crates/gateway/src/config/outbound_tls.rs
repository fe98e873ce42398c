//! `tls:` blocks of the gateway's own outbound connections (key sets, discovery, introspection,
//! Redis, upstreams) and the checks that tie each block to the URL it applies to.
//!
//! Certificates are always verified; no key turns verification off. `ca` replaces the system's
//! trust store for that connection (a private CA); `cert` and `key` present a client
//! certificate (mTLS to the other side); `server_name` (upstreams only) is the name sent as SNI
//! and verified in the certificate instead of the URL's host.

use std::path::PathBuf;

use serde::Deserialize;

use super::{Config, redact_url};

/// One outbound `tls:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// PEM CA certificates the peer's certificate must chain to, instead of the system's.
    pub ca: Option<PathBuf>,
    /// PEM certificate chain presented to the peer (with `key`).
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// Upstreams only: the name sent (SNI) and verified instead of the URL's host.
    pub server_name: Option<String>,
}

impl ClientTlsConfig {
    /// Checks one block: `(pointer under the block, message)`.
    fn check(&self, server_name_allowed: bool) -> Result<(), (&'static str, String)> {
        match (&self.cert, &self.key) {
            (Some(_), None) => return Err(("/cert", "`cert` needs `key`".to_owned())),
            (None, Some(_)) => return Err(("/key", "`key` needs `cert`".to_owned())),
            _ => {}
        }
        match &self.server_name {
            Some(_) if !server_name_allowed => Err((
                "/server_name",
                "`server_name` is for upstreams only (here the URL's host is verified)".to_owned(),
            )),
            Some(name) if rustls_pki_types::ServerName::try_from(name.as_str()).is_err() => Err((
                "/server_name",
                format!("{name:?} is not a DNS name or IP address"),
            )),
            _ => Ok(()),
        }
    }
}

/// Checks every outbound `tls` block against its URL: a block for a URL that is not `https://`
/// (`rediss://`) would never be used, which is always a mistake, so it is an error.
pub(crate) fn check(config: &Config) -> Result<(), (String, String)> {
    let block = |base: String, tls: &ClientTlsConfig, server_name: bool| {
        tls.check(server_name)
            .map_err(|(p, m)| (format!("{base}{p}"), m))
    };
    let not_tls = |base: String, what: &str, url: &str| {
        Err((
            base,
            format!(
                "set, but {what} {:?} is not {}: it would never be used",
                redact_url(url),
                if what == "state.backend" {
                    "rediss://"
                } else {
                    "https://"
                }
            ),
        ))
    };
    for (i, jwt) in config.identity.jwt.iter().enumerate() {
        let Some(tls) = &jwt.tls else { continue };
        let base = format!("/identity/jwt/{i}/tls");
        block(base.clone(), tls, false)?;
        // With `discovery` the key set's URL is only known at load (and may be https://).
        if jwt.discovery.is_none()
            && !jwt
                .jwks
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        {
            return not_tls(base, "the key source", jwt.jwks.as_deref().unwrap_or(""));
        }
    }
    if let Some(introspection) = &config.identity.introspection
        && let Some(tls) = &introspection.tls
    {
        let base = "/identity/introspection/tls".to_owned();
        block(base.clone(), tls, false)?;
        if !introspection.endpoint.starts_with("https://") {
            return not_tls(base, "the endpoint", &introspection.endpoint);
        }
    }
    let backend = &config.state.backend;
    if backend.starts_with("rediss://") && backend.contains("#insecure") {
        return Err((
            "/state/backend".to_owned(),
            format!(
                "{:?}: `#insecure` (no certificate verification) is not supported; give the \
                 CA in `state.tls.ca` instead",
                redact_url(backend)
            ),
        ));
    }
    if let Some(tls) = &config.state.tls {
        block("/state/tls".to_owned(), tls, false)?;
        if !backend.starts_with("rediss://") {
            return not_tls("/state/tls".to_owned(), "state.backend", backend);
        }
    }
    for (i, api) in config.apis.iter().enumerate() {
        let Some(tls) = &api.upstream_tls else {
            continue;
        };
        let base = format!("/apis/{i}/upstream_tls");
        block(base.clone(), tls, true)?;
        if !api.upstream.starts_with("https://") {
            return not_tls(base, "the upstream", &api.upstream);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn load(text: &str) -> Result<Config, String> {
        Config::from_str_in("gw.yaml", text, Path::new("/etc/pc"), &|_| None)
            .map_err(|e| e.to_string())
    }

    const API: &str = "apis:\n  - name: a\n    spec: a.yaml\n";

    #[test]
    fn upstream_tls_is_read_and_tied_to_an_https_upstream() {
        let c = load(&format!(
            "{API}    upstream: https://orders.internal:8443\n    upstream_tls: {{ ca: ca.pem, cert: gw.pem, key: gw.key, server_name: orders.internal }}\n"
        ))
        .unwrap();
        let tls = c.apis[0].upstream_tls.as_ref().unwrap();
        assert_eq!(tls.ca.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(tls.server_name.as_deref(), Some("orders.internal"));
        let e = load(&format!(
            "{API}    upstream: http://orders.internal:8080\n    upstream_tls: {{ ca: ca.pem }}\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("/apis/0/upstream_tls:")
                && e.contains("\"http://orders.internal:8080\" is not https://"),
            "{e}"
        );
        let e = load(&format!(
            "{API}    upstream: https://o:8443\n    upstream_tls: {{ cert: gw.pem }}\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("/apis/0/upstream_tls/cert:") && e.contains("needs `key`"),
            "{e}"
        );
        let e = load(&format!(
            "{API}    upstream: https://o:8443\n    upstream_tls: {{ verify: false }}\n"
        ))
        .unwrap_err();
        assert!(e.contains("unknown field `verify`"), "{e}");
        let e = load(&format!(
            "{API}    upstream: https://o:8443\n    upstream_tls: {{ server_name: \"a b\" }}\n"
        ))
        .unwrap_err();
        assert!(e.contains("/apis/0/upstream_tls/server_name:"), "{e}");
    }

    #[test]
    fn identity_and_state_tls_need_their_tls_urls() {
        let jwt = |source: &str| {
            load(&format!(
                "identity:\n  jwt:\n    - {{ issuer: i, {source}, tls: {{ ca: idp-ca.pem }} }}\n{API}    upstream: http://u\n"
            ))
        };
        assert!(jwt("jwks: https://idp.example/jwks.json").is_ok());
        assert!(jwt("discovery: https://idp.example/.well-known/openid-configuration").is_ok());
        // The discovered key set may be https even when discovery is not.
        assert!(jwt("discovery: http://127.0.0.1:8082/.well-known/openid-configuration").is_ok());
        let e = jwt("jwks: http://127.0.0.1:8082/jwks.json").unwrap_err();
        assert!(e.contains("/identity/jwt/0/tls:"), "{e}");
        let e = jwt("jwks: keys.json").unwrap_err();
        assert!(
            e.contains("/identity/jwt/0/tls:") && e.contains("\"keys.json\" is not https://"),
            "{e}"
        );
        let e = load(&format!(
            "identity:\n  jwt:\n    - {{ issuer: i, jwks: https://i/j, tls: {{ server_name: x }} }}\n{API}    upstream: http://u\n"
        ))
        .unwrap_err();
        assert!(e.contains("/identity/jwt/0/tls/server_name:"), "{e}");
        let state = |backend: &str, tls: &str| {
            load(&format!(
                "state: {{ backend: \"{backend}\"{tls} }}\n{API}    upstream: http://u\n"
            ))
        };
        assert!(state("rediss://:pw@cache:6380/0", ", tls: { ca: redis-ca.pem }").is_ok());
        assert!(state("rediss://cache:6380/0", "").is_ok());
        let e = state("redis://:pw@cache:6379/0", ", tls: { ca: redis-ca.pem }").unwrap_err();
        assert!(
            e.contains("/state/tls:")
                && e.contains("\"redis://:***@cache:6379/0\" is not rediss://"),
            "{e}"
        );
        let e = state("rediss://cache:6380/#insecure", "").unwrap_err();
        assert!(
            e.contains("/state/backend:") && e.contains("#insecure"),
            "{e}"
        );
    }
}
