//! Key rotation against a local JWKS server whose key set the test swaps, counting the
//! fetches on the server side.
//!
//! What happens: an unknown `kid` triggers one refetch (at most one per `min_refetch`), and
//! the fetched set REPLACES the held one, so a key removed from the set stops verifying new
//! tokens (a token already verified stays cached until its `exp`); when the endpoint fails,
//! the held (stale) keys are kept.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use indexmap::IndexMap;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

use super::*;
use crate::identity::AuthFailure;
use crate::identity::jwt::{Issuer, Verifier};

const RSA: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/keys/rsa.pem"
));
const JWKS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/keys/rsa.jwks.json"
));
const ISS: &str = "https://rotating.test";

/// Plain `http://` reach: no `tls` block.
fn plain() -> Reach<'static> {
    Reach {
        tls: None,
        base_dir: std::path::Path::new("."),
    }
}

#[derive(Clone, Default)]
struct Server {
    kids: Arc<Mutex<Vec<String>>>,
    failing: Arc<AtomicBool>,
    fetches: Arc<AtomicUsize>,
}

impl Server {
    /// Serves the test RSA key under each of `kids`.
    fn set(&self, kids: &[&str]) {
        *self.kids.lock().unwrap() = kids.iter().map(|k| (*k).to_owned()).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(s): State<Server>) -> (StatusCode, String) {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    if s.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down".to_owned());
    }
    let base: serde_json::Value = serde_json::from_str(JWKS).unwrap();
    let keys: Vec<serde_json::Value> = s
        .kids
        .lock()
        .unwrap()
        .iter()
        .map(|kid| {
            let mut k = base["keys"][0].clone();
            k["kid"] = json!(kid);
            k
        })
        .collect();
    (StatusCode::OK, json!({ "keys": keys }).to_string())
}

async fn serve(server: Server) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/jwks.json", get(jwks))
        .with_state(server);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/jwks.json")
}

fn verifier(url: &str, min_refetch: Duration) -> Verifier {
    let issuer = Issuer {
        issuer: ISS.to_owned(),
        audiences: Vec::new(),
        algorithms: vec![Algorithm::RS256],
        leeway: 0,
        keys: KeySource::Remote(Box::new(RemoteJwks::new(url, min_refetch, None).unwrap())),
        secret: None,
        roles_claim: "roles".to_owned(),
    };
    Verifier::new(
        vec![issuer],
        IndexMap::new(),
        crate::identity::jwt::system_clock(),
    )
}

/// A fresh token (distinct `jti`, so never a cache hit) signed by the test key as `kid`.
fn token(kid: &str, jti: u32) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let exp = crate::identity::jwt::system_clock()() + 600;
    let claims = json!({ "iss": ISS, "sub": "s", "exp": exp, "jti": jti });
    encode(&header, &claims, &EncodingKey::from_rsa_pem(RSA).unwrap()).unwrap()
}

async fn check(v: &Verifier, kid: &str, jti: u32) -> Result<(), AuthFailure> {
    v.verify(&token(kid, jti)).await.map(|_| ())
}

#[tokio::test]
async fn a_new_kid_refetches_removed_keys_go_and_failures_keep_stale_keys() {
    let server = Server::default();
    server.set(&["k1"]);
    let v = verifier(&serve(server.clone()).await, Duration::ZERO);

    // First use: nothing held, one fetch.
    let first = token("k1", 1);
    assert!(v.verify(&first).await.is_ok());
    assert_eq!(server.fetches(), 1);
    assert_eq!(check(&v, "k1", 2).await, Ok(()));
    assert_eq!(server.fetches(), 1, "a known kid needs no fetch");

    // Rotation: the set now holds only k2; a k2 token triggers a refetch and passes.
    server.set(&["k2"]);
    assert_eq!(check(&v, "k2", 3).await, Ok(()));
    assert_eq!(server.fetches(), 2);

    // k1 was removed: a new k1 token refetches and is refused; the cached one still passes.
    assert_eq!(
        check(&v, "k1", 4).await,
        Err(AuthFailure::UnknownKey("k1".to_owned()))
    );
    assert_eq!(server.fetches(), 3);
    assert!(v.verify(&first).await.is_ok(), "cached until its exp");

    // The endpoint fails: the stale set (k2) is kept.
    server.failing.store(true, Ordering::SeqCst);
    assert_eq!(
        check(&v, "k3", 5).await,
        Err(AuthFailure::UnknownKey("k3".to_owned()))
    );
    assert_eq!(server.fetches(), 4);
    assert_eq!(check(&v, "k2", 6).await, Ok(()), "stale keys still verify");
}

