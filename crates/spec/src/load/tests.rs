//! End-to-end tests of the builder on small in-memory documents.

use serde_json::json;

use crate::error::Error;
use crate::model::{
    Method, OAuthFlowKind, ParameterIn, SecurityOrigin, SecuritySchemeKind, SpecVersion,
};
use crate::{Catalog, load_str};

fn load(text: &str) -> Catalog {
    match load_str("api.yaml", text) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn warnings(c: &Catalog) -> Vec<String> {
    c.warnings.iter().map(|w| w.message.clone()).collect()
}

#[test]
fn versions_are_detected_or_refused_with_their_location() {
    assert_eq!(
        load("openapi: 3.0.3\npaths: {}\n").version,
        SpecVersion::OpenApi30
    );
    assert_eq!(load("openapi: 3.1.0\n").version, SpecVersion::OpenApi31);
    let c = load("swagger: '2.0'\npaths: {}\n");
    assert_eq!(
        (c.version, c.declared_version.as_str()),
        (SpecVersion::Swagger2, "2.0")
    );

    let err = load_str("api.yaml", "info: {}\nopenapi: 3.2.0\n").unwrap_err();
    let Error::UnsupportedVersion { location, declared } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (declared.as_str(), location.pointer.as_str(), location.line),
        ("3.2.0", "/openapi", 2)
    );
    assert!(matches!(
        load_str("a", "swagger: '1.2'\n"),
        Err(Error::UnsupportedVersion { .. })
    ));
    let err = load_str("a.yaml", "- 1\n- 2\n").unwrap_err();
    assert!(matches!(err, Error::NotOpenApi { .. }), "{err}");
    assert!(err.to_string().contains("a list, not a mapping"), "{err}");
    let err = load_str("a.yaml", "info: {title: x}\n").unwrap_err();
    assert!(
        err.to_string().contains("no `openapi` or `swagger` key"),
        "{err}"
    );
    assert!(matches!(
        load_str("a.yaml", "openapi: [3\n"),
        Err(Error::Syntax { .. })
    ));
}

const API_30: &str = r##"openapi: 3.0.3
info: {title: T, version: "1", description: D}
servers:
  - url: https://{region}.example.com/v1/
    variables: {region: {default: eu}}
tags: [{name: pets, description: Pets}]
security: [{key: []}]
x-root: 1
paths:
  /pets/{petId}:
    x-level: item
    x-both: item
    parameters:
      - {name: petId, in: path, required: true, schema: {type: string}}
      - {name: q, in: query, schema: {type: integer}}
    get:
      operationId: getPet
      tags: [pets]
      x-both: op
      parameters:
        - {name: q, in: query, style: form, explode: false, schema: {type: string}}
        - {name: X-Trace, in: header, schema: {type: string}}
      responses:
        "200":
          description: ok
          headers:
            X-Rate: {schema: {type: integer}}
          content:
            application/json: {schema: {$ref: "#/components/schemas/Pet"}}
        4XX: {$ref: "#/components/responses/Err"}
    delete:
      security: []
      servers: [{url: /admin}]
      responses: {default: {description: d}}
    put:
      security: [{oauth: [write]}, {}]
      requestBody: {$ref: "#/components/requestBodies/PetBody"}
      responses: {"204": {description: none}}
