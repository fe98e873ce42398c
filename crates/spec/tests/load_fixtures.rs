//! The catalog builder on small hand-written documents in `tests/fixtures/`, with exact values.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use portcullis_spec::{
    Catalog, Error, LoadOptions, OAuthFlowKind, ParameterIn, SecurityOrigin, SecuritySchemeKind,
    SpecVersion, load, load_with,
};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

fn load_fixture(name: &str) -> Catalog {
    match load(&fixture(name)) {
        Ok(c) => c,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn fail_fixture(name: &str) -> Error {
    match load(&fixture(name)) {
        Ok(_) => panic!("{name} loaded but must fail"),
        Err(e) => e,
    }
}

/// The catalog as JSON without anything that depends on how the document was written:
/// version, file names, locations (lines differ between versions).
fn comparable(catalog: &Catalog) -> Value {
    let mut value = serde_json::to_value(catalog).unwrap();
    let map = value.as_object_mut().unwrap();
    for key in [
        "version",
        "declared_version",
        "root_file",
        "global_security_location",
    ] {
        map.remove(key);
    }
    let mut todo = vec![&mut value];
    while let Some(v) = todo.pop() {
        match v {
            Value::Object(map) => {
                map.remove("location");
                todo.extend(map.values_mut());
            }
            Value::Array(items) => todo.extend(items.iter_mut()),
            _ => {}
        }
    }
    value
}

fn schema_json(catalog: &Catalog, key: &str) -> Value {
    (*catalog
        .schemas
        .get(key)
        .unwrap_or_else(|| panic!("no schema {key}"))
        .value)
        .clone()
}

#[test]
fn the_three_petstores_give_the_same_catalog() {
    let v2 = load_fixture("petstore/swagger2.yaml");
    let v30 = load_fixture("petstore/openapi30.yaml");
    let v31 = load_fixture("petstore/openapi31.yaml");
    assert_eq!(
        (v2.version, v30.version, v31.version),
        (
            SpecVersion::Swagger2,
            SpecVersion::OpenApi30,
            SpecVersion::OpenApi31
        )
    );
    for c in [&v2, &v30, &v31] {
        assert!(c.warnings.is_empty(), "{}: {:?}", c.root_file, c.warnings);
    }
    let reference = comparable(&v30);
    assert_eq!(comparable(&v2), reference, "2.0 differs from 3.0");
    assert_eq!(comparable(&v31), reference, "3.1 differs from 3.0");

    // And the shared catalog is the one intended.
    let c = &v30;
    assert_eq!(c.servers[0].resolved_url, "https://petstore.example/v1");
    assert_eq!(c.servers[0].base_path, "/v1");
    let ids: Vec<&str> = c.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["listPets", "createPet", "showPetById", "deletePet"]
    );
    let list = &c.operations[0];
    assert_eq!(list.security_origin, SecurityOrigin::Global);
    let limit = &list.parameters[0];
    assert_eq!(
        (limit.name.as_str(), limit.location_in, limit.required),
        ("limit", ParameterIn::Query, false)
    );
    assert_eq!(
        limit.description.as_deref(),
        Some("How many items to return")
    );
    assert_eq!(
        *limit.schema.as_ref().unwrap().value,
        json!({"type": "integer", "format": "int32", "maximum": 100})
    );
    let tags = &list.parameters[1];
    assert_eq!((tags.style.as_str(), tags.explode), ("form", true));
    let page = &list.responses["200"];
    assert_eq!(
        *page.content["application/json"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({"type": "array", "items": {"$ref": "#/$defs/Pet"}})
    );
    assert_eq!(
        *page.headers["X-Next"].as_ref().unwrap().value,
        json!({"type": "string"})
    );
    let create = &c.operations[1];
    assert_eq!(create.security_origin, SecurityOrigin::Operation);
    assert_eq!(
        create.security[0].schemes["petstore_auth"],
        vec!["write:pets"]
    );
    assert!(create.request_body.as_ref().unwrap().required);
    let delete = &c.operations[3];
    assert!(delete.deprecated);
    assert!(delete.security.is_empty());
    assert_eq!(delete.security_origin, SecurityOrigin::Operation);
    assert_eq!(delete.parameters[0].name, "petId");
    let SecuritySchemeKind::OAuth2 { flows } = &c.security_schemes["petstore_auth"].kind else {
        panic!("not oauth2")
    };
    assert_eq!(flows[0].kind, OAuthFlowKind::Implicit);
    assert_eq!(
        flows[0].scopes.keys().collect::<Vec<_>>(),
        vec!["read:pets", "write:pets"]
    );

    assert_eq!(
        c.schemas.keys().collect::<Vec<_>>(),
        vec!["Pet", "Error", "NewPet", "Owner"]
    );
    assert_eq!(
        schema_json(c, "NewPet"),
        json!({"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "maxLength": 64, "examples": ["Rex"]},
            "tag": {"type": "string"}
        }})
    );
    assert_eq!(
        schema_json(c, "Owner"),
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}}
        }})
    );
    // Locations are per version: each points at its own file and line.
    assert_eq!(v2.schemas["Pet"].location.pointer, "/definitions/Pet");
    assert_eq!(
        v30.schemas["Pet"].location.pointer,
        "/components/schemas/Pet"
    );
    assert!(v2.schemas["Pet"].location.line > 0);
    assert_eq!(
        v2.operations[0].parameters[0].location.pointer,
        "/parameters/limit"
    );
}

