//! Randomly mutated documents never make the audit panic, and auditing the same document twice
//! gives the same findings in the same order (issue #4, "a property test that audits randomly
//! mutated documents").
//!
//! The seeds are the demo bank's document and a few rule fixtures chosen for the features they
//! exercise (scopes, suppressions, Swagger 2.0, SSRF properties, pagination, sensitive
//! responses). Mutations delete nodes, swap their types, insert values the rules look at
//! (hostile `x-portcullis-ignore`, security requirements, server URLs, huge numbers), add
//! `$ref`s to other nodes (cycles included) and wrap nodes in deep nesting.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use portcullis_audit::{Settings, audit_catalog};
use portcullis_report::Finding;
use portcullis_spec::parse::{Format, Limits, parse};
use portcullis_spec::{LoadOptions, load_str_with, pointer};
use proptest::prelude::*;
use serde_json::{Value, json};

const SEEDS: [&str; 8] = [
    include_str!("../../../examples/demo/bank.yaml"),
    include_str!("fixtures/PC-AUTH-014/bad.yaml"),
    include_str!("fixtures/PC-AUTH-008/bad.yaml"),
    include_str!("fixtures/PC-META-001/bad.yaml"),
    include_str!("fixtures/PC-SSRF-002/bad.yaml"),
    include_str!("fixtures/PC-INPUT-009/bad.yaml"),
    include_str!("fixtures/PC-LIMIT-004/bad.yaml"),
    include_str!("fixtures/PC-EXPO-001/bad.yaml"),
];

/// What to do to one node.
#[derive(Debug, Clone)]
enum Mutation {
    Delete,
    /// Replace with one of [`replacements`].
    Replace(usize),
    /// Same kind of content, other JSON type (string <-> number, object <-> array...).
    SwapType,
    /// Replace with a `$ref` to another node of the document (may make cycles).
    RefTo(usize),
    /// Wrap the node in this many levels of arrays and objects.
    Nest(usize),
    /// Add a key the rules read to the node, if it is an object.
    AddKey(usize),
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1.5),
        json!(1e308),
        json!(u64::MAX),
        json!(""),
        json!("x"),
        json!("ünïcødé ☃ \u{202e}"),
        json!([]),
        json!({}),
        json!([{}]),
        json!([null, 1, "a"]),
        json!({"$ref": "#/"}),
        json!({"$ref": "#"}),
        json!({"$ref": "#/nowhere"}),
        json!({"$ref": "#/components/schemas"}),
        json!({"type": "string"}),
        json!({"type": ["string", "null", "integer"]}),
        json!({"type": "object", "additionalProperties": true, "properties": {"password": {}}}),
        json!({"allOf": [{"$ref": "#"}, {"type": "array"}]}),
        json!({"name": "url", "in": "query"}),
        json!({"name": "id", "in": "path", "schema": {"type": "integer"}}),
        json!([{"oauth": ["admin", 7, null]}]),
        json!([{"nope": []}, {}]),
        json!({"url": "http://localhost:{port}/", "variables": {"port": {"default": 1}}}),
        json!({"url": "ftp://[::1"}),
        json!({"type": "oauth2", "flows": {"implicit": {"authorizationUrl": 3, "scopes": []}}}),
        json!({"type": "apiKey", "in": "cookie"}),
    ]
}

/// Keys the rules read, with the values to give them.
fn keys() -> Vec<(&'static str, Value)> {
    vec![
        ("x-portcullis-ignore", json!("PC-AUTH-001")),
        (
            "x-portcullis-ignore",
            json!([{"rule": 5}, null, "PC-NOPE-1"]),
        ),
        ("x-portcullis-ignore", json!({"rule": ["x"], "reason": {}})),
        (
            "x-portcullis-ignore",
            json!([{"rule": "PC-INPUT-001", "reason": ""}]),
        ),
        ("security", json!([])),
        ("security", json!([{"a": ["b"]}])),
        ("security", json!({"a": 1})),
        ("deprecated", json!(true)),
        ("deprecated", json!("yes")),
        ("servers", json!([{"url": "http://10.0.0.1/internal"}])),
        ("servers", json!(["x"])),
        ("responses", json!({"429": {}, "default": null})),
        ("additionalProperties", json!(false)),
        ("maxLength", json!(-1)),
        ("maxItems", json!("many")),
        ("format", json!("uri")),
        ("x-internal", json!(1)),
    ]
}

