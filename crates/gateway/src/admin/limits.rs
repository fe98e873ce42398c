//! `GET /api/limits/{client}`: what the rate limiter knows of one client, for each configured
//! limit that the client value keys.
//!
//! `client` is an address for the `ip` limits (IPv6 grouped by `server.ipv6_prefix`, as the
//! limits stage does), or the value of another key (`?key=subject`, `key_id`, `header:NAME`,
//! `claim:NAME`; by default: `ip` when the value is an address, else `subject` and `key_id`).
//! `?api=NAME` keeps one API.
//!
//! The limiter is read without spending anything: each limit is checked with a burst of zero,
//! which every GCRA store refuses without writing (memory and Redis alike), and the refusal
//! carries how far the client's state runs ahead of now. The limiter reports that in whole
//! seconds (`RateLimit-Reset`), so `remaining` is a lower bound (exact when the client is idle:
//! `reset_secs` 0); `exact` says which.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{AdminState, problem};
use crate::ratelimit::{Gcra, KeySource, Limit};

/// One limit's state for the client.
#[derive(Debug, Serialize)]
pub struct LimitState {
    /// The API.
    pub api: String,
    /// The limit's name (`bank/0`: API and position in the config).
    pub name: String,
    /// What keys it (`ip`, `subject`, ...).
    pub key: String,
    /// The operations it applies to (`null`: all of the API's).
    pub operations: Option<Vec<String>>,
    /// Requests per period.
    pub limit: u64,
    /// The period in seconds.
    pub per_secs: u64,
    /// Requests an idle client may send at once.
    pub burst: u64,
    /// Requests the client may send right now (at least this many when not `exact`).
    pub remaining: u64,
    /// Seconds until the client is fully replenished (rounded up).
    pub reset_secs: u64,
    /// Whether `remaining` is exact.
    pub exact: bool,
    /// The shared state (Redis) could not be read: the numbers are the fallback's.
    pub degraded: bool,
}

fn key_name(key: &KeySource) -> String {
    match key {
        KeySource::Ip => "ip".to_owned(),
        KeySource::KeyId => "key_id".to_owned(),
        KeySource::Subject => "subject".to_owned(),
        KeySource::Header(h) => format!("header:{h}"),
        KeySource::Claim(c) => format!("claim:{c}"),
    }
}

/// Reads one limit's state of `client` without spending a request.
async fn peek(
    limiter: &crate::ratelimit::Limiter,
    limit: &Limit,
    client: &str,
) -> (u64, u64, bool, bool) {
    let probe = Limit {
        gcra: Gcra {
            interval_us: limit.gcra.interval_us,
            burst: 0,
        },
        ..limit.clone()
    };
    let d = limiter.check(&[(&probe, client)]).await;
    let tolerance = limit.gcra.burst.saturating_mul(limit.gcra.interval_us);
    let interval = limit.gcra.interval_us.max(1);
    let ahead = d.reset_secs.saturating_mul(1_000_000);
    let remaining = tolerance.saturating_sub(ahead) / interval;
    (remaining, d.reset_secs, d.reset_secs == 0, d.degraded)
}

/// `GET /api/limits/{client}`.
pub async fn of_client(
    State(state): State<Arc<AdminState>>,
    Path(client): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    if let Some(name) = query.keys().find(|k| !matches!(k.as_str(), "key" | "api")) {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("query parameter {name}: unknown parameter (expected key or api)"),
        );
    }
    let wanted: Option<KeySource> = match query.get("key").map(|k| k.parse::<KeySource>()) {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(e)) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!("query parameter key: {e}"),
            );
        }
    };
    let address = client.parse::<IpAddr>().ok();
    if wanted == Some(KeySource::Ip) && address.is_none() {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("client {client:?} is not an IP address (key ip)"),
        );
    }
    let gw = state.shared.gateway.load();
    let ip_key = address.map(|ip| crate::proxy::client_key(ip, gw.config.server.ipv6_prefix));
    let mut out = Vec::new();
    for api in &gw.apis {
        if query.get("api").is_some_and(|a| **a != *api.name) {
            continue;
        }
        for limit in &api.limits {
            let applies = match &wanted {
                Some(k) => *k == limit.key,
                None if address.is_some() => limit.key == KeySource::Ip,
                None => matches!(limit.key, KeySource::Subject | KeySource::KeyId),
            };
            if !applies {
                continue;
            }
            let value = match (&limit.key, &ip_key) {
                (KeySource::Ip, Some(k)) => k.as_str(),
                _ => client.as_str(),
            };
            let (remaining, reset_secs, exact, degraded) = peek(&gw.limiter, limit, value).await;
            out.push(LimitState {
                api: api.name.to_string(),
                name: limit.name.clone(),
                key: key_name(&limit.key),
                operations: limit.operations.clone(),
                limit: limit.limit,
                per_secs: limit.period_secs,
                burst: limit.gcra.burst,
                remaining,
                reset_secs,
                exact,
                degraded,
            });
        }
    }
    axum::Json(serde_json::json!({ "client": client, "limits": out })).into_response()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN};
    use axum::http::StatusCode;
    use serde_json::Value;

    async fn limits(admin: &Admin, path: &str) -> Value {
        let (status, _, body) = admin.get(path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    #[tokio::test]
    async fn an_idle_client_has_every_request_and_reading_spends_none() {
        let admin = Admin::new().await;
        for _ in 0..3 {
            let v = limits(&admin, "/api/limits/10.0.0.1").await;
            let l = &v["limits"];
            assert_eq!(l.as_array().unwrap().len(), 2, "{v}");
            assert_eq!(l[0]["name"], "bank/0");
            assert_eq!(l[0]["operations"][0], "login");
            assert_eq!(
                (l[0]["remaining"].as_u64(), l[0]["exact"].as_bool()),
                (Some(5), Some(true))
            );
            assert_eq!(l[1]["remaining"], 100, "the burst");
        }
    }

    #[tokio::test]
    async fn spent_requests_show_as_a_lower_bound_and_a_reset() {
        let admin = Admin::new().await;
        let gw = admin.shared.gateway.load();
        let login = gw.apis[0].limits[0].clone();
        for _ in 0..3 {
            assert!(gw.limiter.check(&[(&login, "10.0.0.2")]).await.allowed);
        }
        let v = limits(&admin, "/api/limits/10.0.0.2?api=bank").await;
        let l = &v["limits"][0];
        // Three of five spent, 12 s each to come back: 36 s, read as whole seconds.
        assert_eq!(l["reset_secs"], 36, "{v}");
        assert_eq!(l["remaining"], 2);
        assert_eq!(l["exact"], false);
        // Another client is untouched.
        let other = limits(&admin, "/api/limits/10.0.0.3").await;
        assert_eq!(other["limits"][0]["remaining"], 5);
    }

    #[tokio::test]
    async fn keys_and_bad_queries() {
        let admin = Admin::new().await;
        let v = limits(&admin, "/api/limits/alice").await;
        assert_eq!(
            v["limits"].as_array().unwrap().len(),
            0,
            "no subject limits: {v}"
        );
        let v = limits(&admin, "/api/limits/10.0.0.1?api=other").await;
        assert_eq!(v["limits"].as_array().unwrap().len(), 0);
        let (status, _, body) = admin.get("/api/limits/alice?key=ip", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("not an IP address"), "{body}");
        let (status, _, body) = admin.get("/api/limits/x?key=cookie:a", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("unknown rate-limit key"), "{body}");
        let (status, _, _) = admin.get("/api/limits/x?colour=red", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
