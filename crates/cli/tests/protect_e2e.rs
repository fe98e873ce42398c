//! Threat and data-exposure protection through the real `portcullis serve`, in front of an
//! upstream on 127.0.0.1 that leaks what careless APIs leak (a password hash, a card number, a
//! stack trace, its server's name, `Access-Control-Allow-Origin: *`): injection and SSRF in
//! parameters and bodies, spec-aware exclusions, response validation, stripping, masking
//! (plain and gzip), error sanitizing, secure headers, the inspection cap, a decompression
//! bomb, and CORS, in enforce and in monitor mode.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use support::{Gateway, Resp, decision_log};

const SPEC: &str = r#"openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /users/{id}:
    get:
      operationId: getUser
      parameters: [ { name: id, in: path, required: true, schema: { type: string } } ]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties: { id: { type: string }, name: { type: string }, card: { type: string } }
  /wrong:
    get:
      operationId: wrong
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, properties: { id: { type: string } } } } }
  /crash:
    get: { operationId: crash, responses: { '500': { description: failed } } }
  /card-ok:
    get:
      operationId: cardOk
      x-portcullis-response: { sensitive_data: off }
      responses: { '200': { description: ok } }
  /big:
    get: { operationId: big, responses: { '200': { description: ok } } }
  /gz:
    get: { operationId: gz, responses: { '200': { description: ok } } }
  /bomb:
    get: { operationId: bomb, responses: { '200': { description: ok } } }
  /search:
    get:
      operationId: search
      parameters:
        - { name: q, in: query, schema: { type: string } }
        - { name: filter, in: query, schema: { type: string, pattern: "^[a-z' =0-9]+$" } }
      responses: { '200': { description: ok } }
  /search-log:
    get:
      operationId: searchLog
      x-portcullis-threats: { injection: log }
      parameters: [ { name: q, in: query, schema: { type: string } } ]
      responses: { '200': { description: ok } }
  /notes:
    post:
      operationId: createNote
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                text: { type: string }
                notes: { type: string }
                webhook: { type: string, format: uri }
                user: { type: object, additionalProperties: true }
      responses: { '200': { description: ok } }
"#;

const CARD: &str = "4111 1111 1111 1111";
const HASH: &str = "$2b$12$KIXQJ8GmQ0aG7l3mS1cZxOeM9yZb6iWm0YwqHh2xE7w1b5m3l2k4a";

/// The leaky upstream.
fn upstream() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(leak);
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

async fn leak(req: axum::extract::Request) -> Response {
    let path = req.uri().path().to_owned();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SERVER,
        HeaderValue::from_static("Apache/2.4.41 (Ubuntu)"),
    );
    headers.insert("x-powered-by", HeaderValue::from_static("PHP/7.2.24"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    let json = |v: Value| {
        let mut h = headers.clone();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        (h, v.to_string()).into_response()
    };
    match path.as_str() {
        p if p.starts_with("/users/") => json(json!({
            "id": "1", "name": "Ann O'Brien", "card": CARD, "password_hash": HASH,
        })),
        "/wrong" => json(json!({ "id": 5 })),
        "/card-ok" => json(json!({ "card": CARD })),
        "/crash" => {
            let mut h = headers.clone();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                h,
                "java.lang.IllegalStateException: db down\n\tat com.bank.Users.get(Users.java:42)\n",
            )
                .into_response()
        }
        "/big" => {
            let mut h = headers.clone();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            // Streamed without a length: over max_inspect, it is passed on as it comes.
            let chunks = (0..40).map(|i| {
                let filler = "x".repeat(50_000);
                Ok::<_, std::io::Error>(if i == 0 {
                    format!("[\"{filler}\"")
                } else if i == 39 {
                    format!(",\"{filler}\"]")
                } else {
                    format!(",\"{filler}\"")
                })
            });
            let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
            (h, body).into_response()
        }
        "/gz" => {
            let mut h = headers.clone();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (h, gzip(json!({ "card": CARD }).to_string().as_bytes())).into_response()
        }
        "/bomb" => {
            let mut h = headers.clone();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (h, gzip(&vec![b' '; 50 << 20])).into_response()
        }
        _ => json(json!({ "ok": true, "uri": req.uri().to_string() })),
    }
}