components:
  schemas:
    Pet: {type: object, properties: {name: {type: string, nullable: true}}}
  responses:
    Err: {description: error, content: {application/problem+json: {schema: {type: object}}}}
  requestBodies:
    PetBody:
      required: true
      content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
  securitySchemes:
    key: {type: apiKey, name: X-Key, in: header}
    oauth:
      type: oauth2
      flows:
        clientCredentials: {tokenUrl: https://t, scopes: {write: w}}
    bearer: {type: http, scheme: Bearer, bearerFormat: JWT}
    oidc: {type: openIdConnect, openIdConnectUrl: https://o}
"##;

#[test]
fn openapi_3_operations_are_built() {
    let c = load(API_30);
    assert_eq!(c.info.title.as_deref(), Some("T"));
    assert_eq!(c.tags.get("pets"), Some(&Some("Pets".to_owned())));
    assert_eq!(c.extensions.get("x-root"), Some(&json!(1)));
    assert_eq!(c.servers.len(), 1);
    assert_eq!(c.servers[0].resolved_url, "https://eu.example.com/v1/");
    assert_eq!(c.servers[0].base_path, "/v1");
    let order: Vec<(Method, &str)> = c
        .operations
        .iter()
        .map(|o| (o.method, o.id.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            (Method::Get, "getPet"),
            (Method::Put, "put_pets_petId"),
            (Method::Delete, "delete_pets_petId")
        ]
    );
    let get = c.operation("getPet").unwrap();
    assert_eq!(get.location.pointer, "/paths/~1pets~1{petId}/get");
    assert_eq!(get.location.line, 16);
    let params: Vec<(&str, ParameterIn, &str, bool)> = get
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.location_in, p.style.as_str(), p.explode))
        .collect();
    assert_eq!(
        params,
        vec![
            ("petId", ParameterIn::Path, "simple", false),
            ("q", ParameterIn::Query, "form", false),
            ("X-Trace", ParameterIn::Header, "simple", false),
        ]
    );
    assert_eq!(
        *get.parameters[1].schema.as_ref().unwrap().value,
        json!({"type": "string"})
    );
    assert_eq!(get.extensions.get("x-level"), Some(&json!("item")));
    assert_eq!(get.extensions.get("x-both"), Some(&json!("op")));
    assert_eq!(get.security_origin, SecurityOrigin::Global);
    assert_eq!(
        get.security[0].schemes.keys().collect::<Vec<_>>(),
        vec!["key"]
    );
    assert_eq!(get.servers[0].base_path, "/v1");

    let ok = &get.responses["200"];
    let media = &ok.content["application/json"];
    assert_eq!(
        *media.schema.as_ref().unwrap().value,
        json!({"$ref": "#/$defs/Pet"})
    );
    assert_eq!(
        media.schema.as_ref().unwrap().location.pointer,
        "/paths/~1pets~1{petId}/get/responses/200/content/application~1json/schema"
    );
    assert_eq!(
        *ok.headers["X-Rate"].as_ref().unwrap().value,
        json!({"type": "integer"})
    );
    let err = &get.responses["4XX"];
    assert_eq!(err.description.as_deref(), Some("error"));
    assert_eq!(err.location.pointer, "/components/responses/Err");
    assert!(err.content.contains_key("application/problem+json"));

    let pet = c.resolve_ref("#/$defs/Pet").unwrap();
    assert_eq!(
        *pet.value,
        json!({"type": "object", "properties": {"name": {"type": ["string", "null"]}}})
    );
    assert_eq!(pet.location.pointer, "/components/schemas/Pet");

    let put = &c.operations[1];
    assert_eq!(put.security_origin, SecurityOrigin::Operation);
    assert!(put.security[1].is_anonymous());
    let body = put.request_body.as_ref().unwrap();
    assert!(body.required);
    assert_eq!(body.location.pointer, "/components/requestBodies/PetBody");
    let delete = &c.operations[2];
    assert_eq!(
        (delete.security_origin, delete.security.len()),
        (SecurityOrigin::Operation, 0)
    );
    assert_eq!(delete.servers[0].url, "/admin");

    assert_eq!(
        c.security_schemes["key"].kind,
        SecuritySchemeKind::ApiKey {
            name: "X-Key".into(),
            location_in: ParameterIn::Header
        }
    );
    assert_eq!(
        c.security_schemes["bearer"].kind,
        SecuritySchemeKind::Http {
            scheme: "bearer".into(),
            bearer_format: Some("JWT".into())
        }
    );
    let SecuritySchemeKind::OAuth2 { flows } = &c.security_schemes["oauth"].kind else {
        panic!()
    };
    assert_eq!(flows[0].kind, OAuthFlowKind::ClientCredentials);
    assert_eq!(flows[0].scopes["write"], "w");
    assert_eq!(
        c.security_schemes["oidc"].kind,
        SecuritySchemeKind::OpenIdConnect {
            url: "https://o".into()
        }
    );
    assert_eq!(warnings(&c), Vec::<String>::new());
}

