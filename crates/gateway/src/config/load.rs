//! Reading a configuration file: YAML with positions, `${VAR}` substitution in string values,
//! then typed deserialization whose errors point at the line of the offending key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_spec::parse::{Format, Limits, parse};
use portcullis_spec::pointer::escape_token;
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

/// The most worker threads `server.workers` may ask for.
const MAX_WORKERS: usize = 1024;

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
            let (line, column) = located::line_column(positions, &original, pointer);
            ConfigError::Invalid {
                file: file.to_owned(),
                line,
                column,
                pointer: pointer.to_owned(),
                message,
            }
        };
        substitute(&mut value, &mut String::new(), env).map_err(|(p, m)| at(&p, m))?;
        let mut config: Config = located::deserialize(&value).map_err(|(p, m)| at(&p, m))?;
        config.base_dir = base_dir.to_owned();
        config.file = file.to_owned();
        config.check(&|p, m| at(p, m))?;
        Ok(config)
    }

    /// Checks that serde cannot express (names unique, values in range...).
    fn check(&self, at: &dyn Fn(&str, String) -> ConfigError) -> Result<(), ConfigError> {
        if self.apis.is_empty() {
            return Err(at("/apis", "at least one API is required".to_owned()));
        }
        if let Some(n) = self.server.workers
            && !(1..=MAX_WORKERS).contains(&n)
        {
            return Err(at(
                "/server/workers",
                format!("{n} worker threads: give between 1 and {MAX_WORKERS}"),
            ));
        }
        for (i, api) in self.apis.iter().enumerate() {
            if self.apis.iter().take(i).any(|a| a.name == api.name) {
                return Err(at(
                    &format!("/apis/{i}/name"),
                    format!("duplicate API name {:?}", api.name),
                ));
            }
            if !(api.upstream.starts_with("http://") || api.upstream.starts_with("https://")) {
                return Err(at(
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
                return Err(at(
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
                return Err(at(
                    &format!("/apis/{i}/host"),
                    format!(
                        "{host:?} has a port; the port of the Host header is not compared, \
                         write the name alone ({name:?})"
                    ),
                ));
            }
            for (j, rl) in api.rate_limits.iter().enumerate() {
                if rl.per.0.subsec_nanos() != 0 {
                    return Err(at(
                        &format!("/apis/{i}/rate_limits/{j}/per"),
                        format!(
                            "{} is not a whole number of seconds (write e.g. 1s, 2s, 1m)",
                            rl.per
                        ),
                    ));
                }
                if rl.limit == 0 {
                    return Err(at(
                        &format!("/apis/{i}/rate_limits/{j}/limit"),
                        "must be at least 1".to_owned(),
                    ));
                }
                if let Err(e) = rl.key.parse::<crate::ratelimit::KeySource>() {
                    return Err(at(&format!("/apis/{i}/rate_limits/{j}/key"), e.to_string()));
                }
            }
        }
        for (i, jwt) in self.identity.jwt.iter().enumerate() {
            if jwt.jwks.is_none() && jwt.discovery.is_none() && jwt.secret.is_none() {
                return Err(at(
                    &format!("/identity/jwt/{i}"),
                    format!(
                        "issuer {:?} has no keys: give `jwks`, `discovery` or `secret`",
                        jwt.issuer
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
                return Err(at(
                    &format!("/identity/jwt/{i}/issuer"),
                    format!("duplicate issuer {:?}", jwt.issuer),
                ));
            }
            if jwt.leeway.0.subsec_nanos() != 0 {
                return Err(at(
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
            return Err(at(&format!("/identity/introspection{pointer}"), message));
        }
        super::outbound_tls::check(self).map_err(|(p, m)| at(&p, m))?;
        if let Some(tls) = &self.server.tls
            && tls.client_auth.is_some()
            && tls.client_ca.is_none()
        {
            return Err(at(
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
                return Err(at(
                    &format!("/identity/mtls/map/{i}/match"),
                    "give exactly one of `subject_cn`, `san_dns`, `san_uri`".to_owned(),
                ));
            }
            if given
                .iter()
                .any(|v| v.as_ref().is_some_and(|v| v.is_empty()))
            {
                return Err(at(
                    &format!("/identity/mtls/map/{i}/match"),
                    "the name to match is empty".to_owned(),
                ));
            }
            if entry.subject.is_empty() {
                return Err(at(
                    &format!("/identity/mtls/map/{i}/subject"),
                    "the subject is empty".to_owned(),
                ));
            }
        }
        if let Some(admin) = &self.admin
            && admin.token.len() < 16
        {
            return Err(at(
                "/admin/token",
                "the admin token must be at least 16 characters (set it from an environment variable)".to_owned(),
            ));
        }
        let backend = &self.state.backend;
        if backend != "memory"
            && !backend.starts_with("redis://")
            && !backend.starts_with("rediss://")
        {
            return Err(at(
                "/state/backend",
                format!(
                    "{:?} is neither `memory` nor a redis:// URL",
                    super::redact_url(backend)
                ),
            ));
        }
        Ok(())
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string value; `$${` is a literal `${`.
fn substitute(
    value: &mut Value,
    pointer: &mut String,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(s) if s.contains('$') => {
            *s = expand(s, env).map_err(|m| (pointer.clone(), m))?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                substitute(item, pointer, env)?;
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_token(k));
                substitute(v, pointer, env)?;
                pointer.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Expands the variables of one string.
pub(crate) fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
            let inner = body.get(..end).unwrap_or_default();
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!("${{{inner}}} is not a variable name"));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable {name} is not set (write ${{{name}:-default}} for a default)"
                    ));
                }
            }
            rest = body.get(end + 1..).unwrap_or_default();
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ByteSize;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("0123456789abcdef0123".to_owned()),
            "PORT" => Some("8081".to_owned()),
            _ => None,
        }
    }

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_str_in("gw.yaml", text, Path::new("/etc/pc"), &env)
    }

    const MINIMAL: &str =
        "apis:\n  - name: bank\n    spec: bank.yaml\n    upstream: http://127.0.0.1:${PORT}\n";

    #[test]
    fn minimal_config_gets_defaults_and_env() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.apis[0].upstream, "http://127.0.0.1:8081");
        assert_eq!(c.server.listen.port(), 8080);
        assert_eq!(c.server.limits.max_body, ByteSize(1 << 20));
        assert_eq!(c.state.backend, "memory");
        assert_eq!(c.base_dir, Path::new("/etc/pc"));
    }

    #[test]
    fn unknown_keys_name_file_line_and_pointer() {
        let text = "server:\n  listen: 127.0.0.1:1\n  lsiten: 1\napis: []\n";
        let e = load(text).unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:3:3: /server/lsiten: unknown field `lsiten`"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_located() {
        let text = format!("{MINIMAL}    rate_limits:\n      - {{ key: ip, limit: 5, per: 5 }}\n");
        let e = load(&text).unwrap_err().to_string();
        assert!(e.contains("gw.yaml:6:"), "{e}");
        assert!(e.contains("/apis/0/rate_limits/0/per"), "{e}");
        assert!(e.contains("not a duration"), "{e}");

        let text = format!("{MINIMAL}    mode: enfroce\n");
        let e = load(&text).unwrap_err().to_string();
        assert!(
            e.contains("gw.yaml:5:") && e.contains("/apis/0/mode"),
            "{e}"
        );

        let text = format!("server:\n  workers: 0\n{MINIMAL}");
        let e = load(&text).unwrap_err().to_string();
        assert!(
            e.contains("/server/workers") && e.contains("between 1 and 1024"),
            "{e}"
        );

        let text = format!("{MINIMAL}    rate_limits: [{{ key: cookie:x, limit: 1, per: 1s }}]\n");
        let e = load(&text).unwrap_err().to_string();
        assert!(
            e.contains("/apis/0/rate_limits/0/key") && e.contains("unknown rate-limit key"),
            "{e}"
        );
    }

    #[test]
    fn missing_env_and_short_admin_token_are_errors() {
        let e = load("admin: { token: \"${NOPE}\" }\napis: []\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("gw.yaml:1:") && e.contains("NOPE is not set"),
            "{e}"
        );
        let e = load(&format!("admin: {{ token: short }}\n{MINIMAL}"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/admin/token") && e.contains("16 characters"),
            "{e}"
        );
        let c = load(&format!("admin: {{ token: \"${{TOKEN}}\" }}\n{MINIMAL}")).unwrap();
        assert_eq!(c.admin.unwrap().token, "0123456789abcdef0123");
    }

    #[test]
    fn expansion_rules() {
        assert_eq!(expand("a${PORT}b", &env).unwrap(), "a8081b");
        assert_eq!(expand("${X:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand("$${PORT}", &env).unwrap(), "${PORT}");
        assert_eq!(expand("cost: $5", &env).unwrap(), "cost: $5");
        assert!(expand("${PORT", &env).is_err());
        assert!(expand("${a b}", &env).is_err());
    }

    #[test]
    fn urls_in_errors_hide_their_password() {
        let e = load(&format!(
            "state: {{ backend: \"rdis://user:hunter2@cache:6379\" }}\n{MINIMAL}"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("/state/backend"), "{e}");
        assert!(e.contains("rdis://user:***@cache:6379"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let text =
            "apis:\n  - name: bank\n    spec: bank.yaml\n    upstream: htp://svc:hunter2@up:80\n";
        let e = load(text).unwrap_err().to_string();
        assert!(
            e.contains("/apis/0/upstream") && e.contains("svc:***@up"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn io_and_syntax_errors_print_their_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let e = Config::load(&dir.path().join("gw.yaml")).unwrap_err();
        assert!(std::error::Error::source(&e).is_none(), "{e}");
        assert!(
            e.to_string()
                .contains("gw.yaml: cannot read the configuration: "),
            "{e}"
        );
        let e = load("apis: [\n").unwrap_err();
        assert!(std::error::Error::source(&e).is_none(), "{e}");
        assert_eq!(e.to_string().matches("gw.yaml").count(), 1, "{e}");
    }

    #[test]
    fn missing_fields_are_named() {
        let e = load("server: { listen: 127.0.0.1:1 }\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "gw.yaml:1:1: /apis: missing field `apis`");
        let e = load("apis:\n  - name: bank\n    spec: bank.yaml\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("gw.yaml:2:") && e.contains("/apis/0/upstream: missing field `upstream`"),
            "{e}"
        );
    }

    #[test]
    fn rejected_values_name_their_key() {
        let bad = [
            (
                "    base_path: v1\n",
                "/apis/0/base_path",
                "must start with `/`",
            ),
            (
                "    host: api.example.com:8443\n",
                "/apis/0/host",
                "has a port",
            ),
            ("    host: \"[::1]:8443\"\n", "/apis/0/host", "has a port"),
            (
                "    rate_limits: [{ key: ip, limit: 5, per: 1500ms }]\n",
                "/apis/0/rate_limits/0/per",
                "1500ms is not a whole number of seconds",
            ),
        ];
        for (extra, pointer, message) in bad {
            let e = load(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(
                e.starts_with("gw.yaml:5:") && e.contains(pointer) && e.contains(message),
                "{extra}: {e}"
            );
        }
        let c = load(&format!(
            "{MINIMAL}    host: API.example.com\n    base_path: /v1\n"
        ));
        assert!(c.is_ok(), "{c:?}");

        let jwt = |entries: &str| load(&format!("identity:\n  jwt:\n{entries}{MINIMAL}"));
        let e = jwt("    - { issuer: a }\n").unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:3:")
                && e.contains("/identity/jwt/0:")
                && e.contains("give `jwks`, `discovery` or `secret`"),
            "{e}"
        );
        let e = jwt("    - { issuer: a, secret: s }\n    - { issuer: a, jwks: k.json }\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("gw.yaml:4:")
                && e.contains("/identity/jwt/1/issuer")
                && e.contains("duplicate issuer \"a\""),
            "{e}"
        );
        let e = jwt("    - { issuer: a, secret: s, leeway: 500ms }\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/identity/jwt/0/leeway")
                && e.contains("500ms is not a whole number of seconds"),
            "{e}"
        );
        assert!(jwt("    - { issuer: a, secret: s, leeway: 0s }\n").is_ok());
    }

    #[test]
    fn mtls_mappings_and_client_auth_are_checked() {
        let mtls =
            |entries: &str| load(&format!("identity:\n  mtls:\n    map:\n{entries}{MINIMAL}"));
        let c = mtls(
            "      - { match: { subject_cn: billing-svc }, subject: billing, roles: [service] }\n      - { match: { san_uri: \"spiffe://example.org/x\" }, subject: x }\n",
        )
        .unwrap();
        let map = &c.identity.mtls.as_ref().unwrap().map;
        assert_eq!(map.len(), 2);
        assert_eq!(map[0].matcher.subject_cn.as_deref(), Some("billing-svc"));
        assert_eq!(map[0].roles, ["service"]);
        assert_eq!(
            map[1].matcher.san_uri.as_deref(),
            Some("spiffe://example.org/x")
        );
        assert!(map[1].roles.is_empty());
        let bad = [
            (
                "      - { match: { subject_cn: a }, subject: a }\n      - { match: { subject_cn: b, san_dns: b }, subject: b }\n",
                "gw.yaml:5:",
                "/identity/mtls/map/1/match:",
                "give exactly one of `subject_cn`, `san_dns`, `san_uri`",
            ),
            (
                "      - { match: {}, subject: a }\n",
                "gw.yaml:4:",
                "/identity/mtls/map/0/match:",
                "give exactly one of",
            ),
            (
                "      - { match: { san_dns: \"\" }, subject: a }\n",
                "gw.yaml:4:",
                "/identity/mtls/map/0/match:",
                "the name to match is empty",
            ),
            (
                "      - { match: { subject_cn: a }, subject: \"\" }\n",
                "gw.yaml:4:",
                "/identity/mtls/map/0/subject:",
                "the subject is empty",
            ),
            (
                "      - { match: { subject_cn: a } }\n",
                "gw.yaml:4:",
                "/identity/mtls/map/0/subject:",
                "missing field `subject`",
            ),
            (
                "      - { match: { issuer_cn: a }, subject: a }\n",
                "gw.yaml:4:",
                "/identity/mtls/map/0/match/issuer_cn:",
                "unknown field `issuer_cn`",
            ),
            (
                "      - { match: { subject_cn: a }, subject: a, scopes: [x] }\n",
                "gw.yaml:4:",
                "/identity/mtls/map/0/scopes:",
                "unknown field `scopes`",
            ),
        ];
        for (entries, line, pointer, message) in bad {
            let e = mtls(entries).unwrap_err().to_string();
            assert!(
                e.starts_with(line) && e.contains(pointer) && e.contains(message),
                "{entries}: {e}"
            );
        }

        let tls = |extra: &str| {
            load(&format!(
                "server:\n  tls:\n    cert: s.pem\n    key: s.key\n{extra}{MINIMAL}"
            ))
        };
        let c = tls("    client_ca: ca.pem\n    client_auth: optional\n").unwrap();
        let t = c.server.tls.unwrap();
        assert_eq!(t.client_auth, Some(super::super::ClientAuth::Optional));
        assert!(tls("    client_ca: ca.pem\n    client_auth: required\n").is_ok());
        let e = tls("    client_auth: optional\n").unwrap_err().to_string();
        assert!(
            e.starts_with("gw.yaml:5:")
                && e.contains("/server/tls/client_auth:")
                && e.contains("needs `client_ca`"),
            "{e}"
        );
        let e = tls("    client_ca: ca.pem\n    client_auth: maybe\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/server/tls/client_auth") && e.contains("unknown variant `maybe`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_and_empty_api_lists() {
        assert!(
            load("apis: [\n")
                .unwrap_err()
                .to_string()
                .contains("gw.yaml")
        );
        let e = load("apis: []\n").unwrap_err().to_string();
        assert!(e.contains("/apis") && e.contains("at least one API"), "{e}");
    }
}
