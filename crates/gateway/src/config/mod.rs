//! The gateway's configuration (YAML, `${ENV_VAR}` substitution, unknown keys are errors),
//! as DESIGN.md and docs/config.md describe it.
//!
//! [`Config::load`] reads a file; every error names the file, the line and column, the JSON
//! pointer of the key, and what is wrong. The types here are the file's shape; what runs is
//! compiled from them by [`crate::compile`].

pub mod detect;
mod introspection;
mod limits;
mod load;
pub(crate) mod located;
pub mod lockout;
pub mod outbound_tls;
pub mod protect;
mod protect_check;
mod redact;
pub mod units;

use std::net::SocketAddr;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Deserialize;

pub use detect::{DetectConfig, StorageConfig};
pub use introspection::{
    IntrospectionCacheConfig, IntrospectionConfig, IntrospectionOnFailure, Secret,
};
pub use limits::{CompressedBody, DEFAULT_MAX_HEADERS, LimitsConfig};
pub use load::ConfigError;
pub use located::Located;
pub use outbound_tls::ClientTlsConfig;
pub use redact::redact_url;
pub use units::{ByteSize, Dur};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The public listener.
    #[serde(default)]
    pub server: ServerConfig,
    /// The admin API; off when absent.
    pub admin: Option<AdminConfig>,
    /// Where per-client state (rate limits) lives.
    #[serde(default)]
    pub state: StateConfig,
    /// A SQLite file for state that outlives the process: the memory backend's quotas.
    pub storage: Option<StorageConfig>,
    /// How callers are authenticated.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Roles and the scopes each grants.
    #[serde(default)]
    pub roles: IndexMap<String, Vec<String>>,
    /// The protected APIs.
    pub apis: Vec<ApiConfig>,
    /// Anomaly detectors, alerts and bans (wired by `cli` with the inventory).
    pub detect: Option<DetectConfig>,
    /// Where decision logs go.
    #[serde(default)]
    pub log: LogConfig,
    /// The directory relative paths are resolved against (the config file's).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file it was read from, for messages.
    #[serde(skip)]
    pub file: String,
    /// Where each key is in that file, so that errors found later name its line.
    #[serde(skip)]
    pub lines: located::Lines,
}

/// `server:` the public listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// TLS (and mTLS with `client_ca`).
    pub tls: Option<TlsConfig>,
    /// Size and time limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Peers (addresses or CIDR ranges) whose `X-Forwarded-For` and `X-Request-Id` are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Worker threads serving the public listener, each with its own event loop and upstream
    /// connection pool (default: one per CPU). Read at start; a reload does not change it.
    pub workers: Option<usize>,
    /// Most client connections open at once on the public listener (all workers together):
    /// beyond it, new connections wait in the listen backlog until one closes, so a flood of
    /// connections cannot take unbounded memory. Read at start.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// How many leading bits of an IPv6 client address identify one client for rate limits,
    /// lockout and concurrency (default 64: one host usually holds a whole /64).
    #[serde(default = "default_ipv6_prefix")]
    pub ipv6_prefix: u8,
}

fn default_ipv6_prefix() -> u8 {
    64
}

fn default_max_connections() -> usize {
    10_000
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            tls: None,
            limits: LimitsConfig::default(),
            trusted_proxies: Vec::new(),
            workers: None,
            max_connections: default_max_connections(),
            ipv6_prefix: default_ipv6_prefix(),
        }
    }
}

/// `server.tls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA certificates; when set, client certificates are verified against them (mTLS).
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: whether a client must present a certificate (default `required`).
    pub client_auth: Option<ClientAuth>,
}

/// `server.tls.client_auth`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// The handshake fails without a certificate signed by `client_ca`.
    #[default]
    Required,
    /// A client may connect without a certificate (operations requiring `mutualTLS` then
    /// refuse it with `auth.cert-missing`); one it presents must still verify.
    Optional,
}

/// `admin:` the admin API (loopback, bearer token).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to listen on (keep it on loopback).
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// The bearer token every admin request but `/healthz` must carry.
    pub token: String,
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}

/// `state:` where limit state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `memory`, or a `redis://` or `rediss://` (TLS) URL.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// With `rediss://`: a private CA and a client certificate.
    pub tls: Option<ClientTlsConfig>,
    /// What a Redis failure means: `local`, `deny` or `allow`.
    #[serde(default)]
    pub on_failure: OnFailureConfig,
    /// How many replicas share the limits (for `on_failure: local`).
    #[serde(default = "one")]
    pub replicas: u64,
    /// How long one Redis call may take before `on_failure` decides (between
    /// [`MIN_STATE_TIMEOUT`] and [`MAX_STATE_TIMEOUT`]).
    #[serde(default = "default_state_timeout")]
    pub timeout: Dur,
}