/// Every pointer of `value`, in a stable order.
fn pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(String::new(), value)];
    while let Some((at, v)) = todo.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    todo.push((pointer::push(&at, k), child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    todo.push((format!("{at}/{i}"), child));
                }
            }
            _ => {}
        }
        out.push(at);
    }
    out
}

fn swap_type(v: &Value) -> Value {
    match v {
        Value::Null => json!({}),
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.to_string()),
        Value::String(s) => s.parse::<f64>().map_or_else(|_| json!([s]), |n| json!(n)),
        Value::Array(items) => Value::Object(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| (i.to_string(), x.clone()))
                .collect(),
        ),
        Value::Object(map) => Value::Array(map.values().cloned().collect()),
    }
}

fn nest(v: Value, levels: usize) -> Value {
    (0..levels).fold(v, |acc, i| {
        if i % 2 == 0 {
            json!([acc])
        } else {
            json!({ "properties": { "x": acc } })
        }
    })
}

fn apply(doc: &mut Value, target: &str, mutation: &Mutation, all: &[String]) {
    if let Mutation::AddKey(which) = mutation {
        let choices = keys();
        let (key, value) = choices[which % choices.len()].clone();
        if let Some(Value::Object(map)) = doc.pointer_mut(target) {
            map.insert(key.to_owned(), value);
        }
        return;
    }
    let Some((parent, last)) = target.rsplit_once('/') else {
        return;
    };
    let last = pointer::unescape_token(last).into_owned();
    let current = doc.pointer(target).cloned().unwrap_or(Value::Null);
    let replacement = match mutation {
        Mutation::Delete => None,
        Mutation::Replace(i) => {
            let choices = replacements();
            choices.get(i % choices.len()).cloned()
        }
        Mutation::SwapType => Some(swap_type(&current)),
        Mutation::RefTo(i) => all
            .get(i % all.len().max(1))
            .map(|to| json!({ "$ref": format!("#{to}") })),
        Mutation::Nest(levels) => Some(nest(current, *levels)),
        Mutation::AddKey(_) => return,
    };
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => match replacement {
            Some(v) => {
                map.insert(last, v);
            }
            None => {
                map.shift_remove(&last);
            }
        },
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                match (replacement, items.get_mut(i)) {
                    (Some(v), Some(slot)) => *slot = v,
                    _ => {
                        items.remove(i);
                    }
                }
            }
        }
        _ => {}
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => Just(Mutation::Delete),
        3 => any::<usize>().prop_map(Mutation::Replace),
        2 => Just(Mutation::SwapType),
        2 => any::<usize>().prop_map(Mutation::RefTo),
        1 => (1usize..200).prop_map(Mutation::Nest),
        3 => any::<usize>().prop_map(Mutation::AddKey),
    ]
}

fn audit(text: &str) -> Option<Vec<Finding>> {
    // As the audit reads documents: a dangling `$ref` made by a mutation is a finding.
    let catalog = load_str_with("mutated.json", text, &LoadOptions::tolerant()).ok()?;
    Some(audit_catalog(&catalog, &Settings::default()))
}

#[test]
fn every_seed_audits() {
    for (i, seed) in SEEDS.iter().enumerate() {
        let catalog = load_str_with("seed.yaml", seed, &LoadOptions::tolerant())
            .unwrap_or_else(|e| panic!("seed {i}: {e}"));
        let findings = audit_catalog(&catalog, &Settings::default());
        assert!(!findings.is_empty(), "seed {i} has no finding");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_audit_without_panic_and_deterministically(
        which in 0..SEEDS.len(),
        edits in prop::collection::vec((any::<usize>(), mutation()), 1..8),
    ) {
        let name: Arc<str> = Arc::from("seed.yaml");
        let (mut doc, _) = parse(&name, SEEDS[which], Format::Yaml, &Limits::default()).unwrap();
        for (at, m) in &edits {
            let all = pointers(&doc);
            let target = all[at % all.len()].clone();
            apply(&mut doc, &target, m, &all);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap();
        // A load error is fine (the loader refuses what it cannot build, with a precise error);
        // a panic fails the test with the mutated document.
        let first = audit(&text);
        let second = audit(&text);
        prop_assert_eq!(&first, &second, "findings differ between two runs");
        if let Some(findings) = first {
            for f in &findings {
                prop_assert!(f.location.line.is_some_and(|l| l >= 1), "{f:?} has no line");
            }
        }
    }
}
