//! The scan configuration (DESIGN.md § Scan configuration): YAML read with positions,
//! `${VAR}` substitution in string values, unknown keys refused, and every error placed at
//! the line of the offending key.
//!
//! ```yaml
//! target: http://127.0.0.1:8081
//! spec: bank.yaml
//! identities:                # two ordinary users at least; an admin is optional
//!   alice: { login: { operation: login, body: { username: alice, password: "${ALICE_PW}" }, token: /access_token } }
//!   bob:   { headers: { Authorization: "Bearer ${BOB_TOKEN}" } }
//!   root:  { role: admin, login: { operation: login, body: { username: root, password: "${ROOT_PW}" }, token: /access_token } }
//! safe: true                 # no DELETE/PUT/PATCH and nothing destructive-looking unless false
//! budget: { requests: 2000, rate: 50/s }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use portcullis_spec::parse::{Format, Limits, parse, parse_file};
use portcullis_spec::pointer::escape_token;
use portcullis_spec::source::Positions;
use serde::Deserialize;
use serde_json::Value;

/// Largest configuration file accepted, and the parser's other bounds.
const LIMITS: Limits = Limits {
    max_bytes: 1024 * 1024,
    max_depth: 32,
    max_nodes: 100_000,
    max_alias_expansion: 10_000,
};

/// The most requests a budget may allow.
const MAX_REQUESTS: u64 = 10_000_000;
/// The highest rate a budget may ask for, in requests per second.
const MAX_RATE: f64 = 10_000.0;

/// Why a scan configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the scan configuration: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not YAML.
    #[error(transparent)]
    Syntax(portcullis_spec::Error),
    /// A key or value is wrong.
    #[error("{file}:{line}:{column}: {pointer}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// JSON pointer of the key.
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

/// What an identity may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary user (the default).
    #[default]
    User,
    /// An administrator (used to tell admin-only operations and to compare answers).
    Admin,
}

/// How an identity obtains its credentials.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// Static headers sent with every request of this identity.
    Headers(Vec<(String, String)>),
    /// A login operation called once at the start of the scan.
    Login(Login),
}

/// A login flow: call `operation` with `body`, read the token at `token` in the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// The operation id (or `operationId`) of the login operation.
    pub operation: String,
    /// The JSON body sent.
    pub body: Value,
    /// JSON pointer to the token in the login answer.
    pub token: String,
    /// The header that carries the token (default `Authorization`).
    pub header: String,
    /// What precedes the token in that header (default `Bearer `).
    pub prefix: String,
}

/// One identity the scan acts as.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Its name in the configuration (`alice`).
    pub name: String,
    /// Ordinary user or administrator.
    pub role: Role,
    /// How it authenticates.
    pub auth: Auth,
}

/// How many requests the scan may send, and how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// The most requests in the whole scan.
    pub requests: u64,
    /// The most requests per second.
    pub rate: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            requests: 2000,
            rate: 50.0,
        }
    }
}

/// A checked scan configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanConfig {
    /// The file it was read from (`None` for the default configuration).
    pub file: Option<String>,
    /// `target`, when the file names one (the command line's `--target` wins).
    pub target: Option<String>,
    /// `spec`, resolved against the file's folder (the command line's `--spec` wins).
    pub spec: Option<PathBuf>,
    /// The identities, in file order.
    pub identities: Vec<Identity>,
    /// `safe` (default true): no DELETE, PUT, PATCH or destructive-looking operation.
    pub safe: bool,
    /// The request budget and rate.
    pub budget: Budget,
    /// `tls`: the CA (and client certificate) for an https target, resolved against the
    /// file's folder; the system's trust store when absent.
    pub tls: Option<TlsFiles>,
}

/// The files of `tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificates the target's certificate must chain to (instead of the system's).
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain and its key, for targets that require one.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            file: None,
            target: None,
            spec: None,
            identities: Vec::new(),
            safe: true,
            budget: Budget::default(),
            tls: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    target: Option<String>,
    spec: Option<String>,
    #[serde(default)]
    identities: IndexMap<String, RawIdentity>,
    safe: Option<bool>,
    #[serde(default)]
    budget: RawBudget,
    tls: Option<RawTls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(default)]
    role: Role,
    headers: Option<IndexMap<String, String>>,
    login: Option<RawLogin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    operation: String,
    #[serde(default)]
    body: Value,
    token: String,
    header: Option<String>,
    prefix: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    requests: Option<u64>,
    rate: Option<Value>,
}