#[test]
fn no_servers_means_one_root_server_and_no_security_means_none() {
    let c = load("openapi: 3.1.0\npaths:\n  /a:\n    get: {}\nwebhooks:\n  hook:\n    post: {}\n");
    assert_eq!(c.servers.len(), 1);
    assert_eq!(
        (c.servers[0].url.as_str(), c.servers[0].base_path.as_str()),
        ("/", "")
    );
    assert_eq!(c.operations.len(), 1, "webhooks are not operations");
    assert_eq!(c.operations[0].security_origin, SecurityOrigin::None);
    assert!(c.global_security.is_none());
}

#[test]
fn duplicate_and_missing_operation_ids_are_generated() {
    let c = load(
        "openapi: 3.0.0\ninfo: {title: t, version: v}\npaths:\n  /a:\n    get: {operationId: x}\n    post: {operationId: x}\n  \
         /b:\n    get: {operationId: get_a}\n  /c/{id}.json:\n    get: {parameters: [{name: id, in: path, required: true}]}\n",
    );
    let ids: Vec<&str> = c.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, vec!["get_a_2", "post_a", "get_a", "get_c_id_json"]);
    let w = warnings(&c);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("\"x\" is not unique"), "{w:?}");
    assert_eq!(c.warnings[0].location.pointer, "/paths/~1a/get/operationId");
}

#[test]
fn path_template_mismatches_and_undeclared_schemes_are_warnings() {
    let c = load(
        "openapi: 3.0.0\nsecurity: [{ghost: []}]\npaths:\n  /a/{x}:\n    get:\n      \
         parameters: [{name: y, in: path}, {name: z, in: body}]\n",
    );
    let w = warnings(&c);
    assert!(
        w.iter()
            .any(|m| m.contains("`{x}` in the path \"/a/{x}\" has no declared path parameter")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("\"y\" does not appear in the path")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("\"y\" is not marked `required: true`")),
        "{w:?}"
    );
    assert!(w.iter().any(|m| m.contains("`in: body`")), "{w:?}");
    assert!(
        w.iter()
            .any(|m| m.contains("\"ghost\", which is not a declared security scheme")),
        "{w:?}"
    );
    assert!(c.operations[0].parameters[0].required);
}

#[test]
fn structural_errors_name_the_place() {
    let err = load_str("api.yaml", "openapi: 3.0.0\npaths: [1]\n").unwrap_err();
    let Error::Invalid { location, message } = &err else {
        panic!("{err}")
    };
    assert_eq!((location.pointer.as_str(), location.line), ("/paths", 2));
    assert!(
        message.contains("`paths` must be a mapping, found a list"),
        "{message}"
    );
    let err = load_str(
        "api.yaml",
        "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{in: query}]\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("a parameter has no `name`"),
        "{err}"
    );
    assert!(
        err.to_string().contains("/paths/~1a/get/parameters/0"),
        "{err}"
    );
    let err = load_str("api.yaml", "openapi: 3.0.0\nsecurity: {a: []}\n").unwrap_err();
    assert!(
        err.to_string().contains("`security` must be a list"),
        "{err}"
    );
}

#[test]
fn reference_errors_name_the_chain() {
    let err = load_str(
        "api.yaml",
        "openapi: 3.0.0\npaths:\n  /a:\n    parameters: [{$ref: '#/components/parameters/A'}]\n    get: {}\n\
         components:\n  parameters:\n    A: {$ref: '#/components/parameters/B'}\n    B: {$ref: '#/components/parameters/A'}\n",
    )
    .unwrap_err();
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
        ("/paths/~1a/parameters/0/$ref", 4)
    );
    assert!(message.contains("cycle"), "{message}");
    assert!(
        message.contains("api.yaml#/components/parameters/A -> api.yaml#/components/parameters/B -> api.yaml#/components/parameters/A"),
        "{message}"
    );
    let err = load_str(
        "api.yaml",
        "openapi: 3.0.0\npaths:\n  /a: {$ref: 'other.yaml#/a'}\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot refer to other files"),
        "{err}"
    );
    let err = load_str(
        "api.yaml",
        "openapi: 3.0.0\npaths:\n  /a: {$ref: 'https://x.test/a.yaml'}\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("remote references are not fetched"),
        "{err}"
    );
}

