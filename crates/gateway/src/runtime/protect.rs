//! Compiling `threats`, `response` and `cors` of one API, with each operation's
//! `x-portcullis-threats` and `x-portcullis-response` overrides, into the plans the stages read.

use std::sync::Arc;

use jsonschema::Validator;
use portcullis_spec::{Catalog, Operation, ParameterIn};

use super::{BuildError, config_error};
use crate::config::protect::{
    CorsConfig, OverLimit, ResponseAction, ResponseConfig, ResponseOverride, SensitiveAction,
    ThreatsConfig, ThreatsOverride, Undeclared, field_error,
};
use crate::config::{Action, Config};
use crate::validate::MediaKind;
use crate::validate::fields::Field;
use crate::validate::schema::compile;

/// What is checked on one operation's answers.
#[derive(Debug)]
pub struct ResponsePlan {
    /// Against the declared schema.
    pub validate: ResponseAction,
    /// Undeclared properties.
    pub undeclared: Undeclared,
    /// Sensitive data.
    pub sensitive: SensitiveAction,
    /// Opt-in detectors: emails.
    pub emails: bool,
    /// Opt-in detectors: phone numbers.
    pub phones: bool,
    /// Error bodies with internals are replaced.
    pub sanitize: bool,
    /// Secure headers added, revealing ones removed.
    pub security_headers: bool,
    /// Largest body inspected.
    pub max_inspect: usize,
    /// Over `max_inspect`, or not decodable.
    pub over_limit: OverLimit,
    /// `text/*` bodies are inspected too.
    pub inspect_text: bool,
    /// The declared answers (status key and media types), in document order.
    pub answers: Vec<AnswerSpec>,
}

/// A declared status key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKey {
    /// `"200"`.
    Exact(u16),
    /// `"2XX"`: the hundreds digit.
    Class(u16),
    /// `"default"`.
    Default,
}

/// One declared answer.
#[derive(Debug)]
pub struct AnswerSpec {
    /// Its status key.
    pub status: StatusKey,
    /// Its media types.
    pub media: Vec<AnswerMedia>,
}

/// One declared media type of an answer.
#[derive(Debug)]
pub struct AnswerMedia {
    /// Lower case, without parameters (`application/json`, `*/*`).
    pub range: String,
    /// JSON, or not inspected against a schema.
    pub kind: MediaKind,
    /// Compiled when `validate` is on and a schema is declared.
    pub validator: Option<Validator>,
    /// Compiled when `undeclared_fields: strip` and a schema is declared.
    pub field: Option<Field>,
}

impl ResponsePlan {
    /// The declared answer for `status`: exact, then its class, then `default`.
    pub fn answer_for(&self, status: u16) -> Option<&AnswerSpec> {
        let find = |key: StatusKey| self.answers.iter().find(|a| a.status == key);
        find(StatusKey::Exact(status))
            .or_else(|| find(StatusKey::Class(status / 100)))
            .or_else(|| find(StatusKey::Default))
    }

    /// Whether any check needs the body.
    pub fn reads_body(&self) -> bool {
        self.validate != ResponseAction::Off
            || self.undeclared == Undeclared::Strip
            || self.sensitive != SensitiveAction::Off
            || self.sanitize
    }
}

impl AnswerSpec {
    /// The declared media type a `Content-Type` falls under (exact, `type/*`, `*/*`).
    pub fn media_for(&self, content_type: &str) -> Option<&AnswerMedia> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let top = essence.split('/').next().unwrap_or_default();
        self.media
            .iter()
            .find(|m| m.range == essence)
            .or_else(|| {
                self.media
                    .iter()
                    .find(|m| m.range.strip_suffix("/*") == Some(top))
            })
            .or_else(|| self.media.iter().find(|m| m.range == "*/*"))
    }
}

fn status_key(key: &str) -> Option<StatusKey> {
    if key == "default" {
        return Some(StatusKey::Default);
    }
    let bytes = key.as_bytes();
    if bytes.len() == 3 && key[1..].eq_ignore_ascii_case("xx") {
        return key[..1]
            .parse()
            .ok()
            .filter(|d| (1..=5).contains(d))
            .map(StatusKey::Class);
    }
    key.parse().ok().map(StatusKey::Exact)
}

fn media_kind(range: &str) -> MediaKind {
    if range == "application/json" || range.ends_with("+json") {
        MediaKind::Json
    } else {
        MediaKind::Other
    }
}

