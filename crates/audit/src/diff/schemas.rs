//! Schema objects compared at their definitions (the nodes of [`Context`], each once):
//! limits of input schemas removed or raised, and properties added to response schemas.
//!
//! A node of the new version is compared with the node of the old one at the same place (file
//! relative to the root document, stable pointer). A property counts as added when its object
//! schema existed before without it: a new response, operation or component is reported as
//! such elsewhere (or not at all), not field by field.

use std::collections::HashMap;

use portcullis_report::Severity;
use serde_json::{Map, Value};

use super::{Changes, Side, kinds, place};
use crate::context::{Context, Usage};
use crate::names;

/// The limits compared, as written in JSON Schema 2020-12 (`maximum` stands for the lower of
/// `maximum` and `exclusiveMaximum`).
const LIMITS: [&str; 4] = ["maxLength", "maxItems", "maxProperties", "maximum"];

/// What is compared of the nodes at one place.
#[derive(Debug, Default)]
struct Facts {
    limits: [Option<f64>; 4],
    usage: Usage,
}

/// The limits of one schema object.
fn limits(schema: &Map<String, Value>) -> [Option<f64>; 4] {
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    let maximum = match (num("maximum"), num("exclusiveMaximum")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    [
        num("maxLength"),
        num("maxItems"),
        num("maxProperties"),
        maximum,
    ]
}

/// Places of every node (in node order) and the facts at each place.
type Places = (Vec<(String, String)>, HashMap<(String, String), Facts>);

fn facts(cx: &Context<'_>) -> Places {
    let mut keys = Vec::with_capacity(cx.nodes.len());
    let mut map: HashMap<(String, String), Facts> = HashMap::with_capacity(cx.nodes.len());
    for node in &cx.nodes {
        let key = place(cx.catalog, node.file, &node.pointer);
        let entry = map.entry(key.clone()).or_default();
        for (have, found) in entry.limits.iter_mut().zip(limits(node.schema)) {
            if have.is_none() {
                *have = found;
            }
        }
        entry.usage = entry.usage.union(node.usage);
        keys.push(key);
    }
    (keys, map)
}

/// Compares the schema objects of two versions.
pub fn compare(old: &Context<'_>, new: &Context<'_>, changes: &mut Changes<'_>) {
    let (_, before) = facts(old);
    let (keys, now) = facts(new);
    for (node, key) in new.nodes.iter().zip(&keys) {
        let Some(facts) = now.get(key) else { continue };
        let was = before.get(key);
        if facts.usage.input()
            && let Some(was) = was
        {
            for ((name, old_limit), new_limit) in LIMITS.iter().zip(was.limits).zip(facts.limits) {
                let (kind, message) = match (old_limit, new_limit) {
                    (Some(a), None) => (
                        &kinds::LIMIT_REMOVED,
                        format!("{name} {a} was removed from input {}", node.label()),
                    ),
                    (Some(a), Some(b)) if b > a => (
                        &kinds::LIMIT_RAISED,
                        format!(
                            "{name} of input {} was raised from {a} to {b}",
                            node.label()
                        ),
                    ),
                    _ => continue,
                };
                changes.add(
                    kind,
                    kind.severity,
                    Side::New,
                    node.file,
                    &node.pointer,
                    None,
                    message,
                    Some(format!("{name}: {}", old_limit.unwrap_or_default())),
                );
            }
        }
        let Some(property) = node.property else {
            continue;
        };
        if !facts.usage.output() || was.is_some() {
            continue;
        }
        let suffix = portcullis_spec::pointer::push("/properties", property);
        let Some(parent) = key.1.strip_suffix(&suffix) else {
            continue;
        };
        if !before.contains_key(&(key.0.clone(), parent.to_owned())) {
            continue;
        }
        let sensitive =
            names::is_secret(property) || names::is_token(property) || names::is_personal(property);
        let severity = if sensitive {
            Severity::Medium
        } else {
            kinds::RESPONSE_FIELD_ADDED.severity
        };
        let what = if sensitive { " (looks sensitive)" } else { "" };
        changes.add(
            &kinds::RESPONSE_FIELD_ADDED,
            severity,
            Side::New,
            node.file,
            &node.pointer,
            None,
            format!("property `{property}`{what} was added to a response schema"),
            Some(property.to_owned()),
        );
    }
}