const API_20: &str = r##"swagger: "2.0"
info: {title: T, version: "1"}
host: api.example.com
basePath: /v2/
schemes: [https, http]
consumes: [application/json, application/xml]
produces: [application/json]
securityDefinitions:
  basic: {type: basic}
  key: {type: apiKey, name: api_key, in: query}
  oauth: {type: oauth2, flow: accessCode, authorizationUrl: https://a, tokenUrl: https://t, scopes: {read: r}}
paths:
  /pets:
    post:
      parameters:
        - {name: body, in: body, required: true, schema: {$ref: "#/definitions/Pet"}}
        - {name: tags, in: query, type: array, items: {type: string}, collectionFormat: multi}
        - {name: ids, in: header, type: array, items: {type: integer}}
        - {name: sp, in: query, type: array, items: {type: string}, collectionFormat: ssv}
        - {name: tab, in: query, type: array, items: {type: string}, collectionFormat: tsv}
        - {name: limit, in: query, type: integer, maximum: 10, exclusiveMaximum: true, x-nullable: true}
      responses:
        "201":
          description: created
          schema: {$ref: "#/definitions/Pet"}
          headers: {X-Id: {type: string, format: uuid}}
  /pets/{id}/photo:
    put:
      schemes: [https]
      consumes: [multipart/form-data, application/x-www-form-urlencoded]
      produces: [image/png]
      parameters:
        - {name: id, in: path, required: true, type: string}
        - {name: file, in: formData, type: file, required: true, description: the photo}
        - {name: note, in: formData, type: string}
      responses: {default: {description: d, schema: {type: file}}}
  /forms:
    post:
      parameters: [{name: a, in: formData, type: string}]
      responses: {"200": {description: ok}}
definitions:
  Pet: {type: object, properties: {id: {type: integer, x-nullable: true}}}
"##;

#[test]
fn swagger_2_is_converted() {
    let c = load(API_20);
    let urls: Vec<(&str, &str)> = c
        .servers
        .iter()
        .map(|s| (s.url.as_str(), s.base_path.as_str()))
        .collect();
    assert_eq!(
        urls,
        vec![
            ("https://api.example.com/v2", "/v2"),
            ("http://api.example.com/v2", "/v2")
        ]
    );

    let post = &c.operations[0];
    let body = post.request_body.as_ref().unwrap();
    assert!(body.required);
    assert_eq!(
        body.content.keys().collect::<Vec<_>>(),
        vec!["application/json", "application/xml"]
    );
    assert_eq!(
        *body.content["application/xml"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({"$ref": "#/$defs/Pet"})
    );
    let styles: Vec<(&str, &str, bool)> = post
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.style.as_str(), p.explode))
        .collect();
    assert_eq!(
        styles,
        vec![
            ("tags", "form", true),
            ("ids", "simple", false),
            ("sp", "spaceDelimited", false),
            ("tab", "form", false),
            ("limit", "form", true)
        ]
    );
    assert_eq!(
        *post.parameters[0].schema.as_ref().unwrap().value,
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        *post.parameters[4].schema.as_ref().unwrap().value,
        json!({"type": ["integer", "null"], "exclusiveMaximum": 10, "x-nullable": true})
    );
    let created = &post.responses["201"];
    assert_eq!(
        created.content.keys().collect::<Vec<_>>(),
        vec!["application/json"]
    );
    assert_eq!(
        *created.headers["X-Id"].as_ref().unwrap().value,
        json!({"type": "string", "format": "uuid"})
    );
    assert_eq!(post.security_origin, SecurityOrigin::None);

    let put = &c.operations[1];
    assert_eq!(
        put.servers
            .iter()
            .map(|s| s.url.as_str())
            .collect::<Vec<_>>(),
        vec!["https://api.example.com/v2"]
    );
    let form = put.request_body.as_ref().unwrap();
    assert!(form.required);
    assert_eq!(
        form.content.keys().collect::<Vec<_>>(),
        vec!["multipart/form-data", "application/x-www-form-urlencoded"]
    );
    assert_eq!(
        *form.content["multipart/form-data"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "the photo"},
                "note": {"type": "string"}
            },
            "required": ["file"]
        })
    );
    assert_eq!(
        *put.responses["default"].content["image/png"]
            .schema
            .as_ref()
            .unwrap()
            .value,
        json!({"type": "string", "format": "binary"})
    );
    let plain_form = c.operations[2].request_body.as_ref().unwrap();
    assert_eq!(
        plain_form.content.keys().collect::<Vec<_>>(),
        vec!["application/x-www-form-urlencoded"]
    );
    assert!(!plain_form.required);

    assert_eq!(
        c.security_schemes["basic"].kind,
        SecuritySchemeKind::Http {
            scheme: "basic".into(),
            bearer_format: None
        }
    );
    assert_eq!(
        c.security_schemes["key"].kind,
        SecuritySchemeKind::ApiKey {
            name: "api_key".into(),
            location_in: ParameterIn::Query
        }
    );
    let SecuritySchemeKind::OAuth2 { flows } = &c.security_schemes["oauth"].kind else {
        panic!()
    };
    assert_eq!(flows[0].kind, OAuthFlowKind::AuthorizationCode);
    assert_eq!(flows[0].authorization_url.as_deref(), Some("https://a"));
    assert_eq!(
        *c.resolve_ref("#/$defs/Pet").unwrap().value,
        json!({"type": "object", "properties": {"id": {"type": ["integer", "null"], "x-nullable": true}}})
    );
    let w = warnings(&c);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("tsv"), "{w:?}");
}

