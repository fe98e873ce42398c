//! Opaque tokens end to end through `portcullis serve`: an OAuth2 introspection endpoint
//! (RFC 7662) in the test checks the gateway's HTTP Basic client credentials and answers for a
//! handful of tokens, counting its calls. Three gateways use it: one with the defaults
//! (`on_failure: deny`, 503), one with `on_failure: allow_cached` and a zero ttl, and one
//! pointed at a closed port with `failure_status: 401`. Each token gets the status and rule it
//! must, answers are cached, and the client secret appears nowhere the gateway writes.
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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::Gateway;

const CLIENT_ID: &str = "portcullis-gw";
const SECRET: &str = "e2e-S3cret:/+%";
/// `Basic ` + base64 of `portcullis-gw:e2e-S3cret%3A%2F%2B%25`: RFC 6749 §2.3.1 form-encodes
/// the id and the secret before joining and encoding them.
const EXPECTED_BASIC: &str = "Basic cG9ydGN1bGxpcy1ndzplMmUtUzNjcmV0JTNBJTJGJTJCJTI1";
const ISSUER: &str = "https://as.test";

const SPEC: &str = r#"openapi: 3.1.0
info: { title: introspection, version: "1" }
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: http://as.test/token
          scopes: { items:read: read items, users:read: read users }
paths:
  /items:
    get:
      operationId: listItems
      security: [ { oauth: [items:read] } ]
      responses: { "200": { description: ok } }
  /users/{userId}:
    get:
      operationId: getUser
      security: [ { oauth: [users:read] } ]
      parameters:
        - { name: userId, in: path, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
"#;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The test's authorization server: answers by token, counts calls, can be made to fail.
struct AuthServer {
    addr: SocketAddr,
    calls: Arc<Mutex<HashMap<String, u32>>>,
    failing: Arc<AtomicBool>,
}

impl AuthServer {
    fn calls(&self, token: &str) -> u32 {
        self.calls.lock().unwrap().get(token).copied().unwrap_or(0)
    }
    fn total_calls(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }
    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

fn answer_for(token: &str) -> Value {
    let now = now();
    let active = |sub: &str, scope: &str| {
        json!({ "active": true, "sub": sub, "scope": scope, "client_id": "web-app",
                "username": sub, "iss": ISSUER, "aud": ["items-api"], "token_type": "Bearer",
                "iat": now - 5, "nbf": now - 5, "exp": now + 600 })
    };
    match token {
        "alice-reader" | "alice-fresh" => active("alice", "items:read users:read"),
        "bob-writer" => active("bob", "items:write users:read"),
        "expired" => {
            let mut a = active("carol", "items:read");
            a["exp"] = json!(now - 60);
            a
        }
        "other-audience" => {
            let mut a = active("dave", "items:read");
            a["aud"] = json!("another-api");
            a
        }
        _ => json!({ "active": false }),
    }
}

fn auth_server() -> AuthServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let failing = Arc::new(AtomicBool::new(false));
    let (c, f) = (calls.clone(), failing.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let handler = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (calls, failing) = (c.clone(), f.clone());
                async move { introspect(&headers, &body, &calls, &failing) }
            };
            let app = axum::Router::new().route("/introspect", axum::routing::post(handler));
            axum::serve(listener, app).await.unwrap();
        });
    });
    AuthServer {
        addr,
        calls,
        failing,
    }
}

fn introspect(
    headers: &axum::http::HeaderMap,
    body: &[u8],
    calls: &Mutex<HashMap<String, u32>>,
    failing: &AtomicBool,
) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok());
    if basic != Some(EXPECTED_BASIC) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_client" }).to_string(),
        );
    }
    let form = String::from_utf8_lossy(body);
    let mut token = "";
    let mut hint = "";
    for pair in form.split('&') {
        match pair.split_once('=') {
            Some(("token", t)) => token = t,
            Some(("token_type_hint", h)) => hint = h,
            _ => {}
        }
    }
    if hint != "access_token" {
        return (StatusCode::BAD_REQUEST, "no token_type_hint".to_owned());
    }
    *calls.lock().unwrap().entry(token.to_owned()).or_default() += 1;
    if failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down".to_owned());
    }
    (StatusCode::OK, answer_for(token).to_string())
}

/// Writes the spec and a config whose `identity.introspection` is `introspection`.
fn write_config(dir: &Path, name: &str, upstream: SocketAddr, introspection: &str) -> String {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let log = dir.join(format!("{name}.decisions.jsonl"));
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
  trusted_proxies: [127.0.0.1]
admin:
  listen: 127.0.0.1:0
  token: introspection-e2e-admin-token
identity:
  introspection:
    client_id: {CLIENT_ID}
    client_secret: "${{INTROSPECTION_SECRET}}"
    timeout: 2s
{introspection}
log:
  decisions: {log}
apis:
  - name: items
    spec: spec.yaml
    upstream: http://{upstream}
    owner_binding:
      - {{ operation: getUser, param: userId, claim: sub }}
"#,
        log = log.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, config).unwrap();
    path.display().to_string()
}

