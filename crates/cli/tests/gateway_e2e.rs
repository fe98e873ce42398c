//! The gateway end to end: the real `portcullis serve` in front of a real upstream on
//! 127.0.0.1, the same requests in `enforce` and in `monitor` mode, each asserting the status
//! and the rule the decision log records; then reloads (SIGHUP and the admin API, a bad config
//! keeps the old one running), the admin API's token, and which timeout a slow upstream or
//! client meets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;

use support::{Gateway, Resp, echo_upstream, read_response};

const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";
const JWT_SECRET: &str = "e2e-hmac-secret-that-is-long-enough-0123456789";

const SPEC: &str = r#"
openapi: 3.1.0
info: { title: e2e store, version: "1" }
servers: [{ url: /api }]
security: []
paths:
  /items:
    get:
      operationId: listItems
      parameters:
        - { name: limit, in: query, required: true, schema: { type: integer, minimum: 1, maximum: 100 } }
        - name: tags
          in: query
          style: form
          explode: false
          schema: { type: array, maxItems: 3, items: { type: string, enum: [red, green, blue] } }
        - { name: X-Trace, in: header, schema: { type: string, pattern: "^[a-f0-9]{8}$" } }
        - { name: session, in: cookie, schema: { type: string, maxLength: 16 } }
      responses: { "200": { description: ok } }
    post:
      operationId: createItem
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: { type: string, minLength: 1, maxLength: 20 }
                price: { type: number, minimum: 0 }
                tags: { type: array, maxItems: 2, items: { type: string } }
                meta: { type: object }
      responses: { "201": { description: created } }
  /items/search:
    get:
      operationId: searchItems
      parameters:
        - { name: q, in: query, required: true, schema: { type: string, maxLength: 10 } }
      responses: { "200": { description: ok } }
  /items/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }
    get:
      operationId: getItem
      responses: { "200": { description: ok } }
    delete:
      operationId: deleteItem
      security: [{ bearer: [items:write] }]
      responses: { "204": { description: deleted }, "401": { description: no }, "403": { description: no } }
  /forms:
    post:
      operationId: submitForm
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [qty]
              properties:
                qty: { type: integer, minimum: 1 }
                note: { type: string, maxLength: 8 }
      responses: { "200": { description: ok } }
  /uploads:
    post:
      operationId: upload
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file]
              properties:
                file: { type: string, contentMediaType: application/octet-stream }
                label: { type: string, maxLength: 5 }
      responses: { "200": { description: ok } }
  /old:
    get:
      operationId: oldThing
      deprecated: true
      responses: { "200": { description: ok } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
"#;

fn config(upstream: std::net::SocketAddr, mode: &str) -> String {
    format!(
        r#"
server:
  listen: 127.0.0.1:0
  limits: {{ max_body: 2KiB, max_json_depth: 8 }}
admin:
  listen: 127.0.0.1:0
  token: {ADMIN_TOKEN}
identity:
  jwt:
    - issuer: https://issuer.e2e/
      audiences: [store]
      algorithms: [HS256]
      secret: {JWT_SECRET}
log:
  decisions: "off"
apis:
  - name: store
    spec: store.yaml
    upstream: http://{upstream}
    mode: {mode}
    undocumented: block
    deprecated: block
    request: {{ validate: block, unknown_fields: block }}
"#
    )
}

/// A raw HTTP/1.1 request with `connection: close`.
fn req(method: &str, target: &str, headers: &[&str], body: Option<(&str, &str)>) -> String {
    let mut raw =
        format!("{method} {target} HTTP/1.1\r\nhost: store.test\r\nconnection: close\r\n");
    for h in headers {
        raw.push_str(h);
        raw.push_str("\r\n");
    }
    match body {
        Some((content_type, body)) => {
            if !content_type.is_empty() {
                raw.push_str(&format!("content-type: {content_type}\r\n"));
            }
            raw.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
        }
        None => raw.push_str("\r\n"),
    }
    raw
}

fn json(body: &str) -> Option<(&'static str, &str)> {
    Some(("application/json", body))
}

fn token(scope: &str, exp_offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = serde_json::json!({
        "iss": "https://issuer.e2e/", "aud": "store", "sub": "alice",
        "scope": scope, "iat": now - 10, "exp": now + exp_offset,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// One request of the table: what enforce answers (status and rule), and what monitor does.
struct Case {
    name: &'static str,
    raw: String,
    status: u16,
    rule: Option<&'static str>,
    /// Status in monitor mode: the upstream's 200, unless the gateway refuses the request
    /// whatever the mode (framing and size limits).
    monitor_status: u16,
}

fn case(name: &'static str, raw: String, status: u16, rule: Option<&'static str>) -> Case {
    Case {
        name,
        raw,
        status,
        rule,
        monitor_status: 200,
    }
}

fn cases() -> Vec<Case> {
    let good = token("items:read items:write", 300);
    let read_only = token("items:read", 300);
    let expired = token("items:write", -120);
    let bearer = |t: &str| format!("authorization: Bearer {t}");
    let deep = format!(
        r#"{{"name":"x","meta":{}{}}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    let big = format!(r#"{{"name":"x","meta":{{"pad":"{}"}}}}"#, "a".repeat(4096));
    let multipart = |label: &str, with_file: bool| {
        let mut b = String::new();
        if with_file {
            b.push_str("--XyZ\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\ncontent-type: application/octet-stream\r\n\r\nabc\r\n");
        }
        b.push_str(&format!(
            "--XyZ\r\ncontent-disposition: form-data; name=\"label\"\r\n\r\n{label}\r\n--XyZ--\r\n"
        ));
        b
    };
    let mp_ok = multipart("cat", true);
    let mp_long = multipart("toolong", true);
    let mp_nofile = multipart("cat", false);
    let mp = "multipart/form-data; boundary=XyZ";
    let form = "application/x-www-form-urlencoded";
    let (r400, r_param, r_body) = (400, Some("request.parameter"), Some("request.body"));
    let mut blocked_anyway = vec![
        Case {
            monitor_status: 413,
            ..case(
                "body over max_body (declared)",
                req("POST", "/api/items", &[], json(&big)),
                413,
                Some("request.too-large"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "target in absolute form naming another host than Host",
                req("GET", "http://evil.test/api/items?limit=1", &[], None),
                400,
                Some("request.host"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "NUL in the path",
                req("GET", "/api/items/%00", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "invalid UTF-8 in the path",
                req("GET", "/api/items/%C0%AF", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "encoded slash",
                req("GET", "/api/items/1%2F2", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "encoded backslash",
                req("GET", "/api/items%5C42", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "invalid percent escape",
                req("GET", "/api/items/%G1", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "dot segment with parameters",
                req("GET", "/api/x/..;y/items/42", &[], None),
                400,
                Some("request.path"),
            )
        },
    ];
    let mut all = vec![
        // Routing.
        case(
            "documented GET",
            req("GET", "/api/items?limit=5", &[], None),
            200,
            None,
        ),
        case(
            "concrete segment wins over template",
            req("GET", "/api/items/search?q=lamp", &[], None),
            200,
            None,
        ),
        case(
            "templated path",
            req("GET", "/api/items/42", &[], None),
            200,
            None,
        ),
        case(
            "dot segments normalized then routed",
            req("GET", "/api/x/../items/42", &[], None),
            200,
            None,
        ),
        case(
            "duplicate slashes normalized",
            req("GET", "/api//items//42", &[], None),
            200,
            None,
        ),
        case(
            "trailing slash normalized",
            req("GET", "/api/items/42/", &[], None),
            200,
            None,
        ),
        case(
            "paths are case-sensitive",
            req("GET", "/api/ITEMS/42", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "undocumented path",
            req("GET", "/api/admin/dump", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "outside the base path",
            req("GET", "/items/42", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "traversal out of the base path",
            req("GET", "/api/../debug", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "undocumented method",
            req("PUT", "/api/items/42", &[], json("{}")),
            405,
            Some("route.method"),
        ),
        case(
            "deprecated operation",
            req("GET", "/api/old", &[], None),
            410,
            Some("route.deprecated"),
        ),
        // Path parameters.
        case(
            "path param not an integer",
            req("GET", "/api/items/abc", &[], None),
            r400,
            r_param,
        ),
        case(
            "path param below minimum",
            req("GET", "/api/items/0", &[], None),
            r400,
            r_param,
        ),
        case(
            "path param injection",
            req("GET", "/api/items/1%20OR%201=1", &[], None),
            r400,
            r_param,
        ),
        // Query parameters.
        case(
            "required query missing",
            req("GET", "/api/items", &[], None),
            r400,
            r_param,
        ),
        case(
            "query over maximum",
            req("GET", "/api/items?limit=1000", &[], None),
            r400,
            r_param,
        ),
        case(
            "query not a number",
            req("GET", "/api/items?limit=five", &[], None),
            r400,
            r_param,
        ),
        case(
            "form array ok",
            req("GET", "/api/items?limit=1&tags=red,blue", &[], None),
            200,
            None,
        ),
        case(
            "form array item not in enum",
            req("GET", "/api/items?limit=1&tags=red,pink", &[], None),
            r400,
            r_param,
        ),
        case(
            "form array over maxItems",
            req("GET", "/api/items?limit=1&tags=red,red,red,red", &[], None),
            r400,
            r_param,
        ),
        case(
            "query string too long",
            req("GET", "/api/items/search?q=abcdefghijklmnop", &[], None),
            r400,
            r_param,
        ),
        case(
            "query injection payload",
            req(
                "GET",
                "/api/items/search?q=%27%20OR%201%3D1--%20",
                &[],
                None,
            ),
            r400,
            r_param,
        ),
        // Header and cookie parameters.
        case(
            "header matches pattern",
            req("GET", "/api/items?limit=1", &["x-trace: 0a1b2c3d"], None),
            200,
            None,
        ),
        case(
            "header breaks pattern",
            req("GET", "/api/items?limit=1", &["x-trace: <script>"], None),
            r400,
            r_param,
        ),
        case(
            "cookie ok",
            req(
                "GET",
                "/api/items?limit=1",
                &["cookie: session=abc; other=1"],
                None,
            ),
            200,
            None,
        ),
        case(
            "cookie too long",
            req(
                "GET",
                "/api/items?limit=1",
                &["cookie: session=aaaaaaaaaaaaaaaaaaaaaaaa"],
                None,
            ),
            r400,
            r_param,
        ),
        // JSON bodies.
        case(
            "valid JSON body",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"lamp","price":3.5}"#),
            ),
            200,
            None,
        ),
        case(
            "JSON missing required",
            req("POST", "/api/items", &[], json(r#"{"price":3}"#)),
            r400,
            r_body,
        ),
        case(
            "JSON wrong type",
            req("POST", "/api/items", &[], json(r#"{"name":7}"#)),
            r400,
            r_body,
        ),
        case(
            "JSON string too long",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"aaaaaaaaaaaaaaaaaaaaaaaaa"}"#),
            ),
            r400,
            r_body,
        ),
        case(
            "JSON number below minimum",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","price":-1}"#),
            ),
            r400,
            r_body,
        ),
        case(
            "JSON array over maxItems",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","tags":["a","b","c"]}"#),
            ),
            r400,
            r_body,
        ),
        case(
            "JSON unknown field (mass assignment)",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","isAdmin":true}"#),
            ),
            r400,
            Some("request.unknown-field"),
        ),
        case(
            "JSON duplicate keys",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","name":"b"}"#),
            ),
            r400,
            Some("request.json"),
        ),
        case(
            "JSON syntax error",
            req("POST", "/api/items", &[], json(r#"{"name":"a""#)),
            r400,
            Some("request.json"),
        ),
        case(
            "JSON nested deeper than max_json_depth",
            req("POST", "/api/items", &[], json(&deep)),
            r400,
            Some("request.json"),
        ),
        case(
            "JSON not an object",
            req("POST", "/api/items", &[], json("[1,2]")),
            r400,
            r_body,
        ),
        case(
            "required body missing",
            req("POST", "/api/items", &[], None),
            r400,
            r_body,
        ),
        case(
            "content type not documented",
            req("POST", "/api/items", &[], Some(("text/plain", "name=a"))),
            415,
            Some("request.content-type"),
        ),
        case(
            "content type missing",
            req("POST", "/api/items", &[], Some(("", r#"{"name":"a"}"#))),
            415,
            Some("request.content-type"),
        ),
        case(
            "target in absolute form naming the Host",
            req("GET", "http://store.test/api/items?limit=1", &[], None),
            200,
            None,
        ),
        // Hop-by-hop by the client's say-so (`Connection` names it): gone before the checks,
        // so what is checked is what the upstream receives.
        case(
            "content type named in Connection",
            req(
                "POST",
                "/api/items",
                &["connection: content-type"],
                json(r#"{"name":"a"}"#),
            ),
            415,
            Some("request.content-type"),
        ),
        case(
            "bad header named in Connection",
            req(
                "GET",
                "/api/items?limit=1",
                &["x-trace: <script>", "connection: x-trace"],
                None,
            ),
            200,
            None,
        ),
        case(
            "JSON with charset parameter",
            req(
                "POST",
                "/api/items",
                &[],
                Some(("application/json; charset=utf-8", r#"{"name":"a"}"#)),
            ),
            200,
            None,
        ),
        // Form and multipart bodies.
        case(
            "form body ok",
            req("POST", "/api/forms", &[], Some((form, "qty=2&note=hi"))),
            200,
            None,
        ),
        case(
            "form field wrong type",
            req("POST", "/api/forms", &[], Some((form, "qty=two"))),
            r400,
            r_body,
        ),
        case(
            "form required missing",
            req("POST", "/api/forms", &[], Some((form, "note=hi"))),
            r400,
            r_body,
        ),
        case(
            "form field too long",
            req(
                "POST",
                "/api/forms",
                &[],
                Some((form, "qty=1&note=far-too-long")),
            ),
            r400,
            r_body,
        ),
        case(
            "form unknown field",
            req("POST", "/api/forms", &[], Some((form, "qty=1&role=admin"))),
            r400,
            Some("request.unknown-field"),
        ),
        case(
            "multipart ok",
            req("POST", "/api/uploads", &[], Some((mp, &mp_ok))),
            200,
            None,
        ),
        case(
            "multipart field too long",
            req("POST", "/api/uploads", &[], Some((mp, &mp_long))),
            r400,
            r_body,
        ),
        case(
            "multipart required part missing",
            req("POST", "/api/uploads", &[], Some((mp, &mp_nofile))),
            r400,
            r_body,
        ),
        // Authentication and scopes.
        case(
            "public operation needs no token",
            req("GET", "/api/items/7", &[], None),
            200,
            None,
        ),
        case(
            "secured without a token",
            req("DELETE", "/api/items/7", &[], None),
            401,
            Some("auth.invalid"),
        ),
        case(
            "secured with a valid token",
            req("DELETE", "/api/items/7", &[&bearer(&good)], None),
            200,
            None,
        ),
        case(
            "token without the scope",
            req("DELETE", "/api/items/7", &[&bearer(&read_only)], None),
            403,
            Some("authz.scope"),
        ),
        case(
            "expired token",
            req("DELETE", "/api/items/7", &[&bearer(&expired)], None),
            401,
            Some("auth.invalid"),
        ),
        case(
            "garbage token",
            req("DELETE", "/api/items/7", &[&bearer("not.a.jwt")], None),
            401,
            Some("auth.invalid"),
        ),
        case(
            "tampered token",
            req(
                "DELETE",
                "/api/items/7",
                &[&bearer(&format!("{good}x"))],
                None,
            ),
            401,
            Some("auth.invalid"),
        ),
    ];
    all.append(&mut blocked_anyway);
    all
}

fn write_config(dir: &Path, upstream: std::net::SocketAddr, mode: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("store.yaml"), SPEC).unwrap();
    let path = dir.join(format!("{mode}.yaml"));
    std::fs::write(&path, config(upstream, mode)).unwrap();
    path
}

/// The decision the gateway logged for a response (admin `/api/decisions`, by request id).
fn decision_of(gw: &Gateway, resp: &Resp) -> serde_json::Value {
    let id = resp
        .header("x-request-id")
        .expect("x-request-id on every response");
    let recent = gw
        .admin("GET", "/api/decisions?limit=1000", Some(ADMIN_TOKEN))
        .json();
    recent
        .as_array()
        .expect("decisions array")
        .iter()
        .find(|d| d["request_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no decision logged for request {id}"))
}

#[test]
fn every_validation_kind_in_enforce_and_monitor_mode() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut sent = 0;
    for mode in ["enforce", "monitor"] {
        let gw = Gateway::start(&write_config(dir.path(), upstream, mode));
        for c in cases() {
            let resp = gw.send(&c.raw);
            sent += 1;
            let expected = if mode == "enforce" {
                c.status
            } else {
                c.monitor_status
            };
            let decision = decision_of(&gw, &resp);
            let logged_rule = decision["rule"].as_str();
            let want_decision = match (c.rule, mode, expected) {
                (None, _, _) => "allow",
                (Some(_), "monitor", 200) => "monitor",
                _ => "block",
            };
            if resp.status != expected
                || logged_rule != c.rule
                || decision["decision"] != want_decision
            {
                failures.push(format!(
                    "[{mode}] {}: got {} rule {:?} decision {}, want {expected} rule {:?} decision {want_decision}\n    body: {}",
                    c.name, resp.status, logged_rule, decision["decision"], c.rule, resp.body
                ));
            }
            if resp.status >= 400 && resp.status != 200 {
                // Portcullis' own refusals are problem+json naming the rule.
                assert_eq!(
                    resp.header("content-type"),
                    Some("application/problem+json"),
                    "[{mode}] {}",
                    c.name
                );
                let rule = c.rule.unwrap_or_default();
                assert!(
                    resp.body.contains(rule),
                    "[{mode}] {}: {}",
                    c.name,
                    resp.body
                );
            }
            if resp.status == 200 {
                // What reached the upstream is exactly what was checked: the normalized path.
                let echoed = resp.json();
                if c.name == "bad header named in Connection" {
                    assert!(
                        echoed["headers"].get("x-trace").is_none(),
                        "[{mode}] the header named in Connection reached the upstream: {echoed}"
                    );
                }
                let uri = echoed["uri"].as_str().unwrap_or_default();
                assert!(
                    mode == "monitor" || !uri.contains("..") && !uri.contains("//"),
                    "[{mode}] {}: upstream saw {uri}",
                    c.name
                );
            }
            if c.name == "secured without a token" && mode == "enforce" {
                assert!(
                    resp.header("www-authenticate")
                        .is_some_and(|v| v.starts_with("Bearer")),
                    "401 without WWW-Authenticate: {:?}",
                    resp.headers
                );
            }
            if c.rule == Some("route.method") && mode == "enforce" {
                let allow = resp.header("allow").unwrap_or_default();
                assert!(
                    allow.contains("GET") && allow.contains("DELETE"),
                    "Allow: {allow}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(sent >= 120, "only {sent} requests");
}

#[test]
fn reload_keeps_the_old_config_on_error_and_applies_a_good_one() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), upstream, "enforce");
    let mut gw = Gateway::start(&path);
    let probe = req("GET", "/api/items/abc", &[], None);
    assert_eq!(gw.send(&probe).status, 400);

    // A broken config: SIGHUP and the admin API both refuse it; the old one keeps serving.
    std::fs::write(&path, "server: [not, a, map\n").unwrap();
    gw.hangup();
    let reload = gw.admin("POST", "/api/reload", Some(ADMIN_TOKEN));
    assert_eq!(reload.status, 422, "{}", reload.body);
    assert!(
        reload.body.contains("enforce.yaml"),
        "the error names the file: {}",
        reload.body
    );
    assert!(gw.alive());
    assert_eq!(gw.send(&probe).status, 400, "old config still enforced");
    assert_eq!(gw.send(&req("GET", "/api/items/1", &[], None)).status, 200);

    // A config naming a spec that does not load is refused too.
    std::fs::write(
        &path,
        config(upstream, "enforce").replace("store.yaml", "missing.yaml"),
    )
    .unwrap();
    let reload = gw.admin("POST", "/api/reload", Some(ADMIN_TOKEN));
    assert_eq!(reload.status, 422, "{}", reload.body);
    assert!(reload.body.contains("missing.yaml"), "{}", reload.body);
    assert_eq!(gw.send(&probe).status, 400);

    // A good config switching to monitor mode: applied by SIGHUP, without a restart.
    std::fs::write(&path, config(upstream, "monitor")).unwrap();
    gw.hangup();
    let mut status = 0;
    for _ in 0..100 {
        status = gw.send(&probe).status;
        if status == 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(status, 200, "SIGHUP applied monitor mode");
    assert!(gw.alive());
}

#[test]
fn admin_api_requires_its_token_and_exports_metrics() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&write_config(dir.path(), upstream, "enforce"));
    assert!(gw.admin.unwrap().ip().is_loopback());
    assert_eq!(gw.admin("GET", "/healthz", None).status, 200);
    for path in ["/metrics", "/api/config", "/api/decisions", "/readyz"] {
        let none = gw.admin("GET", path, None);
        assert_eq!(none.status, 401, "{path} without a token");
        assert!(none.header("www-authenticate").is_some());
        assert_eq!(
            gw.admin("GET", path, Some("wrong-token")).status,
            401,
            "{path}"
        );
    }
    assert_eq!(gw.admin("POST", "/api/reload", None).status, 401);

    gw.send(&req("GET", "/api/items/1", &[], None));
    gw.send(&req("GET", "/api/items/abc", &[], None));
    let metrics = gw.admin("GET", "/metrics", Some(ADMIN_TOKEN));
    assert_eq!(metrics.status, 200);
    for needle in [
        "portcullis_requests_total",
        "decision=\"allow\"",
        "decision=\"block\"",
        "rule=\"request.parameter\"",
        "portcullis_request_duration_seconds",
    ] {
        assert!(
            metrics.body.contains(needle),
            "metrics lack {needle}:\n{}",
            metrics.body
        );
    }
    // The summary never shows secrets.
    let summary = gw.admin("GET", "/api/config", Some(ADMIN_TOKEN));
    assert_eq!(summary.status, 200);
    assert!(!summary.body.contains(ADMIN_TOKEN));
    assert!(!summary.body.contains(JWT_SECRET));
}

#[test]
fn deprecated_operations_follow_their_policy() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    // (policy, status, decision, rule) for GET /api/old in enforce mode.
    let expected = [
        ("block", 410, "block", Some("route.deprecated")),
        ("log", 200, "monitor", Some("route.deprecated")),
        ("allow", 200, "allow", None),
    ];
    for (policy, status, decision, rule) in expected {
        let path = dir.path().join(format!("deprecated-{policy}.yaml"));
        let text = config(upstream, "enforce")
            .replace("deprecated: block", &format!("deprecated: {policy}"));
        std::fs::write(&path, text).unwrap();
        let gw = Gateway::start(&path);
        let resp = gw.send(&req("GET", "/api/old", &[], None));
        assert_eq!(resp.status, status, "deprecated: {policy}: {}", resp.body);
        let d = decision_of(&gw, &resp);
        assert_eq!(d["decision"], decision, "deprecated: {policy}: {d}");
        assert_eq!(d["rule"].as_str(), rule, "deprecated: {policy}: {d}");
    }
}

/// `body` as a chunked POST to /api/items, in chunks of `size` bytes.
fn chunked_post(body: &str, size: usize) -> String {
    let mut raw = "POST /api/items HTTP/1.1\r\nhost: store.test\r\nconnection: close\r\n\
                   content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_owned();
    for chunk in body.as_bytes().chunks(size) {
        raw.push_str(&format!("{:x}\r\n", chunk.len()));
        raw.push_str(std::str::from_utf8(chunk).unwrap());
        raw.push_str("\r\n");
    }
    raw.push_str("0\r\n\r\n");
    raw
}

#[test]
fn chunked_bodies_are_joined_checked_and_capped() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&write_config(dir.path(), upstream, "enforce"));
    // Without a declared length the body is read chunk by chunk: joined, validated as a whole,
    // and forwarded whole.
    let body = r#"{"name":"lamp","price":3.5}"#;
    for size in [1, 5, body.len()] {
        let resp = gw.send(&chunked_post(body, size));
        assert_eq!(resp.status, 200, "chunks of {size}: {}", resp.body);
        assert_eq!(resp.json()["body"], body, "chunks of {size}");
    }
    let resp = gw.send(&chunked_post(r#"{"name":"lamp","price":-1}"#, 4));
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(decision_of(&gw, &resp)["rule"], "request.body");
    // Over max_body (2 KiB) with no length announced: refused once the chunks pass the limit.
    let big = format!(r#"{{"name":"x","meta":{{"pad":"{}"}}}}"#, "a".repeat(4096));
    for size in [100, 4096] {
        let resp = gw.send(&chunked_post(&big, size));
        assert_eq!(resp.status, 413, "chunks of {size}: {}", resp.body);
        assert_eq!(decision_of(&gw, &resp)["rule"], "request.too-large");
    }
}

/// An upstream on 127.0.0.1 that accepts connections and never answers (held until the test
/// process ends).
fn silent_upstream() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// Sends `raw` (which may stop mid-body) and reads one response: its status and body.
fn send_partial(addr: std::net::SocketAddr, raw: &str) -> Resp {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let text = read_response(&mut stream);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no response to {raw:?}: {text:?}"));
    Resp {
        status,
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

#[test]
fn timeouts_name_what_was_slow() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let silent = silent_upstream();
    // (limits, request, status, decision, rule): a silent upstream is the upstream's timeout
    // whichever deadline passes first; a client that stops sending is the request's.
    let get = req("GET", "/api/items/1", &[], None);
    let stalled = "POST /api/items HTTP/1.1\r\nhost: e2e\r\ncontent-type: application/json\r\n\
                   content-length: 40\r\n\r\n{\"name\":";
    let cases = [
        (
            "request_timeout: 10s, upstream_timeout: 300ms",
            get.as_str(),
            504,
            "allow",
            "upstream.timeout",
        ),
        (
            "request_timeout: 300ms, upstream_timeout: 10s",
            get.as_str(),
            504,
            "allow",
            "upstream.timeout",
        ),
        (
            "request_timeout: 300ms, upstream_timeout: 300ms",
            get.as_str(),
            504,
            "allow",
            "upstream.timeout",
        ),
        (
            "request_timeout: 300ms",
            stalled,
            504,
            "block",
            "request.timeout",
        ),
    ];
    for (i, (limits, raw, status, decision, rule)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("timeouts-{i}.yaml"));
        let text = config(silent, "enforce").replace(
            "max_body: 2KiB, max_json_depth: 8",
            &format!("max_body: 2KiB, max_json_depth: 8, {limits}"),
        );
        std::fs::write(&path, text).unwrap();
        let gw = Gateway::start(&path);
        let started = std::time::Instant::now();
        let resp = send_partial(gw.addr, raw);
        assert_eq!(resp.status, status, "{limits}: {}", resp.body);
        assert!(resp.body.contains(rule), "{limits}: {}", resp.body);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{limits}: answered after {:?}",
            started.elapsed()
        );
        let d = decision_of(&gw, &resp);
        assert_eq!(d["decision"], decision, "{limits}: {d}");
        assert_eq!(d["rule"], rule, "{limits}: {d}");
        if rule == "upstream.timeout" {
            let metrics = gw.admin("GET", "/metrics", Some(ADMIN_TOKEN)).body;
            assert!(
                metrics
                    .lines()
                    .any(|l| l == "portcullis_upstream_errors_total{api=\"store\"} 1"),
                "{limits}: {metrics}"
            );
        }
    }
}

/// Reads until the gateway closes the connection; returns what came and when it closed.
fn until_closed(stream: &mut std::net::TcpStream) -> (String, std::time::Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
        }
    }
    (
        String::from_utf8_lossy(&bytes).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn a_request_head_that_stalls_is_cut_off_after_header_timeout() {
    use std::io::Write;
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let path = dir.path().join("header-timeout.yaml");
    let text = config(upstream, "enforce").replace(
        "max_body: 2KiB, max_json_depth: 8",
        "max_body: 2KiB, max_json_depth: 8, header_timeout: 400ms",
    );
    std::fs::write(&path, text).unwrap();
    let gw = Gateway::start(&path);
    let open = |gw: &Gateway| {
        let stream = std::net::TcpStream::connect(gw.addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream
    };
    let head = "GET /api/items/1 HTTP/1.1\r\nhost: e2e\r\n";
    // A connection that sends nothing, one that stops mid-head, and one that stops mid-head
    // after a few whole requests on it (each request re-arms the timer the worker recycles).
    for requests_before in [None, Some(0), Some(3)] {
        let mut stream = open(&gw);
        if let Some(n) = requests_before {
            for _ in 0..n {
                stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
                let response = read_response(&mut stream);
                assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            }
            stream.write_all(head.as_bytes()).unwrap();
        }
        let (got, after) = until_closed(&mut stream);
        assert!(
            got.is_empty() || got.starts_with("HTTP/1.1 408"),
            "{requests_before:?}: {got}"
        );
        assert!(
            after >= std::time::Duration::from_millis(300)
                && after < std::time::Duration::from_secs(5),
            "{requests_before:?}: closed after {after:?}"
        );
    }
    // Part of the HTTP/2 preface, then nothing: the version is never known.
    let mut stream = open(&gw);
    stream.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    let (got, after) = until_closed(&mut stream);
    assert!(got.is_empty(), "{got}");
    assert!(
        after >= std::time::Duration::from_millis(300) && after < std::time::Duration::from_secs(5),
        "partial preface: closed after {after:?}"
    );
    // A whole request still goes through on a fresh connection.
    let mut stream = open(&gw);
    stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
    assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
}