#[test]
fn swagger_2_without_host_gets_a_relative_server() {
    let c = load("swagger: '2.0'\nbasePath: /api\npaths: {}\n");
    assert_eq!(
        (c.servers[0].url.as_str(), c.servers[0].base_path.as_str()),
        ("/api", "/api")
    );
    let c = load("swagger: '2.0'\nhost: h.test\npaths: {}\n");
    assert_eq!(
        (c.servers[0].url.as_str(), c.servers[0].base_path.as_str()),
        ("//h.test", "")
    );
}

#[test]
fn a_shared_parameter_is_warned_about_once() {
    let c = load(
        "openapi: 3.0.0\ninfo: {title: t, version: v}\npaths:\n  /a/{id}:\n    \
         parameters: [{name: id, in: path, schema: {type: string}}]\n    get: {}\n    put: {}\n",
    );
    assert_eq!(
        warnings(&c),
        vec![
            "the path parameter \"id\" is not marked `required: true` (path parameters always are)"
        ]
    );
    assert!(c.operations.iter().all(|op| op.parameters[0].required));
}

/// Found by the property test: `properties` replaced by a `$ref` to a node that contains
/// the same schema again recursed until the stack overflowed. The depth limit must hold
/// well inside a small thread stack, even in a debug build.
#[test]
fn a_properties_ref_loop_stops_at_the_depth_limit_on_a_small_stack() {
    let text = r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"post": {
        "requestBody": {"content": {"application/json": {"schema": {
            "type": {"$ref": "#/components/schemas/$ref"},
            "properties": {"$ref": "#/paths/~1a/post/requestBody/content/application~1json"}
        }}}},
        "responses": {"204": {"description": "ok"}}}}},
        "components": {"schemas": {"$ref": {"$ref": "#/paths/~1a/post/responses"}}}}"##;
    let outcome = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            load_str("loop.json", text)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .unwrap()
        .join()
        .unwrap();
    let err = outcome.unwrap_err();
    assert!(
        err.contains("schemas nested more than 64 levels deep"),
        "{err}"
    );
    assert!(
        err.contains("/paths/~1a/post/requestBody/content/application~1json/schema"),
        "{err}"
    );
}
