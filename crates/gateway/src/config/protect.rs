//! `apis[].threats`, `apis[].response` and `apis[].cors`: threat and data-exposure protection
//! (docs/config.md, "Threats", "Response checks", "CORS"), and their per-operation overrides
//! (`x-portcullis-threats`, `x-portcullis-response` in the spec).

use serde::Deserialize;

use super::units::ByteSize;
use super::{Action, Dur};

/// `threats:`: injection and SSRF checks on the request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatsConfig {
    /// SQL, XSS, command, traversal, LDAP, template and NoSQL injection: `block`, `log`, `off`.
    #[serde(default)]
    pub injection: Action,
    /// Server-side request forgery through URL-valued fields: `block`, `log`, `off`.
    #[serde(default)]
    pub ssrf: Action,
    /// 1 (fewest false positives) to 3.
    #[serde(default = "one")]
    pub paranoia: u8,
    /// Fields (and optionally kinds) not inspected.
    #[serde(default)]
    pub exclude: Vec<ThreatExclude>,
    /// Hosts a URL-valued field may always name (`hooks.example.com`, `*.example.com`).
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Per-field host allowlists for URL-valued fields.
    #[serde(default)]
    pub ssrf_allow: Vec<SsrfAllow>,
}

fn one() -> u8 {
    1
}

/// One `threats.exclude` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatExclude {
    /// The operation id (default: every operation).
    pub operation: Option<String>,
    /// `query.NAME`, `path.NAME`, `header.NAME`, `cookie.NAME`, or `body/POINTER` (a JSON
    /// pointer into the body; `*` matches any one segment, such as an array index).
    pub field: String,
    /// Only these kinds are not checked (`sqli`, `xss`, `cmd`, `traversal`, `ldap`, `ssti`,
    /// `nosql`, `ssrf`); default: all.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// One `threats.ssrf_allow` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsrfAllow {
    /// The operation id (default: every operation).
    pub operation: Option<String>,
    /// The field, as in [`ThreatExclude::field`].
    pub field: String,
    /// The hosts it may name.
    pub hosts: Vec<String>,
}

/// `x-portcullis-threats` on an operation: what differs from the API's `threats`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatsOverride {
    /// See [`ThreatsConfig::injection`].
    pub injection: Option<Action>,
    /// See [`ThreatsConfig::ssrf`].
    pub ssrf: Option<Action>,
    /// See [`ThreatsConfig::paranoia`].
    pub paranoia: Option<u8>,
    /// Fields of this operation not inspected (`operation` is implied).
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `response.validate`: the upstream's answer against its declared schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseAction {
    /// Not checked.
    #[default]
    Off,
    /// Logged (decision `monitor`), passed.
    Log,
    /// Replaced by 502 problem+json.
    Block,
}

/// `response.undeclared_fields`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Undeclared {
    /// Passed as sent.
    #[default]
    Keep,
    /// Removed at every depth (a property any branch of allOf/anyOf/oneOf declares stays).
    Strip,
}

/// `response.sensitive_data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveAction {
    /// Not looked for.
    #[default]
    Off,
    /// Found and logged (decision `monitor`), passed.
    Log,
    /// Masked in place; the kinds seen are logged.
    Mask,
    /// The answer is replaced by 502 problem+json.
    Block,
}

/// `response.over_limit`: an answer over `max_inspect`, or one that cannot be decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverLimit {
    /// Passed uninspected, logged as `response.uninspected`.
    #[default]
    Pass,
    /// Replaced by 502 problem+json.
    Block,
}

/// `response:`: checks on the upstream's answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseConfig {
    /// The body against the schema declared for its status and media type.
    #[serde(default)]
    pub validate: ResponseAction,
    /// Properties the schema does not declare.
    #[serde(default)]
    pub undeclared_fields: Undeclared,
    /// Card numbers, IBANs, SSNs, keys, tokens, password hashes, secret-named properties.
    #[serde(default)]
    pub sensitive_data: SensitiveAction,
    /// Opt-in detectors: `email`, `phone`.
    #[serde(default)]
    pub sensitive_optional: Vec<String>,
    /// Error answers (5xx, and 4xx bodies) carrying a stack trace, an SQL error, a file path
    /// or a debug page are replaced by problem+json with the request id.
    #[serde(default = "yes")]
    pub sanitize_errors: bool,
    /// OWASP secure headers added unless the upstream set them; `Server`, `X-Powered-By`,
    /// `X-AspNet-Version`, `X-AspNetMvc-Version` removed.
    #[serde(default = "yes")]
    pub security_headers: bool,
    /// The largest body inspected (decompressed).
    #[serde(default = "default_max_inspect")]
    pub max_inspect: ByteSize,
    /// What happens to an answer over `max_inspect` or that cannot be decoded.
    #[serde(default)]
    pub over_limit: OverLimit,
    /// Also inspect `text/*` bodies (masking sensitive data in them); JSON is always inspected.
    #[serde(default)]
    pub inspect_text: bool,
}

