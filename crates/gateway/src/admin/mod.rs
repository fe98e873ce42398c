//! The admin API (DESIGN.md), on its own listener: one file per job.
//!
//! * [`guard`]: the bearer token (constant time) on everything but `/healthz` and the
//!   dashboard's static files, the extra header state-changing calls need, and the headers
//!   every answer carries (no CORS, ever: a page of another origin cannot read an answer).
//! * [`ops`]: health, readiness, metrics, effective config, reload.
//! * [`decisions`]: the recent decisions, filtered and paged.
//! * [`limits`]: what the rate limiter knows of one client.
//! * [`events`]: the live stream (server-sent events) and its short-lived tickets.
//! * [`bans`]: the ban list (list, ban for a while, lift).
//! * [`operations`]: one operation as loaded from the spec (the declared side).
//! * [`openapi`]: this API's own OpenAPI 3.1 document.
//! * [`dashboard`]: the dashboard's files, embedded in the binary.
//!
//! Routes the caller adds (`Shared::admin_extra`: the inventory, the alerts, the audit) are
//! merged in behind the same token and header checks.

pub mod bans;
pub mod dashboard;
pub mod decisions;
pub mod events;
pub mod guard;
pub mod limits;
pub mod openapi;
pub mod operations;
pub mod ops;
pub mod tickets;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::shared::Shared;

/// What the admin routes share: the gateway's state and the tickets that let a browser's
/// `EventSource` (which cannot send headers) open the live stream.
pub struct AdminState {
    /// The gateway's shared state (its live stream is `shared.events`).
    pub shared: Arc<Shared>,
    /// One-use tickets for `/api/events`.
    pub tickets: tickets::Tickets,
    /// Changes when the gateway shuts down: open event streams end.
    pub stop: watch::Receiver<bool>,
    /// Open event streams, bounded by [`events::MAX_STREAMS`].
    pub streams: std::sync::atomic::AtomicUsize,
}

/// Serves the admin API until `stop` changes.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: watch::Receiver<bool>) {
    let app = router(shared, stop.clone());
    let mut stop = stop;
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
pub fn router(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Router {
    let extra = shared.admin_extra.clone();
    let state = Arc::new(AdminState {
        shared,
        tickets: tickets::Tickets::default(),
        stop,
        streams: std::sync::atomic::AtomicUsize::new(0),
    });
    let mut protected: Router = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/config", get(ops::config))
        .route("/api/reload", post(ops::reload))
        .route("/api/decisions", get(decisions::list))
        .route("/api/limits/{client}", get(limits::of_client))
        .route(
            "/api/operations/{api}/{operation}",
            get(operations::declared),
        )
        .route("/api/events/ticket", post(events::ticket))
        .route("/api/bans", get(bans::list).post(bans::add))
        .route("/api/bans/{client}", delete(bans::remove))
        .with_state(state.clone());
    if let Some(extra) = extra {
        protected = protected.merge(extra);
    }
    let protected = protected
        .route_layer(middleware::from_fn(guard::state_changing))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::require_token,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/api/events", get(events::stream))
        .merge(dashboard::routes())
        .with_state(state)
        .merge(protected)
        .layer(middleware::from_fn(guard::answer_headers))
}

/// An `application/problem+json` answer of the admin API.
pub fn problem(status: StatusCode, detail: &str) -> Response {
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

/// A fresh random admin token (256 bits, hex).
pub fn generate_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
pub(crate) mod testing;
