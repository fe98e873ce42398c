//! Key set (`jwks`) faults through the real binary: the endpoint unreachable at start, answering
//! garbage, rotating its keys, failing during a reload, and going away with keys held. A token
//! passes only with a key the gateway fetched; an outage never logs callers out whose key is
//! held, and never lets an unknown key in.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

use super::support::{Gateway, PATIENCE, echo_upstream, eventually, eventually_every};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/data/keys");
const ISS: &str = "https://keys.test";
const TOKEN: &str = "faults-keys-admin-token-0123456789";

/// What the key set endpoint answers.
#[derive(Clone, Debug)]
enum Answer {
    /// 200 with this body.
    Body(String),
    /// The connection closed without an answer.
    Close,
}

/// The key set endpoint: serves `answer`, counting its fetches.
struct KeySet {
    answer: Arc<Mutex<Answer>>,
    fetches: Arc<AtomicU64>,
}

impl KeySet {
    fn serve(listener: TcpListener) -> KeySet {
        let answer = Arc::new(Mutex::new(Answer::Close));
        let fetches = Arc::new(AtomicU64::new(0));
        let (a, f) = (answer.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { return };
                let mut buf = [0u8; 4096];
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.read(&mut buf);
                f.fetch_add(1, Ordering::SeqCst);
                let answer = a.lock().unwrap().clone();
                if let Answer::Body(body) = answer {
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            }
        });
        KeySet { answer, fetches }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// The key set of the test key `file` (`rsa` or `rsa-attacker`) under `kid`.
fn key_set(file: &str, kid: &str) -> String {
    let set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{KEYS}/{file}.jwks.json")).unwrap())
            .unwrap();
    let mut key = set["keys"][0].clone();
    key["kid"] = json!(kid);
    json!({ "keys": [key] }).to_string()
}

/// A fresh token (its own `jti`: never a cache hit) signed by the test key `file` as `kid`.
fn token(file: &str, kid: &str) -> String {
    static JTI: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({ "iss": ISS, "sub": "alice", "iat": now - 5, "exp": now + 600,
                         "jti": JTI.fetch_add(1, Ordering::SeqCst).to_string() });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let pem = std::fs::read(format!("{KEYS}/{file}.pem")).unwrap();
    encode(&header, &claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

fn status(gw: &Gateway, path: &str, token: Option<&str>) -> u16 {
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    gw.send(&format!(
        "GET {path} HTTP/1.1\r\nhost: k\r\n{auth}connection: close\r\n\r\n"
    ))
    .status
}

/// Polls (a fresh token each time, once a second: refetches are at most one per 10 s) until a
/// token of `file`/`kid` gets `want`.
fn await_token(gw: &Gateway, file: &str, kid: &str, want: u16) {
    eventually_every(
        &format!("a {file}/{kid} token answered {want}"),
        PATIENCE,
        Duration::from_secs(1),
        || match status(gw, "/private", Some(&token(file, kid))) {
            s if s == want => Ok(()),
            s => Err(format!("status {s}")),
        },
    );
}

#[test]
fn key_set_unreachable_garbage_rotating_and_failing_on_reload() {
    // A port that is free now: the key set is unreachable when the gateway starts.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        r#"openapi: 3.1.0
info: { title: k, version: "1" }
components:
  securitySchemes: { bearer: { type: http, scheme: bearer } }
paths:
  /public:
    get: { operationId: pub, security: [], responses: { "200": { description: ok } } }
  /private:
    get: { operationId: priv, security: [{ bearer: [] }], responses: { "200": { description: ok } } }
"#,
    )
    .unwrap();
    let config = dir.path().join("gw.yaml");
    std::fs::write(
        &config,
        format!(
            r#"server: {{ listen: 127.0.0.1:0 }}
admin: {{ listen: 127.0.0.1:0, token: "{TOKEN}" }}
log: {{ decisions: off }}
identity:
  jwt:
    - {{ issuer: "{ISS}", jwks: "http://127.0.0.1:{port}/jwks.json", algorithms: [RS256] }}
apis:
  - {{ name: k, spec: spec.yaml, upstream: "http://{}" }}
"#,
            echo_upstream()
        ),
    )
    .unwrap();
    let mut gw = Gateway::start(&config);

    // 1. Unreachable from the start: the gateway serves, every token is refused.
    gw.await_stderr("warning that the key set is unavailable", |l| {
        l.contains(&format!("127.0.0.1:{port}"))
    });
    assert_eq!(status(&gw, "/public", None), 200);
    assert_eq!(status(&gw, "/private", Some(&token("rsa", "k1"))), 401);

    // 2. Garbage: fetched, refused, nothing trusted.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let keys = KeySet::serve(TcpListener::bind(addr).expect("rebind the key set's port"));
    keys.set(Answer::Body("this is not a key set {".to_owned()));
    eventually_every(
        "the garbage key set fetched",
        PATIENCE,
        Duration::from_secs(1),
        || {
            let s = status(&gw, "/private", Some(&token("rsa", "k1")));
            assert_eq!(s, 401, "a token passed with a garbage key set");
            if keys.fetches() > 0 {
                Ok(())
            } else {
                Err("no fetch yet".to_owned())
            }
        },
    );
    keys.set(Answer::Body(json!({ "keys": "none" }).to_string()));
    let fetched = keys.fetches();
    eventually_every(
        "the wrongly shaped key set fetched",
        PATIENCE,
        Duration::from_secs(1),
        || {
            let s = status(&gw, "/private", Some(&token("rsa", "k1")));
            assert_eq!(s, 401, "a token passed with a wrongly shaped key set");
            if keys.fetches() > fetched {
                Ok(())
            } else {
                Err("no fetch yet".to_owned())
            }
        },
    );
    gw.assert_alive();

    // 3. Good keys: tokens of the key pass, a token of another key under the same kid does not.
    keys.set(Answer::Body(key_set("rsa", "k1")));
    await_token(&gw, "rsa", "k1", 200);
    assert_eq!(
        status(&gw, "/private", Some(&token("rsa-attacker", "k1"))),
        401
    );

    // 4. A reload while the key set answers garbage, then while it is down: the reload is
    //    refused or keeps the keys, never leaves the gateway without them.
    for answer in [Answer::Body("garbage".to_owned()), Answer::Close] {
        keys.set(answer.clone());
        let before = keys.fetches();
        let r = gw.admin("POST", "/api/reload", Some(TOKEN));
        assert!(
            keys.fetches() > before,
            "the reload did not fetch the key set"
        );
        assert!(
            r.status == 200 || r.status == 422,
            "reload with the key set {answer:?}: {r:?}"
        );
        assert_eq!(
            status(&gw, "/private", Some(&token("rsa", "k1"))),
            200,
            "after a reload with the key set {answer:?} (reload answered {}), a held key no longer verifies",
            r.status
        );
    }

    // 5. Rotation: the set now holds only another key as k2. k2 tokens pass after a refetch;
    //    k1, removed from the set, no longer does.
    keys.set(Answer::Body(key_set("rsa-attacker", "k2")));
    await_token(&gw, "rsa-attacker", "k2", 200);
    await_token(&gw, "rsa", "k1", 401);

    // 6. The endpoint goes away: the held key keeps verifying, an unknown kid is refused.
    keys.set(Answer::Close);
    assert_eq!(
        status(&gw, "/private", Some(&token("rsa-attacker", "k2"))),
        200
    );
    assert_eq!(status(&gw, "/private", Some(&token("rsa", "k9"))), 401);
    gw.assert_alive();
    eventually("the gateway still answering", PATIENCE, || {
        (status(&gw, "/public", None) == 200)
            .then_some(())
            .ok_or_else(|| "not 200".to_owned())
    });
}
