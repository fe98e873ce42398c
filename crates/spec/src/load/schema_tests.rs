use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use super::super::node::Builder;
use super::super::refs::Files;
use crate::model::SpecVersion;
use crate::source::{Positions, SourceFile};

fn files(doc: Value) -> Files {
    Files::in_memory(SourceFile {
        name: Arc::from("api.yaml"),
        path: PathBuf::new(),
        value: doc,
        positions: Positions::default(),
        bytes: 0,
    })
}

/// Converts the schema at `ptr` of `doc`; returns it, the `$defs` bundle and the warnings.
fn run(version: SpecVersion, doc: Value, ptr: &str) -> (Value, Value, Vec<String>) {
    let files = files(doc);
    let mut b = Builder::new(&files, version, false);
    let at = files.resolve(0, &format!("#{ptr}")).unwrap();
    let schema = b.schema(&at).unwrap();
    b.finish_schemas().unwrap();
    let defs: serde_json::Map<String, Value> = b
        .schemas
        .done
        .iter()
        .map(|(k, s)| (k.clone(), (*s.value).clone()))
        .collect();
    let warnings = b.warnings.iter().map(|w| w.message.clone()).collect();
    ((*schema.value).clone(), Value::Object(defs), warnings)
}

fn one(version: SpecVersion, schema: Value) -> Value {
    run(version, json!({ "s": schema }), "/s").0
}

#[test]
fn nullable_joins_type_and_enum() {
    let v = one(
        SpecVersion::OpenApi30,
        json!({"type": "string", "nullable": true, "enum": ["a", "b"]}),
    );
    assert_eq!(
        v,
        json!({"type": ["string", "null"], "enum": ["a", "b", null]})
    );
    let v = one(
        SpecVersion::Swagger2,
        json!({"type": ["integer"], "x-nullable": true}),
    );
    assert_eq!(v, json!({"type": ["integer", "null"], "x-nullable": true}));
    // `nullable: false` is simply dropped.
    let v = one(
        SpecVersion::OpenApi30,
        json!({"type": "string", "nullable": false}),
    );
    assert_eq!(v, json!({"type": "string"}));
}

