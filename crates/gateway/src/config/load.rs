//! Reading a configuration file: YAML with positions, `${VAR}` substitution in string values,
//! then typed deserialization whose errors point at the line of the offending key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_spec::parse::{Format, Limits, parse};
use portcullis_spec::source::Positions;
use serde_json::Value;

use super::{Config, located};

/// Largest configuration file accepted, and the parser's other bounds.
const LIMITS: Limits = Limits {
    max_bytes: 4 * 1024 * 1024,
    max_depth: 32,
    max_nodes: 200_000,
    max_alias_expansion: 10_000,
};

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not YAML.
    #[error(transparent)]
    Syntax(#[from] portcullis_spec::Error),
    /// Several values are wrong: each on its own line, in the file's order of checks.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<ConfigError>),
    /// A key or value is wrong (file, line, column, the key's pointer, what is wrong).
    #[error(transparent)]
    Invalid(#[from] located::Located),
}

/// The shortest HMAC secret accepted for HS256/384/512 (RFC 7518 §3.2: a key of the hash's
/// size, 256 bits, at least).
const MIN_HMAC_SECRET: usize = 32;

impl ConfigError {
    /// `Ok` for no error, the error itself for one, [`ConfigError::Several`] for more.
    fn from_list(mut errors: Vec<ConfigError>) -> Result<(), ConfigError> {
        if errors.len() > 1 {
            return Err(ConfigError::Several(errors));
        }
        errors.pop().map_or(Ok(()), Err)
    }
}

/// The most worker threads `server.workers` may ask for.
const MAX_WORKERS: usize = 1024;
/// The most connections `server.max_connections` may allow.
const MAX_CONNECTIONS: usize = 1_000_000;
/// The most header fields `server.limits.max_headers` may allow: hyper reserves room for that
/// many per head parsed (64 bytes each).
const MAX_HEADERS: usize = 1000;

impl Config {
    /// Reads and checks the shape of a configuration file (specs are not loaded here).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = located::read(path, &LIMITS).map_err(|e| match e {
            portcullis_spec::Error::Io { path, error } => ConfigError::Io { path, error },
            other => ConfigError::Syntax(other),
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Config::from_parsed(&file.name, file.value, &file.positions, &base, &|name| {
            std::env::var(name).ok()
        })
    }

    /// Parses configuration text named `file`, resolving relative paths against `base_dir` and
    /// `${VAR}` through `env`.
    pub fn from_str_in(
        file: &str,
        text: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let (value, positions) = parse(&Arc::from(file), text, Format::Yaml, &LIMITS)?;
        Config::from_parsed(file, value, &positions, base_dir, env)
    }

    /// Substitutes `${VAR}`, deserializes and checks a parsed configuration.
    fn from_parsed(
        file: &str,
        mut value: Value,
        positions: &Positions,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let original = value.clone();
        let at = |pointer: &str, message: String| {
            ConfigError::Invalid(located::Located::at(
                file, positions, &original, pointer, message,
            ))
        };
        portcullis_spec::parse::substitute_vars(&mut value, env).map_err(|(p, m)| at(&p, m))?;
        let mut config: Config = located::deserialize(&value).map_err(|(p, m)| at(&p, m))?;
        config.base_dir = base_dir.to_owned();
        config.file = file.to_owned();
        config.check(&|p, m| at(p, m))?;
        config.lines = located::Lines::new(original, positions.clone());
        Ok(config)
    }

    /// Checks that serde cannot express (names unique, values in range...).
    fn check(&self, at: &dyn Fn(&str, String) -> ConfigError) -> Result<(), ConfigError> {
        // Every problem is reported at once (each with its line), not only the first.
        let mut errors = Vec::new();
        if self.apis.is_empty() {
            errors.push(at("/apis", "at least one API is required".to_owned()));
        }
        if let Some(n) = self.server.workers
            && !(1..=MAX_WORKERS).contains(&n)
        {
            errors.push(at(
                "/server/workers",
                format!("{n} worker threads: give between 1 and {MAX_WORKERS}"),
            ));
        }
        let n = self.server.max_connections;
        if !(1..=MAX_CONNECTIONS).contains(&n) {
            errors.push(at(
                "/server/max_connections",
                format!("{n} connections: give between 1 and {MAX_CONNECTIONS}"),
            ));
        }
        if !(1..=128).contains(&self.server.ipv6_prefix) {
            errors.push(at(
                "/server/ipv6_prefix",
                format!(
                    "/{}: give a prefix length between 1 and 128",
                    self.server.ipv6_prefix
                ),
            ));
        }
        let limits = &self.server.limits;
        for (key, value) in [
            ("request_timeout", limits.request_timeout),
            ("header_timeout", limits.header_timeout),
            ("upstream_timeout", limits.upstream_timeout),
            ("send_timeout", limits.send_timeout),
        ] {
            if value.0.is_zero() {
                errors.push(at(
                    &format!("/server/limits/{key}"),
                    "must be more than 0".to_owned(),
                ));
            }
        }
        let n = self.server.limits.max_headers;
        if !(1..=MAX_HEADERS).contains(&n) {
            errors.push(at(
                "/server/limits/max_headers",
                format!("{n} header fields: give between 1 and {MAX_HEADERS}"),
            ));
        }
        for (pointer, message) in self.detect.iter().flat_map(|d| d.problems()) {
            errors.push(at(&pointer, message));
        }
        for (pointer, message) in self.storage.iter().flat_map(|s| s.problems()) {
            errors.push(at(&pointer, message));
        }
        for (i, api) in self.apis.iter().enumerate() {
            super::protect_check::check(i, api, &mut |p, m| errors.push(at(&p, m)));
            if self.apis.iter().take(i).any(|a| a.name == api.name) {
                errors.push(at(
                    &format!("/apis/{i}/name"),
                    format!("duplicate API name {:?}", api.name),
                ));
            }
            if !(api.upstream.starts_with("http://") || api.upstream.starts_with("https://")) {
                errors.push(at(
                    &format!("/apis/{i}/upstream"),
                    format!(
                        "{:?} is not an http:// or https:// URL",
                        super::redact_url(&api.upstream)
                    ),
                ));
            }
            if let Some(base) = &api.base_path
                && !base.starts_with('/')
            {
                errors.push(at(
                    &format!("/apis/{i}/base_path"),
                    format!("{base:?} must start with `/` (write \"/{base}\")"),
                ));
            }
            if let Some(host) = &api.host
                && let Some((name, port)) = host.rsplit_once(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']'))
            {
                errors.push(at(
                    &format!("/apis/{i}/host"),
                    format!(
                        "{host:?} has a port; the port of the Host header is not compared, \
                         write the name alone ({name:?})"
                    ),
                ));
            }
            for (j, rl) in api.rate_limits.iter().enumerate() {
                if rl.per.0.subsec_nanos() != 0 {
                    errors.push(at(
                        &format!("/apis/{i}/rate_limits/{j}/per"),
                        format!(
                            "{} is not a whole number of seconds (write e.g. 1s, 2s, 1m)",
                            rl.per
                        ),
                    ));
                }
                if rl.limit == 0 {
                    errors.push(at(
                        &format!("/apis/{i}/rate_limits/{j}/limit"),
                        "must be at least 1".to_owned(),
                    ));
                }
                if let Err(e) = rl.key.parse::<crate::ratelimit::KeySource>() {
                    errors.push(at(&format!("/apis/{i}/rate_limits/{j}/key"), e.to_string()));
                }
            }
        }
        for (i, jwt) in self.identity.jwt.iter().enumerate() {
            if jwt.jwks.is_none() && jwt.discovery.is_none() && jwt.secret.is_none() {
                errors.push(at(
                    &format!("/identity/jwt/{i}"),
                    format!(
                        "issuer {:?} has no keys: give `jwks`, `discovery` or `secret`",
                        jwt.issuer
                    ),
                ));
            }
            if let Some(secret) = &jwt.secret
                && secret.len() < MIN_HMAC_SECRET
            {
                errors.push(at(
                    &format!("/identity/jwt/{i}/secret"),
                    format!(
                        "the HMAC secret is {} bytes: give at least {MIN_HMAC_SECRET} random bytes \
                         (RFC 7518 §3.2; a short secret is cracked offline from one token)",
                        secret.len()
                    ),
                ));
            }
            if self
                .identity
                .jwt
                .iter()
                .take(i)
                .any(|j| j.issuer == jwt.issuer)
            {
                errors.push(at(
                    &format!("/identity/jwt/{i}/issuer"),
                    format!("duplicate issuer {:?}", jwt.issuer),
                ));
            }
            if jwt.leeway.0.subsec_nanos() != 0 {
                errors.push(at(
                    &format!("/identity/jwt/{i}/leeway"),
                    format!(
                        "{} is not a whole number of seconds (write e.g. 0s, 30s, 1m)",
                        jwt.leeway
                    ),
                ));
            }
        }
        if let Some(introspection) = &self.identity.introspection
            && let Err((pointer, message)) = introspection.check()
        {
            errors.push(at(&format!("/identity/introspection{pointer}"), message));
        }
        if let Err((p, m)) = super::outbound_tls::check(self) {
            errors.push(at(&p, m));
        }
        if let Some(tls) = &self.server.tls
            && tls.client_auth.is_some()
            && tls.client_ca.is_none()
        {
            errors.push(at(
                "/server/tls/client_auth",
                "needs `client_ca` (the CA client certificates are verified against)".to_owned(),
            ));
        }
        for (i, entry) in self
            .identity
            .mtls
            .iter()
            .flat_map(|m| m.map.iter())
            .enumerate()
        {
            let m = &entry.matcher;
            let given = [&m.subject_cn, &m.san_dns, &m.san_uri];
            if given.iter().filter(|v| v.is_some()).count() != 1 {
                errors.push(at(
                    &format!("/identity/mtls/map/{i}/match"),
                    "give exactly one of `subject_cn`, `san_dns`, `san_uri`".to_owned(),
                ));
            }
            if given
                .iter()
                .any(|v| v.as_ref().is_some_and(|v| v.is_empty()))
            {
                errors.push(at(
                    &format!("/identity/mtls/map/{i}/match"),
                    "the name to match is empty".to_owned(),
                ));
            }
            if entry.subject.is_empty() {
                errors.push(at(
                    &format!("/identity/mtls/map/{i}/subject"),
                    "the subject is empty".to_owned(),
                ));
            }
        }
        if let Some(admin) = &self.admin
            && admin.token.len() < 16
        {
            errors.push(at(
                "/admin/token",
                "the admin token must be at least 16 characters (set it from an environment variable)".to_owned(),
            ));
        }
        let timeout = self.state.timeout.0;
        if !(super::MIN_STATE_TIMEOUT..=super::MAX_STATE_TIMEOUT).contains(&timeout) {
            errors.push(at(
                "/state/timeout",
                format!(
                    "{}: give between {} and {}",
                    self.state.timeout,
                    super::Dur(super::MIN_STATE_TIMEOUT),
                    super::Dur(super::MAX_STATE_TIMEOUT)
                ),
            ));
        }
        let backend = &self.state.backend;
        if backend != "memory"
            && !backend.starts_with("redis://")
            && !backend.starts_with("rediss://")
        {
            errors.push(at(
                "/state/backend",
                format!(
                    "{:?} is neither `memory` nor a redis:// URL",
                    super::redact_url(backend)
                ),
            ));
        }
        ConfigError::from_list(errors)
    }
}

#[cfg(test)]
mod tests;
