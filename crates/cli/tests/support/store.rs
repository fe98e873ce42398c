//! The store API that the gateway's end-to-end tables and tests share: its spec (items,
//! uploads, a secured delete, a deprecated operation), a gateway config for it in `enforce` or
//! `monitor` mode, raw HTTP/1.1 requests, HS256 tokens its issuer accepts, and the runner that
//! sends a table of cases through the gateway in both modes and checks each answer against the
//! decision log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{Gateway, PATIENCE, Resp, echo_upstream, eventually};

/// The admin API's token in these tests.
pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";
/// The HS256 secret of the tests' token issuer.
pub const JWT_SECRET: &str = "e2e-hmac-secret-that-is-long-enough-0123456789";

/// The store's OpenAPI document.
pub const SPEC: &str = r#"
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

/// The gateway's config in `mode`, in front of `upstream`, serving the store from `store.yaml`.
pub fn config(upstream: SocketAddr, mode: &str) -> String {
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
pub fn req(method: &str, target: &str, headers: &[&str], body: Option<(&str, &str)>) -> String {
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

/// A JSON body for [`req`].
pub fn json(body: &str) -> Option<(&'static str, &str)> {
    Some(("application/json", body))
}

/// An HS256 token for `alice` with `scope`, expiring `exp_offset` seconds from now.
pub fn token(scope: &str, exp_offset: i64) -> String {
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
pub struct Case {
    /// What the case sends, for failure messages (the runner knows a few by name).
    pub name: &'static str,
    /// The raw request.
    pub raw: String,
    /// Status in enforce mode.
    pub status: u16,
    /// The rule the decision log names (none: allowed).
    pub rule: Option<&'static str>,
    /// Status in monitor mode: the upstream's 200, unless the gateway refuses the request
    /// whatever the mode (framing and size limits).
    pub monitor_status: u16,
}

/// A case that `monitor` lets through to the upstream (200).
pub fn case(name: &'static str, raw: String, status: u16, rule: Option<&'static str>) -> Case {
    Case {
        name,
        raw,
        status,
        rule,
        monitor_status: 200,
    }
}

/// Writes the store's spec and its config in `mode` into `dir`; returns the config's path.
pub fn write_config(dir: &Path, upstream: SocketAddr, mode: &str) -> PathBuf {
    std::fs::write(dir.join("store.yaml"), SPEC).unwrap();
    let path = dir.join(format!("{mode}.yaml"));
    std::fs::write(&path, config(upstream, mode)).unwrap();
    path
}

/// The decision the gateway logged for a response (admin `/api/decisions`, by request id),
/// waited for (up to [`PATIENCE`]).
pub fn decision_of(gw: &Gateway, resp: &Resp) -> serde_json::Value {
    let id = resp
        .header("x-request-id")
        .expect("x-request-id on every response");
    eventually(
        &format!("the decision on request {id} in /api/decisions"),
        PATIENCE,
        || {
            let recent = gw.admin("GET", "/api/decisions?limit=1000", Some(ADMIN_TOKEN));
            recent
                .json()
                .as_array()
                .ok_or_else(|| format!("not a decisions array: {} {}", recent.status, recent.body))?
                .iter()
                .find(|d| d["request_id"] == id)
                .cloned()
                .ok_or_else(|| format!("not among the recent decisions:\n{}", recent.body))
        },
    )
}

/// Sends every case of `table` (made afresh for each mode: its tokens expire) through a
/// gateway in `enforce` mode and then in `monitor` mode, checks each answer's status, the
/// rule and decision logged for it, and that refusals are problem+json naming the rule and
/// what reached the upstream is the normalized request; fails listing every mismatch.
/// Returns how many requests were sent.
pub fn check_in_both_modes(table: impl Fn() -> Vec<Case>) -> usize {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut sent = 0;
    for mode in ["enforce", "monitor"] {
        let gw = Gateway::start(&write_config(dir.path(), upstream, mode));
        for c in table() {
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
    sent
}
