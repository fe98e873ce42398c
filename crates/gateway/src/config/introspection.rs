//! `identity.introspection`: opaque bearer tokens checked at an OAuth2 token introspection
//! endpoint (RFC 7662), and the checks serde cannot express.

use std::time::Duration;

use serde::Deserialize;

use super::Dur;

/// `identity.introspection`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// The endpoint's `http://` or `https://` URL.
    pub endpoint: String,
    /// TLS to an `https://` endpoint (a private CA, a client certificate).
    pub tls: Option<super::ClientTlsConfig>,
    /// The gateway's client id at the authorization server.
    pub client_id: String,
    /// Its client secret (sent as HTTP Basic; never printed).
    pub client_secret: Secret,
    /// Longest one call may take (connect, answer, body).
    #[serde(default = "default_timeout")]
    pub timeout: Dur,
    /// The `iss` the answer must carry (when set).
    pub issuer: Option<String>,
    /// Accepted `aud` values (one must match); empty: not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The member of the answer holding the caller's roles.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// The cache of answers.
    #[serde(default)]
    pub cache: IntrospectionCacheConfig,
    /// What an endpoint that is down, slow or answers garbage means.
    #[serde(default)]
    pub on_failure: IntrospectionOnFailure,
    /// The status sent when a token cannot be introspected and no cached answer is used.
    #[serde(default = "default_failure_status")]
    pub failure_status: u16,
    /// Most calls to the endpoint at once; further ones wait (within `timeout`).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
}

/// `identity.introspection.cache`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionCacheConfig {
    /// Most answers held (`0`: no cache).
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// How long an active answer is used without asking again (never past its `exp`).
    #[serde(default = "default_ttl")]
    pub ttl: Dur,
    /// How long a refusal (inactive, expired, wrong issuer or audience) is remembered.
    #[serde(default = "default_inactive_ttl")]
    pub inactive_ttl: Dur,
    /// With `on_failure: allow_cached`: how long past `ttl` an active answer may still be used
    /// while the endpoint fails (never past its `exp`).
    #[serde(default = "default_max_stale")]
    pub max_stale: Dur,
}

impl Default for IntrospectionCacheConfig {
    fn default() -> Self {
        IntrospectionCacheConfig {
            capacity: default_capacity(),
            ttl: default_ttl(),
            inactive_ttl: default_inactive_ttl(),
            max_stale: default_max_stale(),
        }
    }
}

/// `identity.introspection.on_failure`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntrospectionOnFailure {
    /// Refuse the token with `failure_status` (fail closed).
    #[default]
    Deny,
    /// Use an earlier active answer for the same token if one is held (within `max_stale`,
    /// never past `exp`); otherwise refuse like `deny`.
    AllowCached,
}

/// A secret from the configuration: its `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

fn default_timeout() -> Dur {
    Dur(Duration::from_secs(2))
}
fn default_roles_claim() -> String {
    "roles".to_owned()
}
fn default_failure_status() -> u16 {
    503
}
fn default_max_in_flight() -> usize {
    64
}
fn default_capacity() -> usize {
    10_000
}
fn default_ttl() -> Dur {
    Dur(Duration::from_secs(60))
}
fn default_inactive_ttl() -> Dur {
    Dur(Duration::from_secs(10))
}
fn default_max_stale() -> Dur {
    Dur(Duration::from_secs(300))
}

/// Largest cache accepted.
const MAX_CAPACITY: usize = 1_000_000;
/// The most introspection calls `max_in_flight` may allow at once (far below what tokio's
/// semaphore can hold, whose limit panicked at the first call).
const MAX_IN_FLIGHT: usize = 100_000;