#[test]
fn external_references_resolve_against_the_file_they_are_written_in() {
    let c = load_fixture("external/api/openapi.yaml");
    let root = fixture("external/api/openapi.yaml")
        .to_string_lossy()
        .into_owned();
    let dir = fixture("external").to_string_lossy().into_owned();
    let names: Vec<String> = c.sources.files.iter().map(|f| f.name.to_string()).collect();
    assert_eq!(names[0], root, "the root comes first");
    let mut rest = names[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        vec![
            format!("{dir}/api/paths/pets.yaml"),
            format!("{dir}/common/params.yaml"),
            format!("{dir}/common/schemas.yaml"),
            format!("{dir}/common/text.yaml"),
        ]
    );
    assert_eq!(
        c.info.description.as_deref(),
        Some("An API whose parts live in several folders.")
    );

    let ids: Vec<&str> = c.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, vec!["listPets", "getPet"]);
    let list = &c.operations[0];
    assert_eq!(
        list.location.file.as_ref(),
        format!("{dir}/api/paths/pets.yaml")
    );
    assert_eq!(
        (list.location.pointer.as_str(), list.location.line),
        ("/get", 1)
    );
    let limit = &list.parameters[0];
    assert_eq!(
        limit.location.file.as_ref(),
        format!("{dir}/common/params.yaml")
    );
    assert_eq!(
        (limit.location.pointer.as_str(), limit.location.line),
        ("/Limit", 1)
    );
    assert_eq!(
        *limit.schema.as_ref().unwrap().value,
        json!({"$ref": "#/$defs/params.yaml-LimitSchema"})
    );
    let error = &list.responses["default"];
    assert_eq!(error.location.pointer, "/responses/Error");
    assert_eq!(
        *error.content["application/json"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({"$ref": "#/$defs/schemas.yaml-Error"})
    );
    let get = &c.operations[1];
    assert_eq!(get.location.pointer, "/~1pets~1{id}/get");
    assert_eq!(
        *get.responses["200"].content["application/json"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({"$ref": "#/$defs/pets.yaml-schemas.PetWrapper"})
    );

    let mut keys: Vec<&str> = c.schemas.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "params.yaml-LimitSchema",
            "pets.yaml-schemas.PetWrapper",
            "schemas.yaml-Error",
            "schemas.yaml-Pet"
        ]
    );
    assert_eq!(
        schema_json(&c, "schemas.yaml-Pet"),
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "friend": {"$ref": "#/$defs/schemas.yaml-Pet"},
            "error": {"$ref": "#/$defs/schemas.yaml-Error"}
        }})
    );
    let pet = &c.schemas["schemas.yaml-Pet"];
    assert_eq!(
        pet.location.file.as_ref(),
        format!("{dir}/common/schemas.yaml")
    );
    assert_eq!(
        (
            pet.location.pointer.as_str(),
            pet.location.line,
            pet.location.column
        ),
        ("/Pet", 1, 1)
    );
    // `Local` is not reached from any operation, so it is not in the bundle.
    assert!(!c.schemas.contains_key("Local"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn recursive_schemas_load_once() {
    let c = load_fixture("recursive.yaml");
    assert_eq!(c.schemas.keys().collect::<Vec<_>>(), vec!["Node", "Meta"]);
    assert_eq!(
        schema_json(&c, "Node"),
        json!({"type": "object", "properties": {
            "value": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            "parent": {"$ref": "#/$defs/Node"},
            "meta": {"$ref": "#/$defs/Meta"}
        }})
    );
    let root = &c.operations[0].responses["200"].content["application/json"];
    let schema = root.schema.as_ref().unwrap();
    assert_eq!(c.deref_schema(&schema.value)["type"], json!("object"));
}

#[test]
fn reference_cycles_are_errors_with_the_chain() {
    let err = fail_fixture("param-cycle.yaml");
    let Error::Ref {
        location,
        reference,
        message,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(reference, "#/components/parameters/A");
    assert_eq!(
        (location.pointer.as_str(), location.line),
        ("/paths/~1a/get/parameters/0/$ref", 7)
    );
    assert!(message.contains("cycle"), "{message}");
    assert!(
        message.contains("#/components/parameters/A -> ")
            && message.contains("#/components/parameters/C -> "),
        "{message}"
    );

    let err = fail_fixture("schema-cycle.yaml");
    let Error::Ref {
        location, message, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(location.line, 9);
    assert!(message.contains("cycle"), "{message}");
    assert!(
        message.contains("#/definitions/A -> ") && message.contains("#/definitions/B -> "),
        "{message}"
    );
}

#[test]
fn dangling_references_and_missing_files_are_errors() {
    let err = fail_fixture("dangling.yaml");
    let Error::Ref {
        location,
        reference,
        message,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(reference, "#/components/schemas/Missing");
    assert_eq!((location.line, location.column), (14, 23));
    assert_eq!(
        location.pointer,
        "/paths/~1a/get/responses/200/content/application~1json/schema/properties/b/$ref"
    );
    assert!(
        message.contains("nothing at /components/schemas/Missing"),
        "{message}"
    );

    let err = fail_fixture("missing-file.yaml");
    let Error::Ref {
        location,
        reference,
        message,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(reference, "paths/none.yaml");
    assert_eq!(location.line, 5);
    assert!(message.contains("cannot read"), "{message}");
    assert!(message.contains("none.yaml"), "{message}");

    let err = load(&fixture("no-such-file.yaml")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn nullable_becomes_json_schema() {
    let c = load_fixture("nullable.yaml");
    let body = c.operations[0].request_body.as_ref().unwrap();
    assert_eq!(
        *body.content["application/json"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({"type": "object", "properties": {
            "name": {"type": ["string", "null"]},
            "color": {"type": ["string", "null"], "enum": ["red", "blue", null]},
            "owner": {"anyOf": [{"$ref": "#/$defs/Owner"}, {"type": "null"}]},
            "mixed": {"anyOf": [{"allOf": [{"$ref": "#/$defs/Owner"}]}, {"type": "null"}]},
            "age": {"type": "integer", "exclusiveMinimum": 0, "examples": [3]}
        }})
    );
    assert_eq!(
        schema_json(&c, "Owner"),
        json!({"type": ["object", "null"], "properties": {"id": {"type": "integer"}}})
    );
}

#[test]
fn security_is_inherited_overridden_or_removed() {
    let c = load_fixture("security.yaml");
    let summary: Vec<(&str, SecurityOrigin, Vec<Vec<&str>>)> = c
        .operations
        .iter()
        .map(|op| {
            let alternatives = op
                .security
                .iter()
                .map(|req| req.schemes.keys().map(String::as_str).collect())
                .collect();
            (op.path.as_str(), op.security_origin, alternatives)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "/inherits",
                SecurityOrigin::Global,
                vec![vec!["bearer"], vec!["key"]]
            ),
            ("/own", SecurityOrigin::Operation, vec![vec!["oauth"]]),
            ("/public", SecurityOrigin::Operation, vec![]),
            (
                "/optional",
                SecurityOrigin::Operation,
                vec![vec![], vec!["bearer"]]
            ),
            ("/ghost", SecurityOrigin::Operation, vec![vec!["ghost"]]),
        ]
    );
    assert_eq!(
        c.operations[1].security[0].schemes["oauth"],
        vec!["read", "write"]
    );
    assert!(c.operations[3].security[0].is_anonymous());
    assert_eq!(c.global_security_location.as_ref().unwrap().line, 3);
    assert_eq!(
        c.security_schemes["mtls"].kind,
        SecuritySchemeKind::MutualTls
    );
    assert_eq!(
        c.security_schemes["key"].kind,
        SecuritySchemeKind::ApiKey {
            name: "key".into(),
            location_in: ParameterIn::Cookie
        }
    );
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].message.contains("\"ghost\""));
    assert_eq!(
        c.warnings[0].location.pointer,
        "/paths/~1ghost/get/security"
    );

    let c = load_fixture("no-security.yaml");
    assert_eq!(c.operations[0].security_origin, SecurityOrigin::None);
    assert!(c.operations[0].security.is_empty());
    assert!(c.global_security.is_none());
}

#[test]
#[cfg(unix)]
fn only_regular_files_are_read() {
    let err = fail_fixture("device-ref.yaml");
    let Error::Ref {
        reference, message, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(reference, "/dev/zero");
    assert!(
        message.contains("/dev/zero is not a regular file"),
        "{message}"
    );
}

#[test]
fn limits_and_confinement_are_enforced() {
    let root = fixture("external/api/openapi.yaml");
    let confined = LoadOptions {
        confine_to: Some(fixture("external/api")),
        ..LoadOptions::default()
    };
    let err = load_with(&root, &confined).unwrap_err();
    let Error::Ref { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("is outside"), "{message}");
    let wide = LoadOptions {
        confine_to: Some(fixture("external")),
        ..LoadOptions::default()
    };
    assert_eq!(load_with(&root, &wide).unwrap().sources.files.len(), 5);

    let few = LoadOptions {
        max_files: 2,
        ..LoadOptions::default()
    };
    let err = load_with(&root, &few).unwrap_err();
    assert!(
        err.to_string().contains("refers to more than 2 files"),
        "{err}"
    );
    let small = LoadOptions {
        max_total_bytes: 600,
        ..LoadOptions::default()
    };
    let err = load_with(&root, &small).unwrap_err();
    assert!(err.to_string().contains("exceed 600 bytes in all"), "{err}");
    let tiny = LoadOptions {
        limits: portcullis_spec::parse::Limits {
            max_bytes: 100,
            ..Default::default()
        },
        ..LoadOptions::default()
    };
    assert!(matches!(
        load_with(&root, &tiny),
        Err(Error::TooLarge { .. })
    ));
}
