//! One account of the caller: read it (both banks check the owner), rename it, and move money
//! from it (`POST /transfers`, FLAWS below: any account, negative amounts). FLAW
//! (API1, BOLA on writes) in the weak bank: the rename does not check the owner, so any user
//! renames anyone's account. The module also holds the banks' header layers: the weak bank
//! reflects any `Origin` with credentials (FLAW, API8 CORS); the fixed twin sends
//! `X-Content-Type-Options: nosniff` and `Cache-Control: no-store` on every answer.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bank::{Bank, error};

/// `GET /accounts/{accountId}`: the caller's own account only (both banks).
pub(crate) async fn get_account(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let Some(me) = bank.caller_sub(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let data = bank.data();
    match data.accounts.iter().find(|a| a.id == id) {
        Some(a) if a.owner == me => Json(a.to_json()).into_response(),
        Some(_) => error(StatusCode::FORBIDDEN, "not your account"),
        None => error(StatusCode::NOT_FOUND, "no such account"),
    }
}

/// `PATCH /accounts/{accountId}` `{"name": ...}`: FLAW in the weak bank, no owner check.
pub(crate) async fn rename_account(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let Some(me) = bank.caller_sub(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "name is required");
    };
    if name.is_empty() || name.len() > 64 {
        return error(StatusCode::BAD_REQUEST, "name must be 1 to 64 characters");
    }
    let fixed = bank.is_fixed();
    let mut data = bank.data();
    match data.accounts.iter_mut().find(|a| a.id == id) {
        Some(a) if fixed && a.owner != me => error(StatusCode::FORBIDDEN, "not your account"),
        Some(a) => {
            a.name = name.to_owned();
            Json(a.to_json()).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "no such account"),
    }
}

#[derive(Deserialize)]
pub(crate) struct Transfer {
    from: Option<i64>,
    to: Option<i64>,
    amount: Option<f64>,
}

/// FLAW (API1, API6): any account can be debited, and a negative amount moves money the
/// other way.
pub(crate) async fn create_transfer(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Json(t): Json<Transfer>,
) -> Response {
    let Some(me) = bank.caller_sub(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let (Some(from), Some(to), Some(amount)) = (t.from, t.to, t.amount) else {
        return error(StatusCode::BAD_REQUEST, "from, to and amount are required");
    };
    if bank.is_fixed() && (amount.is_nan() || amount <= 0.0) {
        return error(StatusCode::BAD_REQUEST, "amount must be positive");
    }
    let mut data = bank.data();
    if bank.is_fixed() && !data.accounts.iter().any(|a| a.id == from && a.owner == me) {
        return error(StatusCode::FORBIDDEN, "not your account");
    }
    if !data.accounts.iter().any(|a| a.id == to) {
        return error(StatusCode::NOT_FOUND, "no such account");
    }
    match data.accounts.iter_mut().find(|a| a.id == from) {
        Some(a) => a.balance -= amount,
        None => return error(StatusCode::NOT_FOUND, "no such account"),
    }
    if let Some(a) = data.accounts.iter_mut().find(|a| a.id == to) {
        a.balance += amount;
    }
    (
        StatusCode::CREATED,
        Json(json!({"from": from, "to": to, "amount": amount})),
    )
        .into_response()
}

/// FLAW (API8): the weak bank lets any web site read its answers with the visitor's
/// credentials, by echoing `Origin`.
pub(crate) async fn reflect_cors(request: Request, next: Next) -> Response {
    let origin = request.headers().get("origin").cloned();
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert("access-control-allow-origin", origin);
        h.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The fixed twin's answers: not sniffed, not cached.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}
