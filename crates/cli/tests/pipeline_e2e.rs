//! The gaps a security review of the pipeline found, each through the real `portcullis serve`
//! in front of an echo upstream on 127.0.0.1 (the echo shows what the upstream received):
//! parameters sent twice, several `Authorization` fields, values that are not UTF-8, method
//! and URL override fields, forged client-address fields, `X-Forwarded-For` from trusted
//! proxies, an EdDSA key set, the 413 a client still sending can read, and configuration
//! values that must be refused or warned about.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{Gateway, PATIENCE, Resp, echo_upstream, eventually};

const ADMIN_TOKEN: &str = "pipeline-e2e-admin-token-0123456789";

const SPEC: &str = r#"openapi: 3.0.3
info: { title: t, version: '1' }
components:
  securitySchemes:
    jwt: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /items:
    get:
      operationId: listItems
      parameters:
        - { name: limit, in: query, schema: { type: integer, maximum: 100 } }
        - { name: X-Tenant, in: header, schema: { type: string, pattern: '^[a-z]+$' } }
      responses: { '200': { description: ok } }
    post:
      operationId: createItem
      requestBody:
        content:
          application/json:
            schema: { type: object, additionalProperties: true }
      responses: { '201': { description: created } }
  /me:
    get:
      operationId: me
      security: [ { jwt: [] } ]
      responses: { '200': { description: ok } }
"#;

/// Writes the spec, an Ed25519 key set (with its `alg`) and a config; `extra` goes under
/// `server:`.
fn setup(dir: &Path, upstream: SocketAddr, server_extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    std::fs::write(dir.join("ed.jwks.json"), ed_key_set().to_string()).unwrap();
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
  limits: {{ max_body: 1MiB }}
{server_extra}
admin: {{ listen: 127.0.0.1:0, token: "{ADMIN_TOKEN}" }}
identity:
  jwt:
    - {{ issuer: https://idp.test, audiences: [api], jwks: ed.jwks.json, algorithms: [EdDSA] }}
log: {{ decisions: off }}
apis:
  - name: t
    spec: spec.yaml
    upstream: http://{upstream}
"#
    );
    let path = dir.join("gw.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

const ED_PEM: &[u8] = include_bytes!("../../gateway/tests/data/keys/ed25519.pem");
const ED_PUB_PEM: &str = include_str!("../../gateway/tests/data/keys/ed25519.pub.pem");

/// The test Ed25519 public key as a key set entry that names its algorithm.
fn ed_key_set() -> Value {
    use base64::Engine;
    let body: String = ED_PUB_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der[der.len() - 32..]);
    json!({ "keys": [
        { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed", "alg": "EdDSA", "use": "sig" }
    ]})
}

fn ed_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("ed".to_owned());
    let claims =
        json!({ "iss": "https://idp.test", "aud": "api", "sub": "alice", "exp": now + 300 });
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_pem(ED_PEM).unwrap(),
    )
    .unwrap()
}

fn start(server_extra: &str) -> (Gateway, tempfile::TempDir) {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), upstream, server_extra);
    (Gateway::start(&config), dir)
}

