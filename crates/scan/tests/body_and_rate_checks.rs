//! BOLA on body ids (BOLA-003) and the rate limits beyond the login (RATE-002) through a whole
//! scan against a small wallet API on 127.0.0.1: a payment that debits any wallet is reported
//! (`safe: false`), one that checks the payer's wallet is not, and neither is its recipient
//! (`to` may be anyone's); a search without a limit is reported, one that announces its limit
//! in `X-RateLimit-*` headers is not; safe mode sends no burst of signups and no payment as the
//! second user.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

mod support;

const SPEC: &str = r#"
openapi: 3.1.0
info: {title: wallets, version: '1'}
components:
  securitySchemes: {bearer: {type: http, scheme: bearer}}
  schemas:
    Payment:
      type: object
      required: [from, to, amount]
      properties:
        from: {type: string, example: a-1}
        to: {type: string, example: a-1}
        amount: {type: integer, example: 1}
    NewUser:
      type: object
      required: [username]
      properties: {username: {type: string}}
security: [{bearer: []}]
paths:
  /wallets:
    get: {operationId: listWallets, responses: {'200': {description: ok}}}
  /wallets/search:
    get:
      operationId: searchWallets
      parameters: [{name: q, in: query, required: true, schema: {type: string}, example: a}]
      responses: {'200': {description: ok}}
  /wallets/{walletId}:
    get:
      operationId: getWallet
      parameters: [{name: walletId, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
  /payments:
    post:
      operationId: createPayment
      tags: [wallets]
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Payment'}}}}
      responses: {'201': {description: ok}}
  /users:
    post:
      operationId: signup
      security: []
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/NewUser'}}}}
      responses: {'201': {description: ok}}
"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Mode {
    /// The payment checks that `from` is the caller's.
    checked: bool,
    /// Every search answer announces a limit in `X-RateLimit-*` headers.
    announced: bool,
}

#[derive(Clone)]
struct Bank {
    mode: Mode,
    balances: Arc<Mutex<HashMap<String, i64>>>,
    /// (caller, operation) of every request.
    seen: Arc<Mutex<Vec<(String, &'static str)>>>,
}

fn caller(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("anon")
        .to_owned()
}

impl Bank {
    fn saw(&self, headers: &HeaderMap, op: &'static str) -> String {
        let who = caller(headers);
        self.seen.lock().unwrap().push((who.clone(), op));
        who
    }

    fn wallet(&self, id: &str) -> Value {
        json!({"id": id, "balance": self.balances.lock().unwrap().get(id).copied()})
    }
}

async fn list(State(b): State<Bank>, h: HeaderMap) -> Response {
    let who = b.saw(&h, "list");
    if who == "anon" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!([b.wallet(&format!("{}-1", &who[..1]))])).into_response()
}

async fn one(State(b): State<Bank>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let who = b.saw(&h, "get");
    if who == "anon" || !id.starts_with(&who[..1]) {
        return StatusCode::FORBIDDEN.into_response();
    }
    Json(b.wallet(&id)).into_response()
}

async fn search(State(b): State<Bank>, h: HeaderMap) -> Response {
    let who = b.saw(&h, "search");
    let mut answer = Json(json!([b.wallet(&format!("{}-1", &who[..1]))])).into_response();
    if b.mode.announced {
        let headers = answer.headers_mut();
        headers.insert("x-ratelimit-limit", "1000".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "990".parse().unwrap());
    }
    answer
}

async fn pay(State(b): State<Bank>, h: HeaderMap, Json(p): Json<Value>) -> Response {
    let who = b.saw(&h, "pay");
    let (Some(from), Some(to)) = (p["from"].as_str(), p["to"].as_str()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut balances = b.balances.lock().unwrap();
    if !balances.contains_key(from) || !balances.contains_key(to) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if b.mode.checked && !from.starts_with(&who[..1]) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let amount = p["amount"].as_i64().unwrap_or(0);
    *balances.get_mut(from).unwrap() -= amount;
    *balances.get_mut(to).unwrap() += amount;
    (StatusCode::CREATED, Json(p)).into_response()
}

async fn signup(State(b): State<Bank>, h: HeaderMap, Json(u): Json<Value>) -> Response {
    // A plain fresh name (`pcscan-abcd-7`) is a signup of its own; the injection checks send
    // the explored name with their payloads appended.
    let plain = u["username"].as_str().is_some_and(|n| {
        let mut parts = n.split('-');
        parts.next() == Some("pcscan")
            && parts.next().is_some_and(|t| t.len() == 4)
            && parts
                .next()
                .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
            && parts.next().is_none()
    });
    b.saw(&h, if plain { "signup" } else { "signup-probe" });
    (StatusCode::CREATED, Json(u)).into_response()
}

async fn scan(mode: Mode, safe: bool) -> (Vec<String>, Vec<(String, &'static str)>) {
    let bank = Bank {
        mode,
        balances: Arc::new(Mutex::new(
            [("a-1".to_owned(), 100), ("b-1".to_owned(), 100)].into(),
        )),
        seen: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/wallets", get(list))
        .route("/wallets/search", get(search))
        .route("/wallets/{id}", get(one))
        .route("/payments", post(pay))
        .route("/users", post(signup))
        .with_state(bank.clone());
    let url = support::serve(app).await;
    let found = support::scan_rules(&url, "wallets.yaml", SPEC, safe, |rule| {
        rule == "PC-SCAN-BOLA-003" || rule == "PC-SCAN-RATE-002"
    })
    .await;
    let seen = bank.seen.lock().unwrap().clone();
    (found, seen)
}

fn count(seen: &[(String, &'static str)], who: &str, op: &str) -> usize {
    seen.iter().filter(|(w, o)| w == who && *o == op).count()
}

#[tokio::test]
async fn a_payment_from_any_wallet_and_unlimited_bursts_are_reported() {
    let mode = Mode {
        checked: false,
        announced: false,
    };
    let (mut found, seen) = scan(mode, false).await;
    found.sort();
    assert_eq!(
        found,
        [
            "PC-SCAN-BOLA-003 createPayment",
            "PC-SCAN-RATE-002 searchWallets",
            "PC-SCAN-RATE-002 signup"
        ]
    );
    let signups = seen.iter().filter(|(_, o)| *o == "signup").count();
    assert!(signups >= 20, "{signups} plain signups");
}

#[tokio::test]
async fn a_checked_payer_and_an_announced_limit_give_nothing() {
    let mode = Mode {
        checked: true,
        announced: true,
    };
    let (found, seen) = scan(mode, false).await;
    // Only the signups' missing limit is real here.
    assert_eq!(found, ["PC-SCAN-RATE-002 signup"]);
    // Bob did try alice's wallet as the payer (and was refused): the silence is a verdict.
    assert!(count(&seen, "bob", "pay") >= 1, "{seen:?}");
}

#[tokio::test]
async fn safe_mode_sends_no_signup_burst_and_no_payment_as_bob() {
    let mode = Mode {
        checked: false,
        announced: false,
    };
    let (found, seen) = scan(mode, true).await;
    assert_eq!(found, ["PC-SCAN-RATE-002 searchWallets"]);
    assert_eq!(count(&seen, "bob", "pay"), 0, "{seen:?}");
    let signups = seen.iter().filter(|(_, o)| *o == "signup").count();
    assert!(
        signups < 5,
        "{signups} plain signups in safe mode: {seen:?}"
    );
}
