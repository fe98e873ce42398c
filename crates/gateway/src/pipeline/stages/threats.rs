//! Threat checks (`threats`): injection (SQL, XSS, command, traversal, LDAP, template, NoSQL
//! operator keys) in every free-text value of the query, the path, declared headers, cookies
//! and JSON or form bodies, and SSRF in URL-valued fields. Spec-aware: a value the schema
//! already holds to an enum, a format or a pattern is not inspected again, and neither are the
//! fields `threats.exclude` names. The reason names the field and the detector's fingerprint,
//! never the value.

use portcullis_inspect::injection::{Detector, Finding, Kind};
use portcullis_inspect::ssrf;
use portcullis_spec::ParameterIn;
use serde_json::Value;

use super::{RequestCtx, Verdict};
use crate::config::{Action, Mode};
use crate::problem::Denial;
use crate::proxy::BoxError;
use crate::runtime::protect::ThreatPlan;
use crate::validate::fields::Field;

/// Headers inspected at paranoia 2 and above, besides declared header parameters.
const COMMON_HEADERS: &[&str] = &["user-agent", "referer"];

/// The most strings of one request inspected (the rest of a huge body is left to the size
/// limits): bounds the work per request.
const MAX_VALUES: usize = 10_000;

/// The decision-log rule of a kind (from the gateway's registry).
fn rule(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqli => crate::rules::THREAT_SQLI,
        Kind::Xss => crate::rules::THREAT_XSS,
        Kind::Command => crate::rules::THREAT_CMD,
        Kind::Traversal => crate::rules::THREAT_TRAVERSAL,
        Kind::Ldap => crate::rules::THREAT_LDAP,
        Kind::Template => crate::rules::THREAT_SSTI,
        Kind::Nosql => crate::rules::THREAT_NOSQL,
    }
}

/// `sqli`, `xss`...: the names `threats.exclude[].kinds` uses.
fn short(kind: Kind) -> &'static str {
    let r = rule(kind);
    r.strip_prefix("threat.").unwrap_or(r)
}

/// What one request's inspection found first.
enum Hit {
    Injection(Finding, String),
    Ssrf(&'static str, String),
}

/// The inspection of one request.
struct Inspector<'a> {
    plan: &'a ThreatPlan,
    detector: Detector,
    injection: bool,
    ssrf: bool,
    inspected: usize,
}