#[test]
fn nullable_ref_and_composition_become_any_of() {
    let doc = json!({
        "components": {"schemas": {"Pet": {"type": "object"}}},
        "s": {"$ref": "#/components/schemas/Pet", "nullable": true, "description": "dropped"},
        "c": {"allOf": [{"$ref": "#/components/schemas/Pet"}], "nullable": true}
    });
    let (v, defs, _) = run(SpecVersion::OpenApi30, doc.clone(), "/s");
    assert_eq!(
        v,
        json!({"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}]})
    );
    assert_eq!(defs, json!({"Pet": {"type": "object"}}));
    let (v, _, _) = run(SpecVersion::OpenApi30, doc, "/c");
    assert_eq!(
        v,
        json!({"anyOf": [{"allOf": [{"$ref": "#/$defs/Pet"}]}, {"type": "null"}]})
    );
}

#[test]
fn legacy_keywords_are_rewritten() {
    let v = one(
        SpecVersion::OpenApi30,
        json!({
            "type": "number", "minimum": 1, "exclusiveMinimum": true,
            "maximum": 9, "exclusiveMaximum": false, "example": 3, "readOnly": true,
            "format": "double", "x-extra": {"$ref": "not a schema"}
        }),
    );
    assert_eq!(
        v,
        json!({
            "type": "number", "exclusiveMinimum": 1, "maximum": 9, "readOnly": true,
            "format": "double", "x-extra": {"$ref": "not a schema"}, "examples": [3]
        })
    );
    let v = one(
        SpecVersion::Swagger2,
        json!({"type": "file", "format": "x"}),
    );
    assert_eq!(v, json!({"type": "string", "format": "binary"}));
}

#[test]
fn ref_siblings_are_dropped_before_3_1_and_kept_in_3_1() {
    let doc = json!({
        "definitions": {"A": {"type": "string"}},
        "s": {"$ref": "#/definitions/A", "description": "d"}
    });
    let (v, defs, _) = run(SpecVersion::Swagger2, doc.clone(), "/s");
    assert_eq!(v, json!({"$ref": "#/$defs/A"}));
    assert_eq!(defs, json!({"A": {"type": "string"}}));
    let (v, _, _) = run(SpecVersion::OpenApi31, doc, "/s");
    assert_eq!(v, json!({"$ref": "#/$defs/A", "description": "d"}));
}

#[test]
fn openapi_3_1_passes_through() {
    let schema = json!({
        "type": ["string", "null"], "nullable": true, "example": 1,
        "prefixItems": [true, false], "exclusiveMinimum": 3, "examples": [1],
        "not": false, "$defs": {"x": {"const": 1}}
    });
    assert_eq!(one(SpecVersion::OpenApi31, schema.clone()), schema);
    assert_eq!(one(SpecVersion::OpenApi31, json!(false)), json!(false));
}

#[test]
fn every_subschema_keyword_is_converted() {
    let n = json!({"type": "string", "nullable": true});
    let c = json!({"type": ["string", "null"]});
    let v = one(
        SpecVersion::OpenApi30,
        json!({
            "properties": {"a": n}, "patternProperties": {"^x": n},
            "additionalProperties": n, "items": n, "allOf": [n], "anyOf": [n], "oneOf": [n],
            "not": n, "if": n, "then": n, "else": n, "dependentSchemas": {"a": n},
            "contains": n, "propertyNames": n, "unevaluatedProperties": n,
            "unevaluatedItems": n, "$defs": {"d": n}, "definitions": {"d": n},
            "prefixItems": [n], "dependencies": {"a": ["b"], "c": n},
            "enum": [{"nullable": true}], "default": {"nullable": true}
        }),
    );
    assert_eq!(
        v,
        json!({
            "properties": {"a": c}, "patternProperties": {"^x": c},
            "additionalProperties": c, "items": c, "allOf": [c], "anyOf": [c], "oneOf": [c],
            "not": c, "if": c, "then": c, "else": c, "dependentSchemas": {"a": c, "c": c},
            "contains": c, "propertyNames": c, "unevaluatedProperties": c,
            "unevaluatedItems": c, "$defs": {"d": c}, "definitions": {"d": c},
            "prefixItems": [c], "dependentRequired": {"a": ["b"]},
            "enum": [{"nullable": true}], "default": {"nullable": true}
        })
    );
}

#[test]
fn tuple_items_become_prefix_items() {
    let v = one(
        SpecVersion::Swagger2,
        json!({"type": "array", "items": [{"type": "string"}], "additionalItems": false}),
    );
    assert_eq!(
        v,
        json!({"type": "array", "prefixItems": [{"type": "string"}], "items": false})
    );
}

#[test]
fn recursive_schemas_are_converted_once() {
    let doc = json!({
        "components": {"schemas": {
            "Node": {"type": "object", "properties": {
                "next": {"$ref": "#/components/schemas/Node"},
                "owner": {"$ref": "#/components/schemas/Node/properties/tag"},
                "tag": {"type": "string"}
            }}
        }},
        "s": {"$ref": "#/components/schemas/Node"}
    });
    let (v, defs, _) = run(SpecVersion::OpenApi30, doc, "/s");
    assert_eq!(v, json!({"$ref": "#/$defs/Node"}));
    assert_eq!(
        defs,
        json!({
            "Node": {"type": "object", "properties": {
                "next": {"$ref": "#/$defs/Node"},
                "owner": {"$ref": "#/$defs/Node.properties.tag"},
                "tag": {"type": "string"}
            }},
            "Node.properties.tag": {"type": "string"}
        })
    );
}

#[test]
fn keys_are_sanitized_and_deduplicated() {
    let doc = json!({
        "components": {"schemas": {"a b": {"type": "string"}, "a_b": {"type": "integer"}}},
        "paths": {"/x": {"get": {"s": {"type": "null"}}}},
        "s": {"allOf": [
            {"$ref": "#/components/schemas/a%20b"},
            {"$ref": "#/components/schemas/a_b"},
            {"$ref": "#/paths/~1x/get/s"}
        ]}
    });
    let (v, defs, _) = run(SpecVersion::OpenApi30, doc, "/s");
    assert_eq!(
        v,
        json!({"allOf": [
            {"$ref": "#/$defs/a_b"}, {"$ref": "#/$defs/a_b-2"}, {"$ref": "#/$defs/_x.get.s"}
        ]})
    );
    let keys: Vec<&String> = defs.as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["a_b", "a_b-2", "_x.get.s"]);
}

#[test]
fn ref_only_cycles_and_dangling_refs_are_errors() {
    let doc = json!({
        "definitions": {"A": {"$ref": "#/definitions/B"}, "B": {"$ref": "#/definitions/A"}},
        "s": {"$ref": "#/definitions/A"},
        "d": {"properties": {"x": {"$ref": "#/definitions/Missing"}}}
    });
    let files = files(doc);
    let mut b = Builder::new(&files, SpecVersion::Swagger2, false);
    let at = files.resolve(0, "#/s").unwrap();
    let err = b.schema(&at).unwrap_err().to_string();
    assert!(err.contains("cycle"), "{err}");
    assert!(err.contains("#/definitions/A"), "{err}");
    let at = files.resolve(0, "#/d").unwrap();
    let err = b.schema(&at).unwrap_err().to_string();
    assert!(err.contains("nothing at /definitions/Missing"), "{err}");
    assert!(err.contains("/d/properties/x/$ref"), "{err}");
}

#[test]
fn non_schema_values_are_warned_about() {
    let (v, _, warnings) = run(SpecVersion::OpenApi30, json!({"s": {"items": 3}}), "/s");
    assert_eq!(v, json!({"items": true}));
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("found a number"));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let mut s = json!({"type": "string"});
    for _ in 0..300 {
        s = json!({ "items": s });
    }
    let files = files(json!({ "s": s }));
    let mut b = Builder::new(&files, SpecVersion::OpenApi30, false);
    let at = files.resolve(0, "#/s").unwrap();
    let err = b.schema(&at).unwrap_err().to_string();
    assert!(err.contains("nested more than"), "{err}");
}

