//! The admin API (DESIGN.md): `/healthz` open, everything else behind
//! `Authorization: Bearer <admin token>` (compared in constant time).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::shared::Shared;

/// Serves the admin API until `stop` changes.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let app = router(shared);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "admin listener failed");
    }
}

/// The admin routes.
pub fn router(shared: Arc<Shared>) -> Router {
    let protected = Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/config", get(config))
        .route("/api/decisions", get(decisions))
        .route("/api/reload", post(reload))
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            require_token,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(protected)
        .with_state(shared)
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

async fn require_token(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let expected = shared
        .gateway
        .load()
        .config
        .admin
        .as_ref()
        .map(|a| a.token.clone())
        .unwrap_or_default();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let ok = !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()));
    if !ok {
        let mut r = problem(StatusCode::UNAUTHORIZED, "a valid admin token is required");
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer realm=\"portcullis-admin\""),
        );
        return r;
    }
    next.run(request).await
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let gw = shared.gateway.load();
    let apis: Vec<_> = gw.apis.iter().map(|a| a.name.clone()).collect();
    axum::Json(json!({ "ready": true, "apis": apis })).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .metrics
        .log_dropped
        .set(i64::try_from(shared.observers.dropped()).unwrap_or(i64::MAX));
    let limiter = shared.gateway.load().limiter.clone();
    shared
        .metrics
        .ratelimit_storage_failures
        .set(i64::try_from(limiter.storage_failures()).unwrap_or(i64::MAX));
    shared
        .metrics
        .ratelimit_storage_dropped
        .set(i64::try_from(limiter.storage_dropped()).unwrap_or(i64::MAX));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
        .into_response()
}

async fn config(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.gateway.load().summary()).into_response()
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn decisions(State(shared): State<Arc<Shared>>, Query(q): Query<Limit>) -> Response {
    let limit = q.limit.unwrap_or(100).min(crate::decision::RECENT);
    axum::Json(shared.history.recent(limit)).into_response()
}

async fn reload(State(shared): State<Arc<Shared>>) -> Response {
    match crate::shared::reload(&shared).await {
        Ok(()) => axum::Json(json!({ "reloaded": true })).into_response(),
        Err(e) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("reload rejected: {e}"),
        ),
    }
}

/// A fresh random admin token (256 bits, hex).
pub fn generate_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
