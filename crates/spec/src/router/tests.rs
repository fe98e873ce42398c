//! Router tests on hand-built catalogs.

use std::borrow::Cow;
use std::sync::Arc;

use super::*;
use crate::model::{Catalog, Info, Location, SecurityOrigin, Server, SpecVersion};
use crate::normalize::normalize_path;

fn location() -> Location {
    Location {
        file: Arc::from("test.yaml"),
        pointer: String::new(),
        line: 0,
        column: 0,
    }
}

pub(super) fn server(base_path: &str) -> Server {
    Server {
        url: format!("https://api.example{base_path}"),
        resolved_url: format!("https://api.example{base_path}"),
        base_path: base_path.to_owned(),
        description: None,
        location: location(),
    }
}

pub(super) fn op(method: Method, path: &str, id: &str) -> Operation {
    Operation {
        id: id.to_owned(),
        operation_id: Some(id.to_owned()),
        method,
        path: path.to_owned(),
        summary: None,
        description: None,
        tags: Vec::new(),
        deprecated: false,
        parameters: Vec::new(),
        request_body: None,
        responses: Default::default(),
        security: Vec::new(),
        security_origin: SecurityOrigin::None,
        servers: Vec::new(),
        extensions: Default::default(),
        location: location(),
    }
}

pub(super) fn catalog(servers: Vec<Server>, operations: Vec<Operation>) -> Catalog {
    Catalog {
        version: SpecVersion::OpenApi31,
        declared_version: "3.1.0".to_owned(),
        root_file: Arc::from("test.yaml"),
        info: Info::default(),
        servers,
        operations,
        security_schemes: Default::default(),
        global_security: None,
        global_security_location: None,
        schemas: Default::default(),
        tags: Default::default(),
        extensions: Default::default(),
        warnings: Vec::new(),
        unresolved_refs: Vec::new(),
        sources: Default::default(),
    }
}

fn build(ops: &[(Method, &str)]) -> (Catalog, Router, Vec<RouteWarning>) {
    let operations = ops
        .iter()
        .enumerate()
        .map(|(i, (m, p))| op(*m, p, &format!("op{i}")))
        .collect();
    let catalog = catalog(Vec::new(), operations);
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    (catalog, router, warnings)
}

/// The operation id and `name=value` parameters of a match, or "405 [..]" / "404".
pub(super) fn show(catalog: &Catalog, route: Route<'_, '_>) -> String {
    match route {
        Route::Matched { operation, params } => {
            let mut out = catalog.operations[operation].id.clone();
            for (name, value) in params.iter() {
                out.push_str(&format!(" {name}={value}"));
            }
            out
        }
        Route::MethodNotAllowed { allowed } => {
            let allowed: Vec<_> = allowed.iter().map(|m| m.as_str()).collect();
            format!("405 {}", allowed.join(","))
        }
        Route::NotFound => "404".to_owned(),
    }
}

fn check(ops: &[(Method, &str)], cases: &[(&str, &str, &str)]) {
    let (catalog, router, warnings) = build(ops);
    assert_eq!(warnings, vec![], "unexpected warnings");
    for (method, path, expected) in cases {
        let got = show(&catalog, router.route(method, path));
        assert_eq!(got, *expected, "{method} {path}");
    }
}

use Method::{Delete, Get, Head, Patch, Post, Put};

#[test]
fn concrete_segments_beat_templates() {
    check(
        &[
            (Get, "/pets/{id}"),
            (Get, "/pets/mine"),
            (Get, "/pets/{id}/toys"),
            (Get, "/pets/mine/food"),
        ],
        &[
            ("GET", "/pets/mine", "op1"),
            ("GET", "/pets/42", "op0 id=42"),
            ("GET", "/pets/mines", "op0 id=mines"),
            ("GET", "/pets/min", "op0 id=min"),
            ("GET", "/pets/mine/food", "op3"),
            // The literal branch fails deeper; the tree backtracks to the template.
            ("GET", "/pets/mine/toys", "op2 id=mine"),
            ("GET", "/pets/42/food", "404"),
            ("GET", "/pets", "404"),
            ("GET", "/", "404"),
        ],
    );
}

