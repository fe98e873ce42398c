//! What runs: a [`Gateway`] compiled from a [`Config`] and its specs (routers, compiled
//! validators, security plans, limits), immutable and swapped whole on reload.

use crate::pipeline::stages::StageList;
use crate::proxy::Upstream;
use std::net::IpAddr;
use std::sync::Arc;

use portcullis_spec::{Catalog, ParameterIn, Router};

use crate::config::{Config, Deprecated, Mode, OnFailureConfig, RequestPolicy, Undocumented};
use crate::identity::apikeys::{ApiKeyError, ApiKeys};
use crate::identity::introspection::Introspector;
use crate::identity::jwks;
use crate::identity::jwt::{self, Clock, Issuer, Verifier};
use crate::identity::mtls::CertMap;
use crate::ratelimit::{self, ConcurrencyLimiter, Limit, Limiter, OnFailure, Store};
use crate::validate::{RequestCheck, SchemaError};

/// Why a configuration cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A spec failed to load.
    #[error("api {api}: {error}")]
    Spec {
        /// The API.
        api: String,
        /// The loader's error (file, line, pointer, problem).
        error: portcullis_spec::Error,
    },
    /// A schema failed to compile.
    #[error("api {api}: {error}")]
    Schema {
        /// The API.
        api: String,
        /// The compiler's error.
        error: SchemaError,
    },
    /// Something in the configuration does not fit the specs or the machine (file, line,
    /// column, the key's pointer, what is wrong).
    #[error(transparent)]
    Config(#[from] crate::config::Located),
    /// A key set failed to load.
    #[error(transparent)]
    Jwks(#[from] jwks::JwksError),
    /// The API key file failed to load.
    #[error(transparent)]
    ApiKeys(#[from] ApiKeyError),
}

/// How one security scheme is satisfied at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer <JWT>` (http bearer, oauth2, openIdConnect).
    Bearer,
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Its name.
        name: String,
        /// Where.
        location: ParameterIn,
    },
    /// `mutualTLS`: a verified client certificate mapped by `identity.mtls`.
    MutualTls,
    /// A scheme the gateway cannot verify (basic, digest, undeclared...): never
    /// satisfied, so an operation requiring only it is refused (fail closed).
    Unsupported(String),
}

/// One alternative of an operation's security: every scheme must be satisfied.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// (scheme name, how, required scopes).
    pub schemes: Vec<(String, Scheme, Vec<String>)>,
}

/// A BOLA guard: `param` must equal the caller's `claim`.
#[derive(Debug, Clone)]
pub struct OwnerRule {
    /// Parameter (path, query) or top-level body property.
    pub param: String,
    /// Claim name.
    pub claim: String,
    /// Roles allowed past.
    pub exempt_roles: Vec<String>,
}

/// One operation, compiled.
#[derive(Debug)]
pub struct OpPlan {
    /// Operation id (shared with every decision and metric that names it).
    pub id: Arc<str>,
    /// Validation.
    pub check: RequestCheck,
    /// OR of ANDs; empty: public.
    pub security: Vec<Requirement>,
    /// BOLA guards.
    pub owner: Vec<OwnerRule>,
    /// Requires the admin role.
    pub admin: bool,
    /// Marked deprecated.
    pub deprecated: bool,
    /// The spec's path template (`/accounts/{id}`).
    pub template: Arc<str>,
    /// Injection and SSRF checks, when `threats` is configured.
    pub threats: Option<Arc<protect::ThreatPlan>>,
    /// Checks on the answers, when `response` is configured.
    pub response: Option<Arc<protect::ResponsePlan>>,
    /// The limits that apply to it (indices into [`Api::limits`]).
    pub limits: Vec<usize>,
    /// The pipeline stages its requests pass, in order.
    pub(crate) stages: StageList,
}

/// One API, compiled.
pub struct Api {
    /// Name (shared with every decision and metric that names it).
    pub name: Arc<str>,
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Its router.
    pub router: Router,
    /// Operation plans, by catalog index.
    pub ops: Vec<OpPlan>,
    /// Upstream.
    pub upstream: Upstream,
    /// Required `Host`, lower-case, without port.
    pub host: Option<String>,
    /// Mount prefix stripped before forwarding.
    pub strip: Option<String>,
    /// Mode.
    pub mode: Mode,
    /// Undocumented requests.
    pub undocumented: Undocumented,
    /// Deprecated operations.
    pub deprecated: Deprecated,
    /// Request checks policy.
    pub request: RequestPolicy,
    /// Rate limits.
    pub limits: Vec<Limit>,
    /// Limits that apply to undocumented requests.
    pub undocumented_limits: Vec<usize>,
    /// The stages undocumented requests that are let through pass.
    pub(crate) undocumented_stages: StageList,
    /// Per-IP concurrency.
    pub concurrency: Option<ConcurrencyLimiter>,
    /// The admin role.
    pub admin_role: String,
    /// `RateLimit-*` on allowed responses.
    pub rate_limit_headers: bool,
    /// Brute-force lockout (`lockout`), when configured.
    pub lockout: Option<lockout::LockoutPlan>,
    /// Threat checks of undocumented requests that are let through.
    pub undocumented_threats: Option<Arc<protect::ThreatPlan>>,
    /// Checks on the answers to undocumented requests that are let through.
    pub undocumented_response: Option<Arc<protect::ResponsePlan>>,
    /// Cross-origin requests, when `cors` is configured.
    pub cors: Option<Arc<protect::CorsPlan>>,
}