/// The API section of most tests.
const PROTECT: &str = r#"    threats:
      injection: block
      ssrf: block
      exclude: [ { operation: createNote, field: body/notes } ]
    response: { validate: log, undeclared_fields: strip, sensitive_data: mask, max_inspect: 1MiB }
    cors:
      origins: ["https://app.example.com"]
      methods: [GET, POST]
      headers: [authorization]
      credentials: true
"#;

fn setup(dir: &Path, upstream: SocketAddr, mode: &str) -> PathBuf {
    setup_with(dir, upstream, mode, PROTECT)
}

fn setup_with(dir: &Path, upstream: SocketAddr, mode: &str, section: &str) -> PathBuf {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
log: {{ decisions: "{log}" }}
apis:
  - name: t
    spec: spec.yaml
    upstream: http://{upstream}
    mode: {mode}
{section}"#,
        log = dir.join("decisions.jsonl").display()
    );
    let path = dir.join("gw.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn get(gw: &Gateway, target: &str, extra: &str) -> Resp {
    gw.send(&format!(
        "GET {target} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n{extra}\r\n"
    ))
}

fn post(gw: &Gateway, target: &str, body: &Value) -> Resp {
    let body = body.to_string();
    gw.send(&format!(
        "POST {target} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// The decision line of an answer (by its request id).
fn decision(dir: &Path, r: &Resp) -> Value {
    let id = r.header("x-request-id").expect("request id").to_owned();
    decision_log(&dir.join("decisions.jsonl"), &[&id])
        .into_iter()
        .find(|d| d["request_id"] == id.as_str())
        .unwrap()
}

fn rule_of(dir: &Path, r: &Resp) -> (String, String) {
    let d = decision(dir, r);
    (
        d["decision"].as_str().unwrap_or("").to_owned(),
        d["rule"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn injections_and_ssrf_are_refused_where_values_are_free_and_benign_values_pass() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&setup(dir.path(), upstream(), "enforce"));
    let d = dir.path();
    // Query parameters: free text is inspected, a pattern-constrained one is not.
    let cases: &[(&str, u16, &str)] = &[
        ("/search?q=Ann%20O%27Brien", 200, ""),
        ("/search?q=select%20the%20best%20or%20drop%20it", 200, ""),
        ("/search?q=1%27%20OR%20%271%27%3D%271", 403, "threat.sqli"),
        (
            "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            403,
            "threat.xss",
        ),
        (
            "/search?q=..%2F..%2F..%2Fetc%2Fpasswd",
            403,
            "threat.traversal",
        ),
        ("/search?q=x%3B%20cat%20%2Fetc%2Fpasswd", 403, "threat.cmd"),
        ("/search?filter=a%27%20or%201%3D1", 200, ""),
        ("/search?q[$ne]=1", 403, "threat.nosql"),
        // Paranoia 1 leaves User-Agent alone (paranoia 2 inspects it: the next test).
        ("/search?q=ua", 200, ""),
        (
            "/users/1%27%20UNION%20SELECT%20password%20FROM%20users--",
            403,
            "threat.sqli",
        ),
    ];
    for (target, status, rule) in cases {
        let r = get(&gw, target, "user-agent: 1' OR '1'='1\r\n");
        assert_eq!(r.status, *status, "{target}: {}", r.body);
        if *status == 403 {
            assert_eq!(
                rule_of(d, &r),
                ("block".to_owned(), (*rule).to_owned()),
                "{target}"
            );
            let line = decision(d, &r);
            let reason = line["reason"].as_str().unwrap();
            assert!(reason.contains("fingerprint"), "{reason}");
            assert!(
                !reason.contains("/etc/passwd")
                    && !reason.contains("alert(1)")
                    && !reason.contains("OR '1'"),
                "the value is never logged: {reason}"
            );
        }
    }
    // An operation whose extension says `injection: log`: logged, served.
    let r = get(&gw, "/search-log?q=1%27%20OR%20%271%27%3D%271", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        rule_of(d, &r),
        ("monitor".to_owned(), "threat.sqli".to_owned())
    );
    // JSON bodies: strings at every depth, operator keys, URL fields.
    let bodies: &[(Value, u16, &str)] = &[
        (
            json!({ "text": "Ann O'Brien wrote: select a plan, or drop me a line" }),
            200,
            "",
        ),
        (
            json!({ "text": "Robert'); DROP TABLE students;--" }),
            403,
            "threat.sqli",
        ),
        (
            json!({ "text": "<img src=x onerror=alert(1)>" }),
            403,
            "threat.xss",
        ),
        (json!({ "user": { "$ne": null } }), 403, "threat.nosql"),
        (
            json!({ "webhook": "http://169.254.169.254/latest/meta-data/" }),
            403,
            "threat.ssrf",
        ),
        (
            json!({ "webhook": "http://2130706433/admin" }),
            403,
            "threat.ssrf",
        ),
        (
            json!({ "webhook": "http://[::ffff:127.0.0.1]:8080/" }),
            403,
            "threat.ssrf",
        ),
        (
            json!({ "webhook": "gopher://example.com/_x" }),
            403,
            "threat.ssrf",
        ),
        (
            json!({ "webhook": "https://hooks.example.com/notify" }),
            200,
            "",
        ),
        // Excluded for this operation: a code snippet in the notes.
        (
            json!({ "notes": "SELECT * FROM users WHERE id = '1' OR 1=1; -- see <script>" }),
            200,
            "",
        ),
    ];
    for (body, status, rule) in bodies {
        let r = post(&gw, "/notes", body);
        assert_eq!(r.status, *status, "{body}: {}", r.body);
        if *status == 403 {
            assert_eq!(rule_of(d, &r).1, *rule, "{body}");
        }
    }
}

#[test]
fn answers_are_stripped_masked_sanitized_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&setup(dir.path(), upstream(), "enforce"));
    let d = dir.path();
    // Undeclared password_hash stripped, the card masked (last 4 kept), revealing headers gone.
    let r = get(&gw, "/users/1", "");
    assert_eq!(r.status, 200);
    let body = r.json();
    assert!(body.get("password_hash").is_none(), "{}", r.body);
    assert_eq!(body["name"], "Ann O'Brien");
    let card = body["card"].as_str().unwrap();
    assert!(!card.contains("4111") && card.ends_with("1111"), "{card}");
    assert_eq!(r.header("server"), None);
    assert_eq!(r.header("x-powered-by"), None);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("content-security-policy").is_some());
    assert_eq!(rule_of(d, &r).0, "allow");
    // A gzip answer is inflated, masked and sent decoded.
    let r = get(&gw, "/gz", "accept-encoding: gzip\r\n");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-encoding"), None);
    assert!(!r.body.contains("4111 1111"), "{}", r.body);
    // A stack trace never leaves.
    let r = get(&gw, "/crash", "");
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(
        !r.body.contains("java") && !r.body.contains("Users.java"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["request_id"], r.header("x-request-id").unwrap());
    assert_eq!(rule_of(d, &r).1, "response.error-leak");
    // A body breaking its schema: `validate: log` logs it and passes it.
    let r = get(&gw, "/wrong", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        rule_of(d, &r),
        ("monitor".to_owned(), "response.schema".to_owned())
    );
    // Over max_inspect: passed whole, uninspected, said in the log.
    let r = get(&gw, "/big", "");
    assert_eq!(r.status, 200);
    assert!(r.body.len() > 2_000_000, "{}", r.body.len());
    assert_eq!(
        rule_of(d, &r),
        ("allow".to_owned(), "response.uninspected".to_owned())
    );
    // A decompression bomb is refused, never inflated.
    let r = get(&gw, "/bomb", "");
    assert_eq!(r.status, 502);
    assert_eq!(
        rule_of(d, &r),
        ("block".to_owned(), "response.decompression".to_owned())
    );
}

#[test]
fn cors_answers_preflights_and_never_reflects_an_unlisted_origin() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&setup(dir.path(), upstream(), "enforce"));
    let preflight = |origin: &str, method: &str, headers: &str| {
        gw.send(&format!(
            "OPTIONS /users/1 HTTP/1.1\r\nhost: t\r\nconnection: close\r\norigin: {origin}\r\naccess-control-request-method: {method}\r\naccess-control-request-headers: {headers}\r\n\r\n"
        ))
    };
    let r = preflight(
        "https://app.example.com",
        "POST",
        "Authorization, Content-Type",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert_eq!(preflight("https://evil.example", "GET", "").status, 403);
    assert_eq!(
        preflight("https://app.example.com", "DELETE", "").status,
        403
    );
    assert_eq!(
        preflight("https://app.example.com", "GET", "x-secret").status,
        403
    );
    // The upstream's `*` is replaced: the listed origin is named, another gets nothing.
    let r = get(&gw, "/users/1", "origin: https://app.example.com\r\n");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let r = get(&gw, "/users/1", "origin: https://evil.example\r\n");
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn monitor_mode_logs_threats_and_exposure_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&setup(dir.path(), upstream(), "monitor"));
    let d = dir.path();
    let r = get(&gw, "/search?q=1%27%20OR%20%271%27%3D%271", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        rule_of(d, &r),
        ("monitor".to_owned(), "threat.sqli".to_owned())
    );
    // Nothing stripped or masked, the exposure logged.
    let r = get(&gw, "/users/1", "");
    assert!(
        r.body.contains(CARD) && r.body.contains("password_hash"),
        "{}",
        r.body
    );
    assert_eq!(rule_of(d, &r).0, "monitor");
    // The stack trace is logged, passed.
    let r = get(&gw, "/crash", "");
    assert!(r.body.contains("Users.java"));
    assert_eq!(
        rule_of(d, &r),
        ("monitor".to_owned(), "response.error-leak".to_owned())
    );
}