impl Inspector<'_> {
    /// Checks a value for injection, minus the kinds excluded for it.
    fn injection(&mut self, value: &str, excluded: &dyn Fn(&str) -> bool) -> Option<Finding> {
        if !self.injection || self.inspected >= MAX_VALUES {
            return None;
        }
        self.inspected += 1;
        if Kind::ALL.iter().all(|k| !excluded(short(*k))) {
            return self.detector.check(value);
        }
        Kind::ALL
            .iter()
            .filter(|k| !excluded(short(**k)))
            .find_map(|k| self.detector.check_kind(value, *k))
    }

    fn url(&self, value: &str, extra_hosts: &[String]) -> Option<&'static str> {
        if !self.ssrf {
            return None;
        }
        if extra_hosts.is_empty() {
            return ssrf::check_url(value, &self.plan.allow_hosts).map(|r| r.reason);
        }
        let mut hosts = self.plan.allow_hosts.clone();
        hosts.extend(extra_hosts.iter().cloned());
        ssrf::check_url(value, &hosts).map(|r| r.reason)
    }

    fn param(&mut self, location: ParameterIn, name: &str, value: &str) -> Option<Hit> {
        let declared = self
            .plan
            .params
            .iter()
            .find(|p| p.location == location && p.name.eq_ignore_ascii_case(name));
        let field = format!("{}.{name}", location.as_str());
        let plan = self.plan;
        if location == ParameterIn::Query
            && self.injection
            && !plan.excluded_param(location, name, "nosql")
            && let Some(f) = self.detector.check_key(name)
        {
            return Some(Hit::Injection(f, field));
        }
        if declared.is_none_or(|d| d.uri) || ssrf::is_url_name(name) {
            let looks_like_url = declared.is_some_and(|d| d.uri) || ssrf::is_url_name(name);
            if looks_like_url && !plan.excluded_param(location, name, "ssrf") {
                let hosts: Vec<String> = plan
                    .ssrf_allow
                    .iter()
                    .filter(|(p, _)| p.matches_param(location, name))
                    .flat_map(|(_, h)| h.iter().cloned())
                    .collect();
                if let Some(reason) = self.url(value, &hosts) {
                    return Some(Hit::Ssrf(reason, field));
                }
            }
        }
        if declared.is_some_and(|d| !d.free) {
            return None;
        }
        let excluded = |kind: &str| plan.excluded_param(location, name, kind);
        self.injection(value, &excluded)
            .map(|f| Hit::Injection(f, field))
    }

    /// Whether the body field at `path` is excluded from `kind`'s checks.
    fn excluded_at(&self, path: &[Seg<'_>], kind: &str) -> bool {
        // Most plans exclude nothing: no path is spelled out then.
        if self.plan.exclude.is_empty() {
            return false;
        }
        let owned = spelled(path);
        let segs: Vec<&str> = owned.iter().map(String::as_str).collect();
        self.plan.excluded_body(&segs, kind)
    }

    /// The hosts the URL field at `path` may name besides `allow_hosts`.
    fn hosts_at(&self, path: &[Seg<'_>]) -> Vec<String> {
        if self.plan.ssrf_allow.is_empty() {
            return Vec::new();
        }
        let owned = spelled(path);
        let segs: Vec<&str> = owned.iter().map(String::as_str).collect();
        self.plan
            .ssrf_allow
            .iter()
            .filter(|(p, _)| p.matches_body(&segs))
            .flat_map(|(_, h)| h.iter().cloned())
            .collect()
    }

    /// Walks a JSON value along its schema.
    fn json<'v>(
        &mut self,
        value: &'v Value,
        field: Option<&Field>,
        path: &mut Vec<Seg<'v>>,
    ) -> Option<Hit> {
        if self.inspected >= MAX_VALUES {
            return None;
        }
        match value {
            Value::String(s) => {
                let name = match path.last() {
                    Some(Seg::Key(k)) => k,
                    _ => "",
                };
                let is_url = field.is_some_and(Field::uri) || ssrf::is_url_name(name);
                if is_url && !self.excluded_at(path, "ssrf") {
                    let hosts = self.hosts_at(path);
                    if let Some(reason) = self.url(s, &hosts) {
                        return Some(Hit::Ssrf(reason, pointer(path)));
                    }
                }
                if field.is_some_and(|f| !f.free_string()) {
                    return None;
                }
                let excluded = |kind: &str| self.excluded_at(path, kind);
                let found = if self.plan.exclude.is_empty() {
                    self.injection(s, &|_| false)
                } else {
                    // The closure borrows `self`: decide the exclusions first.
                    let kinds: Vec<&'static str> = Kind::ALL
                        .iter()
                        .map(|k| short(*k))
                        .filter(|k| excluded(k))
                        .collect();
                    self.injection(s, &|k| kinds.contains(&k))
                };
                found.map(|f| Hit::Injection(f, pointer(path)))
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let child = field.and_then(|f| f.property(k));
                    let declared = field.is_some_and(|f| f.declares(k));
                    path.push(Seg::Key(k));
                    if !declared && self.injection && k.starts_with('$') {
                        let excluded = self.excluded_at(path, "nosql");
                        let found = (!excluded).then(|| self.detector.check_key(k)).flatten();
                        if let Some(f) = found {
                            return Some(Hit::Injection(f, pointer(path)));
                        }
                    }
                    let hit = self.json(v, child, path);
                    path.pop();
                    if hit.is_some() {
                        return hit;
                    }
                }
                None
            }
            Value::Array(items) => {
                let item = field.and_then(Field::item);
                for (i, v) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    let hit = self.json(v, item, path);
                    path.pop();
                    if hit.is_some() {
                        return hit;
                    }
                }
                None
            }
            _ => None,
        }
    }
}

/// One step of a path into a JSON body: a property or an array index.
#[derive(Clone, Copy)]
enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

/// The steps of `path` as text (`threats.exclude` patterns match on them).
fn spelled(path: &[Seg<'_>]) -> Vec<String> {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => (*k).to_owned(),
            Seg::Index(i) => i.to_string(),
        })
        .collect()
}