#[test]
fn invalid_required_lists_are_repaired_with_a_warning() {
    let (v, _, warnings) = run(
        SpecVersion::OpenApi30,
        json!({"s": {"required": ["a", "b", "a", 3], "properties": {
            "a": {"type": "string", "required": true},
            "required": {"type": "string"}
        }}}),
        "/s",
    );
    assert_eq!(
        v,
        json!({"required": ["a", "b"], "properties": {
            "a": {"type": "string"},
            "required": {"type": "string"}
        }})
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("twice"), "{warnings:?}");
    assert!(warnings[1].contains("found a boolean"), "{warnings:?}");
}

#[test]
fn recursive_ref_names_the_anchored_schema() {
    let doc = json!({
        "components": {"schemas": {"Filter": {
            "$recursiveAnchor": true,
            "type": "object",
            "properties": {"and": {"type": "array", "items": {"anyOf": [
                {"type": "string"}, {"$recursiveRef": "#"}
            ]}}}
        }}},
        "s": {"$ref": "#/components/schemas/Filter"},
        "stray": {"$recursiveRef": "#"}
    });
    let (v, defs, _) = run(SpecVersion::OpenApi31, doc.clone(), "/s");
    assert_eq!(v, json!({"$ref": "#/$defs/Filter"}));
    assert_eq!(
        defs,
        json!({"Filter": {
            "type": "object",
            "properties": {"and": {"type": "array", "items": {"anyOf": [
                {"type": "string"}, {"$ref": "#/$defs/Filter"}
            ]}}}
        }})
    );
    let (v, _, warnings) = run(SpecVersion::OpenApi31, doc, "/stray");
    assert_eq!(v, json!({}));
    assert!(
        warnings[0].contains("`$recursiveRef` outside"),
        "{warnings:?}"
    );
}

#[test]
fn a_ref_in_place_of_properties_is_followed() {
    let doc = json!({
        "attributes": {"ids": {"ids": {"type": "array", "items": {"type": "integer"}}}},
        "s": {"properties": {"$ref": "#/attributes/ids"}, "required": ["ids"]}
    });
    let (v, _, warnings) = run(SpecVersion::OpenApi30, doc, "/s");
    assert_eq!(
        v,
        json!({"properties": {"ids": {"type": "array", "items": {"type": "integer"}}}, "required": ["ids"]})
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn properties_refs_that_loop_stop_at_the_depth_limit() {
    let doc = json!({
        "p": {"a": {"type": "object", "properties": {"$ref": "#/p"}}},
        "s": {"properties": {"$ref": "#/p"}}
    });
    let files = files(doc);
    let mut b = Builder::new(&files, SpecVersion::OpenApi30, false);
    let at = files.resolve(0, "#/s").unwrap();
    let err = b.schema(&at).unwrap_err().to_string();
    assert!(err.contains("nested more than"), "{err}");
}