#[test]
fn method_not_allowed_and_head_fallback() {
    check(
        &[
            (Get, "/pets/{id}"),
            (Delete, "/pets/{petId}"),
            (Get, "/pets/mine"),
            (Put, "/files/{name}"),
            (Head, "/files/{name}"),
            (Get, "/files/{name}"),
        ],
        &[
            ("DELETE", "/pets/7", "op1 petId=7"),
            ("GET", "/pets/7", "op0 id=7"),
            ("HEAD", "/pets/7", "op0 id=7"),
            ("HEAD", "/files/a", "op4 name=a"),
            ("POST", "/pets/7", "405 GET,DELETE,HEAD"),
            // The concrete path wins even when only the template has the method.
            ("DELETE", "/pets/mine", "405 GET,HEAD"),
            ("PROPFIND", "/pets/7", "405 GET,DELETE,HEAD"),
            ("CONNECT", "/files/a", "405 GET,PUT,HEAD"),
            // Method tokens are case-sensitive.
            ("get", "/pets/7", "405 GET,DELETE,HEAD"),
            ("", "/pets/7", "405 GET,DELETE,HEAD"),
            ("PROPFIND", "/nowhere", "404"),
        ],
    );
}

#[test]
fn equivalent_templates_share_one_node() {
    let (_, router, warnings) = build(&[
        (Get, "/pets/{id}"),
        (Delete, "/pets/{petId}"),
        (Patch, "/pets/{pet_id}/"),
        (Get, "/a/{x}/b"),
        (Get, "/a/{y}/c"),
    ]);
    assert!(warnings.is_empty());
    assert_eq!(router.len(), 3);
    assert_eq!(router.shape("/pets/1"), Some("/pets/{p0}"));
    assert_eq!(router.shape("/a/1/c"), Some("/a/{p0}/c"));
}

#[test]
fn positional_names_map_back_to_each_operation() {
    check(
        &[
            (Get, "/a/{x}/b/{y}"),
            (Put, "/a/{first}/b/{second}"),
            (Get, "/a/{z}/c"),
        ],
        &[
            ("GET", "/a/1/b/2", "op0 x=1 y=2"),
            ("PUT", "/a/1/b/2", "op1 first=1 second=2"),
            ("GET", "/a/1/c", "op2 z=1"),
        ],
    );
}

#[test]
fn parameters_are_decoded_and_borrow_when_plain() {
    let (catalog, router, _) = build(&[(Get, "/users/{name}/files/{file}")]);
    let path = normalize_path("/users/J%c3%bcrgen%20K/files/a+b%25").unwrap();
    assert_eq!(path.as_str(), "/users/J%C3%BCrgen%20K/files/a+b%25");
    let route = router.route("GET", path.as_str());
    assert_eq!(show(&catalog, route.clone()), "op0 name=Jürgen K file=a+b%");
    let Route::Matched { params, .. } = router.route("GET", "/users/bob/files/x") else {
        panic!("no match");
    };
    assert!(params.iter().all(|(_, v)| matches!(v, Cow::Borrowed(_))));
    assert_eq!(params.get("file").as_deref(), Some("x"));
    assert_eq!(params.get("nope"), None);
    assert_eq!(params.raw("name"), Some("bob"));
    assert_eq!(params.len(), 2);
}

#[test]
fn parameters_never_span_segments() {
    check(
        &[(Get, "/files/{name}"), (Get, "/docs/{name}.json")],
        &[
            ("GET", "/files/a", "op0 name=a"),
            ("GET", "/files/a/b", "404"),
            ("GET", "/files", "404"),
            ("GET", "/docs/a.json", "op1 name=a"),
            ("GET", "/docs/a.b.json", "op1 name=a.b"),
            ("GET", "/docs/.json", "404"),
            ("GET", "/docs/a/b.json", "404"),
            ("GET", "/docs/a.xml", "404"),
        ],
    );
}

