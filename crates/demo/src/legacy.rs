//! What the weak bank kept from older versions, and the statements:
//!
//! * FLAW (API9): `GET /v1/accounts/{accountId}`, deprecated, still answers, without any
//!   authentication (the fixed twin requires the owner's token).
//! * FLAW (API5, method tampering): `PUT /accounts/{accountId}`, the first version's
//!   "replace account", was never removed; the spec documents GET and PATCH only, and the
//!   handler still renames the caller's account.
//! * FLAW (API5, method override): the bank's edge refuses PUT and DELETE on `/users/me` (the
//!   profile is PATCH-only), but behind it the app honours `X-HTTP-Method-Override` (and
//!   `X-Method-Override`, `X-HTTP-Method`, `?_method=`) on POST, the way an Express app with
//!   `method-override` mounted after its method filter does: a POST carrying `PUT` reaches
//!   the old `PUT /users/me`, which replaces the e-mail address.
//! * `POST /statements` `{"accountId": n}`: the statement of one account. FLAW (API1, BOLA
//!   on a body id) in the weak bank: the owner of the account is not checked.
//!
//! The fixed twin has neither old handler nor the override, checks the statement's owner, and
//! limits searches (per caller) and signups ([`limit`]): nine per minute, then 429 with
//! `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::bank::{Account, Bank, error};

/// The override headers the weak bank honours.
const OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// FLAW (API9): the deprecated v1 lookup was never switched off, and never had auth.
pub(crate) async fn legacy_get_account(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Path(account_id): Path<i64>,
) -> Response {
    let me = bank.caller_sub(&headers);
    if bank.is_fixed() && me.is_none() {
        return error(StatusCode::UNAUTHORIZED, "no token");
    }
    let data = bank.data();
    let account = data.accounts.iter().find(|a| a.id == account_id);
    let theirs = |a: &&Account| me.as_ref().is_some_and(|m| *m == a.owner);
    match account {
        Some(a) if bank.is_fixed() && !theirs(&a) => {
            error(StatusCode::FORBIDDEN, "not your account")
        }
        Some(a) => Json(a.to_json()).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such account"),
    }
}

/// `PUT /accounts/{accountId}` (weak bank only): the old "replace account", owner checked.
pub(crate) async fn replace_account(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let Some(me) = bank.caller_sub(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty() && n.len() <= 64)
    else {
        return error(StatusCode::BAD_REQUEST, "name must be 1 to 64 characters");
    };
    let mut data = bank.data();
    match data.accounts.iter_mut().find(|a| a.id == id) {
        Some(a) if a.owner == me => {
            a.name = name.to_owned();
            Json(a.to_json()).into_response()
        }
        Some(_) => error(StatusCode::FORBIDDEN, "not your account"),
        None => error(StatusCode::NOT_FOUND, "no such account"),
    }
}

/// `PUT /users/me` (weak bank only, behind the edge): replaces the caller's e-mail address.
pub(crate) async fn replace_me(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(me) = bank.caller_sub(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let Some(email) = body
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| e.contains('@') && e.len() <= 254)
    else {
        return error(StatusCode::BAD_REQUEST, "email is required");
    };
    match bank.set_email(&me, email) {
        Some(user) => Json(user).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such user"),
    }
}

/// The weak bank's edge: PUT and DELETE on the profile are refused.
pub(crate) async fn edge_guard(request: Request, next: Next) -> Response {
    let profile = request.uri().path() == "/users/me";
    if profile && matches!(*request.method(), Method::PUT | Method::DELETE) {
        let mut refused = error(StatusCode::METHOD_NOT_ALLOWED, "the profile is PATCH-only");
        refused
            .headers_mut()
            .insert("allow", HeaderValue::from_static("GET, PATCH"));
        return refused;
    }
    next.run(request).await
}

/// FLAW: a POST takes the method an override header or `?_method=` names.
pub(crate) async fn method_override(mut request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let from_header = OVERRIDE_HEADERS
            .iter()
            .find_map(|h| request.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let from_query = request.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("_method="))
                .map(str::to_owned)
        });
        if let Some(method) = from_header
            .or(from_query)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
        {
            *request.method_mut() = method;
        }
    }
    next.run(request).await
}

/// `POST /statements` `{"accountId": n}`: FLAW in the weak bank, no owner check.
pub(crate) async fn statement(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(me) = bank.caller_sub(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let Some(id) = body.get("accountId").and_then(Value::as_i64) else {
        return error(StatusCode::BAD_REQUEST, "accountId is required");
    };
    let data = bank.data();
    match data.accounts.iter().find(|a| a.id == id) {
        Some(a) if bank.is_fixed() && a.owner != me => {
            error(StatusCode::FORBIDDEN, "not your account")
        }
        Some(a) => {
            let account = a.to_json();
            Json(json!({
                "accountId": a.id,
                "name": account.get("name"),
                "balance": account.get("balance"),
            }))
            .into_response()
        }
        None => error(StatusCode::NOT_FOUND, "no such account"),
    }
}

/// Requests allowed per key and window by the fixed twin's limits.
const PER_WINDOW: u32 = 9;
/// The window.
const WINDOW: Duration = Duration::from_secs(60);

/// The fixed twin's request counters: (group, caller) -> (count, window start).
#[derive(Clone, Default)]
pub(crate) struct Limits(Arc<Mutex<HashMap<String, (u32, Instant)>>>);

/// The fixed twin's limits on searches (per caller) and signups (for everyone).
pub(crate) async fn limit(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let group = match (request.method().as_str(), request.uri().path()) {
        ("GET", "/accounts/search" | "/accounts/find") => "search",
        ("POST", "/users") => "signup",
        _ => return next.run(request).await,
    };
    let caller = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .filter(|_| group == "search")
        .unwrap_or("anyone");
    let key = format!("{group} {caller}");
    let allowed = {
        let mut counters = limits
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if counters.len() > 10_000 {
            counters.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = counters.entry(key).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
        entry.0 <= PER_WINDOW
    };
    if allowed {
        return next.run(request).await;
    }
    let mut refused = error(StatusCode::TOO_MANY_REQUESTS, "too many requests");
    refused
        .headers_mut()
        .insert("retry-after", HeaderValue::from_static("60"));
    refused
}