fn start(config: &str) -> Gateway {
    Gateway::start_with_env(Path::new(config), &[("INTROSPECTION_SECRET", SECRET)])
}

/// `GET path` with a bearer token, tagged with a request id: status, rule from the log line
/// is read later; here the status and the `WWW-Authenticate` header.
fn get(gw: &Gateway, id: &str, path: &str, token: &str) -> (u16, Option<String>) {
    let resp = gw.send(&format!(
        "GET {path} HTTP/1.1\r\nhost: t\r\nx-request-id: {id}\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    ));
    (
        resp.status,
        resp.header("www-authenticate").map(str::to_owned),
    )
}

const ADMIN: &str = "introspection-e2e-admin-token";

/// Asserts each case's status, and its rule in the decision log at `log`; returns the log.
fn check_cases(
    gw: &Gateway,
    log: &Path,
    cases: &[(&str, &str, &str, u16, Option<&str>)],
) -> Vec<Value> {
    for (id, path, token, status, _) in cases {
        let (got, challenge) = get(gw, id, path, token);
        assert_eq!(got, *status, "{id}: stderr:\n{}", gw.stderr.lock().unwrap());
        if got == 401 {
            assert!(
                challenge.is_some_and(|c| c.contains("invalid_token")),
                "{id}: a 401 carries WWW-Authenticate"
            );
        }
    }
    let ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let lines = support::decision_log(log, &ids);
    for (id, _, _, status, rule) in cases {
        let d = lines.iter().find(|d| d["request_id"] == *id).unwrap();
        assert_eq!(d["status"], *status, "{id}: {d}");
        match rule {
            Some(r) => assert_eq!(d["rule"], *r, "{id}: {d}"),
            None => assert_eq!(d["decision"], "allow", "{id}: {d}"),
        }
    }
    lines
}

#[test]
fn opaque_tokens_are_introspected_cached_and_refused_with_their_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = support::echo_upstream();
    let server = auth_server();
    let endpoint = format!("http://{}/introspect", server.addr);

    // ---- defaults: on_failure deny (503) ----
    let config = write_config(
        dir.path(),
        "deny",
        upstream,
        &format!("    endpoint: {endpoint}\n    issuer: {ISSUER}\n    audiences: [items-api]\n"),
    );
    let mut gw = start(&config);
    let log = dir.path().join("deny.decisions.jsonl");
    let cases = [
        ("reader", "/items", "alice-reader", 200, None),
        ("reader-again", "/items", "alice-reader", 200, None),
        ("own-user", "/users/alice", "alice-reader", 200, None),
        (
            "other-user",
            "/users/bob",
            "alice-reader",
            403,
            Some("authz.owner"),
        ),
        ("no-scope", "/items", "bob-writer", 403, Some("authz.scope")),
        (
            "inactive",
            "/items",
            "revoked-token",
            401,
            Some("auth.token-inactive"),
        ),
        (
            "inactive-again",
            "/items",
            "revoked-token",
            401,
            Some("auth.token-inactive"),
        ),
        (
            "unknown",
            "/items",
            "never-issued",
            401,
            Some("auth.token-inactive"),
        ),
        (
            "expired",
            "/items",
            "expired",
            401,
            Some("auth.token-expired"),
        ),
        (
            "audience",
            "/items",
            "other-audience",
            401,
            Some("auth.token-audience"),
        ),
        (
            "malformed",
            "/items",
            "a,b",
            401,
            Some("auth.token-malformed"),
        ),
        // Three base64url parts: verified as a JWT (no issuer configured), never introspected.
        (
            "jwt-shaped",
            "/items",
            "eyJh.eyJj.c2ln",
            401,
            Some("auth.invalid"),
        ),
    ];
    let lines = check_cases(&gw, &log, &cases);
    // One call per distinct token: repeats (active and inactive) come from the cache. The
    // server counts a call before it answers it, so before the gateway answers the request:
    // these counts are complete once the responses have come (a single read is enough).
    assert_eq!(server.calls("alice-reader"), 1);
    assert_eq!(server.calls("revoked-token"), 1);
    assert_eq!(server.calls("a,b") + server.calls("eyJh.eyJj.c2ln"), 0);
    assert_eq!(
        server.total_calls(),
        6,
        "{:?}",
        server.calls.lock().unwrap()
    );
    let metric = |name: &str, value: f64| gw.await_metric_eq(name, ADMIN, value);
    metric("portcullis_introspection_cache_hits_total", 4.0);
    metric(
        "portcullis_introspection_calls_total{result=\"active\"}",
        4.0,
    );
    metric(
        "portcullis_introspection_calls_total{result=\"inactive\"}",
        2.0,
    );
    // The caller is the token's subject, like a JWT caller.
    let reader = lines.iter().find(|d| d["request_id"] == "reader").unwrap();
    assert_eq!(reader["client"]["sub"], "alice", "{reader}");
    let expired = lines.iter().find(|d| d["request_id"] == "expired").unwrap();
    assert!(
        expired["reason"].as_str().unwrap().contains("expired"),
        "{expired}"
    );

    // The endpoint fails: a token not cached is refused 503, a cached one still passes.
    server.fail(true);
    let cases = [
        (
            "down-new",
            "/items",
            "alice-fresh",
            503,
            Some("auth.introspection-unavailable"),
        ),
        ("down-cached", "/items", "alice-reader", 200, None),
    ];
    let lines = check_cases(&gw, &log, &cases);
    let down = lines
        .iter()
        .find(|d| d["request_id"] == "down-new")
        .unwrap();
    assert!(
        down["reason"].as_str().unwrap().contains("status 500"),
        "{down}"
    );
    metric(
        "portcullis_introspection_calls_total{result=\"error\"}",
        1.0,
    );
    server.fail(false);
    // The admin API's summary (what `check` builds) names the endpoint and the client id.
    let summary = gw.admin("GET", "/api/config", Some(ADMIN));
    assert_eq!(summary.status, 200);
    let shown = &summary.json()["introspection"];
    assert_eq!(shown["client_id"], CLIENT_ID, "{}", summary.body);
    assert_eq!(shown["endpoint"], endpoint.as_str(), "{}", summary.body);
    assert_eq!(shown["on_failure"], "deny", "{}", summary.body);
    let summary = summary.body;
    // All of it, the process stopped: the checks below are that something was never written.
    let deny_stderr = gw.stop_and_read_stderr();
    drop(gw);

    // ---- on_failure: allow_cached, ttl 0: every request asks; a failing endpoint falls back ----
    let config = write_config(
        dir.path(),
        "cached",
        upstream,
        &format!(
            "    endpoint: {endpoint}\n    on_failure: allow_cached\n    cache: {{ ttl: 0s, max_stale: 10m }}\n"
        ),
    );
    let mut gw = start(&config);
    let log = dir.path().join("cached.decisions.jsonl");
    let before = server.calls("alice-reader");
    check_cases(
        &gw,
        &log,
        &[
            ("c-reader", "/items", "alice-reader", 200, None),
            ("c-reader-again", "/items", "alice-reader", 200, None),
        ],
    );
    assert_eq!(
        server.calls("alice-reader"),
        before + 2,
        "ttl 0s: asked each time"
    );
    server.fail(true);
    check_cases(
        &gw,
        &log,
        &[
            ("c-stale", "/items", "alice-reader", 200, None),
            (
                "c-unseen",
                "/items",
                "bob-writer",
                503,
                Some("auth.introspection-unavailable"),
            ),
        ],
    );
    gw.await_metric_eq("portcullis_introspection_stale_total", ADMIN, 1.0);
    server.fail(false);
    let cached_stderr = gw.stop_and_read_stderr();
    drop(gw);

    // ---- nobody listening, failure_status: 401 ----
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = write_config(
        dir.path(),
        "down",
        upstream,
        &format!("    endpoint: http://{closed}/introspect\n    failure_status: 401\n"),
    );
    let mut gw = start(&config);
    let log = dir.path().join("down.decisions.jsonl");
    check_cases(
        &gw,
        &log,
        &[(
            "d-reader",
            "/items",
            "alice-reader",
            401,
            Some("auth.introspection-unavailable"),
        )],
    );
    let down_stderr = gw.stop_and_read_stderr();
    drop(gw);

    // ---- `check` builds the same, and prints no secret ----
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["check", "--config", &config])
        .env("INTROSPECTION_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let check_out = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check_out.contains(": OK"), "{check_out}");

    // The secret, in any form, and the tokens appear nowhere the gateway wrote.
    let mut written = vec![
        summary,
        deny_stderr,
        cached_stderr,
        down_stderr,
        check_out,
        String::from_utf8_lossy(&check.stderr).into_owned(),
    ];
    for name in ["deny", "cached", "down"] {
        written.push(
            std::fs::read_to_string(dir.path().join(format!("{name}.decisions.jsonl"))).unwrap(),
        );
    }
    for text in &written {
        for secret in ["S3cret", "e2e-S3cret%3A", &EXPECTED_BASIC[6..]] {
            assert!(!text.contains(secret), "a secret leaked into:\n{text}");
        }
        for token in ["alice-reader", "revoked-token", "bob-writer", "alice-fresh"] {
            assert!(!text.contains(token), "a token leaked into:\n{text}");
        }
    }
}
