//! Strict and tolerant loads of documents with `$ref`s that lead nowhere, and of OpenAPI 3.2.

use serde_json::json;

use crate::error::Error;
use crate::model::SpecVersion;
use crate::{Catalog, LoadOptions, load_str, load_str_with};

const DANGLING: &str = r##"openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a/{id}:
    parameters:
      - $ref: '#/components/parameters/Nope'
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Gone'}
        "404": {$ref: '#/components/responses/Missing'}
    post:
      requestBody: {$ref: 'other.yaml#/Body'}
      responses:
        "201":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  loop: {$ref: '#/components/schemas/Loop'}
                  ok: {$ref: '#/components/schemas/Ok'}
components:
  schemas:
    Ok: {type: string}
    Loop: {$ref: '#/components/schemas/Loop'}
"##;

fn tolerant(text: &str) -> Catalog {
    match load_str_with("api.yaml", text, &LoadOptions::tolerant()) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_strict_load_refuses_a_dangling_ref() {
    let err = load_str("api.yaml", DANGLING).unwrap_err();
    assert!(matches!(err, Error::Ref { .. }), "{err}");
    assert!(!LoadOptions::default().tolerant);
}

#[test]
fn a_tolerant_load_records_each_dangling_ref_at_its_place() {
    let c = tolerant(DANGLING);
    let got: Vec<(&str, u32, u32, &str)> = c
        .unresolved_refs
        .iter()
        .map(|u| {
            (
                u.location.pointer.as_str(),
                u.location.line,
                u.location.column,
                u.reference.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "/paths/~1a~1{id}/parameters/0/$ref",
                6,
                9,
                "#/components/parameters/Nope"
            ),
            (
                "/paths/~1a~1{id}/get/responses/200/content/application~1json/schema/$ref",
                14,
                24,
                "#/components/schemas/Gone"
            ),
            (
                "/paths/~1a~1{id}/get/responses/404/$ref",
                15,
                17,
                "#/components/responses/Missing"
            ),
            (
                "/paths/~1a~1{id}/post/requestBody/$ref",
                17,
                21,
                "other.yaml#/Body"
            ),
            (
                "/paths/~1a~1{id}/post/responses/201/content/application~1json/schema/properties/loop/$ref",
                26,
                26,
                "#/components/schemas/Loop"
            ),
        ]
    );
    assert!(c.unresolved_refs[0].message.contains("nothing at"));
    assert!(c.unresolved_refs[4].message.contains("cycle"));
    assert!(
        c.unresolved_refs
            .iter()
            .all(|u| &*u.location.file == "api.yaml")
    );

    // The rest is read: the known parameter, the response with unknown content, no body,
    // the broken schema as `{}` beside the good one.
    assert_eq!(c.operations.len(), 2);
    let get = &c.operations[0];
    assert_eq!(get.parameters.len(), 1);
    assert_eq!(get.parameters[0].name, "id");
    let schema = &get.responses["200"].content["application/json"].schema;
    assert_eq!(schema.as_ref().map(|s| &*s.value), Some(&json!({})));
    assert!(get.responses["404"].content.is_empty());
    let post = &c.operations[1];
    assert!(post.request_body.is_none());
    let created = post.responses["201"].content["application/json"]
        .schema
        .as_ref()
        .map(|s| (*s.value).clone());
    assert_eq!(
        created,
        Some(json!({"type": "object", "properties": {"loop": {}, "ok": {"$ref": "#/$defs/Ok"}}}))
    );
}

#[test]
fn a_tolerant_load_of_a_sound_document_records_nothing() {
    let c = tolerant("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n");
    assert!(c.unresolved_refs.is_empty());
}

#[test]
fn in_3_1_an_unresolved_ref_keeps_its_siblings() {
    let c = tolerant(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/nope', maxLength: 4}\n",
    );
    let schema = c.operations[0].responses["200"].content["application/json"]
        .schema
        .as_ref()
        .map(|s| (*s.value).clone());
    assert_eq!(schema, Some(json!({"maxLength": 4})));
    assert_eq!(c.unresolved_refs.len(), 1);
}

#[test]
fn openapi_3_2_is_refused_strictly_and_read_as_3_1_tolerantly() {
    let text = "openapi: 3.2.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n";
    let err = load_str("api.yaml", text).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedVersion { declared, .. } if declared == "3.2.0"),
        "{err}"
    );
    let c = tolerant(text);
    assert_eq!(
        (c.version, c.declared_version.as_str(), c.operations.len()),
        (SpecVersion::OpenApi31, "3.2.0", 1)
    );
    // Other versions stay refused, tolerant or not.
    let err = load_str_with("api.yaml", "openapi: 4.0.0\n", &LoadOptions::tolerant()).unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { .. }), "{err}");
}