/// `GET target` with extra raw header lines.
fn get(gw: &Gateway, target: &str, headers: &[&str]) -> Resp {
    let mut raw = format!("GET {target} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n");
    for h in headers {
        raw.push_str(h);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    gw.send(&raw)
}

/// The problem document's rule (its `type` ends with it).
fn rule_of(resp: &Resp) -> String {
    resp.json()["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_parameter_that_takes_one_value_sent_twice_is_refused() {
    let (gw, _dir) = start("");
    assert_eq!(get(&gw, "/items?limit=5", &[]).status, 200);
    for (target, headers) in [
        // The gateway validated the first copy; the upstream may read the last.
        ("/items?limit=5&limit=5000", &[][..]),
        ("/items", &["x-tenant: acme", "x-tenant: ' OR 1=1--"][..]),
    ] {
        let resp = get(&gw, target, headers);
        assert_eq!(resp.status, 400, "{target} {headers:?}: {}", resp.body);
        assert_eq!(rule_of(&resp), "request.parameter");
        assert!(resp.body.contains("sent 2 times"), "{}", resp.body);
    }
}

#[test]
fn several_authorization_fields_and_values_that_are_not_utf8_are_refused() {
    let (gw, _dir) = start("");
    let token = ed_token();
    let one = format!("authorization: Bearer {token}");
    let me = get(&gw, "/me", &[&one]);
    assert_eq!(
        me.status, 200,
        "an EdDSA token from the key set: {}",
        me.body
    );
    let two = get(&gw, "/me", &[&one, "authorization: Bearer forged"]);
    assert_eq!(two.status, 400, "{}", two.body);
    assert_eq!(rule_of(&two), "request.header");

    // A documented header's value with bytes that are not UTF-8: refused, not forwarded.
    let raw = b"GET /items HTTP/1.1\r\nhost: t\r\nconnection: close\r\nx-tenant: \xff\xfe\r\n\r\n";
    let resp = support::send(gw.addr, raw);
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(resp.body.contains("not UTF-8"), "{}", resp.body);
}

#[test]
fn override_and_client_address_fields_from_an_untrusted_peer_never_reach_the_upstream() {
    let (gw, _dir) = start("");
    let resp = get(
        &gw,
        "/items",
        &[
            "x-http-method-override: DELETE",
            "x-http-method: DELETE",
            "x-method-override: PUT",
            "x-original-url: /admin/users",
            "x-rewrite-url: /admin/users",
            "forwarded: for=10.0.0.1;proto=https",
            "x-real-ip: 10.0.0.1",
            "x-forwarded-for: 10.0.0.1",
        ],
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let seen = &resp.json()["headers"];
    for name in [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-original-url",
        "x-rewrite-url",
        "forwarded",
        "x-real-ip",
    ] {
        assert!(
            seen.get(name).is_none(),
            "{name} reached the upstream: {seen}"
        );
    }
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1", "{seen}");
}

#[test]
fn the_client_behind_trusted_proxies_is_the_first_untrusted_hop_and_one_xff_goes_on() {
    let (gw, _dir) = start("  trusted_proxies: [127.0.0.0/8]");
    let resp = get(
        &gw,
        "/items",
        &[
            "x-request-id: xff-walk",
            "x-forwarded-for: 6.6.6.6, 203.0.113.9",
            "x-forwarded-for: 127.0.0.5:4711",
            "x-real-ip: 203.0.113.9",
        ],
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let seen = &resp.json()["headers"];
    assert_eq!(
        seen["x-forwarded-for"], "6.6.6.6, 203.0.113.9, 127.0.0.5:4711, 127.0.0.1",
        "one joined field: {seen}"
    );
    assert_eq!(
        seen["x-real-ip"], "203.0.113.9",
        "kept from a trusted proxy"
    );
    let decision = decision_with_id(&gw, "xff-walk");
    assert_eq!(decision["client"]["ip"], "203.0.113.9", "{decision}");
}

/// The decision with request id `id` from the admin history (observations arrive after the
/// answer: waited for, bounded).
fn decision_with_id(gw: &Gateway, id: &str) -> Value {
    eventually(&format!("the decision of request {id}"), PATIENCE, || {
        let list = gw.admin("GET", "/api/decisions?limit=1000", Some(ADMIN_TOKEN));
        list.json()
            .as_array()
            .and_then(|a| a.iter().find(|d| d["request_id"] == id).cloned())
            .ok_or(list.body)
    })
}

/// A client that sends a body twice the limit, with its length declared, reads the 413 every
/// time: the gateway reads and discards what still comes for a while before it closes
/// (nginx's lingering close) instead of closing on a client still sending, whose TCP stack
/// then resets the connection and loses the answer.
#[test]
fn a_client_still_sending_an_oversized_body_reads_its_413() {
    let (gw, _dir) = start("");
    let size = 2 << 20;
    for round in 0..10 {
        // Even rounds declare the length (refused at once), odd ones send it chunked
        // (refused when the limit is crossed while reading).
        let chunked = round % 2 == 1;
        let mut stream = TcpStream::connect(gw.addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let framing = if chunked {
            "transfer-encoding: chunked".to_owned()
        } else {
            format!("content-length: {size}")
        };
        write!(
            stream,
            "POST /items HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n{framing}\r\n\r\n"
        )
        .unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < size {
            let written = if chunked {
                write!(stream, "{:x}\r\n", chunk.len())
                    .and_then(|()| stream.write_all(&chunk))
                    .and_then(|()| stream.write_all(b"\r\n"))
            } else {
                stream.write_all(&chunk)
            };
            written.unwrap_or_else(|e| panic!("round {round}: the gateway stopped reading: {e}"));
            sent += chunk.len();
        }
        if chunked {
            stream.write_all(b"0\r\n\r\n").unwrap();
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 413"),
            "round {round} (chunked: {chunked}): {:?}",
            text.get(..text.len().min(200))
        );
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
    }
}

/// `portcullis check` on a config that starts with `extra`: its exit code and everything it
/// printed.
fn check(extra: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    let path = dir.path().join("gw.yaml");
    std::fs::write(
        &path,
        format!(
            "{extra}apis:\n  - name: t\n    spec: spec.yaml\n    upstream: http://127.0.0.1:9\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn unsafe_or_absurd_configuration_values_are_refused_or_warned_about() {
    // Refused with their place and bound.
    for (extra, needle) in [
        (
            "identity:\n  jwt:\n    - { issuer: i, audiences: [a], secret: short, algorithms: [HS256] }\n",
            "/identity/jwt/0/secret: the HMAC secret is 5 bytes: give at least 32",
        ),
        (
            "server:\n  limits: { request_timeout: 10000000000000000000s }\n",
            "/server/limits/request_timeout",
        ),
        (
            "detect: { thresholds: { scanning_share: 2 } }\n",
            "/detect/thresholds/scanning_share: must be more than 0 and at most 1",
        ),
    ] {
        let (code, text) = check(extra);
        assert_eq!(code, 2, "{extra}: {text}");
        assert!(text.contains(needle), "{extra}: {text}");
    }
    // Accepted with a warning.
    for (extra, needle) in [
        (
            "identity:\n  jwt:\n    - { issuer: https://i.test, jwks: https://127.0.0.1:9/k.json }\n",
            "has no `audiences`",
        ),
        (
            "admin: { listen: 0.0.0.0:0, token: pipeline-e2e-admin-token-0123456789 }\n",
            "is not a loopback address",
        ),
    ] {
        let (code, text) = check(extra);
        assert!(text.contains(needle), "{extra}: {text}");
        assert_ne!(code, 2, "{extra}: {text}");
    }
}
