//! Identity end to end through `portcullis serve`: a spec with a bearer scheme (JWTs from an
//! HS256 issuer with a configured secret and an RS256 issuer with a JWKS file) and an apiKey
//! scheme (a key file written by the test), in front of a tiny upstream. Each credential gets
//! the status it must, and the decision log names the reason without the credential.
//!
//! The upstream, the gateway process and the client come from `support`.
// Test helpers: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use portcullis_gateway::identity::apikeys::{NewKey, generate};
use serde_json::{Value, json};
use support::Gateway;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/data/keys");
const SECRET: &str = "identity-e2e-hmac-secret-0123456789";
const HS_ISS: &str = "https://hs.test";
const RS_ISS: &str = "https://rs.test";

const SPEC: &str = r#"openapi: 3.1.0
info: { title: identity, version: "1" }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
    key: { type: apiKey, in: header, name: X-API-Key }
paths:
  /items:
    get:
      operationId: listItems
      security:
        - bearer: [items:read]
        - key: [items:read]
      responses:
        "200": { description: ok }
"#;

/// `GET /items` with extra header lines, tagged with a request id: the status and the head.
fn get(gw: &Gateway, id: &str, headers: &str) -> (u16, String) {
    let resp = gw.send(&format!(
        "GET /items HTTP/1.1\r\nhost: t\r\nx-request-id: {id}\r\n{headers}connection: close\r\n\r\n"
    ));
    let head = resp
        .headers
        .iter()
        .map(|(n, v)| format!("\r\n{n}: {v}"))
        .collect();
    (resp.status, head)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(iss: &str, scope: &str) -> Value {
    let now = now();
    json!({ "iss": iss, "sub": "alice", "aud": "items-api", "scope": scope,
            "iat": now - 5, "exp": now + 600 })
}

fn rs256(claims: &Value) -> String {
    let pem = std::fs::read(format!("{KEYS}/rsa.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".to_owned());
    encode(&header, claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

fn hs256(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn every_credential_gets_its_status_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = support::echo_upstream();
    let key = |id: &str, extra: &str| {
        let g = generate(&NewKey {
            id: id.to_owned(),
            owner: format!("{id}-owner"),
            scopes: vec!["items:read".to_owned()],
            ..NewKey::default()
        })
        .unwrap();
        (g.presented, format!("{}{extra}", g.yaml))
    };
    let (good_key, good) = key("good", "");
    let (off_key, off) = key("off", "    disabled: true\n");
    let (old_key, old) = key("old", "    expires: \"2020-01-01T00:00:00Z\"\n");
    std::fs::write(
        dir.path().join("keys.yaml"),
        format!("keys:\n{good}{off}{old}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    std::fs::copy(
        format!("{KEYS}/rsa.jwks.json"),
        dir.path().join("jwks.json"),
    )
    .unwrap();
    let log = dir.path().join("decisions.jsonl");
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
  trusted_proxies: [127.0.0.1]
identity:
  jwt:
    - issuer: {HS_ISS}
      audiences: [items-api]
      algorithms: [HS256]
      secret: {SECRET}
    - issuer: {RS_ISS}
      audiences: [items-api]
      jwks: jwks.json
      algorithms: [RS256]
  api_keys:
    file: keys.yaml
    header: x-api-key
log:
  decisions: {log}
apis:
  - name: items
    spec: spec.yaml
    upstream: http://{upstream}
    mode: enforce
"#,
        log = log.display()
    );
    let config_path = dir.path().join("portcullis.yaml");
    std::fs::write(&config_path, config).unwrap();
    let gw = Gateway::start(&config_path);

    let ok = claims(RS_ISS, "items:read");
    let expired = {
        let mut c = ok.clone();
        c["exp"] = json!(now() - 3600);
        c
    };
    let wrong_aud = {
        let mut c = ok.clone();
        c["aud"] = json!("other-api");
        c
    };
    // `{"alg":"none","typ":"JWT"}` over the claims of a valid token, no signature.
    let valid = rs256(&ok);
    let alg_none = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        valid.split('.').nth(1).unwrap()
    );
    let wrong_secret = format!("{}x", good_key);
    let unknown_key = good_key.replacen("pc_good_", "pc_nobody_", 1);
    let bearer = |t: &str| format!("authorization: Bearer {t}\r\n");
    let api_key = |k: &str| format!("x-api-key: {k}\r\n");

    // (request id, header lines, status, decision rule)
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        ("rs256-valid", bearer(&valid), 200, None),
        (
            "hs256-valid",
            bearer(&hs256(&claims(HS_ISS, "items:read"), SECRET)),
            200,
            None,
        ),
        (
            "expired",
            bearer(&rs256(&expired)),
            401,
            Some("auth.invalid"),
        ),
        ("alg-none", bearer(&alg_none), 401, Some("auth.invalid")),
        (
            "wrong-aud",
            bearer(&rs256(&wrong_aud)),
            401,
            Some("auth.invalid"),
        ),
        (
            "hs256-wrong-secret",
            bearer(&hs256(&claims(HS_ISS, "items:read"), "guessed-secret")),
            401,
            Some("auth.invalid"),
        ),
        (
            "missing-scope",
            bearer(&rs256(&claims(RS_ISS, "items:write"))),
            403,
            Some("authz.scope"),
        ),
        ("key-valid", api_key(&good_key), 200, None),
        (
            "key-disabled",
            api_key(&off_key),
            401,
            Some("auth.key-disabled"),
        ),
        (
            "key-expired",
            api_key(&old_key),
            401,
            Some("auth.key-expired"),
        ),
        (
            "key-wrong-secret",
            api_key(&wrong_secret),
            401,
            Some("auth.key-invalid"),
        ),
        (
            "key-unknown",
            api_key(&unknown_key),
            401,
            Some("auth.key-unknown"),
        ),
        ("nothing", String::new(), 401, Some("auth.invalid")),
    ];
    let mut secrets = Vec::new();
    for (id, headers, status, _) in &cases {
        let (got, head) = get(&gw, id, headers);
        assert_eq!(got, *status, "{id}: {head}");
        if got == 401 {
            assert!(
                head.to_ascii_lowercase().contains("\r\nwww-authenticate:"),
                "{id}: a 401 carries WWW-Authenticate: {head}"
            );
        }
        if let Some(value) = headers.split_once(": ").map(|(_, v)| v.trim().to_owned()) {
            let credential = value.trim_start_matches("Bearer ").to_owned();
            secrets.push(credential);
        }
    }

    let ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let log_lines = support::decision_log(&log, &ids);
    for (id, _, status, rule) in &cases {
        let d = log_lines.iter().find(|d| d["request_id"] == *id).unwrap();
        assert_eq!(d["status"], *status, "{id}: {d}");
        match rule {
            Some(r) => assert_eq!(d["rule"], *r, "{id}: {d}"),
            None => assert_eq!(d["decision"], "allow", "{id}: {d}"),
        }
    }
    let key_valid = log_lines
        .iter()
        .find(|d| d["request_id"] == "key-valid")
        .unwrap();
    assert_eq!(key_valid["client"]["key_id"], "good");
    assert_eq!(key_valid["client"]["sub"], "good-owner");
    let whole_log = std::fs::read_to_string(&log).unwrap();
    for secret in &secrets {
        let tail = secret.rsplit(['.', '_']).next().unwrap_or(secret);
        assert!(
            tail.len() < 8 || !whole_log.contains(tail),
            "the decision log holds a credential"
        );
    }
}
