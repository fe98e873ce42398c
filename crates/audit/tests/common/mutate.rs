//! Edits made by the tests to parsed documents: security-relevant mutations whose effect is
//! known (what `audit diff` must report, and which new findings the audit must see), and
//! unrelated edits that must change nothing. Shared by crates/audit/tests/diff_corpus.rs and
//! crates/cli/tests/audit_diff_cli.rs.

use portcullis_audit::context::Context;
use portcullis_audit::names;
use portcullis_spec::{Catalog, pointer};
use serde_json::{Map, Value, json};

/// One mutation and what it must cause.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The change `audit diff` reports.
    pub change: &'static str,
    /// Where (a pointer in the mutated document).
    pub pointer: String,
    /// Rules of which one must report a new finding at or below `pointer` (empty: none
    /// covers this mutation under the profile used).
    pub rules: &'static [&'static str],
}

/// The name of the property the mutation adds to a response.
pub const ADDED_FIELD: &str = "portcullis_password";
/// The path the mutation adds.
pub const ADDED_PATH: &str = "/portcullis-added";

fn is_public(reqs: &[portcullis_spec::SecurityRequirement]) -> bool {
    reqs.is_empty() || reqs.iter().any(|r| r.schemes.is_empty())
}

fn object_at<'a>(value: &'a mut Value, ptr: &str) -> Option<&'a mut Map<String, Value>> {
    value.pointer_mut(ptr).and_then(Value::as_object_mut)
}

/// Applies the four mutations the document allows (a security requirement removed, a
/// maxLength removed, a response field added, an operation added without security) to `raw`,
/// the parsed root document of `catalog`, and says what each must cause.
pub fn mutate(catalog: &Catalog, raw: &mut Value) -> Vec<Expected> {
    let mut expected = Vec::new();
    let root = &catalog.root_file;
    let cx = Context::new(catalog);

    // 1. An operation that requires credentials gets `security: []`: one that changes data
    // and does not look public by design (login, health...) when there is one, as PC-AUTH-001
    // then reports it.
    let secured = |op: &&portcullis_spec::Operation| {
        op.location.file == *root
            && !is_public(&op.security)
            && raw
                .pointer(&op.location.pointer)
                .is_some_and(Value::is_object)
    };
    let covered = catalog
        .operations
        .iter()
        .filter(secured)
        .find(|op| op.method.is_mutating() && !names::looks_public(op));
    let (target, rules): (_, &'static [&'static str]) = match covered {
        Some(op) => (Some(op), &["PC-AUTH-001"]),
        None => (catalog.operations.iter().find(secured), &[]),
    };
    if let Some(op) = target
        && let Some(obj) = object_at(raw, &op.location.pointer)
    {
        obj.insert("security".into(), json!([]));
        expected.push(Expected {
            change: "security-removed",
            pointer: pointer::push(&op.location.pointer, "security"),
            rules,
        });
    }

    // 2. A string the API accepts loses its maxLength.
    let target = cx.nodes.iter().find(|n| {
        *n.file == *root
            && n.usage.input()
            && n.has_type("string")
            && n.has("maxLength")
            && !n.has("enum")
            && !n.has("const")
            && !n.has("format")
            && raw
                .pointer(&n.pointer)
                .is_some_and(|v| v.get("maxLength").is_some())
    });
    if let Some(node) = target {
        let at = node.pointer.clone();
        if let Some(obj) = object_at(raw, &at) {
            obj.remove("maxLength");
            expected.push(Expected {
                change: "limit-removed",
                pointer: at,
                rules: &["PC-INPUT-001"],
            });
        }
    }

    // 3. A response object schema gains a password.
    let target = cx.nodes.iter().find(|n| {
        *n.file == *root
            && n.usage.output()
            && n.has("properties")
            && !n.flag("writeOnly")
            && raw.pointer(&n.pointer).is_some_and(|v| {
                v.get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|p| !p.contains_key(ADDED_FIELD))
            })
    });
    if let Some(node) = target {
        let props = pointer::push(&node.pointer, "properties");
        if let Some(obj) = object_at(raw, &props) {
            obj.insert(
                ADDED_FIELD.into(),
                json!({"type": "string", "maxLength": 64, "pattern": "^[a-z]+$"}),
            );
            expected.push(Expected {
                change: "response-field-added",
                pointer: pointer::push(&props, ADDED_FIELD),
                rules: &["PC-EXPO-001"],
            });
        }
    }

    // 4. A new operation anyone can call.
    if let Some(doc) = raw.as_object_mut() {
        let paths = doc.entry("paths").or_insert_with(|| json!({}));
        if let Some(paths) = paths.as_object_mut()
            && !paths.contains_key(ADDED_PATH)
        {
            paths.insert(
                ADDED_PATH.into(),
                json!({"post": {
                    "security": [],
                    "responses": {"201": {"description": "created"}}
                }}),
            );
            expected.push(Expected {
                change: "operation-added-without-security",
                pointer: pointer::push(&pointer::push("/paths", ADDED_PATH), "post"),
                rules: &["PC-AUTH-001"],
            });
        }
    }
    expected
}

/// Edits that change nothing an audit looks at: every object's keys in reverse order, every
/// `description` and `summary` text changed.
pub fn unrelated(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                let edited = match (k.as_str(), v) {
                    ("description" | "summary", Value::String(s)) => {
                        Value::String(format!("{s} (edited)"))
                    }
                    _ => unrelated(v),
                };
                out.insert(k.clone(), edited);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(unrelated).collect()),
        other => other.clone(),
    }
}

/// `value` as JSON text, every line moved down by three.
pub fn shifted_text(value: &Value) -> String {
    let mut text = String::from("\n\n\n");
    text.push_str(&serde_json::to_string_pretty(value).unwrap_or_default());
    text.push('\n');
    text
}