impl IntrospectionConfig {
    /// Checks serde cannot express: `(pointer under /identity/introspection, message)`.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        let endpoint = &self.endpoint;
        let uri = endpoint.parse::<http::Uri>().ok();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || uri
                .as_ref()
                .and_then(http::Uri::host)
                .is_none_or(str::is_empty)
        {
            return Err((
                "/endpoint",
                format!(
                    "{:?} is not an http:// or https:// URL",
                    super::redact_url(endpoint)
                ),
            ));
        }
        if self.client_id.is_empty() {
            return Err(("/client_id", "the client id is empty".to_owned()));
        }
        if self.client_secret.expose().is_empty() {
            return Err(("/client_secret", "the client secret is empty".to_owned()));
        }
        if self.timeout.0.is_zero() {
            return Err(("/timeout", "must be more than 0".to_owned()));
        }
        if !(400..=599).contains(&self.failure_status) {
            return Err((
                "/failure_status",
                format!(
                    "{} is not a 4xx or 5xx status (401 or 503 are the usual ones)",
                    self.failure_status
                ),
            ));
        }
        if !(1..=MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return Err((
                "/max_in_flight",
                format!(
                    "{} calls: give between 1 and {MAX_IN_FLIGHT}",
                    self.max_in_flight
                ),
            ));
        }
        let cache = &self.cache;
        if cache.capacity > MAX_CAPACITY {
            return Err((
                "/cache/capacity",
                format!("{} is over the limit of {MAX_CAPACITY}", cache.capacity),
            ));
        }
        for (pointer, d) in [
            ("/cache/ttl", cache.ttl),
            ("/cache/inactive_ttl", cache.inactive_ttl),
            ("/cache/max_stale", cache.max_stale),
        ] {
            if d.0.subsec_nanos() != 0 {
                return Err((
                    pointer,
                    format!("{d} is not a whole number of seconds (write e.g. 0s, 30s, 5m)"),
                ));
            }
        }
        if self.on_failure == IntrospectionOnFailure::AllowCached && cache.capacity == 0 {
            return Err((
                "/on_failure",
                "allow_cached needs a cache (`cache.capacity` is 0)".to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, IntrospectionOnFailure};

    const API: &str = "apis: [{ name: a, spec: a.yaml, upstream: \"http://127.0.0.1:9\" }]\n";

    fn load(section: &str) -> Result<Config, String> {
        let text = format!("identity:\n  introspection:\n{section}{API}");
        let env = |name: &str| (name == "INTROSPECTION_SECRET").then(|| "hunter2:/%".to_owned());
        Config::from_str_in("gw.yaml", &text, Path::new("/etc/pc"), &env).map_err(|e| e.to_string())
    }

    const GOOD: &str = "    endpoint: http://127.0.0.1:8090/introspect\n    client_id: gateway\n    client_secret: ${INTROSPECTION_SECRET}\n";

    #[test]
    fn defaults_and_the_secret_from_the_environment() {
        let c = load(GOOD).unwrap();
        let i = c.identity.introspection.as_ref().unwrap();
        assert_eq!(i.client_secret.expose(), "hunter2:/%");
        assert_eq!(i.timeout.to_string(), "2s");
        assert_eq!(i.failure_status, 503);
        assert_eq!(i.on_failure, IntrospectionOnFailure::Deny);
        assert_eq!(
            (
                i.cache.capacity,
                i.cache.ttl.to_string(),
                i.cache.inactive_ttl.to_string()
            ),
            (10_000, "60s".to_owned(), "10s".to_owned())
        );
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn each_mistake_is_named_at_its_key() {
        let cases = [
            (
                GOOD.replace("http://127.0.0.1:8090/introspect", "ftp://x"),
                "/identity/introspection/endpoint: \"ftp://x\" is not an http:// or https:// URL",
            ),
            (
                GOOD.replace("http://127.0.0.1:8090/introspect", "http://"),
                "is not an http:// or https:// URL",
            ),
            (
                GOOD.replace("gateway", "\"\""),
                "/identity/introspection/client_id: the client id is empty",
            ),
            (
                GOOD.replace("${INTROSPECTION_SECRET}", "\"\""),
                "/identity/introspection/client_secret: the client secret is empty",
            ),
            (
                GOOD.replace("    client_secret: ${INTROSPECTION_SECRET}\n", ""),
                "/identity/introspection/client_secret: missing field `client_secret`",
            ),
            (
                GOOD.replace("INTROSPECTION_SECRET", "UNSET_SECRET"),
                "environment variable UNSET_SECRET is not set",
            ),
            (
                format!("{GOOD}    failure_status: 200\n"),
                "/identity/introspection/failure_status: 200 is not a 4xx or 5xx status",
            ),
            (
                format!("{GOOD}    timeout: 0s\n"),
                "/identity/introspection/timeout: must be more than 0",
            ),
            (
                format!("{GOOD}    max_in_flight: 0\n"),
                "/identity/introspection/max_in_flight: 0 calls: give between 1 and 100000",
            ),
            (
                format!("{GOOD}    max_in_flight: 4611686018427387904\n"),
                "/identity/introspection/max_in_flight: 4611686018427387904 calls: give between 1 and 100000",
            ),
            (
                format!("{GOOD}    cache: {{ ttl: 1500ms }}\n"),
                "/identity/introspection/cache/ttl: 1500ms is not a whole number of seconds",
            ),
            (
                format!("{GOOD}    cache: {{ capacity: 2000000 }}\n"),
                "/identity/introspection/cache/capacity: 2000000 is over the limit",
            ),
            (
                format!("{GOOD}    on_failure: allow_cached\n    cache: {{ capacity: 0 }}\n"),
                "/identity/introspection/on_failure: allow_cached needs a cache",
            ),
            (
                format!("{GOOD}    on_failure: allow\n"),
                "/identity/introspection/on_failure: unknown variant `allow`",
            ),
            (
                format!("{GOOD}    secret: x\n"),
                "/identity/introspection/secret: unknown field `secret`",
            ),
        ];
        for (section, expected) in cases {
            let e = load(&section).unwrap_err();
            assert!(e.contains(expected), "{section}\n=> {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
