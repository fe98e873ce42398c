//! Turning catalog schemas into compiled validators: each schema gets the `$defs` it reaches,
//! and a strict variant refuses properties the schema does not declare (mass assignment)
//! even where the document leaves `additionalProperties` open.

use std::collections::BTreeSet;

use jsonschema::Validator;
use portcullis_spec::Catalog;
use serde_json::{Map, Value};

/// A schema could not be compiled.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {pointer}: the schema cannot be compiled: {message}")]
pub struct SchemaError {
    /// Document file.
    pub file: String,
    /// Line of the schema.
    pub line: u32,
    /// Pointer of the schema.
    pub pointer: String,
    /// What the compiler said.
    pub message: String,
}

/// The `$defs` keys `value` reaches, transitively.
fn reachable_defs(catalog: &Catalog, value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(key) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                {
                    let key = key.replace("~1", "/").replace("~0", "~");
                    if let Some(schema) = catalog.schemas.get(&key)
                        && found.insert(key)
                    {
                        stack.push(&schema.value);
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// Keywords whose value is a map of schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];
/// Keywords whose value is one schema at a "whole instance" position (strictness applies).
const SCHEMA_POSITIONS: &[&str] = &[
    "items",
    "additionalItems",
    "contains",
    "additionalProperties",
    "unevaluatedItems",
    "propertyNames",
];
/// Keywords whose value is a list of schemas combined with a sibling (no strictness there).
const COMPOSITIONS: &[&str] = &["allOf", "anyOf", "oneOf"];

/// True when an instance of this schema may be an object.
fn may_be_object(map: &Map<String, Value>) -> bool {
    match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => {
            map.contains_key("properties")
                || map.contains_key("$ref")
                || COMPOSITIONS.iter().any(|k| map.contains_key(*k))
        }
    }
}

/// Adds `unevaluatedProperties: false` where a whole instance is validated (the root, each
/// property, each item) unless the schema already says what extra properties may be.
/// Composition branches and `$defs` roots are left alone, so `allOf` of two objects keeps
/// both sets of properties: the strict keyword sits beside the `$ref`/`allOf` that
/// evaluates them, as JSON Schema 2020-12 annotation collection requires.
fn make_strict(value: &mut Value, position: bool) {
    let Value::Object(map) = value else { return };
    for key in SCHEMA_MAPS {
        if let Some(Value::Object(children)) = map.get_mut(*key) {
            for child in children.values_mut() {
                make_strict(child, true);
            }
        }
    }
    for key in SCHEMA_POSITIONS {
        if let Some(child) = map.get_mut(*key) {
            make_strict(child, true);
        }
    }
    if let Some(Value::Array(items)) = map.get_mut("prefixItems") {
        for child in items {
            make_strict(child, true);
        }
    }
    for key in COMPOSITIONS {
        if let Some(Value::Array(branches)) = map.get_mut(*key) {
            for branch in branches {
                make_strict(branch, false);
            }
        }
    }
    let open = !map.contains_key("additionalProperties")
        && !map.contains_key("unevaluatedProperties")
        && !map.contains_key("patternProperties");
    if position && open && may_be_object(map) {
        map.insert("unevaluatedProperties".to_owned(), Value::Bool(false));
    }
}

/// The self-contained document for `schema`: the schema with the `$defs` it reaches, strict
/// or not.
pub fn document(catalog: &Catalog, schema: &Value, strict: bool) -> Value {
    let mut defs = Map::new();
    for key in reachable_defs(catalog, schema) {
        if let Some(s) = catalog.schemas.get(&key) {
            let mut v = (*s.value).clone();
            if strict {
                make_strict(&mut v, false);
            }
            defs.insert(key, v);
        }
    }
    let mut root = schema.clone();
    if strict {
        make_strict(&mut root, true);
    }
    let mut doc = Map::new();
    doc.insert(
        "$schema".to_owned(),
        Value::String("https://json-schema.org/draft/2020-12/schema".to_owned()),
    );
    doc.insert("$defs".to_owned(), Value::Object(defs));
    doc.insert("allOf".to_owned(), Value::Array(vec![root]));
    Value::Object(doc)
}

/// Keywords under which a narrower subschema can make the whole schema accept more: a
/// negation (`not`), "exactly one" (`oneOf`), a condition choosing a branch (`if`) and an
/// upper bound on matching items (`maxContains`).
const FLIPPING: &[&str] = &["not", "oneOf", "if", "maxContains"];

/// True when every instance the strict variant of `schema` accepts, the loose one accepts
/// too, so a body found strictly valid needs no second, loose check. Strictness only adds
/// `unevaluatedProperties: false`, which narrows each schema it is added to; that narrows the
/// whole unless a [`FLIPPING`] keyword sits anywhere in the schema or the `$defs` it reaches
/// (looked for by name, property names included: a false "no" only costs the second check).
pub fn strict_implies_loose(catalog: &Catalog, schema: &Value) -> bool {
    let mut stack = vec![schema];
    let defs = reachable_defs(catalog, schema);
    stack.extend(
        defs.iter()
            .filter_map(|key| catalog.schemas.get(key))
            .map(|s| &*s.value),
    );
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if FLIPPING.iter().any(|k| map.contains_key(*k)) {
                    return false;
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    true
}

/// Compiles `schema` (a catalog schema at `location`) into a validator.
pub fn compile(
    catalog: &Catalog,
    schema: &portcullis_spec::Schema,
    strict: bool,
) -> Result<Validator, SchemaError> {
    let doc = document(catalog, &schema.value, strict);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&doc)
        .map_err(|e| SchemaError {
            file: schema.location.file.to_string(),
            line: schema.location.line,
            pointer: schema.location.pointer.clone(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        let text = r##"
openapi: 3.1.0
info: { title: t, version: "1" }
paths:
  /u:
    post:
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Admin' }
      responses: { '200': { description: ok } }
components:
  schemas:
    User:
      type: object
      properties:
        name: { type: string }
        address:
          type: object
          properties: { city: { type: string } }
    Admin:
      allOf:
        - $ref: '#/components/schemas/User'
        - type: object
          properties: { level: { type: integer } }
"##;
        portcullis_spec::load_str("t.yaml", text).unwrap()
    }

    fn valid(strict: bool, instance: Value) -> bool {
        let c = catalog();
        let schema = c.operations[0].request_body.as_ref().unwrap().content["application/json"]
            .schema
            .clone()
            .unwrap();
        compile(&c, &schema, strict).unwrap().is_valid(&instance)
    }

    #[test]
    fn strict_keeps_composed_properties_and_refuses_others() {
        let ok = json!({"name": "a", "level": 2, "address": {"city": "x"}});
        assert!(valid(true, ok.clone()));
        assert!(valid(false, ok));
        assert!(!valid(true, json!({"name": "a", "role": "admin"})));
        assert!(valid(false, json!({"name": "a", "role": "admin"})));
        assert!(!valid(true, json!({"address": {"city": "x", "zip": 1}})));
        assert!(!valid(true, json!({"level": "high"})));
    }

    #[test]
    fn strictness_under_one_of_can_accept_more_and_is_flagged() {
        let c = catalog();
        let location = c.operations[0].location.clone();
        let schema = |value: Value| portcullis_spec::Schema {
            value: std::sync::Arc::new(value),
            location: location.clone(),
        };
        // Loose: both branches accept {"a": {"x": 1}}, so oneOf refuses it; strict: only the
        // second does (the first no longer takes `x`), so oneOf accepts it.
        let one_of = json!({"type": "object", "oneOf": [
            {"type": "object", "properties": {"a": {"type": "object"}}},
            {"type": "object", "properties": {"a": {"type": "object", "properties": {"x": {}}}}}
        ]});
        let body = json!({"a": {"x": 1}});
        assert!(
            compile(&c, &schema(one_of.clone()), true)
                .unwrap()
                .is_valid(&body)
        );
        assert!(
            !compile(&c, &schema(one_of.clone()), false)
                .unwrap()
                .is_valid(&body)
        );
        assert!(!strict_implies_loose(&c, &one_of));
        for flipping in [
            json!({"not": {"type": "object", "properties": {"a": {"type": "object"}}}}),
            json!({"if": {"properties": {"a": {"type": "object"}}}, "then": {"required": ["b"]}}),
            json!({"type": "array", "contains": {"type": "object"}, "maxContains": 1}),
        ] {
            assert!(!strict_implies_loose(&c, &flipping), "{flipping}");
        }
        // The catalog's Admin reaches User through allOf and $ref: narrowing only.
        let admin = c.operations[0].request_body.as_ref().unwrap().content["application/json"]
            .schema
            .clone()
            .unwrap();
        assert!(strict_implies_loose(&c, &admin.value));
    }

    #[test]
    fn explicit_open_objects_stay_open() {
        let c = catalog();
        let open = portcullis_spec::Schema {
            value: std::sync::Arc::new(json!({"type": "object", "additionalProperties": true})),
            location: c.operations[0].location.clone(),
        };
        let v = compile(&c, &open, true).unwrap();
        assert!(v.is_valid(&json!({"anything": 1})));
    }
}