/// The shortest `state.timeout`: below it, a healthy Redis on another host would count as down.
pub const MIN_STATE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(10);
/// The longest `state.timeout`: every limited request may wait this long while Redis is down.
pub const MAX_STATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn default_backend() -> String {
    "memory".to_owned()
}
fn default_state_timeout() -> Dur {
    Dur(std::time::Duration::from_millis(200))
}
fn one() -> u64 {
    1
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            backend: default_backend(),
            tls: None,
            on_failure: OnFailureConfig::default(),
            replicas: 1,
            timeout: default_state_timeout(),
        }
    }
}

/// `state.on_failure`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailureConfig {
    /// Per-replica limits scaled by the number of replicas.
    #[default]
    Local,
    /// Refuse limited requests.
    Deny,
    /// Admit limited requests.
    Allow,
}

/// `log:` decision log destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `stdout`, `off`, or a file path (appended to).
    #[serde(default = "default_decisions")]
    pub decisions: String,
}

impl Config {
    /// Where decisions go, as [`crate::decision::DecisionLog::start`] takes it: `stdout`, `off`,
    /// or the `log.decisions` file resolved against the config file's directory (like every
    /// other path in the file).
    pub fn decisions_destination(&self) -> String {
        match self.log.decisions.as_str() {
            d @ ("stdout" | "off") => d.to_owned(),
            path => self.base_dir.join(path).display().to_string(),
        }
    }
}

fn default_decisions() -> String {
    "stdout".to_owned()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            decisions: default_decisions(),
        }
    }
}

/// `identity:` how callers prove who they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Trusted JWT issuers.
    #[serde(default)]
    pub jwt: Vec<JwtConfig>,
    /// API keys.
    pub api_keys: Option<ApiKeysConfig>,
    /// Client certificates (mTLS) mapped to identities.
    pub mtls: Option<MtlsConfig>,
    /// Opaque bearer tokens checked by OAuth2 token introspection (RFC 7662).
    pub introspection: Option<IntrospectionConfig>,
}

/// `identity.mtls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlsConfig {
    /// Tried in order; the first entry the certificate matches gives the identity.
    #[serde(default)]
    pub map: Vec<MtlsMapConfig>,
}

/// One `identity.mtls.map` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlsMapConfig {
    /// What the certificate must have (exactly one key).
    #[serde(rename = "match")]
    pub matcher: CertMatchConfig,
    /// The caller's subject (`sub`).
    pub subject: String,
    /// The caller's roles (scopes from `roles`).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `identity.mtls.map[].match`: exactly one of the keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertMatchConfig {
    /// The subject's common name, exactly.
    pub subject_cn: Option<String>,
    /// A `subjectAltName` DNS name (ASCII case-insensitive).
    pub san_dns: Option<String>,
    /// A `subjectAltName` URI (e.g. a SPIFFE ID), exactly.
    pub san_uri: Option<String>,
}

/// One trusted JWT issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values (one must match); empty: `aud` is not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// JWKS: an `http(s)://` URL or a file path.
    pub jwks: Option<String>,
    /// OpenID Connect discovery: the `http(s)://` URL of the provider's
    /// `/.well-known/openid-configuration`, whose `jwks_uri` is used (instead of `jwks`).
    pub discovery: Option<String>,
    /// TLS of the `https://` key set and discovery fetches (a private CA, a client certificate).
    pub tls: Option<ClientTlsConfig>,
    /// Allowed algorithms (default `[RS256]`).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`.
    #[serde(default = "default_leeway")]
    pub leeway: Dur,
    /// HMAC secret for HS256/384/512 (only then are they allowed).
    pub secret: Option<String>,
    /// The claim holding the caller's roles (default `roles`).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".to_owned()]
}
fn default_leeway() -> Dur {
    Dur(std::time::Duration::from_secs(30))
}
fn default_roles_claim() -> String {
    "roles".to_owned()
}

/// `identity.api_keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeysConfig {
    /// Header carrying the key when the spec does not say.
    pub header: Option<String>,
    /// YAML file of hashed keys.
    pub file: PathBuf,
}