/// The response plan of `op` (`None`: the API's undocumented requests), or none when the API
/// has no `response` section.
pub fn response_plan(
    config: &Config,
    api_index: usize,
    api_name: &str,
    response: Option<&ResponseConfig>,
    catalog: &Catalog,
    op: Option<&Operation>,
) -> Result<Option<Arc<ResponsePlan>>, BuildError> {
    let overrides = match op.and_then(|o| o.extensions.get("x-portcullis-response")) {
        Some(v) => Some(
            serde_json::from_value::<ResponseOverride>(v.clone())
                .map_err(|e| extension_error(config, api_index, op, "x-portcullis-response", &e))?,
        ),
        None => None,
    };
    let Some(base) = response else {
        if overrides.is_some() {
            return Err(extension_without_section(config, api_index, op, "response"));
        }
        return Ok(None);
    };
    let o = overrides.unwrap_or_default();
    let validate = o.validate.unwrap_or(base.validate);
    let undeclared = o.undeclared_fields.unwrap_or(base.undeclared_fields);
    let mut answers = Vec::new();
    if let Some(op) = op
        && (validate != ResponseAction::Off || undeclared == Undeclared::Strip)
    {
        for (key, answer) in &op.responses {
            let Some(status) = status_key(key) else {
                continue;
            };
            let mut media = Vec::new();
            for (range, m) in &answer.content {
                let range = range
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let kind = media_kind(&range);
                let (validator, field) = match (&m.schema, kind) {
                    (Some(schema), MediaKind::Json) => (
                        (validate != ResponseAction::Off)
                            .then(|| compile(catalog, schema, false))
                            .transpose()
                            .map_err(|error| BuildError::Schema {
                                api: api_name.to_owned(),
                                error,
                            })?,
                        (undeclared == Undeclared::Strip)
                            .then(|| Field::compile(catalog, &schema.value)),
                    ),
                    _ => (None, None),
                };
                media.push(AnswerMedia {
                    range,
                    kind,
                    validator,
                    field,
                });
            }
            answers.push(AnswerSpec { status, media });
        }
    }
    Ok(Some(Arc::new(ResponsePlan {
        validate,
        undeclared,
        sensitive: o.sensitive_data.unwrap_or(base.sensitive_data),
        emails: base.sensitive_optional.iter().any(|k| k == "email"),
        phones: base.sensitive_optional.iter().any(|k| k == "phone"),
        sanitize: o.sanitize_errors.unwrap_or(base.sanitize_errors),
        security_headers: base.security_headers,
        max_inspect: usize::try_from(base.max_inspect.0).unwrap_or(usize::MAX),
        over_limit: base.over_limit,
        inspect_text: base.inspect_text,
        answers,
    })))
}

fn extension_error(
    config: &Config,
    api_index: usize,
    op: Option<&Operation>,
    name: &str,
    error: &serde_json::Error,
) -> BuildError {
    let (id, at) = op.map_or(("?".to_owned(), String::new()), |o| {
        (
            o.id.clone(),
            format!("{}:{}", o.location.file, o.location.line),
        )
    });
    config_error(
        config,
        format!("/apis/{api_index}/spec"),
        format!("operation {id} ({at}): {name}: {error}"),
    )
}

fn extension_without_section(
    config: &Config,
    api_index: usize,
    op: Option<&Operation>,
    section: &str,
) -> BuildError {
    let id = op.map_or("?", |o| o.id.as_str());
    config_error(
        config,
        format!("/apis/{api_index}/{section}"),
        format!(
            "operation {id} has x-portcullis-{section} but the API has no `{section}` section: \
             add one (the extension only changes what it sets)"
        ),
    )
}

/// One field pattern (`query.q`, `body/items/*/note`), split for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPattern {
    /// A parameter: its location and name (header names lower case).
    Param(ParameterIn, String),
    /// A body pointer's segments (`*` matches one).
    Body(Vec<String>),
}

impl FieldPattern {
    /// Parses a well-formed field name (see `config::protect::field_error`).
    pub fn parse(field: &str) -> Option<FieldPattern> {
        if let Some(pointer) = field.strip_prefix("body") {
            let segments = pointer
                .split('/')
                .skip(1)
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect();
            return Some(FieldPattern::Body(segments));
        }
        let (location, name) = field.split_once('.')?;
        let location = match location {
            "query" => ParameterIn::Query,
            "path" => ParameterIn::Path,
            "header" => {
                return Some(FieldPattern::Param(
                    ParameterIn::Header,
                    name.to_ascii_lowercase(),
                ));
            }
            "cookie" => ParameterIn::Cookie,
            _ => return None,
        };
        Some(FieldPattern::Param(location, name.to_owned()))
    }

