// Test helpers: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::response::{Answer, Expect, judge};
use super::*;
use crate::config::IntrospectionConfig;

const NOW: u64 = 1_700_000_000;

fn roles() -> IndexMap<String, Vec<String>> {
    let mut roles = IndexMap::new();
    roles.insert("teller".to_owned(), vec!["accounts:read".to_owned()]);
    roles
}

fn expect<'a>(
    issuer: Option<&'a str>,
    audiences: &'a [String],
    roles: &'a IndexMap<String, Vec<String>>,
) -> Expect<'a> {
    Expect {
        issuer,
        audiences,
        roles_claim: "roles",
        roles,
    }
}

fn judged(body: &str, issuer: Option<&str>, audiences: &[&str]) -> Result<Answer, String> {
    let audiences: Vec<String> = audiences.iter().map(|a| (*a).to_owned()).collect();
    let roles = roles();
    judge(body.as_bytes(), NOW, &expect(issuer, &audiences, &roles))
}

fn refused(body: &str, issuer: Option<&str>, audiences: &[&str]) -> Failure {
    match judged(body, issuer, audiences) {
        Ok(Answer::Refused(f)) => f,
        other => panic!("{body}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_active_answer_maps_to_the_caller() {
    let body = json!({
        "active": true, "scope": "items:read items:write", "sub": "alice", "client_id": "app",
        "username": "Alice", "exp": NOW + 60, "iat": NOW - 5, "nbf": NOW - 5,
        "aud": ["other", "items-api"], "iss": "https://as.test", "roles": ["teller"],
        "account_id": 42
    })
    .to_string();
    let Ok(Answer::Active(p, exp)) = judged(&body, Some("https://as.test"), &["items-api"]) else {
        panic!("not active");
    };
    assert_eq!(exp, Some(NOW + 60));
    assert_eq!(p.subject.as_deref(), Some("alice"));
    assert_eq!(p.issuer, "https://as.test");
    let scopes: Vec<&str> = p.scopes.iter().map(String::as_str).collect();
    assert_eq!(scopes, ["accounts:read", "items:read", "items:write"]);
    assert!(p.roles.contains("teller"));
    assert_eq!(p.claim("account_id").as_deref(), Some("42"));
    assert_eq!(p.claim("username").as_deref(), Some("Alice"));
    assert_eq!(p.claim("client_id").as_deref(), Some("app"));

    // A client-credentials token has no sub: the client is the subject; the answer's iss, or
    // `introspection`, is the issuer; scope may be an array; roles a string.
    let Ok(Answer::Active(p, exp)) = judged(
        r#"{"active":true,"client_id":"batch","scope":["a","b"],"roles":"teller"}"#,
        None,
        &[],
    ) else {
        panic!("not active");
    };
    assert_eq!((p.subject.as_deref(), exp), (Some("batch"), None));
    assert_eq!(p.issuer, DEFAULT_ISSUER);
    assert_eq!(
        p.claim("sub"),
        None,
        "owner binding on sub does not see the client"
    );
    assert!(p.scopes.contains("a") && p.scopes.contains("accounts:read"));
    let Ok(Answer::Active(p, _)) = judged(r#"{"active":true,"iss":"x"}"#, None, &[]) else {
        panic!("not active");
    };
    assert_eq!(p.issuer, "x");
}

#[test]
fn refusals_each_have_their_reason() {
    assert_eq!(refused(r#"{"active":false}"#, None, &[]), Failure::Inactive);
    // Inactive wins over anything else the answer says.
    assert_eq!(
        refused(r#"{"active":false,"scope":5}"#, None, &[]),
        Failure::Inactive
    );
    let at = |exp: u64| format!(r#"{{"active":true,"exp":{exp}}}"#);
    assert_eq!(refused(&at(NOW), None, &[]), Failure::Expired);
    assert_eq!(refused(&at(NOW - 100), None, &[]), Failure::Expired);
    assert!(matches!(
        judged(&at(NOW + 1), None, &[]),
        Ok(Answer::Active(..))
    ));
    assert_eq!(
        refused(
            r#"{"active":true,"iss":"https://evil"}"#,
            Some("https://as"),
            &[]
        ),
        Failure::WrongIssuer
    );
    assert_eq!(
        refused(r#"{"active":true}"#, Some("https://as"), &[]),
        Failure::WrongIssuer
    );
    assert_eq!(
        refused(r#"{"active":true,"aud":"other"}"#, None, &["api"]),
        Failure::WrongAudience
    );
    assert_eq!(
        refused(r#"{"active":true}"#, None, &["api"]),
        Failure::WrongAudience
    );
    // A single aud string is one value, not split at spaces.
    assert_eq!(
        refused(r#"{"active":true,"aud":"my api"}"#, None, &["api"]),
        Failure::WrongAudience
    );
    assert!(matches!(
        judged(r#"{"active":true,"aud":"api"}"#, None, &["api"]),
        Ok(Answer::Active(..))
    ));
}

#[test]
fn garbage_answers_are_invalid_never_a_panic() {
    let deep = "[".repeat(100_000);
    let cases: &[(&str, &str)] = &[
        ("", "not JSON"),
        ("not json", "not JSON"),
        (&deep, "not JSON"),
        ("[]", "not a JSON object"),
        ("true", "not a JSON object"),
        ("{}", "no `active`"),
        (r#"{"active":"true"}"#, "`active` is not a boolean"),
        (r#"{"active":1}"#, "`active` is not a boolean"),
        (r#"{"active":true,"exp":"soon"}"#, "`exp` is not a number"),
        (r#"{"active":true,"exp":-5}"#, "`exp` is not a number"),
        (r#"{"active":true,"sub":{}}"#, "`sub` is not a string"),
        (r#"{"active":true,"iss":1}"#, "`iss` is not a string"),
        (
            r#"{"active":true,"client_id":[]}"#,
            "`client_id` is not a string",
        ),
        (r#"{"active":true,"scope":5}"#, "`scope` is neither"),
        (
            r#"{"active":true,"aud":[1]}"#,
            "`aud` holds something other",
        ),
        (r#"{"active":true,"roles":{"a":1}}"#, "`roles` is neither"),
        (r#"{"active":true,"active":false}"#, ""),
    ];
    for (body, why) in cases {
        match judged(body, None, &[]) {
            Err(message) => assert!(message.contains(why), "{body:.40}: {message}"),
            // serde_json keeps the last duplicate: `active: false` is a refusal, not a pass.
            Ok(Answer::Refused(Failure::Inactive)) if why.is_empty() => {}
            Ok(other) => panic!("{body:.40}: {other:?}"),
        }
    }
}

#[test]
fn only_jwt_shaped_tokens_skip_introspection() {
    for jwt in ["eyJh.eyJj.c2ln", "a.b.", "a-_.b_-.c-_"] {
        assert!(looks_like_jwt(jwt), "{jwt}");
    }
    for opaque in [
        "2YotnFZFEjr1zCsicMWpAA",
        "a.b",
        "a.b.c.d.e",
        ".b.c",
        "a..c",
        "a+b.c.d",
        "a/b.c.d",
        "a.b.c=",
        "",
    ] {
        assert!(!looks_like_jwt(opaque), "{opaque}");
    }
}

#[test]
fn token_syntax_is_checked_before_any_call() {
    for ok in ["2YotnFZFEjr1zCsicMWpAA", "a.b", "x-y_z~1+2/3==", "abc="] {
        assert_eq!(check_syntax(ok), Ok(()), "{ok}");
    }
    for bad in ["", "=", "a b", "a\"b", "a,b", "tök", "a=b"] {
        assert!(
            matches!(check_syntax(bad), Err(Failure::Malformed(_))),
            "{bad}"
        );
    }
    assert_eq!(
        check_syntax(&"a".repeat(MAX_TOKEN_BYTES + 1)),
        Err(Failure::Malformed("longer than 8192 bytes"))
    );
}

#[test]
fn failures_have_codes_rules_and_statuses() {
    let down = Failure::Unavailable {
        message: "x".to_owned(),
        status: 503,
    };
    let bad = Failure::BadResponse {
        message: "x".to_owned(),
        status: 401,
    };
    let all = [
        (Failure::Malformed("m"), "auth.token-malformed", 401),
        (Failure::Inactive, "auth.token-inactive", 401),
        (Failure::Expired, "auth.token-expired", 401),
        (Failure::WrongIssuer, "auth.token-issuer", 401),
        (Failure::WrongAudience, "auth.token-audience", 401),
        (down, "auth.introspection-unavailable", 503),
        (bad, "auth.introspection-invalid", 401),
    ];
    let mut codes = std::collections::BTreeSet::new();
    for (f, rule, status) in all {
        assert_eq!((f.rule(), f.status()), (rule, status), "{f}");
        let auth = crate::identity::AuthFailure::Introspection(f.clone());
        assert_eq!(
            (auth.rule(), auth.status(), auth.code()),
            (rule, status, f.code())
        );
        assert!(codes.insert(f.code()), "duplicate code {}", f.code());
    }
}

// ---- against a local introspection endpoint ----

/// What the test endpoint does.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Answer,
    Error500,
    Garbage,
    Huge,
    Slow,
}

struct Endpoint {
    mode: Mutex<Mode>,
    calls: Mutex<HashMap<String, u32>>,
    seen: Mutex<Vec<(String, String)>>,
    answers: HashMap<&'static str, Value>,
}

impl Endpoint {
    fn calls(&self, token: &str) -> u32 {
        self.calls.lock().unwrap().get(token).copied().unwrap_or(0)
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn introspect(
    State(ep): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let form = String::from_utf8_lossy(&body).into_owned();
    ep.seen.lock().unwrap().push((auth, form.clone()));
    let token = url::form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    *ep.calls.lock().unwrap().entry(token.clone()).or_default() += 1;
    let mode = *ep.mode.lock().unwrap();
    match mode {
        Mode::Answer => axum::Json(
            ep.answers
                .get(token.as_str())
                .cloned()
                .unwrap_or(json!({ "active": false })),
        )
        .into_response(),
        Mode::Error500 => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Garbage => "<html>not an answer</html>".into_response(),
        Mode::Huge => format!(
            r#"{{"active":true,"pad":"{}"}}"#,
            "x".repeat(MAX_RESPONSE_BYTES)
        )
        .into_response(),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            axum::Json(json!({ "active": true })).into_response()
        }
    }
}

/// Serves the endpoint on 127.0.0.1; its URL.
async fn endpoint(answers: HashMap<&'static str, Value>) -> (Arc<Endpoint>, String) {
    let ep = Arc::new(Endpoint {
        mode: Mutex::new(Mode::Answer),
        calls: Mutex::new(HashMap::new()),
        seen: Mutex::new(Vec::new()),
        answers,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/introspect", axum::routing::post(introspect))
        .with_state(ep.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (ep, format!("http://{addr}/introspect"))
}

fn config(endpoint: &str, extra: Value) -> IntrospectionConfig {
    let mut c = json!({
        "endpoint": endpoint,
        "client_id": "gw client",
        "client_secret": "s3cr:t/+%é",
        "timeout": "300ms",
    });
    if let (Some(c), Value::Object(extra)) = (c.as_object_mut(), extra) {
        c.extend(extra);
    }
    serde_json::from_value(c).unwrap()
}

fn clock_at(t: &Arc<AtomicU64>) -> Clock {
    let t = t.clone();
    Arc::new(move || t.load(Ordering::SeqCst))
}

fn answers() -> HashMap<&'static str, Value> {
    HashMap::from([
        (
            "good",
            json!({ "active": true, "sub": "alice", "scope": "items:read" }),
        ),
        (
            "short",
            json!({ "active": true, "sub": "bob", "exp": NOW + 5 }),
        ),
    ])
}

#[tokio::test]
async fn credentials_are_basic_with_form_encoding_and_the_token_is_a_form() {
    let (ep, url) = endpoint(answers()).await;
    let t = Arc::new(AtomicU64::new(NOW));
    let i = Introspector::new(&config(&url, json!({})), &roles(), clock_at(&t), None).unwrap();
    let judged = i.introspect("good").await;
    assert_eq!(judged.result.unwrap().subject.as_deref(), Some("alice"));
    assert_eq!(judged.call, Some(CallResult::Active));
    let seen = ep.seen.lock().unwrap().clone();
    let (auth, form) = &seen[0];
    // RFC 6749 §2.3.1: id and secret form-urlencoded, joined by `:`, then base64.
    let expected = STANDARD.encode("gw+client:s3cr%3At%2F%2B%25%C3%A9");
    assert_eq!(auth, &format!("Basic {expected}"));
    assert_eq!(form, "token=good&token_type_hint=access_token");
    // The secret is not in the config's Debug.
    let shown = format!("{:?}", config(&url, json!({})));
    assert!(!shown.contains("s3cr"), "{shown}");
}

#[tokio::test]
async fn answers_are_cached_until_ttl_or_exp_and_refusals_briefly() {
    let (ep, url) = endpoint(answers()).await;
    let t = Arc::new(AtomicU64::new(NOW));
    let c = config(
        &url,
        json!({ "cache": { "ttl": "60s", "inactive_ttl": "10s" } }),
    );
    let i = Introspector::new(&c, &roles(), clock_at(&t), None).unwrap();

    assert!(i.introspect("good").await.result.is_ok());
    let again = i.introspect("good").await;
    assert!(again.result.is_ok() && again.cache_hit && again.call.is_none());
    assert_eq!(ep.calls("good"), 1);

    // `short` expires at NOW + 5, before the ttl: asked again then, and refused.
    assert!(i.introspect("short").await.result.is_ok());
    t.store(NOW + 4, Ordering::SeqCst);
    assert!(i.introspect("short").await.cache_hit);
    t.store(NOW + 5, Ordering::SeqCst);
    let expired = i.introspect("short").await;
    assert_eq!(expired.result.unwrap_err(), Failure::Expired);
    assert_eq!(ep.calls("short"), 2);

    // Unknown tokens are inactive, remembered for inactive_ttl.
    let unknown = i.introspect("nobody").await;
    assert_eq!(unknown.result.unwrap_err(), Failure::Inactive);
    assert_eq!(unknown.call, Some(CallResult::Inactive));
    let cached = i.introspect("nobody").await;
    assert!(cached.cache_hit);
    assert_eq!(cached.result.unwrap_err(), Failure::Inactive);
    t.store(NOW + 15, Ordering::SeqCst);
    assert!(!i.introspect("nobody").await.cache_hit);
    assert_eq!(ep.calls("nobody"), 2);

    // Past the ttl, an active answer is asked for again.
    t.store(NOW + 60, Ordering::SeqCst);
    assert!(!i.introspect("good").await.cache_hit);
    assert_eq!(ep.calls("good"), 2);

    // Malformed tokens never reach the endpoint.
    for bad in ["a b", "tök", &"a".repeat(9000)] {
        let j = i.introspect(bad).await;
        assert!(matches!(j.result, Err(Failure::Malformed(_))) && j.call.is_none());
    }
    assert_eq!(
        ep.seen.lock().unwrap().len(),
        6,
        "good 2, short 2, nobody 2"
    );
}

#[tokio::test]
async fn a_failing_endpoint_is_denied_with_its_reason() {
    let (ep, url) = endpoint(answers()).await;
    let t = Arc::new(AtomicU64::new(NOW));
    let c = config(&url, json!({ "cache": { "capacity": 0 } }));
    let i = Introspector::new(&c, &roles(), clock_at(&t), None).unwrap();
    let cases = [
        (
            Mode::Error500,
            "auth.introspection-unavailable",
            "status 500",
        ),
        (Mode::Garbage, "auth.introspection-invalid", "not JSON"),
        (Mode::Huge, "auth.introspection-invalid", "over 65536 bytes"),
        (
            Mode::Slow,
            "auth.introspection-unavailable",
            "no answer within 300ms",
        ),
    ];
    for (mode, rule, why) in cases {
        ep.set(mode);
        let j = i.introspect("good").await;
        assert_eq!(j.call, Some(CallResult::Error));
        let f = j.result.unwrap_err();
        assert_eq!((f.rule(), f.status()), (rule, 503), "{f}");
        assert!(f.to_string().contains(why), "{f}");
        assert!(!f.to_string().contains("good"), "{f}");
    }
    // Nobody listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c = config(
        &format!("http://{closed}/introspect"),
        json!({ "failure_status": 401 }),
    );
    let i = Introspector::new(&c, &roles(), clock_at(&t), None).unwrap();
    let f = i.introspect("good").await.result.unwrap_err();
    assert_eq!(
        (f.rule(), f.status()),
        ("auth.introspection-unavailable", 401)
    );
    assert!(f.to_string().contains("onnect"), "{f}");
    // Wrong client credentials at the server are an endpoint error that says so.
    let app_401 = axum::Router::new().route(
        "/introspect",
        axum::routing::post(|| async { axum::http::StatusCode::UNAUTHORIZED }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app_401).await });
    let i = Introspector::new(
        &config(&format!("http://{addr}/introspect"), json!({})),
        &roles(),
        clock_at(&t),
        None,
    )
    .unwrap();
    let f = i.introspect("good").await.result.unwrap_err();
    assert!(f.to_string().contains("client_id and client_secret"), "{f}");
}

#[tokio::test]
async fn allow_cached_uses_an_earlier_active_answer_never_past_exp() {
    for on_failure in ["deny", "allow_cached"] {
        let (ep, url) = endpoint(answers()).await;
        let t = Arc::new(AtomicU64::new(NOW));
        let c = config(
            &url,
            json!({ "on_failure": on_failure, "cache": { "ttl": "1s", "max_stale": "60s" } }),
        );
        let i = Introspector::new(&c, &roles(), clock_at(&t), None).unwrap();
        assert!(i.introspect("good").await.result.is_ok());
        assert!(i.introspect("short").await.result.is_ok());
        ep.set(Mode::Error500);
        t.store(NOW + 2, Ordering::SeqCst);
        let good = i.introspect("good").await;
        assert_eq!(good.call, Some(CallResult::Error));
        if on_failure == "deny" {
            assert!(matches!(good.result, Err(Failure::Unavailable { .. })));
            assert!(!good.stale);
            continue;
        }
        assert!(good.stale);
        assert_eq!(good.result.unwrap().subject.as_deref(), Some("alice"));
        // Not past max_stale...
        t.store(NOW + 61, Ordering::SeqCst);
        assert!(i.introspect("good").await.result.is_err());
        // ...and never past exp: `short` ends at NOW + 5.
        t.store(NOW + 4, Ordering::SeqCst);
        assert!(i.introspect("short").await.stale);
        t.store(NOW + 5, Ordering::SeqCst);
        let late = i.introspect("short").await;
        assert!(!late.stale && late.result.is_err());
        // A token never seen is denied.
        assert!(i.introspect("unseen").await.result.is_err());
    }
}
