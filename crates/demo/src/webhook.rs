//! The bank's webhook test (FLAW, API7 SSRF): `POST /webhooks/test {"url": ...}` fetches the
//! URL from the bank's own network position and returns what it answered, so a caller can read
//! internal endpoints (here the bank's own `/debug/config` on loopback). The demo only ever
//! fetches `http://127.0.0.1` and `http://localhost` URLs, so it cannot be turned against
//! anything beyond the machine; a real vulnerable service would fetch anything. The fixed twin
//! refuses loopback and private targets.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::json;

use crate::bank::{Bank, error};

/// The most of a fetched answer returned.
const MAX_FETCHED: usize = 16 * 1024;

/// `POST /webhooks/test`'s body.
#[derive(Deserialize)]
pub(crate) struct Hook {
    url: Option<String>,
}

/// Only loopback `http://` URLs are ever fetched by the demo.
fn loopback(url: &str) -> Option<hyper::Uri> {
    let uri: hyper::Uri = url.parse().ok()?;
    let host = uri.host()?;
    (uri.scheme_str() == Some("http") && (host == "127.0.0.1" || host == "localhost"))
        .then_some(uri)
}

/// The handler.
pub(crate) async fn test_webhook(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Json(hook): Json<Hook>,
) -> Response {
    if !bank.has_caller(&headers) {
        return error(StatusCode::UNAUTHORIZED, "no token");
    }
    let Some(url) = hook.url else {
        return error(StatusCode::BAD_REQUEST, "url is required");
    };
    if bank.is_fixed() {
        // The twin only calls out to the partner host it knows.
        return error(
            StatusCode::BAD_REQUEST,
            "webhooks must point at hooks.bank.example",
        );
    }
    let Some(uri) = loopback(&url) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the demo bank only fetches http://127.0.0.1 URLs",
        );
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let fetched = tokio::time::timeout(Duration::from_secs(3), async {
        let resp = client.get(uri).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_FETCHED)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((status, String::from_utf8_lossy(&body).into_owned()))
    })
    .await;
    match fetched {
        Ok(Ok((status, body))) => {
            Json(json!({ "delivered": true, "status": status, "body": body })).into_response()
        }
        Ok(Err(e)) => error(StatusCode::BAD_GATEWAY, format!("the webhook failed: {e}")),
        Err(_) => error(StatusCode::GATEWAY_TIMEOUT, "the webhook timed out"),
    }
}