#[test]
fn templates_are_normalized_like_requests() {
    check(
        &[
            (Get, "/pets/"),
            (Get, "//stores//{id}/"),
            (Get, "/caf%c3%a9/{x}"),
            (Get, "/menü"),
            (Get, "/%7euser/a%2Db"),
            (Get, "/"),
        ],
        &[
            ("GET", "/pets", "op0"),
            ("GET", "/stores/9", "op1 id=9"),
            ("GET", "/caf%C3%A9/1", "op2 x=1"),
            ("GET", "/men%C3%BC", "op3"),
            ("GET", "/~user/a-b", "op4"),
            ("GET", "/", "op5"),
        ],
    );
    // Through normalize_path, the spellings a client might send all land there.
    let (catalog, router, _) = build(&[(Get, "/caf%c3%a9/{x}")]);
    for sent in [
        "/café/1/",
        "//caf%C3%A9/1",
        "/caf%c3%a9/./1",
        "/x/../café/1",
    ] {
        let path = normalize_path(sent).unwrap();
        assert_eq!(
            show(&catalog, router.route("GET", path.as_str())),
            "op0 x=1"
        );
    }
}

#[test]
fn several_parameters_in_one_segment() {
    let (catalog, router, warnings) = build(&[
        (Get, "/repos/{owner}:{repo}"),
        (Get, "/repos/{id}"),
        (Get, "/repos/mine"),
        (Get, "/v/{major}.{minor}/info"),
    ]);
    assert!(warnings.is_empty());
    assert_eq!(router.len(), 4);
    let cases = [
        ("/repos/me:tool", "op0 owner=me repo=tool"),
        ("/repos/42", "op1 id=42"),
        ("/repos/mine", "op2"),
        ("/v/1.2/info", "op3 major=1 minor=2"),
        ("/v/1/info", "404"),
        ("/repos/me:", "op1 id=me:"),
    ];
    for (path, expected) in cases {
        assert_eq!(
            show(&catalog, router.route("GET", path)),
            expected,
            "{path}"
        );
    }
}

#[test]
fn prefix_and_suffix_parameters_at_one_place() {
    // A prefixed and a suffixed parameter at the same place (which matchit refuses): the
    // one with more literal text wins where both match.
    let (catalog, router, warnings) =
        build(&[(Get, "/img/a{x}"), (Get, "/img/{y}.png"), (Get, "/img/{z}")]);
    assert!(warnings.is_empty());
    let cases = [
        ("/img/abc", "op0 x=bc"),
        ("/img/pic.png", "op1 y=pic"),
        ("/img/other", "op2 z=other"),
        ("/img/apic.png", "op1 y=apic"),
        ("/img/a.png", "op1 y=a"),
        ("/img/a", "op2 z=a"),
    ];
    for (path, expected) in cases {
        assert_eq!(
            show(&catalog, router.route("GET", path)),
            expected,
            "{path}"
        );
    }
}

#[test]
fn base_paths_from_servers() {
    let mut ops = vec![
        op(Get, "/pets", "listPets"),
        op(Get, "/pets/{id}", "getPet"),
        op(Get, "/upload", "upload"),
    ];
    ops[2].servers = vec![server("/uploads/v2"), server("")];
    let catalog = catalog(vec![server("/v1"), server("/v1/"), server("")], ops);
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let cases = [
        ("/v1/pets", "listPets"),
        ("/pets", "listPets"),
        ("/v1/pets/3", "getPet id=3"),
        ("/uploads/v2/upload", "upload"),
        ("/upload", "upload"),
        // Operations are reachable only under their own servers' base paths.
        ("/v1/upload", "404"),
        ("/uploads/v2/pets", "404"),
        ("/v2/pets", "404"),
    ];
    for (path, expected) in cases {
        assert_eq!(
            show(&catalog, router.route("GET", path)),
            expected,
            "{path}"
        );
    }
}