fn yes() -> bool {
    true
}

fn default_max_inspect() -> ByteSize {
    ByteSize(1 << 20)
}

/// `x-portcullis-response` on an operation: what differs from the API's `response`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseOverride {
    /// See [`ResponseConfig::validate`].
    pub validate: Option<ResponseAction>,
    /// See [`ResponseConfig::undeclared_fields`].
    pub undeclared_fields: Option<Undeclared>,
    /// See [`ResponseConfig::sensitive_data`].
    pub sensitive_data: Option<SensitiveAction>,
    /// See [`ResponseConfig::sanitize_errors`].
    pub sanitize_errors: Option<bool>,
}

/// `cors:`: cross-origin requests from browsers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Allowed origins (`https://app.example.com`, exactly), or `"*"` (never with credentials).
    pub origins: Vec<String>,
    /// Allowed methods (default GET, HEAD, POST).
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Allowed request headers besides the CORS-safelisted ones.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Response headers a page may read besides the safelisted ones.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Cookies and credentials may be sent.
    #[serde(default)]
    pub credentials: bool,
    /// How long a browser may cache a preflight.
    #[serde(default = "default_max_age")]
    pub max_age: Dur,
}

fn default_methods() -> Vec<String> {
    ["GET", "HEAD", "POST"].map(str::to_owned).to_vec()
}

fn default_max_age() -> Dur {
    Dur(std::time::Duration::from_secs(600))
}

/// The kinds `threats.exclude[].kinds` may name.
pub const THREAT_KINDS: &[&str] = &[
    "sqli",
    "xss",
    "cmd",
    "traversal",
    "ldap",
    "ssti",
    "nosql",
    "ssrf",
];

/// Checks a field name (`query.q`, `body/items/*/note`): `None` when well-formed.
pub fn field_error(field: &str) -> Option<String> {
    if let Some(pointer) = field.strip_prefix("body") {
        if pointer.is_empty() || pointer.starts_with('/') {
            return None;
        }
        return Some(format!(
            "{field:?}: a body field is `body` or `body/POINTER` (a JSON pointer)"
        ));
    }
    match field.split_once('.') {
        Some(("query" | "path" | "header" | "cookie", name)) if !name.is_empty() => None,
        _ => Some(format!(
            "{field:?}: name a field as query.NAME, path.NAME, header.NAME, cookie.NAME or body/POINTER"
        )),
    }
}

/// Checks a CORS origin: `scheme://host[:port]`, no path, or `*`.
pub fn origin_error(origin: &str) -> Option<String> {
    if origin == "*" {
        return None;
    }
    let Ok(url) = url::Url::parse(origin) else {
        return Some(format!(
            "{origin:?} is not an origin (scheme://host[:port])"
        ));
    };
    let serialized = url.origin().ascii_serialization();
    if serialized == "null" || serialized != origin.trim_end_matches('/') || url.path() != "/" {
        return Some(format!(
            "{origin:?} is not an origin: write it as {serialized:?} (scheme://host[:port], lower case, no path)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_origins_are_checked() {
        for ok in [
            "query.q",
            "header.user-agent",
            "body",
            "body/items/*/note",
            "cookie.s",
        ] {
            assert_eq!(field_error(ok), None, "{ok}");
        }
        for bad in ["q", "query.", "form.x", "bodyx", "body.x"] {
            assert!(field_error(bad).is_some(), "{bad}");
        }
        for ok in ["*", "https://app.example.com", "http://127.0.0.1:8080"] {
            assert_eq!(origin_error(ok), None, "{ok}");
        }
        for bad in [
            "app.example.com",
            "https://app.example.com/path",
            "HTTPS://App.example.com",
            "null",
        ] {
            assert!(origin_error(bad).is_some(), "{bad}");
        }
    }
}