#[tokio::test]
async fn refetches_are_rate_limited() {
    let server = Server::default();
    server.set(&["k1"]);
    let v = verifier(&serve(server.clone()).await, Duration::from_secs(3600));
    assert_eq!(check(&v, "k1", 1).await, Ok(()));
    assert_eq!(server.fetches(), 1);
    let kids: BTreeSet<String> = (0..20).map(|i| format!("forged-{i}")).collect();
    for (i, kid) in kids.iter().enumerate() {
        assert_eq!(
            check(&v, kid, 10 + i as u32).await,
            Err(AuthFailure::UnknownKey(kid.clone()))
        );
    }
    assert_eq!(
        server.fetches(),
        1,
        "20 unknown kids, no refetch within the interval"
    );
    // The trade-off: a genuinely new key waits for the interval too.
    server.set(&["k1", "k2"]);
    assert_eq!(
        check(&v, "k2", 99).await,
        Err(AuthFailure::UnknownKey("k2".to_owned()))
    );
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn an_endpoint_down_from_the_start_means_keys_unavailable() {
    let server = Server::default();
    server.failing.store(true, Ordering::SeqCst);
    let v = verifier(&serve(server.clone()).await, Duration::ZERO);
    assert_eq!(check(&v, "k1", 1).await, Err(AuthFailure::KeysUnavailable));
    assert_eq!(server.fetches(), 1);
    // It comes back: the next unknown kid fetches and verifies.
    server.failing.store(false, Ordering::SeqCst);
    server.set(&["k1"]);
    assert_eq!(check(&v, "k1", 2).await, Ok(()));
}

/// A reload builds a new key set; when its fetch fails it takes the running one's keys
/// (`adopt`), and a key set that was fetched never does (a key the endpoint removed stays out).
#[tokio::test]
async fn only_a_key_set_never_fetched_adopts_the_held_keys() {
    let server = Server::default();
    server.set(&["k1"]);
    let url = serve(server.clone()).await;
    let running = RemoteJwks::new(&url, Duration::ZERO, None).unwrap();
    running.refresh().await.unwrap();
    let held = running.keys();
    assert_eq!(held.len(), 1);
    server.failing.store(true, Ordering::SeqCst);
    let reloaded = RemoteJwks::new(&url, Duration::ZERO, None).unwrap();
    assert!(reloaded.refresh().await.is_err());
    assert!(reloaded.adopt(held.clone()));
    assert_eq!(reloaded.keys().len(), 1);
    server.failing.store(false, Ordering::SeqCst);
    server.set(&["k2"]);
    let rotated = RemoteJwks::new(&url, Duration::ZERO, None).unwrap();
    rotated.refresh().await.unwrap();
    assert!(!rotated.adopt(held));
    let keys = rotated.keys();
    let kids: Vec<Option<&str>> = keys.iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some("k2")]);
}

#[test]
fn symmetric_and_encryption_keys_are_never_taken_from_a_set() {
    let set = json!({ "keys": [
        { "kty": "oct", "k": "c2VjcmV0", "kid": "hmac" },
        { "kty": "RSA", "use": "enc", "kid": "enc",
          "n": serde_json::from_str::<serde_json::Value>(JWKS).unwrap()["keys"][0]["n"], "e": "AQAB" },
        serde_json::from_str::<serde_json::Value>(JWKS).unwrap()["keys"][0],
    ]});
    let keys = parse("test", set.to_string().as_bytes()).unwrap();
    let kids: Vec<Option<&str>> = keys.iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some("k1")]);
    assert!(parse("test", b"{\"keys\": 3}").is_err());
}

/// A key set that is not one is refused at its line and column, with the field at fault.
#[test]
fn a_broken_key_set_names_its_line_and_field() {
    let text = "{\n  \"keys\": [\n    { \"kty\": \"RSA\", \"kid\": 7 }\n  ]\n}\n";
    let Err(JwksError::Invalid(e)) = parse("keys.jwks.json", text.as_bytes()) else {
        panic!("a key with a numeric kid parsed");
    };
    assert_eq!(e.file, "keys.jwks.json");
    assert_eq!(e.at.map(|(line, _)| line), Some(3), "{e}");
    assert!(e.field.starts_with("/keys/0"), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with("keys.jwks.json:3:") && shown.contains(": not a JSON Web Key Set: "),
        "{shown}"
    );
}