/// The keys the other tests leave at their defaults, each changing what happens: paranoia 2,
/// host allowlists (for every URL field and for one field), blocking instead of masking and
/// logging, an opt-in detector, `over_limit: block`, no secure headers, and an operation's
/// `x-portcullis-response`.
#[test]
fn every_other_key_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let section = r#"    threats:
      paranoia: 2
      allow_hosts: [hooks.internal]
      ssrf_allow: [ { operation: createNote, field: body/webhook, hosts: [billing.local] } ]
    response:
      validate: block
      sensitive_data: block
      sensitive_optional: [email]
      over_limit: block
      security_headers: false
      max_inspect: 1MiB
"#;
    let gw = Gateway::start(&setup_with(dir.path(), upstream(), "enforce", section));
    let d = dir.path();
    let r = get(&gw, "/search?q=ua", "user-agent: 1' OR '1'='1\r\n");
    assert_eq!((r.status, rule_of(d, &r).1.as_str()), (403, "threat.sqli"));
    for (body, status) in [
        (json!({ "webhook": "http://hooks.internal/x" }), 200),
        (json!({ "webhook": "http://billing.local/x" }), 200),
        (json!({ "webhook": "http://other.local/x" }), 403),
    ] {
        assert_eq!(post(&gw, "/notes", &body).status, status, "{body}");
    }
    // billing.local is allowed for that one field only.
    assert_eq!(
        get(&gw, "/search?url=http://billing.local/", "").status,
        403
    );
    let blocked: &[(&str, &str)] = &[
        ("/users/1", "response.sensitive"),
        ("/wrong", "response.schema"),
        ("/big", "response.uninspected"),
        // The email in the echoed URI, found by the opt-in detector.
        ("/search?q=ann@example.com", "response.sensitive"),
    ];
    for (target, rule) in blocked {
        let r = get(&gw, target, "");
        assert_eq!(r.status, 502, "{target}: {}", r.body);
        assert_eq!(
            rule_of(d, &r),
            ("block".to_owned(), (*rule).to_owned()),
            "{target}"
        );
        assert!(
            !r.body.contains(CARD) && !r.body.contains("ann@"),
            "{}",
            r.body
        );
    }
    // The operation's extension turns the sensitive-data check off for it.
    let r = get(&gw, "/card-ok", "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains(CARD));
    // Without security_headers the upstream's own fields stay.
    assert_eq!(r.header("server"), Some("Apache/2.4.41 (Ubuntu)"));
}