#[test]
fn base_paths_from_options() {
    let catalog = catalog(
        vec![server("/v1")],
        vec![op(Get, "/pets", "listPets"), op(Get, "/", "root")],
    );
    let options = RouterOptions {
        base_paths: Some(vec!["/api/bank/".to_owned(), "/".to_owned()]),
    };
    let (router, warnings) = Router::new(&catalog, &options);
    assert!(warnings.is_empty());
    for (path, expected) in [
        ("/api/bank/pets", "listPets"),
        ("/pets", "listPets"),
        ("/api/bank", "root"),
        ("/", "root"),
        ("/v1/pets", "404"),
    ] {
        assert_eq!(
            show(&catalog, router.route("GET", path)),
            expected,
            "{path}"
        );
    }
    // An empty list mounts at the root.
    let options = RouterOptions {
        base_paths: Some(Vec::new()),
    };
    let (router, _) = Router::new(&catalog, &options);
    assert_eq!(show(&catalog, router.route("GET", "/pets")), "listPets");
}

#[test]
fn invalid_base_paths_are_warned_once() {
    let mut ops = vec![op(Get, "/a", "a"), op(Get, "/b", "b")];
    ops[0].servers = vec![server("/x/../.."), server("/ok")];
    ops[1].servers = vec![server("/x/../..")];
    let catalog = catalog(Vec::new(), ops);
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert_eq!(
        warnings,
        vec![RouteWarning {
            operation: None,
            operation_id: None,
            method: None,
            path: "/x/../..".to_owned(),
            problem: RouteProblem::BasePath(PathError::Traversal { offset: 6 }),
        }]
    );
    assert_eq!(
        warnings[0].to_string(),
        "base path \"/x/../..\": not used: invalid base path: `..` segment at byte 6 climbs above the root"
    );
    assert_eq!(show(&catalog, router.route("GET", "/ok/a")), "a");
    assert_eq!(show(&catalog, router.route("GET", "/b")), "404");
}

#[test]
fn conflicting_templates_produce_warnings_not_panics() {
    let (catalog, router, warnings) = build(&[
        (Get, "/pets/{id}"),
        (Get, "/pets/{petId}"),
        (Get, "/pets/{id"),
        (Get, "pets"),
        (Get, "/a/{x}{y}"),
        (Get, "/files/%2F"),
        (Get, "/a/../b"),
        (Post, "/pets/{petId}/"),
    ]);
    let got: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "operation op1 (GET /pets/{petId}): not routed: same method and path as operation op0, which is kept",
            "operation op2 (GET /pets/{id): not routed: invalid path template: unbalanced or misplaced brace at byte 6",
            "operation op3 (GET pets): not routed: invalid path template: the template does not start with `/`",
            "operation op4 (GET /a/{x}{y}): not routed: invalid path template: two adjacent parameters at byte 6",
            "operation op5 (GET /files/%2F): not routed: invalid path template: literal text cannot occur in a normalized path: encoded slash `%2F` at byte 7",
            "operation op6 (GET /a/../b): not routed: invalid path template: dot segment at byte 3",
        ]
    );
    assert_eq!(warnings[0].operation, Some(1));
    assert_eq!(show(&catalog, router.route("GET", "/pets/1")), "op0 id=1");
    assert_eq!(
        show(&catalog, router.route("POST", "/pets/1")),
        "op7 petId=1"
    );
}

#[test]
fn odd_but_valid_literal_text() {
    check(
        &[
            (Get, "/a*b/{x}"),
            (Get, "/x/~{y}"),
            (Get, "/s p a c e/{x}"),
            (Get, "/t/%7Bbrace%7D"),
        ],
        &[
            ("GET", "/a*b/1", "op0 x=1"),
            ("GET", "/x/~1", "op1 y=1"),
            ("GET", "/s%20p%20a%20c%20e/1", "op2 x=1"),
            ("GET", "/t/%7Bbrace%7D", "op3"),
        ],
    );
}

#[test]
fn non_normalized_input_does_not_panic() {
    let (_, router, _) = build(&[(Get, "/a/{x}"), (Get, "/{o}:{r}")]);
    for path in ["", "a", "//", "/a//", "/a/%", "/a/%zz", "*", "/é:ü", "/:"] {
        let _ = router.route("GET", path);
    }
}

#[test]
fn router_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Router>();
}
