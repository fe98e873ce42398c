//! `/api/bans`: the clients refused before any other work (`crate::bans::Bans`): list them,
//! ban one for a while (`POST {"client", "duration", "reason"}`), lift a ban
//! (`DELETE /api/bans/{client}`). Bans made here have the source `admin`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{AdminState, problem};
use crate::config::Dur;

/// The longest ban the admin API sets.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);
/// The longest reason kept.
pub const MAX_REASON: usize = 1024;

/// `GET /api/bans`: the bans in force.
pub async fn list(State(state): State<Arc<AdminState>>) -> Response {
    axum::Json(json!({ "bans": state.shared.bans.list() })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBan {
    client: String,
    duration: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/bans`: bans a client address for a duration (`10m`, `1h`, `7d`; at most 30
/// days), replacing an earlier ban of it.
pub async fn add(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_body {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        );
    }
    let new: NewBan = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("body: {e}")),
    };
    let Ok(client) = new.client.trim().parse::<IpAddr>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("client {:?}: expected an IPv4 or IPv6 address", new.client),
        );
    };
    let duration = match Dur::parse(new.duration.trim()) {
        Some(d) if !d.0.is_zero() && d.0 <= MAX_DURATION => d.0,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!(
                    "duration {:?}: expected a duration such as 10m, 1h or 7d, at most 30d",
                    new.duration
                ),
            );
        }
    };
    let reason = new.reason.unwrap_or_default();
    if reason.len() > MAX_REASON || reason.chars().any(char::is_control) {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("reason: at most {MAX_REASON} bytes, one line"),
        );
    }
    let reason = if reason.trim().is_empty() {
        "banned by an operator"
    } else {
        reason.trim()
    };
    state.shared.bans.add(client, duration, reason, "admin");
    tracing::info!(%client, ?duration, reason, "client banned through the admin API");
    let ban = state
        .shared
        .bans
        .list()
        .into_iter()
        .find(|b| b.client == client);
    (StatusCode::CREATED, axum::Json(ban)).into_response()
}

/// `DELETE /api/bans/{client}`: lifts a ban (404 when there was none).
pub async fn remove(State(state): State<Arc<AdminState>>, Path(client): Path<String>) -> Response {
    let Ok(ip) = client.parse::<IpAddr>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("client {client:?}: expected an IPv4 or IPv6 address"),
        );
    };
    if state.shared.bans.remove(ip) {
        tracing::info!(client = %ip, "ban lifted through the admin API");
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, &format!("{ip} is not banned"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN};
    use axum::http::StatusCode;
    use serde_json::Value;

    async fn ban(admin: &Admin, body: &str) -> (StatusCode, String) {
        let (status, _, body) = admin
            .send("POST", "/api/bans", Some(TOKEN), true, Some(body))
            .await;
        (status, body)
    }

    #[tokio::test]
    async fn ban_list_and_lift() {
        let admin = Admin::new().await;
        let (status, body) = ban(
            &admin,
            r#"{"client":"203.0.113.9","duration":"10m","reason":"stuffing"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let created: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(created["source"], "admin");
        assert!(admin.shared.bans.is_banned("203.0.113.9".parse().unwrap()));
        let (_, _, body) = admin.get("/api/bans", Some(TOKEN)).await;
        let list: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(list["bans"][0]["client"], "203.0.113.9", "{body}");
        assert_eq!(list["bans"][0]["reason"], "stuffing");
        let (status, _, _) = admin
            .send("DELETE", "/api/bans/203.0.113.9", Some(TOKEN), true, None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(!admin.shared.bans.is_banned("203.0.113.9".parse().unwrap()));
        let (status, _, body) = admin
            .send("DELETE", "/api/bans/203.0.113.9", Some(TOKEN), true, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }

    #[tokio::test]
    async fn bad_bans_are_refused_with_the_reason() {
        let admin = Admin::new().await;
        for (body, says) in [
            (
                r#"{"client":"evil.example","duration":"10m"}"#,
                "IPv4 or IPv6",
            ),
            (
                r#"{"client":"10.0.0.1","duration":"forever"}"#,
                "at most 30d",
            ),
            (r#"{"client":"10.0.0.1","duration":"31d"}"#, "at most 30d"),
            (r#"{"client":"10.0.0.1","duration":"0s"}"#, "at most 30d"),
            (
                r#"{"client":"10.0.0.1","duration":"1h","role":"x"}"#,
                "unknown field",
            ),
            (
                r#"{"client":"10.0.0.1","duration":"1h","reason":"a\nb"}"#,
                "one line",
            ),
            ("not json", "body:"),
        ] {
            let (status, text) = ban(&admin, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
            assert!(text.contains(says), "{body}: {text}");
        }
        assert!(admin.shared.bans.list().is_empty());
        // A form post (what a cross-site page can send without a preflight) is refused even
        // with the token and header.
        let (status, _, _) = admin
            .send_with(
                "POST",
                "/api/bans",
                &[
                    ("authorization", &format!("Bearer {TOKEN}")),
                    ("x-portcullis-admin", "1"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // Without the admin header: 403, and nothing is lifted.
        admin.shared.bans.add(
            "10.0.0.7".parse().unwrap(),
            std::time::Duration::from_secs(60),
            "t",
            "admin",
        );
        let (status, _, _) = admin
            .send("DELETE", "/api/bans/10.0.0.7", Some(TOKEN), false, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(admin.shared.bans.is_banned("10.0.0.7".parse().unwrap()));
        let (status, _, _) = admin
            .send("DELETE", "/api/bans/not-an-ip", Some(TOKEN), true, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