async fn provider(issuer: &str, jwks_uri: Option<&str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut doc = json!({ "issuer": issuer });
    if let Some(u) = jwks_uri {
        doc["jwks_uri"] = json!(u);
    }
    let body = doc.to_string();
    let app = Router::new().route(
        "/.well-known/openid-configuration",
        get(move || async move { body }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/.well-known/openid-configuration")
}

#[tokio::test]
async fn discovery_finds_the_key_set_of_the_right_issuer() {
    let server = Server::default();
    server.set(&["k1"]);
    let jwks_url = serve(server.clone()).await;
    let url = provider(ISS, Some(&jwks_url)).await;
    let found = discover(&url, ISS, plain()).await.unwrap();
    assert_eq!(found, jwks_url);
    let v = verifier(&found, Duration::ZERO);
    assert_eq!(check(&v, "k1", 1).await, Ok(()));

    let e = discover(&url, "https://other.test", plain())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("names issuer"), "{e}");
    let no_keys = provider(ISS, None).await;
    let e = discover(&no_keys, ISS, plain()).await.unwrap_err();
    assert!(e.to_string().contains("no jwks_uri"), "{e}");
    let e = discover(&jwks_url, ISS, plain()).await.unwrap_err();
    assert!(
        e.to_string().contains("no issuer"),
        "a key set is not provider metadata: {e}"
    );
    let e = discover(
        "ftp://idp.test/.well-known/openid-configuration",
        ISS,
        plain(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("http:// or https://"), "{e}");
}

/// A provider's `jwks_uri` is only followed to https (plain http only on this machine), never
/// to a file of the gateway's, which the key-set loader would otherwise read.
#[tokio::test]
async fn a_discovered_jwks_uri_must_be_https_or_loopback_http() {
    for (uri, ok) in [
        ("/etc/passwd", false),
        ("file:///etc/passwd", false),
        ("keys.json", false),
        ("http://idp.example/jwks.json", false),
        ("ftp://idp.example/jwks.json", false),
        ("https://idp.example/jwks.json", true),
        ("http://127.0.0.1:9/jwks.json", true),
        ("http://localhost/jwks.json", true),
        ("http://[::1]:9/jwks.json", true),
    ] {
        let url = provider(ISS, Some(uri)).await;
        let got = discover(&url, ISS, plain()).await;
        match (ok, got) {
            (true, Ok(found)) => assert_eq!(found, uri),
            (false, Err(e)) => assert!(e.to_string().contains("not an https:// URL"), "{uri}: {e}"),
            (ok, got) => panic!("{uri}: expected ok={ok}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn fetch_and_discovery_errors_hide_url_passwords() {
    // Nothing listens on port 1: the fetch fails and the error shows the URL.
    let remote = RemoteJwks::new(
        "http://svc:hunter2@127.0.0.1:1/jwks.json",
        Duration::ZERO,
        None,
    )
    .unwrap();
    let e = remote.refresh().await.unwrap_err().to_string();
    assert!(e.contains("http://svc:***@127.0.0.1:1/jwks.json"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let e = discover("http://svc:hunter2@127.0.0.1:1/.well-known/x", ISS, plain())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("svc:***@") && !e.contains("hunter2"), "{e}");
    let e = discover(
        "https://svc:hunter2@127.0.0.1:1/.well-known/x",
        ISS,
        plain(),
    )
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        e.contains("svc:***@127.0.0.1") && !e.contains("hunter2"),
        "{e}"
    );
}

#[tokio::test]
async fn a_key_set_file_over_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jwks.json");
    let padding = " ".repeat(MAX_JWKS_BYTES + 1);
    std::fs::write(&path, format!("{{\"keys\": []{padding}}}")).unwrap();
    let Err(err) = load(
        "big.jwks.json",
        Reach {
            tls: None,
            base_dir: dir.path(),
        },
    )
    .await
    else {
        panic!("an oversized key set loaded");
    };
    assert!(err.to_string().contains("over the limit"), "{err}");
}
