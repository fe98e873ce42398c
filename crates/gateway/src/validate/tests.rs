use super::*;
use bytes::Bytes;
use portcullis_spec::{Route, Router, RouterOptions};

const SPEC: &str = r##"
openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /items/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
    get:
      operationId: getItem
      parameters:
        - { name: limit, in: query, schema: { type: integer, maximum: 100 } }
        - { name: tags, in: query, schema: { type: array, items: { type: string, enum: [a, b] } } }
        - { name: X-Trace, in: header, required: true, schema: { type: string, pattern: '^[0-9a-f]{8}$' } }
        - { name: session, in: cookie, schema: { type: string, maxLength: 8 } }
        - { name: verbose, in: query, schema: { type: boolean } }
      responses: { '200': { description: ok } }
    put:
      operationId: putItem
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Item' }
          application/x-www-form-urlencoded:
            schema: { $ref: '#/components/schemas/Item' }
          multipart/form-data:
            schema: { $ref: '#/components/schemas/Item' }
      responses: { '200': { description: ok } }
components:
  schemas:
    Item:
      type: object
      required: [name]
      properties:
        name: { type: string, maxLength: 10 }
        price: { type: number, minimum: 0, nullable: true }
"##;

fn fixture() -> (Catalog, Router) {
    let catalog = portcullis_spec::load_str("t.yaml", SPEC).unwrap();
    let (router, _) = Router::new(&catalog, &RouterOptions::default());
    (catalog, router)
}

fn params(path: &str, query: &str, headers: &[(&str, &str)]) -> Option<Violation> {
    let (catalog, router) = fixture();
    let Route::Matched { operation, params } = router.route("GET", path) else {
        panic!("no route for {path}");
    };
    let check = RequestCheck::new(&catalog, &catalog.operations[operation]).unwrap();
    let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    check.check_params(&params, &q, &map)
}

const TRACE: (&str, &str) = ("x-trace", "0123abcd");

#[test]
fn parameters_table() {
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: &[Case<'_>] = &[
        ("/items/5", "", &[TRACE], None),
        (
            "/items/5",
            "limit=100&tags=a&tags=b&verbose=true",
            &[TRACE],
            None,
        ),
        (
            "/items/0",
            "",
            &[TRACE],
            Some("path parameter \"id\": 0 is less than the minimum of 1"),
        ),
        (
            "/items/abc",
            "",
            &[TRACE],
            Some("path parameter \"id\": \"abc\" is not of type \"integer\""),
        ),
        (
            "/items/5",
            "limit=101",
            &[TRACE],
            Some("query parameter \"limit\": 101 is greater than the maximum of 100"),
        ),
        (
            "/items/5",
            "limit=1e3",
            &[TRACE],
            Some("query parameter \"limit\""),
        ),
        (
            "/items/5",
            "tags=a&tags=c",
            &[TRACE],
            Some("query parameter \"tags\""),
        ),
        (
            "/items/5",
            "verbose=yes",
            &[TRACE],
            Some("query parameter \"verbose\""),
        ),
        (
            "/items/5",
            "",
            &[],
            Some("header parameter \"x-trace\" is required"),
        ),
        (
            "/items/5",
            "",
            &[("X-Trace", "nothex!!")],
            Some("header parameter \"x-trace\""),
        ),
        (
            "/items/5",
            "",
            &[TRACE, ("cookie", "session=123456789")],
            Some("cookie parameter \"session\""),
        ),
        ("/items/5", "", &[TRACE, ("cookie", "session=1234")], None),
        // A parameter that takes one value, sent twice: the gateway would check one copy
        // and the upstream could read the other.
        (
            "/items/5",
            "limit=5&limit=1000",
            &[TRACE],
            Some("query parameter \"limit\" is sent 2 times; it takes one value"),
        ),
        (
            "/items/5",
            "verbose=true&verbose=1%27%20OR%201%3D1",
            &[TRACE],
            Some("query parameter \"verbose\" is sent 2 times"),
        ),
        (
            "/items/5",
            "",
            &[TRACE, ("x-trace", "0123abcd")],
            Some("header parameter \"x-trace\" is sent 2 times"),
        ),
        (
            "/items/5",
            "",
            &[TRACE, ("cookie", "session=1234; session=' OR 1=1")],
            Some("cookie parameter \"session\" is sent 2 times"),
        ),
        (
            "/items/5",
            "",
            &[
                TRACE,
                ("cookie", "session=1234"),
                ("cookie", "session=5678"),
            ],
            Some("cookie parameter \"session\" is sent 2 times"),
        ),
    ];
    for (path, query, headers, expected) in cases {
        let got = params(path, query, headers);
        match (expected, &got) {
            (None, None) => {}
            (Some(want), Some(v)) => {
                assert_eq!(v.rule, "request.parameter");
                assert!(
                    v.reason.starts_with(want),
                    "{path}?{query}: {} !~ {want}",
                    v.reason
                );
            }
            _ => panic!("{path}?{query} {headers:?}: expected {expected:?}, got {got:?}"),
        }
    }
}

