//! Health, readiness, metrics, the effective configuration and reload.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AdminState, problem};

/// `GET /readyz`: the APIs being served.
pub async fn readyz(State(state): State<Arc<AdminState>>) -> Response {
    let gw = state.shared.gateway.load();
    let apis: Vec<_> = gw.apis.iter().map(|a| a.name.clone()).collect();
    axum::Json(json!({ "ready": true, "apis": apis })).into_response()
}

/// `GET /metrics`: Prometheus (OpenMetrics text).
pub async fn metrics(State(state): State<Arc<AdminState>>) -> Response {
    let shared = &state.shared;
    shared
        .metrics
        .log_dropped
        .set(i64::try_from(shared.observers.dropped()).unwrap_or(i64::MAX));
    shared
        .metrics
        .bans_active
        .set(i64::try_from(shared.bans.active()).unwrap_or(i64::MAX));
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

/// `GET /api/config`: the effective routes and policies, without secrets.
pub async fn config(State(state): State<Arc<AdminState>>) -> Response {
    axum::Json(state.shared.gateway.load().summary()).into_response()
}

/// `POST /api/reload`: re-reads the config file; the running one stays on any error.
pub async fn reload(State(state): State<Arc<AdminState>>) -> Response {
    match crate::shared::reload(&state.shared).await {
        Ok(()) => axum::Json(json!({ "reloaded": true })).into_response(),
        Err(e) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("reload rejected: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN};
    use axum::http::StatusCode;

    #[tokio::test]
    async fn health_readiness_metrics_and_config() {
        let admin = Admin::new().await;
        let (status, _, body) = admin.get("/healthz", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
        let (_, _, body) = admin.get("/readyz", Some(TOKEN)).await;
        assert_eq!(body, r#"{"ready":true,"apis":["bank"]}"#);
        let (status, headers, body) = admin.get("/metrics", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        assert!(body.contains("# EOF"), "{body}");
        let (_, _, body) = admin.get("/api/config", Some(TOKEN)).await;
        let config: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(config["apis"][0]["name"], "bank", "{body}");
        assert!(!body.contains(TOKEN), "the admin token never shows");
    }

    #[tokio::test]
    async fn reload_without_a_file_is_rejected_with_the_reason() {
        let admin = Admin::new().await;
        let (status, headers, body) = admin
            .send("POST", "/api/reload", Some(TOKEN), true, None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(headers["content-type"], "application/problem+json");
        assert!(body.contains("without a config file"), "{body}");
    }
}