    /// Whether a body value at `path` (segments from the root) matches.
    pub fn matches_body(&self, path: &[&str]) -> bool {
        match self {
            FieldPattern::Body(segments) => {
                segments.len() <= path.len()
                    && segments.iter().zip(path).all(|(s, p)| s == "*" || s == p)
            }
            FieldPattern::Param(..) => false,
        }
    }

    /// Whether a parameter matches.
    pub fn matches_param(&self, location: ParameterIn, name: &str) -> bool {
        match self {
            FieldPattern::Param(l, n) => {
                *l == location
                    && if location == ParameterIn::Header {
                        n.eq_ignore_ascii_case(name)
                    } else {
                        n == name
                    }
            }
            FieldPattern::Body(_) => false,
        }
    }
}

/// An exclusion: a field and the kinds not checked there (empty: all).
#[derive(Debug, Clone)]
pub struct Exclusion {
    /// The field.
    pub field: FieldPattern,
    /// Rule kinds (`sqli`, `ssrf`...); empty: every kind.
    pub kinds: Vec<String>,
}

impl Exclusion {
    /// Whether `kind` is excluded.
    pub fn covers(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind)
    }
}

/// A declared parameter's inspection.
#[derive(Debug, Clone)]
pub struct ParamShape {
    /// Where.
    pub location: ParameterIn,
    /// Its name.
    pub name: String,
    /// Free text (inspected for injection).
    pub free: bool,
    /// A URL (checked for SSRF).
    pub uri: bool,
}

/// What the threat checks look at on one operation.
#[derive(Debug)]
pub struct ThreatPlan {
    /// Injection checks.
    pub injection: Action,
    /// SSRF checks.
    pub ssrf: Action,
    /// 1 to 3.
    pub paranoia: u8,
    /// Declared parameters.
    pub params: Vec<ParamShape>,
    /// The JSON, form or multipart body's shape (merged over media types).
    pub body: Option<Field>,
    /// Fields not inspected.
    pub exclude: Vec<Exclusion>,
    /// Hosts any URL field may name.
    pub allow_hosts: Vec<String>,
    /// Hosts particular URL fields may name.
    pub ssrf_allow: Vec<(FieldPattern, Vec<String>)>,
}

impl ThreatPlan {
    /// Whether `kind` is excluded for `field`.
    pub fn excluded_param(&self, location: ParameterIn, name: &str, kind: &str) -> bool {
        self.exclude
            .iter()
            .any(|e| e.field.matches_param(location, name) && e.covers(kind))
    }

    /// Whether `kind` is excluded at a body path.
    pub fn excluded_body(&self, path: &[&str], kind: &str) -> bool {
        self.exclude
            .iter()
            .any(|e| e.field.matches_body(path) && e.covers(kind))
    }
}

fn string_shape(catalog: &Catalog, schema: Option<&portcullis_spec::Schema>) -> (bool, bool) {
    let Some(schema) = schema else {
        return (true, false);
    };
    let field = Field::compile(catalog, &schema.value);
    (field.free_string(), field.uri())
}