/// A trusted proxy range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `::1`, `127.0.0.1`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, b.parse::<u8>().ok()?),
            None => {
                let a = text.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// True when `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The whole running configuration.
pub struct Gateway {
    /// The configuration it was built from.
    pub config: Arc<Config>,
    /// The APIs, in configuration order.
    pub apis: Vec<Api>,
    /// JWT verification.
    pub verifier: Arc<Verifier>,
    /// Opaque bearer tokens (`identity.introspection`), when configured.
    pub introspection: Option<Arc<Introspector>>,
    /// API keys (`identity.api_keys`), when configured.
    pub api_keys: Option<Arc<ApiKeys>>,
    /// Header holding an API key when the spec's scheme names none found (`identity.api_keys.header`).
    pub api_key_header: Option<String>,
    /// Client certificates mapped to identities (`identity.mtls`), when configured.
    pub cert_map: Option<Arc<CertMap>>,
    /// Trusted proxies.
    pub trusted: Vec<Cidr>,
    /// Shared limit state (kept across reloads while the backend is unchanged).
    pub limiter: Arc<Limiter>,
    /// Warnings worth printing (`check`) and logging (`serve`).
    pub warnings: Vec<String>,
}

fn config_error(config: &Config, pointer: String, message: String) -> BuildError {
    BuildError::Config(config.lines.locate(&config.file, &pointer, message))
}

/// Builds the limiter a `state` section asks for.
pub fn limiter_for(config: &Config) -> Result<Limiter, BuildError> {
    let state = &config.state;
    if state.backend == "memory" {
        return state::memory_limiter(config);
    }
    let shared = ratelimit::redis::RedisStore::with_client(
        state::redis_client(config)?,
        "portcullis",
        state.timeout.0,
    );
    let on_failure = match state.on_failure {
        OnFailureConfig::Local => OnFailure::Local {
            replicas: state.replicas.max(1),
        },
        OnFailureConfig::Deny => OnFailure::Deny,
        OnFailureConfig::Allow => OnFailure::Allow,
    };
    Ok(Limiter::new(Store::Redis {
        shared,
        local: ratelimit::memory::MemoryStore::new(state::STATE_CAPACITY),
        on_failure,
    }))
}

/// How long opening `storage.path` for the quotas may take before the load fails.
const STORAGE_OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// [`limiter_for`], on a blocking thread when it opens `storage.path`: file I/O that a disk
/// which hangs would make wait without end, on the thread that also accepts connections (a
/// reload). After [`STORAGE_OPEN_WAIT`] the load fails naming the file (a reload keeps the
/// running configuration); the thread left waiting ends when the disk answers.
async fn limiter_off_the_request_path(config: &Config) -> Result<Limiter, BuildError> {
    let Some(storage) = config
        .storage
        .as_ref()
        .filter(|_| config.state.backend == "memory")
    else {
        return limiter_for(config);
    };
    let path = config.base_dir.join(&storage.path);
    let owned = config.clone();
    let opening = tokio::task::spawn_blocking(move || limiter_for(&owned));
    match tokio::time::timeout(STORAGE_OPEN_WAIT, opening).await {
        Ok(Ok(built)) => built,
        Ok(Err(failed)) => Err(config_error(
            config,
            "/storage/path".to_owned(),
            format!("opening {} failed: {failed}", path.display()),
        )),
        Err(_) => Err(config_error(
            config,
            "/storage/path".to_owned(),
            format!(
                "{} did not answer within {} s (a disk that hangs?)",
                path.display(),
                STORAGE_OPEN_WAIT.as_secs()
            ),
        )),
    }
}

impl Gateway {
    /// Compiles `config`: loads every spec, compiles validators and plans, loads key sets.
    /// `limiter` is reused when given (a reload with the same state backend).
    pub async fn build(
        config: Config,
        limiter: Option<Arc<Limiter>>,
        clock: Clock,
    ) -> Result<Gateway, BuildError> {
        let mut warnings = Vec::new();
        let mut issuers = Vec::new();
        for (i, j) in config.identity.jwt.iter().enumerate() {
            let mut algorithms = Vec::new();
            for (k, name) in j.algorithms.iter().enumerate() {
                let alg = jwt::algorithm(name).map_err(|e| {
                    config_error(
                        &config,
                        format!("/identity/jwt/{i}/algorithms/{k}"),
                        e.to_string(),
                    )
                })?;
                let hmac = name.starts_with("HS");
                if hmac && j.secret.is_none() {
                    return Err(config_error(
                        &config,
                        format!("/identity/jwt/{i}/algorithms/{k}"),
                        format!("{name} needs `secret` for this issuer"),
                    ));
                }
                algorithms.push(alg);
            }
            let reach = jwks::Reach {
                tls: j.tls.as_ref(),
                base_dir: &config.base_dir,
            };
            let keys = match (&j.jwks, &j.discovery) {
                (Some(_), Some(_)) => {
                    return Err(config_error(
                        &config,
                        format!("/identity/jwt/{i}/discovery"),
                        "give `jwks` or `discovery`, not both".to_owned(),
                    ));
                }
                (Some(source), None) => jwks::load(source, reach).await?,
                (None, Some(url)) => {
                    let jwks_uri = jwks::discover(url, &j.issuer, reach).await?;
                    jwks::load(&jwks_uri, reach).await?
                }
                (None, None) => jwks::KeySource::Static(Arc::new(Vec::new())),
            };
            issuers.push(Issuer {
                issuer: j.issuer.clone(),
                audiences: j.audiences.clone(),
                algorithms,
                leeway: j.leeway.0.as_secs(),
                keys,
                secret: j
                    .secret
                    .as_ref()
                    .map(|s| jsonwebtoken::DecodingKey::from_secret(s.as_bytes())),
                roles_claim: j.roles_claim.clone(),
            });
        }
        let introspection = match &config.identity.introspection {
            Some(c) => {
                let tls = upstream::tls_for(
                    &config,
                    "/identity/introspection/tls",
                    &c.endpoint,
                    c.tls.as_ref(),
                )?;
                let introspector = Introspector::new(c, &config.roles, clock.clone(), tls.as_ref())
                    .map_err(|e| {
                        config_error(
                            &config,
                            "/identity/introspection/endpoint".to_owned(),
                            e.to_string(),
                        )
                    })?;
                Some(Arc::new(introspector))
            }
            None => None,
        };
        let verifier = Arc::new(Verifier::new(issuers, config.roles.clone(), clock));
        let (api_keys, api_key_header) = match &config.identity.api_keys {
            Some(k) => (
                Some(Arc::new(ApiKeys::load(
                    &config.base_dir.join(&k.file),
                    &config.roles,
                )?)),
                k.header.as_ref().map(|h| h.to_ascii_lowercase()),
            ),
            None => (None, None),
        };
        let cert_map = config
            .identity
            .mtls
            .as_ref()
            .map(|m| Arc::new(CertMap::new(m, &config.roles)));
        if cert_map.is_some()
            && config
                .server
                .tls
                .as_ref()
                .is_none_or(|t| t.client_ca.is_none())
        {
            warnings.push(
                "`identity.mtls` is set but `server.tls.client_ca` is not: no client certificate \
                 is ever verified, so `mutualTLS` operations refuse every request"
                    .to_owned(),
            );
        }
        for jwt in config
            .identity
            .jwt
            .iter()
            .filter(|j| j.audiences.is_empty())
        {
            warnings.push(format!(
                "issuer {:?} has no `audiences`: a token it issued for any other service is \
                 accepted here too; list the audiences this gateway serves",
                jwt.issuer
            ));
        }
        if let Some(admin) = &config.admin
            && !admin.listen.ip().is_loopback()
        {
            warnings.push(format!(
                "`admin.listen` {} is not a loopback address and the admin API has no TLS: its \
                 bearer token crosses the network in clear; keep it on 127.0.0.1 (or put a TLS \
                 proxy in front)",
                admin.listen
            ));
        }
        let mut trusted = Vec::new();
        for (i, t) in config.server.trusted_proxies.iter().enumerate() {
            trusted.push(Cidr::parse(t).ok_or_else(|| {
                config_error(
                    &config,
                    format!("/server/trusted_proxies/{i}"),
                    format!("{t:?} is not an IP address or CIDR range"),
                )
            })?);
        }
        let limiter = match limiter {
            Some(l) => l,
            None => Arc::new(limiter_off_the_request_path(&config).await?),
        };
        state::warnings(&config, &limiter, &mut warnings);
        upstream::cleartext_warnings(&config, &mut warnings);
        let mut apis = Vec::new();
        for (i, api) in config.apis.iter().enumerate() {
            apis.push(build_api(&config, i, api, &mut warnings)?);
        }
        Ok(Gateway {
            config: Arc::new(config),
            apis,
            verifier,
            introspection,
            api_keys,
            api_key_header,
            cert_map,
            trusted,
            limiter,
            warnings,
        })
    }
}

mod api;
pub mod lockout;
pub mod protect;
pub(crate) mod state;
mod summary;
mod upstream;

use api::{build_api, known_operation};

#[cfg(test)]
mod tests;
