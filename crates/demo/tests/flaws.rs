//! Every planted flaw of the demo bank works when the bank is called directly, over real
//! HTTP on 127.0.0.1. (Through the gateway the same requests must be stopped: that is the
//! demo's end-to-end test in the cli crate.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

struct Http {
    base: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Http {
    fn new(addr: std::net::SocketAddr) -> Http {
        Http {
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = self.client.request(req.body(body).unwrap()).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn login(&self, user: &str, pw: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"username": user, "password": pw})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

fn forged_token(sub: &str) -> String {
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        enc(json!({"alg": "none", "typ": "JWT"})),
        enc(json!({"sub": sub}))
    )
}

#[tokio::test]
async fn every_planted_flaw_works_directly() {
    let demo = portcullis_demo::start(None, None).await.unwrap();
    let http = Http::new(demo.bank);
    let alice = http.login("alice", "alice-demo-pw").await;

    // Login tells unknown users from wrong passwords.
    let (s, b) = http
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"username": "mallory", "password": "x"})),
        )
        .await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (401, Some("unknown user mallory"))
    );
    let (s, b) = http
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"username": "bob", "password": "guess"})),
        )
        .await;
    assert_eq!((s, b["detail"].as_str()), (401, Some("wrong password")));
    // ...and never limits attempts.
    for _ in 0..30 {
        let (s, _) = http
            .call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"username": "bob", "password": "guess"})),
            )
            .await;
        assert_eq!(s, 401);
    }

    // BOLA: alice reads bob's accounts.
    let (s, b) = http
        .call("GET", "/users/bob/accounts", Some(&alice), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b.as_array().unwrap().len(), 2);
    assert!(b.as_array().unwrap().iter().all(|a| a["owner"] == "bob"));

    // Forged, unsigned token accepted.
    let (s, b) = http
        .call("GET", "/users/me", Some(&forged_token("root")), None)
        .await;
    assert_eq!((s, b["role"].as_str()), (200, Some("admin")));

    // Excessive data exposure.
    let (s, b) = http.call("GET", "/users/me", Some(&alice), None).await;
    assert_eq!(s, 200);
    assert!(b["passwordHash"].as_str().unwrap().starts_with("$2b$"));
    assert!(b.get("ssn").is_some());

    // Mass assignment on signup and on profile update.
    let (s, b) = http.call("POST", "/users", None, Some(json!({"username": "eve", "password": "eve-demo-pw", "email": "eve@x.example", "isAdmin": true}))).await;
    assert_eq!((s, b["role"].as_str()), (201, Some("admin")));
    let (s, b) = http
        .call(
            "PATCH",
            "/users/me",
            Some(&alice),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!((s, b["role"].as_str()), (200, Some("admin")));

    // Broken function-level authorization.
    let bob = http.login("bob", "bob-demo-pw").await;
    let (s, b) = http.call("GET", "/admin/users", Some(&bob), None).await;
    assert_eq!(s, 200);
    assert!(b.as_array().unwrap().len() >= 3);

    // SQL injection returns every account; a broken query leaks the SQL.
    let (s, b) = http
        .call(
            "GET",
            "/accounts/search?q=%27%20OR%201%3D1%20--",
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b.as_array().unwrap().len(), 6);
    let (s, b) = http
        .call("GET", "/accounts/search?q=%27", Some(&bob), None)
        .await;
    assert_eq!(s, 500);
    assert!(b["detail"].as_str().unwrap().contains("owner = 'bob'"));

    // Transfers from someone else's account, and negative amounts.
    let (s, _) = http
        .call(
            "POST",
            "/transfers",
            Some(&bob),
            Some(json!({"from": 1, "to": 3, "amount": 500})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = http
        .call(
            "POST",
            "/transfers",
            Some(&bob),
            Some(json!({"from": 3, "to": 1, "amount": -100})),
        )
        .await;
    assert_eq!(s, 201);

    // Zombie v1 route without auth, and the undocumented debug route.
    let (s, b) = http.call("GET", "/v1/accounts/1", None, None).await;
    assert_eq!((s, b["owner"].as_str()), (200, Some("alice")));
    let (s, b) = http.call("GET", "/debug/config", None, None).await;
    assert_eq!(s, 200);
    assert!(b["database_url"].as_str().unwrap().contains("password"));

    // The IdP publishes its keys and discovery document.
    let idp = Http::new(demo.idp);
    let (s, b) = idp.call("GET", "/.well-known/jwks.json", None, None).await;
    assert_eq!(
        (s, b["keys"][0]["kid"].as_str()),
        (200, Some(demo.issuer.kid()))
    );
    let (s, b) = idp
        .call("GET", "/.well-known/openid-configuration", None, None)
        .await;
    assert_eq!(
        (s, b["jwks_uri"].as_str().map(str::to_owned)),
        (200, Some(demo.jwks_url()))
    );

    demo.shutdown().await;
}