/// The threat plan of `op` (`None`: undocumented requests), or none without `threats`.
pub fn threat_plan(
    config: &Config,
    api_index: usize,
    threats: Option<&ThreatsConfig>,
    catalog: &Catalog,
    op: Option<&Operation>,
) -> Result<Option<Arc<ThreatPlan>>, BuildError> {
    let overrides = match op.and_then(|o| o.extensions.get("x-portcullis-threats")) {
        Some(v) => Some(
            serde_json::from_value::<ThreatsOverride>(v.clone())
                .map_err(|e| extension_error(config, api_index, op, "x-portcullis-threats", &e))?,
        ),
        None => None,
    };
    let Some(base) = threats else {
        if overrides.is_some() {
            return Err(extension_without_section(config, api_index, op, "threats"));
        }
        return Ok(None);
    };
    let o = overrides.unwrap_or_default();
    let op_id = op.map(|o| o.id.as_str());
    let applies = |operation: &Option<String>| operation.is_none() || operation.as_deref() == op_id;
    let mut exclude: Vec<Exclusion> = base
        .exclude
        .iter()
        .filter(|e| applies(&e.operation))
        .filter_map(|e| {
            Some(Exclusion {
                field: FieldPattern::parse(&e.field)?,
                kinds: e.kinds.clone(),
            })
        })
        .collect();
    for (j, f) in o.exclude.iter().enumerate() {
        if let Some(message) = field_error(f) {
            let id = op_id.unwrap_or("?");
            return Err(config_error(
                config,
                format!("/apis/{api_index}/spec"),
                format!("operation {id}: x-portcullis-threats: exclude/{j}: {message}"),
            ));
        }
        if let Some(field) = FieldPattern::parse(f) {
            exclude.push(Exclusion {
                field,
                kinds: Vec::new(),
            });
        }
    }
    let paranoia = o.paranoia.unwrap_or(base.paranoia);
    if !(1..=3).contains(&paranoia) {
        let id = op_id.unwrap_or("?");
        return Err(config_error(
            config,
            format!("/apis/{api_index}/spec"),
            format!("operation {id}: x-portcullis-threats: paranoia {paranoia}: give 1, 2 or 3"),
        ));
    }
    let params = op.map_or_else(Vec::new, |op| {
        op.parameters
            .iter()
            .map(|p| {
                let (free, uri) = string_shape(catalog, p.schema.as_ref());
                ParamShape {
                    location: p.location_in,
                    name: if p.location_in == ParameterIn::Header {
                        p.name.to_ascii_lowercase()
                    } else {
                        p.name.clone()
                    },
                    free,
                    uri,
                }
            })
            .collect()
    });
    let body = op.and_then(|op| op.request_body.as_ref()).map(|b| {
        let mut field: Option<Field> = None;
        for m in b.content.values() {
            let f = m
                .schema
                .as_ref()
                .map_or_else(Field::anything, |s| Field::compile(catalog, &s.value));
            field = Some(match field.take() {
                None => f,
                Some(mut acc) => {
                    acc.merge(f);
                    acc
                }
            });
        }
        field.unwrap_or_else(Field::anything)
    });
    Ok(Some(Arc::new(ThreatPlan {
        injection: o.injection.unwrap_or(base.injection),
        ssrf: o.ssrf.unwrap_or(base.ssrf),
        paranoia,
        params,
        body,
        exclude,
        allow_hosts: base.allow_hosts.clone(),
        ssrf_allow: base
            .ssrf_allow
            .iter()
            .filter(|a| applies(&a.operation))
            .filter_map(|a| Some((FieldPattern::parse(&a.field)?, a.hosts.clone())))
            .collect(),
    })))
}

/// CORS of one API.
#[derive(Debug)]
pub struct CorsPlan {
    /// Allowed origins, exactly as browsers send them; `any` for `*`.
    pub origins: Vec<String>,
    /// `*` was listed (never with credentials).
    pub any: bool,
    /// Allowed methods, upper case.
    pub methods: Vec<String>,
    /// Allowed request headers, lower case.
    pub headers: Vec<String>,
    /// `Access-Control-Allow-Methods`.
    pub methods_value: String,
    /// `Access-Control-Expose-Headers` (empty: not sent).
    pub expose_value: String,
    /// `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// `Access-Control-Max-Age`, seconds.
    pub max_age: u64,
}

impl CorsPlan {
    /// Whether a request from `origin` may read answers.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.any || self.origins.iter().any(|o| o == origin)
    }
}

/// The CORS plan of an API.
pub fn cors_plan(cors: Option<&CorsConfig>) -> Option<Arc<CorsPlan>> {
    let c = cors?;
    Some(Arc::new(CorsPlan {
        origins: c.origins.iter().filter(|o| *o != "*").cloned().collect(),
        any: c.origins.iter().any(|o| o == "*"),
        methods: c.methods.clone(),
        headers: c.headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        methods_value: c.methods.join(", "),
        expose_value: c.expose_headers.join(", "),
        credentials: c.credentials,
        max_age: c.max_age.0.as_secs(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keys_and_field_patterns() {
        assert_eq!(status_key("200"), Some(StatusKey::Exact(200)));
        assert_eq!(status_key("4XX"), Some(StatusKey::Class(4)));
        assert_eq!(status_key("5xx"), Some(StatusKey::Class(5)));
        assert_eq!(status_key("default"), Some(StatusKey::Default));
        assert_eq!(status_key("9XX"), None);
        let p = FieldPattern::parse("body/items/*/note").unwrap();
        assert!(p.matches_body(&["items", "3", "note"]));
        assert!(p.matches_body(&["items", "3", "note", "deeper"]));
        assert!(!p.matches_body(&["items", "3", "title"]));
        let h = FieldPattern::parse("header.User-Agent").unwrap();
        assert!(h.matches_param(ParameterIn::Header, "user-agent"));
        assert!(!h.matches_param(ParameterIn::Query, "user-agent"));
    }
}