/// A header or cookie value that is not UTF-8 is refused, never skipped and forwarded.
#[test]
fn header_and_cookie_values_that_are_not_utf8_are_refused() {
    let (catalog, router) = fixture();
    let Route::Matched { operation, params } = router.route("GET", "/items/5") else {
        panic!("no route");
    };
    let check = RequestCheck::new(&catalog, &catalog.operations[operation]).unwrap();
    let bad = http::HeaderValue::from_bytes(b"\xff\xfe0123abcd").unwrap();
    let mut map = http::HeaderMap::new();
    map.append("x-trace", bad.clone());
    let v = check.check_params(&params, &[], &map).unwrap();
    assert_eq!(v.reason, "header parameter \"x-trace\" is not UTF-8 text");
    let mut map = http::HeaderMap::new();
    map.append("x-trace", http::HeaderValue::from_static("0123abcd"));
    map.append("cookie", bad);
    let v = check.check_params(&params, &[], &map).unwrap();
    assert!(
        v.reason.contains("the Cookie header is not UTF-8"),
        "{}",
        v.reason
    );
}

async fn body(content_type: Option<&str>, text: &str, unknown: bool) -> Vec<Violation> {
    let (catalog, _) = fixture();
    let op = catalog.operation("putItem").unwrap();
    let check = RequestCheck::new(&catalog, op).unwrap();
    check
        .body
        .unwrap()
        .check(
            content_type,
            &Bytes::from(text.to_owned()),
            8,
            true,
            unknown,
        )
        .await
}

#[tokio::test]
async fn bodies_table() {
    let json = Some("application/json");
    let form = Some("application/x-www-form-urlencoded");
    let cases: &[(Option<&str>, &str, &[&str])] = &[
        (json, r#"{"name":"pen","price":1.5}"#, &[]),
        (json, r#"{"name":"pen","price":null}"#, &[]),
        (Some("Application/JSON"), r#"{"name":"pen"}"#, &[]),
        (
            Some("application/json; charset=utf-8"),
            r#"{"name":"pen"}"#,
            &[],
        ),
        (json, r#"{"price":1}"#, &["request.body"]),
        (json, r#"{"name":"pen","price":-1}"#, &["request.body"]),
        (json, r#"{"name":"a-very-long-name"}"#, &["request.body"]),
        (
            json,
            r#"{"name":"pen","role":"admin"}"#,
            &["request.unknown-field"],
        ),
        (json, r#"{"name":"pen","name":"ink"}"#, &["request.json"]),
        (json, r#"{"name":"pen""#, &["request.json"]),
        (
            json,
            r#"{"name":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":1}}}}}}}}}"#,
            &["request.json"],
        ),
        (json, "", &["request.body"]),
        (Some("text/plain"), "name=pen", &["request.content-type"]),
        (None, "name=pen", &["request.content-type"]),
        (form, "name=pen&price=2", &[]),
        (form, "name=pen&price=-2", &["request.body"]),
        (form, "name=pen&isAdmin=true", &["request.unknown-field"]),
    ];
    for (ct, text, want) in cases {
        let got: Vec<&str> = body(*ct, text, true).await.iter().map(|v| v.rule).collect();
        assert_eq!(&got, want, "{ct:?} {text}");
    }
    // With unknown_fields off, extra properties pass (the schema leaves them open).
    assert!(
        body(json, r#"{"name":"pen","role":"admin"}"#, false)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn multipart_bodies() {
    let ct = "multipart/form-data; boundary=XyZ";
    let ok = "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\npen\r\n--XyZ\r\nContent-Disposition: form-data; name=\"price\"\r\n\r\n3\r\n--XyZ--\r\n";
    assert!(body(Some(ct), ok, true).await.is_empty());
    let bad = "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\npen\r\n--XyZ\r\nContent-Disposition: form-data; name=\"role\"\r\n\r\nadmin\r\n--XyZ--\r\n";
    let got: Vec<&str> = body(Some(ct), bad, true)
        .await
        .iter()
        .map(|v| v.rule)
        .collect();
    assert_eq!(got, ["request.unknown-field"]);
    let broken = "--XyZ\r\nnot a part";
    let got: Vec<&str> = body(Some(ct), broken, true)
        .await
        .iter()
        .map(|v| v.rule)
        .collect();
    assert_eq!(got, ["request.body"]);
}

#[test]
fn media_types_match_exact_then_wildcards_in_any_case() {
    const WILD: &str = r##"
openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /upload:
    post:
      operationId: upload
      requestBody:
        content:
          application/json: { schema: { type: object } }
          image/*: { schema: { type: string, format: binary } }
      responses: { '200': { description: ok } }
    put:
      operationId: anything
      requestBody:
        content:
          text/plain: { schema: { type: string } }
          '*/*': { schema: { type: string } }
      responses: { '200': { description: ok } }
"##;
    let catalog = portcullis_spec::load_str("w.yaml", WILD).unwrap();
    let range = |op: &str, ct: &str| {
        let check = RequestCheck::new(&catalog, catalog.operation(op).unwrap()).unwrap();
        check
            .body
            .as_ref()
            .unwrap()
            .media_for(ct)
            .map(|m| m.range.clone())
    };
    assert_eq!(
        range("upload", "application/json").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        range("upload", " Application/Json ; charset=utf-8").as_deref(),
        Some("application/json")
    );
    assert_eq!(range("upload", "IMAGE/png").as_deref(), Some("image/*"));
    assert_eq!(range("upload", "image/").as_deref(), Some("image/*"));
    assert_eq!(range("upload", "text/plain"), None);
    assert_eq!(range("upload", "imagex/png"), None);
    assert_eq!(range("upload", "json"), None);
    assert_eq!(
        range("anything", "TEXT/PLAIN").as_deref(),
        Some("text/plain")
    );
    assert_eq!(range("anything", "application/xml").as_deref(), Some("*/*"));
}
