//! Randomly mutated documents never make the catalog builder panic: every outcome is a
//! catalog or an error.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use portcullis_spec::parse::{Format, Limits, parse};
use portcullis_spec::{load_str, pointer};
use proptest::prelude::*;
use serde_json::{Value, json};

const FIXTURES: [&str; 5] = [
    include_str!("fixtures/petstore/swagger2.yaml"),
    include_str!("fixtures/petstore/openapi30.yaml"),
    include_str!("fixtures/petstore/openapi31.yaml"),
    include_str!("fixtures/security.yaml"),
    include_str!("fixtures/nullable.yaml"),
];

/// What to do to one node.
#[derive(Debug, Clone)]
enum Mutation {
    Delete,
    Replace(usize),
    /// Replace with a `$ref` to another node of the document (may make cycles).
    RefTo(usize),
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1.5),
        json!("x"),
        json!([]),
        json!({}),
        json!([{}]),
        json!({"$ref": "#/"}),
        json!({"$ref": "#"}),
        json!({"$ref": "#/nowhere"}),
        json!({"$ref": 7}),
        json!({"$ref": "other.yaml#/a"}),
        json!({"$ref": "https://example.com/x.yaml"}),
        json!({"type": "file", "nullable": true, "exclusiveMinimum": true}),
        json!({"items": [{"type": "string"}], "additionalItems": {"$ref": "#"}}),
        json!({"name": "x", "in": "path"}),
        json!({"name": "f", "in": "formData", "type": "file"}),
        json!({"name": "b", "in": "body"}),
        json!({"/{a}": {"get": {"parameters": [{"$ref": "#/paths"}]}}}),
        json!("3.2.0"),
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

fn apply(doc: &mut Value, target: &str, mutation: &Mutation, all: &[String]) {
    let Some((parent, last)) = target.rsplit_once('/') else {
        return;
    };
    let last = pointer::unescape_token(last).into_owned();
    let replacement = match mutation {
        Mutation::Delete => None,
        Mutation::Replace(i) => {
            let choices = replacements();
            choices.get(i % choices.len()).cloned()
        }
        Mutation::RefTo(i) => all
            .get(i % all.len().max(1))
            .map(|target| json!({ "$ref": format!("#{target}") })),
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
        Just(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Replace),
        any::<usize>().prop_map(Mutation::RefTo),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_documents_never_panic(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec((any::<usize>(), mutation()), 1..6),
    ) {
        let name: Arc<str> = Arc::from("fixture.yaml");
        let (mut doc, _) = parse(&name, FIXTURES[which], Format::Yaml, &Limits::default()).unwrap();
        for (at, m) in &edits {
            let all = pointers(&doc);
            let target = all[at % all.len()].clone();
            apply(&mut doc, &target, m, &all);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap();
        // Ok or Err are both fine; a panic fails the test with the mutated document.
        match load_str("mutated.json", &text) {
            Ok(catalog) => {
                for schema in catalog.schemas.values() {
                    let _ = catalog.deref_schema(&schema.value);
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
