//! Where an API's requests go (compiled into [`Upstream`]), and the verified TLS of the gateway's outbound
//! `https://` connections, compiled from their `tls` blocks.

use rustls::pki_types::ServerName;

use super::{BuildError, config_error};
use crate::client_tls::{self, ClientTls};
use crate::config::{ApiConfig, ClientTlsConfig, Config, redact_url};
use crate::proxy::{Endpoint, Upstream};

/// The TLS settings for an `https://` `url` (`None` for any other URL), from its `tls` block
/// at `pointer`; errors name the block and the file at fault.
pub(super) fn tls_for(
    config: &Config,
    pointer: &str,
    url: &str,
    tls: Option<&ClientTlsConfig>,
) -> Result<Option<ClientTls>, BuildError> {
    if !url.starts_with("https://") {
        return Ok(None);
    }
    client_tls::client_config(tls, &config.base_dir)
        .map(Some)
        .map_err(|e| {
            config_error(
                config,
                pointer.to_owned(),
                format!("TLS for {}: {e}", redact_url(url)),
            )
        })
}

/// Warns of identity endpoints reached over plain `http://` beyond this machine: whoever is on
/// the path could swap the keys a token is verified with (and forge tokens), or read the tokens
/// and client secret sent to introspection.
pub(super) fn cleartext_warnings(config: &Config, warnings: &mut Vec<String>) {
    let remote_http =
        |url: &str| url.starts_with("http://") && !crate::client_tls::is_loopback_http(url);
    for (i, jwt) in config.identity.jwt.iter().enumerate() {
        for (key, url) in [("jwks", &jwt.jwks), ("discovery", &jwt.discovery)] {
            if let Some(url) = url.as_deref().filter(|u| remote_http(u)) {
                warnings.push(format!(
                    "identity.jwt[{i}].{key} {} is plain http beyond this machine: anyone on the \
                     path can swap the keys and forge tokens; use https://",
                    redact_url(url)
                ));
            }
        }
    }
    if let Some(url) = config
        .identity
        .introspection
        .as_ref()
        .map(|c| c.endpoint.as_str())
        .filter(|u| remote_http(u))
    {
        warnings.push(format!(
            "identity.introspection.endpoint {} is plain http beyond this machine: tokens and \
             the client secret cross the network in clear; use https://",
            redact_url(url)
        ));
    }
}

/// Compiles `apis[i].upstream` and `upstream_tls`.
pub(super) fn compile(config: &Config, i: usize, api: &ApiConfig) -> Result<Upstream, BuildError> {
    let text = &api.upstream;
    let bad = |m: String| config_error(config, format!("/apis/{i}/upstream"), m);
    let uri: http::Uri = text
        .parse()
        .map_err(|e| bad(format!("{:?}: {e}", redact_url(text))))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| bad("no scheme".to_owned()))?;
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| bad("no host".to_owned()))?;
    let https = scheme == http::uri::Scheme::HTTPS;
    if !https && scheme != http::uri::Scheme::HTTP {
        return Err(bad(format!(
            "{:?}: the scheme must be http or https",
            redact_url(text)
        )));
    }
    let host = authority.host();
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let address = format!("{host}:{port}");
    let endpoint = match tls_for(
        config,
        &format!("/apis/{i}/upstream_tls"),
        text,
        api.upstream_tls.as_ref(),
    )? {
        None => Endpoint::plain(address),
        Some(tls) => {
            // The name verified: `server_name`, else the URL's host (an IPv6 literal without
            // its brackets).
            let name = api
                .upstream_tls
                .as_ref()
                .and_then(|t| t.server_name.clone())
                .unwrap_or_else(|| {
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned()
                });
            let server_name = ServerName::try_from(name.clone()).map_err(|_| {
                config_error(
                    config,
                    format!("/apis/{i}/upstream"),
                    format!("{name:?} is not a DNS name or IP address a certificate can name"),
                )
            })?;
            Endpoint::tls(address, server_name, &tls)
        }
    }
    .with_max_headers(config.server.limits.max_headers);
    Ok(Upstream {
        scheme,
        host_header: http::HeaderValue::from_str(authority.as_str()).ok(),
        authority,
        endpoint,
        prefix: uri.path().trim_end_matches('/').to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_endpoints_over_remote_plain_http_are_warned_of() {
        let text = "identity:\n  jwt:\n    \
            - { issuer: a, jwks: \"http://idp.example/jwks.json\" }\n    \
            - { issuer: b, jwks: \"http://127.0.0.1:8082/jwks.json\" }\n    \
            - { issuer: c, discovery: \"http://localhost:8082/.well-known/openid-configuration\" }\n    \
            - { issuer: d, jwks: \"https://idp.example/jwks.json\" }\n    \
            - { issuer: e, jwks: keys.json }\n  \
            introspection: { endpoint: \"http://svc:pw@10.0.0.5/introspect\", client_id: gw, client_secret: s }\n\
            apis: [{ name: a, spec: a.yaml, upstream: \"http://127.0.0.1:9\" }]\n";
        let config =
            Config::from_str_in("gw.yaml", text, std::path::Path::new("."), &|_| None).unwrap();
        let mut warnings = Vec::new();
        cleartext_warnings(&config, &mut warnings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0]
                .starts_with("identity.jwt[0].jwks http://idp.example/jwks.json is plain http"),
            "{warnings:?}"
        );
        assert!(
            warnings[1]
                .starts_with("identity.introspection.endpoint http://svc:***@10.0.0.5/introspect"),
            "{warnings:?}"
        );
    }
}
