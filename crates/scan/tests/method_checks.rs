//! The method-tampering checks against small servers on 127.0.0.1, through the whole scan
//! (`portcullis_scan::run`): a server that executes an undocumented PUT, one that honours a
//! method override its edge refuses as a plain PUT, and the ones that must give nothing: 405
//! for every undocumented method, and a catch-all that answers 200 to anything but changes
//! nothing. With `safe: true` no PUT, PATCH or override ever reaches the server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

mod support;

const SPEC: &str = r#"
openapi: 3.1.0
info: {title: items, version: '1'}
components: {securitySchemes: {bearer: {type: http, scheme: bearer}}}
security: [{bearer: []}]
paths:
  /items:
    get: {operationId: listItems, responses: {'200': {description: ok}}}
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// 405 for every method but GET (and HEAD).
    Refuses,
    /// 200 with the item, unchanged, for PUT, PATCH and POST.
    CatchAll,
    /// An undocumented PUT that renames.
    Executes,
    /// Plain PUT refused by the edge; a POST with `X-HTTP-Method-Override: PUT` reaches it.
    Override,
}

#[derive(Clone, Default)]
struct Shop {
    names: Arc<Mutex<HashMap<String, String>>>,
    /// Every method the server received, with the override header's value if any.
    seen: Arc<Mutex<Vec<String>>>,
}

fn owner(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    auth.strip_prefix("Bearer ").map(str::to_owned)
}

fn item(shop: &Shop, id: &str) -> Value {
    let name = shop
        .names
        .lock()
        .unwrap()
        .get(id)
        .cloned()
        .unwrap_or_default();
    json!({"id": id, "name": name})
}

async fn list(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    let Some(who) = owner(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let id = format!("{}-1", &who[..1]);
    Json(json!([item(&shop, &id)])).into_response()
}

async fn read(State(shop): State<Shop>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match owner(&headers) {
        None => (StatusCode::UNAUTHORIZED, "no token").into_response(),
        Some(who) if !id.starts_with(&who[..1]) => StatusCode::FORBIDDEN.into_response(),
        Some(_) => Json(item(&shop, &id)).into_response(),
    }
}

async fn rename(
    State(shop): State<Shop>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if owner(&headers).is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        shop.names
            .lock()
            .unwrap()
            .insert(id.clone(), name.to_owned());
    }
    Json(item(&shop, &id)).into_response()
}

async fn unchanged(State(shop): State<Shop>, Path(id): Path<String>) -> Response {
    Json(item(&shop, &id)).into_response()
}

async fn record(State(shop): State<Shop>, request: Request, next: Next) -> Response {
    let over = request
        .headers()
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("+{v}"))
        .unwrap_or_default();
    shop.seen
        .lock()
        .unwrap()
        .push(format!("{}{over}", request.method()));
    next.run(request).await
}

async fn edge(request: Request, next: Next) -> Response {
    if request.method() == Method::PUT {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    next.run(request).await
}

async fn method_override(mut request: Request, next: Next) -> Response {
    let over = request
        .headers()
        .get("x-http-method-override")
        .and_then(|v| Method::from_bytes(v.as_bytes()).ok());
    if request.method() == Method::POST
        && let Some(m) = over
    {
        *request.method_mut() = m;
    }
    next.run(request).await
}

async fn serve(mode: Mode) -> (String, Shop) {
    let shop = Shop::default();
    for (id, name) in [("a-1", "Alpha"), ("b-1", "Beta")] {
        shop.names.lock().unwrap().insert(id.into(), name.into());
    }
    let one = match mode {
        Mode::Refuses => get(read),
        Mode::CatchAll => get(read).put(unchanged).patch(unchanged).post(unchanged),
        Mode::Executes | Mode::Override => get(read).put(rename),
    };
    let routes = axum::Router::new()
        .route("/items", get(list))
        .route("/items/{id}", one)
        .with_state(shop.clone());
    let app = match mode {
        Mode::Override => axum::Router::new()
            .fallback_service(routes)
            .layer(axum::middleware::from_fn(method_override))
            .layer(axum::middleware::from_fn(edge)),
        _ => routes,
    }
    .layer(axum::middleware::from_fn_with_state(shop.clone(), record));
    (support::serve(app).await, shop)
}

/// The METHOD rules a scan of a `mode` server reports, and what the server saw.
async fn method_findings(mode: Mode, safe: bool) -> (Vec<String>, Shop) {
    let (url, shop) = serve(mode).await;
    let rules = support::scan_rules(&url, "items.yaml", SPEC, safe, |rule| {
        rule.starts_with("PC-SCAN-METHOD")
    })
    .await;
    (rules, shop)
}

#[tokio::test]
async fn an_undocumented_put_that_runs_is_reported_and_put_back() {
    let (found, shop) = method_findings(Mode::Executes, false).await;
    assert_eq!(found, ["PC-SCAN-METHOD-001 getItem"]);
    assert_eq!(
        shop.names.lock().unwrap()["a-1"],
        "Alpha",
        "the old name is back"
    );
}

#[tokio::test]
async fn an_override_past_a_refused_put_is_reported() {
    let (found, shop) = method_findings(Mode::Override, false).await;
    assert_eq!(found, ["PC-SCAN-METHOD-003 getItem"]);
    assert_eq!(shop.names.lock().unwrap()["a-1"], "Alpha");
}

#[tokio::test]
async fn refusals_and_catch_alls_give_nothing() {
    for mode in [Mode::Refuses, Mode::CatchAll] {
        let (found, shop) = method_findings(mode, false).await;
        assert!(found.is_empty(), "{mode:?}: {found:?}");
        // The writes were tried (so the silence is a verdict, not a skip).
        assert!(
            shop.seen.lock().unwrap().iter().any(|m| m == "PUT"),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn safe_mode_sends_no_write_and_no_override() {
    for mode in [Mode::Executes, Mode::Override] {
        let (found, shop) = method_findings(mode, true).await;
        assert!(found.is_empty(), "{mode:?}: {found:?}");
        let seen = shop.seen.lock().unwrap().clone();
        assert!(
            seen.iter().all(|m| matches!(m.as_str(), "GET" | "HEAD")),
            "{mode:?}: {seen:?}"
        );
        assert!(
            seen.iter().any(|m| m == "HEAD"),
            "HEAD is tried in safe mode"
        );
    }
}
