//! `GET /api/events`: the live stream of decisions and alerts as server-sent events, and
//! `POST /api/events/ticket`, the ticket a browser opens it with.
//!
//! Every message on the gateway's event channel is one event, named by its `type` field
//! (`decision`, `alert`), its data the JSON object. A subscriber that falls behind by more
//! than [`crate::events::QUEUE`] events skips ahead and is told how many it missed (a
//! `lagged` event); it never slows the gateway. At most [`MAX_STREAMS`] streams are open at
//! once; all end when the gateway shuts down.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::guard::{bearer, token_matches, unauthorized};
use super::{AdminState, problem, tickets};

/// Live streams open at most.
pub const MAX_STREAMS: usize = 32;
/// A comment is sent this often on an idle stream, so proxies and browsers keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `POST /api/events/ticket`: a one-use ticket for `/api/events?ticket=...`.
pub async fn ticket(State(state): State<Arc<AdminState>>) -> Response {
    let ticket = state.tickets.issue();
    (
        StatusCode::CREATED,
        axum::Json(json!({ "ticket": ticket, "expires_in": tickets::TTL.as_secs() })),
    )
        .into_response()
}

/// Gives back a stream's place when the stream ends.
struct Place(Arc<AdminState>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /api/events`: with the admin token, or with a ticket.
pub async fn stream(
    State(state): State<Arc<AdminState>>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let allowed = match query.get("ticket") {
        Some(t) => state.tickets.redeem(t),
        None => bearer(&request).is_some_and(|t| token_matches(&state, t)),
    };
    if !allowed {
        return unauthorized();
    }
    if state.streams.fetch_add(1, Ordering::Relaxed) >= MAX_STREAMS {
        state.streams.fetch_sub(1, Ordering::Relaxed);
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("{MAX_STREAMS} live streams are open already"),
        );
    }
    let place = Place(state.clone());
    let receiver = state.shared.events.subscribe();
    let stop = state.stop.clone();
    let ready = futures_util::stream::once(async {
        Ok::<_, Infallible>(Event::default().event("ready").data("{}"))
    });
    let events = futures_util::stream::unfold(
        (receiver, stop, place),
        |(mut receiver, mut stop, place)| async move {
            if *stop.borrow() {
                return None;
            }
            let event = tokio::select! {
                received = receiver.recv() => match received {
                    Ok(value) => event_of(&value),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        Event::default().event("lagged").data(json!({ "missed": missed }).to_string())
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = stop.changed() => return None,
            };
            Some((Ok::<_, Infallible>(event), (receiver, stop, place)))
        },
    );
    use futures_util::StreamExt;
    Sse::new(ready.chain(events))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// One message as an event named by its `type`.
fn event_of(value: &Value) -> Event {
    let name = value
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or("message");
    Event::default().event(name).data(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN, decision};
    use super::*;
    use crate::decision::Kind;
    use crate::observe::{Observation, Subscriber};
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Opens the stream at `uri` with `auth` and returns its body.
    async fn open(admin: &Admin, uri: &str, auth: Option<&str>) -> (StatusCode, Body) {
        let mut request = axum::http::Request::get(uri);
        if let Some(t) = auth {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let response = admin
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        (response.status(), response.into_body())
    }

    /// Reads the body until `needle` shows (bounded by a deadline).
    async fn read_until(body: &mut Body, needle: &str) -> String {
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !seen.contains(needle) {
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .expect("the event within 30 s")
                .expect("the stream is open")
                .unwrap();
            if let Ok(data) = frame.into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
            }
        }
        seen
    }

    #[tokio::test]
    async fn decisions_and_alerts_stream_as_named_events() {
        let admin = Admin::new().await;
        let (status, mut body) = open(&admin, "/api/events", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        read_until(&mut body, "event: ready").await;
        let mut publisher = crate::events::Publisher::new(admin.shared.events.clone());
        let d = decision(
            "live-1",
            "10.0.0.1",
            Some("login"),
            Kind::Block,
            Some("threat.sqli"),
        );
        publisher.observe(&Observation {
            decision: d,
            credentials: Default::default(),
            request_bytes: None,
            response_bytes: None,
            flags: Vec::new(),
            route_template: None,
            deprecated: false,
        });
        let seen = read_until(&mut body, "live-1").await;
        assert!(seen.contains("event: decision\ndata: {"), "{seen}");
        assert!(seen.contains("\"type\":\"decision\""), "{seen}");
        admin
            .shared
            .events
            .send(json!({"type": "alert", "id": "a-1", "detector": "stuffing"}))
            .unwrap();
        let seen = read_until(&mut body, "a-1").await;
        assert!(seen.contains("event: alert\n"), "{seen}");
    }

    #[tokio::test]
    async fn a_ticket_opens_the_stream_once_and_the_token_never_goes_in_the_url() {
        let admin = Admin::new().await;
        assert_eq!(
            open(&admin, "/api/events", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            open(&admin, &format!("/api/events?ticket={TOKEN}"), None)
                .await
                .0,
            StatusCode::UNAUTHORIZED,
            "the token is not a ticket"
        );
        let (status, _, body) = admin
            .send("POST", "/api/events/ticket", Some(TOKEN), true, None)
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let ticket: Value = serde_json::from_str(&body).unwrap();
        let uri = format!("/api/events?ticket={}", ticket["ticket"].as_str().unwrap());
        assert_eq!(open(&admin, &uri, None).await.0, StatusCode::OK);
        assert_eq!(
            open(&admin, &uri, None).await.0,
            StatusCode::UNAUTHORIZED,
            "used"
        );
    }

    #[tokio::test]
    async fn streams_are_bounded() {
        let admin = Admin::new().await;
        let mut open_ones = Vec::new();
        for _ in 0..MAX_STREAMS {
            let (status, body) = open(&admin, "/api/events", Some(TOKEN)).await;
            assert_eq!(status, StatusCode::OK);
            open_ones.push(body);
        }
        assert_eq!(
            open(&admin, "/api/events", Some(TOKEN)).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        open_ones.pop();
        assert_eq!(
            open(&admin, "/api/events", Some(TOKEN)).await.0,
            StatusCode::OK
        );
    }
}