impl ScanConfig {
    /// Reads and checks a scan configuration file; `${VAR}` comes from the environment.
    pub fn load(path: &Path) -> Result<ScanConfig, ConfigError> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let file = parse_file(path, name, &LIMITS).map_err(|e| match e {
            portcullis_spec::Error::Io { path, error } => ConfigError::Io { path, error },
            other => ConfigError::Syntax(other),
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        from_parsed(&file.name, file.value, &file.positions, &base, &|name| {
            std::env::var(name).ok()
        })
    }

    /// Parses configuration text named `file`, resolving `spec` against `base_dir` and
    /// `${VAR}` through `env`.
    pub fn from_str_in(
        file: &str,
        text: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ScanConfig, ConfigError> {
        let (value, positions) =
            parse(&Arc::from(file), text, Format::Yaml, &LIMITS).map_err(ConfigError::Syntax)?;
        from_parsed(file, value, &positions, base_dir, env)
    }

    /// The ordinary (non-admin) identities.
    pub fn users(&self) -> impl Iterator<Item = &Identity> {
        self.identities.iter().filter(|i| i.role == Role::User)
    }
}

fn from_parsed(
    file: &str,
    mut value: Value,
    positions: &Positions,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ScanConfig, ConfigError> {
    let original = value.clone();
    let at = |pointer: &str, message: String| {
        let (line, column) = positions
            .find(&original, pointer)
            .map_or((1, 1), |(line, column, _)| (line, column));
        ConfigError::Invalid {
            file: file.to_owned(),
            line,
            column,
            pointer: pointer.to_owned(),
            message,
        }
    };
    if value.is_null() {
        value = Value::Object(serde_json::Map::new());
    }
    portcullis_spec::parse::substitute_vars(&mut value, env).map_err(|(p, m)| at(&p, m))?;
    let raw: RawConfig = deserialize(&value).map_err(|(p, m)| at(&p, m))?;
    let mut identities = Vec::new();
    for (name, id) in raw.identities {
        let here = format!("/identities/{}", escape_token(&name));
        let auth = match (id.headers, id.login) {
            (Some(headers), None) => {
                let mut list = Vec::new();
                for (k, v) in headers {
                    let p = format!("{here}/headers/{}", escape_token(&k));
                    http::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| at(&p, format!("{k:?} is not a header name")))?;
                    http::HeaderValue::from_str(&v)
                        .map_err(|_| at(&p, "the value is not a valid header value".into()))?;
                    list.push((k, v));
                }
                Auth::Headers(list)
            }
            (None, Some(login)) => {
                if !login.token.is_empty() && !login.token.starts_with('/') {
                    return Err(at(
                        &format!("{here}/login/token"),
                        format!("{:?} is not a JSON pointer (it starts with /)", login.token),
                    ));
                }
                let header = login.header.unwrap_or_else(|| "Authorization".to_owned());
                http::HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    at(
                        &format!("{here}/login/header"),
                        format!("{header:?} is not a header name"),
                    )
                })?;
                Auth::Login(Login {
                    operation: login.operation,
                    body: login.body,
                    token: login.token,
                    header,
                    prefix: login.prefix.unwrap_or_else(|| "Bearer ".to_owned()),
                })
            }
            (Some(_), Some(_)) => {
                return Err(at(
                    &here,
                    "give either `headers` or `login`, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(at(
                    &here,
                    "an identity needs `headers` or a `login` flow".to_owned(),
                ));
            }
        };
        identities.push(Identity {
            name,
            role: id.role,
            auth,
        });
    }
    let users = identities.iter().filter(|i| i.role == Role::User).count();
    if !identities.is_empty() && users < 2 {
        return Err(at(
            "/identities",
            format!(
                "{users} ordinary identity given: authorization checks need two ordinary users at least (and optionally one with `role: admin`)"
            ),
        ));
    }
    if identities.iter().filter(|i| i.role == Role::Admin).count() > 1 {
        return Err(at(
            "/identities",
            "at most one identity may have `role: admin`".to_owned(),
        ));
    }
    let mut budget = Budget::default();
    if let Some(requests) = raw.budget.requests {
        if requests == 0 || requests > MAX_REQUESTS {
            return Err(at(
                "/budget/requests",
                format!("{requests} is out of range (1 to {MAX_REQUESTS})"),
            ));
        }
        budget.requests = requests;
    }
    if let Some(rate) = &raw.budget.rate {
        budget.rate = parse_rate(rate).map_err(|m| at("/budget/rate", m))?;
    }
    if let Some(target) = &raw.target {
        crate::http::Target::parse(target).map_err(|e| at("/target", e.to_string()))?;
    }
    let tls = match raw.tls {
        None => None,
        Some(t) => {
            let identity = match (t.cert, t.key) {
                (Some(c), Some(k)) => Some((base_dir.join(c), base_dir.join(k))),
                (None, None) => None,
                (Some(_), None) => return Err(at("/tls/cert", "`cert` needs `key`".to_owned())),
                (None, Some(_)) => return Err(at("/tls/key", "`key` needs `cert`".to_owned())),
            };
            Some(TlsFiles {
                ca: t.ca.map(|c| base_dir.join(c)),
                identity,
            })
        }
    };
    Ok(ScanConfig {
        file: Some(file.to_owned()),
        target: raw.target,
        spec: raw.spec.map(|s| base_dir.join(s)),
        identities,
        safe: raw.safe.unwrap_or(true),
        budget,
        tls,
    })
}

/// `50/s`, `600/m`, `2/ms`... or a bare number of requests per second.
fn parse_rate(value: &Value) -> Result<f64, String> {
    let per_second = match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => {
            let (count, unit) = s.split_once('/').unwrap_or((s.as_str(), "s"));
            let count: f64 = count
                .trim()
                .parse()
                .map_err(|_| format!("{s:?} is not a rate like 50/s"))?;
            let seconds = match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3600.0,
                other => return Err(format!("{other:?} is not a unit of time (s, m or h)")),
            };
            count / seconds
        }
        _ => return Err("a rate is a number or a text like 50/s".to_owned()),
    };
    if !(per_second > 0.0 && per_second <= MAX_RATE) {
        return Err(format!(
            "{per_second} requests per second is out of range (above 0, at most {MAX_RATE})"
        ));
    }
    Ok(per_second)
}

/// Deserializes `value`; on failure, the JSON pointer of the offending key and serde's message.
fn deserialize<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => {
                    pointer.push_str(&format!("/{index}"));
                }
                serde_path_to_error::Segment::Map { key } => {
                    pointer.push('/');
                    pointer.push_str(&escape_token(key));
                }
                _ => {}
            }
        }
        let message = e.inner().to_string();
        let field = message
            .strip_prefix("unknown field `")
            .or_else(|| message.strip_prefix("missing field `"))
            .and_then(|m| m.split('`').next());
        if let Some(field) = field {
            let last = format!("/{}", escape_token(field));
            if !pointer.ends_with(&last) {
                pointer.push_str(&last);
            }
        }
        (pointer, message)
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
