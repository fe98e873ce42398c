//! In-document suppressions: `x-portcullis-ignore` on any object silences rules for that object
//! and everything below it.
//!
//! ```yaml
//! x-portcullis-ignore:
//!   - rule: PC-INPUT-001
//!     reason: legacy field, bounded by the database column
//!   - { rule: [PC-INPUT-002, PC-INPUT-004], reason: validated by the upstream }
//! ```
//!
//! A suppression needs a `reason`: one without (a bare id, or an entry with an empty reason)
//! silences nothing and is itself reported (PC-META-001); an unknown rule id is reported too
//! (PC-META-002).

use std::sync::Arc;

use portcullis_spec::{Catalog, pointer};
use serde_json::Value;

/// The extension key.
pub const KEY: &str = "x-portcullis-ignore";

/// One entry of an `x-portcullis-ignore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The file it is written in.
    pub file: Arc<str>,
    /// Pointer of the object carrying it: findings at or below it are silenced.
    pub scope: String,
    /// Pointer of the entry itself (for findings about the suppression).
    pub entry: String,
    /// The rule id named (`None` when the entry names none).
    pub rule: Option<String>,
    /// The justification (`None` when missing or blank).
    pub reason: Option<String>,
}

impl Suppression {
    /// True when this entry silences `rule` at `pointer` of `file`.
    pub fn covers(&self, rule: &str, file: &str, ptr: &str) -> bool {
        self.reason.is_some()
            && self
                .rule
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(rule))
            && &*self.file == file
            && ptr.starts_with(&self.scope)
            && ptr
                .get(self.scope.len()..)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Every suppression written in the files of `catalog`, in document order.
pub fn collect(catalog: &Catalog) -> Vec<Suppression> {
    let mut out = Vec::new();
    for file in &catalog.sources.files {
        let mut ptr = String::new();
        scan(&file.name, &file.value, &mut ptr, &mut out);
    }
    out
}

/// Walks `value` (at `ptr`) looking for the extension. The parser bounds nesting (128 levels),
/// so the recursion is bounded too.
fn scan(file: &Arc<str>, value: &Value, ptr: &mut String, out: &mut Vec<Suppression>) {
    match value {
        Value::Object(map) => {
            if let Some(v) = map.get(KEY) {
                entries(file, ptr, v, out);
            }
            for (k, v) in map {
                if matches!(v, Value::Object(_) | Value::Array(_)) {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&pointer::escape_token(k));
                    scan(file, v, ptr, out);
                    ptr.truncate(len);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                if matches!(v, Value::Object(_) | Value::Array(_)) {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&i.to_string());
                    scan(file, v, ptr, out);
                    ptr.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// Reads the value of one `x-portcullis-ignore`.
fn entries(file: &Arc<str>, scope: &str, value: &Value, out: &mut Vec<Suppression>) {
    let base = pointer::push(scope, KEY);
    let mut one = |entry: String, v: &Value| {
        let (rules, reason): (Vec<Option<String>>, Option<String>) = match v {
            Value::String(id) => (vec![Some(id.clone())], None),
            Value::Object(m) => {
                let reason = m
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned);
                let rules = match m.get("rule") {
                    Some(Value::String(id)) => vec![Some(id.clone())],
                    Some(Value::Array(ids)) => {
                        ids.iter().map(|i| i.as_str().map(str::to_owned)).collect()
                    }
                    _ => vec![None],
                };
                (rules, reason)
            }
            _ => (vec![None], None),
        };
        for rule in rules {
            out.push(Suppression {
                file: file.clone(),
                scope: scope.to_owned(),
                entry: entry.clone(),
                rule,
                reason: reason.clone(),
            });
        }
    };
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                one(pointer::push(&base, &i.to_string()), item);
            }
        }
        other => one(base.clone(), other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let doc = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    x-portcullis-ignore: PC-A-001\n    get:\n      x-portcullis-ignore:\n        - {rule: PC-B-001, reason: fine}\n        - {rule: [PC-C-001, PC-D-001], reason: ' '}\n        - 7\n      responses: {'200': {description: ok}}\n";
        let catalog = portcullis_spec::load_str("t.yaml", doc).unwrap();
        let s = collect(&catalog);
        let got: Vec<(&str, Option<&str>, bool)> = s
            .iter()
            .map(|s| (s.entry.as_str(), s.rule.as_deref(), s.reason.is_some()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/paths/~1a/x-portcullis-ignore", Some("PC-A-001"), false),
                (
                    "/paths/~1a/get/x-portcullis-ignore/0",
                    Some("PC-B-001"),
                    true
                ),
                (
                    "/paths/~1a/get/x-portcullis-ignore/1",
                    Some("PC-C-001"),
                    false
                ),
                (
                    "/paths/~1a/get/x-portcullis-ignore/1",
                    Some("PC-D-001"),
                    false
                ),
                ("/paths/~1a/get/x-portcullis-ignore/2", None, false),
            ]
        );
        let b = &s[1];
        assert!(b.covers("PC-B-001", "t.yaml", "/paths/~1a/get/responses"));
        assert!(b.covers("pc-b-001", "t.yaml", "/paths/~1a/get"));
        assert!(!b.covers("PC-B-001", "t.yaml", "/paths/~1a/getx"));
        assert!(!b.covers("PC-B-001", "other.yaml", "/paths/~1a/get"));
        assert!(
            !s[0].covers("PC-A-001", "t.yaml", "/paths/~1a"),
            "no reason, no suppression"
        );
    }
}