/// The field's JSON pointer under `body`, for the reason.
fn pointer(path: &[Seg<'_>]) -> String {
    let mut p = String::from("body");
    for s in spelled(path) {
        p.push('/');
        p.push_str(&s.replace('~', "~0").replace('/', "~1"));
    }
    p
}

/// The request phase.
pub(crate) async fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let plan = match r.plan {
        Some(p) => p.threats.as_deref(),
        None => r.api.undocumented_threats.as_deref(),
    };
    let Some(plan) = plan else {
        return Verdict::Continue;
    };
    let mut inspector = Inspector {
        plan,
        detector: Detector::new(plan.paranoia),
        injection: plan.injection != Action::Off,
        ssrf: plan.ssrf != Action::Off,
        inspected: 0,
    };
    let hit = find(r, &mut inspector).await;
    let Some(hit) = hit else {
        return Verdict::Continue;
    };
    let (denial, action) = match hit {
        Hit::Injection(f, field) => (
            Denial::new(
                403,
                rule(f.kind),
                format!(
                    "{} in {field} (fingerprint {})",
                    short(f.kind),
                    f.fingerprint
                ),
            ),
            plan.injection,
        ),
        Hit::Ssrf(reason, field) => (
            Denial::new(
                403,
                crate::rules::THREAT_SSRF,
                format!("{field} names a forbidden target: {reason}"),
            ),
            plan.ssrf,
        ),
    };
    let denial = denial.detail("the request was refused by the gateway's threat checks");
    let mode = if action == Action::Log {
        Mode::Monitor
    } else {
        r.api.mode
    };
    r.outcome.flags.push(denial.rule);
    Verdict::Deny(denial, mode)
}

async fn find<B>(r: &mut RequestCtx<'_, '_, '_, B>, inspector: &mut Inspector<'_>) -> Option<Hit>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let plan = inspector.plan;
    let query: Vec<(String, String)> = r.query().to_vec();
    for (k, v) in &query {
        if let Some(hit) = inspector.param(ParameterIn::Query, k, v) {
            return Some(hit);
        }
    }
    for p in plan
        .params
        .iter()
        .filter(|p| p.location == ParameterIn::Path)
    {
        if let Some(v) = r.params.get(&p.name)
            && let Some(hit) = inspector.param(ParameterIn::Path, &p.name, &v)
        {
            return Some(hit);
        }
    }
    let paranoid = plan.paranoia >= 2;
    for p in plan
        .params
        .iter()
        .filter(|p| p.location == ParameterIn::Header)
    {
        for v in r.parts.headers.get_all(p.name.as_str()) {
            if let Ok(v) = v.to_str()
                && let Some(hit) = inspector.param(ParameterIn::Header, &p.name, v)
            {
                return Some(hit);
            }
        }
    }
    if paranoid {
        for name in COMMON_HEADERS {
            for v in r.parts.headers.get_all(*name) {
                if let Ok(v) = v.to_str()
                    && let Some(hit) = inspector.param(ParameterIn::Header, name, v)
                {
                    return Some(hit);
                }
            }
        }
    }
    if let Ok(cookies) = crate::validate::params::cookie_pairs(&r.parts.headers) {
        for (k, v) in &cookies {
            let declared = plan
                .params
                .iter()
                .any(|p| p.location == ParameterIn::Cookie && p.name == *k);
            if (declared || paranoid)
                && let Some(hit) = inspector.param(ParameterIn::Cookie, k, v)
            {
                return Some(hit);
            }
        }
    }
    if !r.has_body() {
        return None;
    }
    let content_type = super::response::answer::media_type(&r.parts.headers);
    let max_depth = r.env.gw.config.server.limits.max_json_depth;
    let body = r.read_body().await.ok()?.clone();
    let field = plan.body.as_ref();
    if super::response::answer::is_json(&content_type) {
        // Validation parsed these same bytes with the same reader when it checked them.
        let parsed = match r.json.take() {
            Some(value) => Ok(*value),
            None => crate::validate::json::parse_strict(&body, max_depth),
        };
        return match parsed {
            Ok(value) => inspector.json(&value, field, &mut Vec::new()),
            // Not JSON after all: the text is inspected as it is.
            Err(_) => {
                let text = String::from_utf8_lossy(&body);
                let excluded = |kind: &str| plan.excluded_body(&[], kind);
                inspector
                    .injection(&text, &excluded)
                    .map(|f| Hit::Injection(f, "body".to_owned()))
            }
        };
    }
    if content_type == "application/x-www-form-urlencoded" {
        // Pair by pair: a name sent twice has each of its values inspected.
        for (k, v) in url::form_urlencoded::parse(&body) {
            let single: serde_json::Map<String, Value> =
                std::iter::once((k.into_owned(), Value::String(v.into_owned()))).collect();
            if let Some(hit) = inspector.json(&Value::Object(single), field, &mut Vec::new()) {
                return Some(hit);
            }
        }
        return None;
    }
    if content_type.starts_with("text/") {
        let text = String::from_utf8_lossy(&body);
        let excluded = |kind: &str| plan.excluded_body(&[], kind);
        return inspector
            .injection(&text, &excluded)
            .map(|f| Hit::Injection(f, "body".to_owned()));
    }
    None
}