/// One protected API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Its name in logs and metrics.
    pub name: String,
    /// Its OpenAPI document (relative to the config file).
    pub spec: PathBuf,
    /// Where requests go: `http(s)://host:port[/prefix]`.
    pub upstream: String,
    /// TLS to an `https://` upstream: a private CA, a client certificate, the name verified.
    pub upstream_tls: Option<ClientTlsConfig>,
    /// Mount point on the gateway (default: the spec's server base paths).
    pub base_path: Option<String>,
    /// Only requests for this `Host` reach this API.
    pub host: Option<String>,
    /// `enforce` or `monitor`.
    #[serde(default)]
    pub mode: Mode,
    /// What to do with requests the spec does not document.
    #[serde(default)]
    pub undocumented: Undocumented,
    /// What to do with operations the spec marks deprecated.
    #[serde(default)]
    pub deprecated: Deprecated,
    /// Request checks.
    #[serde(default)]
    pub request: RequestPolicy,
    /// Checks on the upstream's answers (absent: none).
    pub response: Option<protect::ResponseConfig>,
    /// Injection and SSRF checks on requests (absent: none).
    pub threats: Option<protect::ThreatsConfig>,
    /// Cross-origin requests from browsers (absent: the gateway adds no CORS field, and a
    /// preflight is routed like any request).
    pub cors: Option<protect::CorsConfig>,
    /// Rate limits.
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    /// At most this many requests in flight per client IP.
    pub concurrency: Option<u32>,
    /// BOLA guards: a parameter that must equal a token claim.
    #[serde(default)]
    pub owner_binding: Vec<OwnerBindingConfig>,
    /// The role operations marked admin require (default `admin`).
    #[serde(default = "default_admin_role")]
    pub admin_role: String,
    /// Operation ids that require the admin role in addition to `x-portcullis-admin`.
    #[serde(default)]
    pub admin_operations: Vec<String>,
    /// Add `RateLimit-*` headers to allowed responses too.
    #[serde(default)]
    pub rate_limit_headers: bool,
    /// Brute-force lockout per client IP and per account.
    pub lockout: Option<lockout::LockoutConfig>,
}

fn default_admin_role() -> String {
    "admin".to_owned()
}

/// `mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Denials are enforced.
    #[default]
    Enforce,
    /// Denials are logged; the request goes on.
    Monitor,
}

/// `undocumented`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Undocumented {
    /// 404 / 405.
    #[default]
    Block,
    /// Logged and proxied.
    Log,
}

/// `deprecated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprecated {
    /// Served.
    Allow,
    /// Served and logged.
    #[default]
    Log,
    /// Refused with 410 Gone.
    Block,
}

/// `block`, `log` or `off`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refuse.
    #[default]
    Block,
    /// Log and let through.
    Log,
    /// Do not check.
    Off,
}

/// `request:`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPolicy {
    /// Parameters, content type and body against the spec.
    #[serde(default)]
    pub validate: Action,
    /// Body properties the schema does not declare.
    #[serde(default)]
    pub unknown_fields: Action,
}

/// One `rate_limits` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `ip`, `key_id`, `subject`, `header:NAME` or `claim:NAME`.
    pub key: String,
    /// Requests per `per`.
    pub limit: u64,
    /// The period.
    pub per: Dur,
    /// Requests an idle client may send at once (default `limit`; `1` is spike arrest).
    pub burst: Option<u64>,
    /// Operation ids it applies to (default: all).
    pub operations: Option<Vec<String>>,
}

/// One `owner_binding` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerBindingConfig {
    /// The operation id.
    pub operation: String,
    /// The parameter (path, query, header) or top-level body property.
    pub param: String,
    /// The token claim it must equal.
    #[serde(default = "default_claim")]
    pub claim: String,
    /// Roles allowed past the check.
    #[serde(default)]
    pub exempt_roles: Vec<String>,
}

fn default_claim() -> String {
    "sub".to_owned()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Config;

    fn with_decisions(decisions: &str) -> Config {
        let text = format!(
            "log: {{ decisions: {decisions:?} }}\napis: [{{ name: a, spec: a.yaml, upstream: \"http://127.0.0.1:9\" }}]\n"
        );
        Config::from_str_in("gw.yaml", &text, Path::new("/etc/pc"), &|_| None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn decision_log_paths_are_relative_to_the_config_file() {
        assert_eq!(
            with_decisions("logs/decisions.jsonl").decisions_destination(),
            Path::new("/etc/pc")
                .join("logs/decisions.jsonl")
                .display()
                .to_string()
        );
        assert_eq!(
            with_decisions("/var/log/pc.jsonl").decisions_destination(),
            "/var/log/pc.jsonl"
        );
        assert_eq!(with_decisions("stdout").decisions_destination(), "stdout");
        assert_eq!(with_decisions("off").decisions_destination(), "off");
    }
}
