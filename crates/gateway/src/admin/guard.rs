//! Who may call the admin API, and the headers every answer carries.
//!
//! * Every route but `/healthz` and the dashboard's static files needs
//!   `Authorization: Bearer <admin token>`, compared in constant time. There is no cookie,
//!   so a browser never sends the credential by itself.
//! * A state-changing call (POST, PUT, PATCH, DELETE) also needs `X-Portcullis-Admin: 1`: a
//!   page of another site can only send that header after a CORS preflight, which the admin
//!   API never grants (it sends no `Access-Control-Allow-*` header at all).
//! * Every answer says `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer` and may not be framed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::{AdminState, problem};

/// The header a state-changing call must carry, and its value.
pub const ADMIN_HEADER: (&str, &str) = ("x-portcullis-admin", "1");

/// Whether `presented` is the configured admin token (constant time; never true when no
/// token is configured).
pub fn token_matches(state: &AdminState, presented: &str) -> bool {
    let gateway = state.shared.gateway.load();
    let expected = gateway
        .config
        .admin
        .as_ref()
        .map(|a| a.token.as_str())
        .unwrap_or_default();
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The bearer token of a request, if any.
pub fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// 401 with the `WWW-Authenticate` challenge.
pub fn unauthorized() -> Response {
    let mut r = problem(StatusCode::UNAUTHORIZED, "a valid admin token is required");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"portcullis-admin\""),
    );
    r
}

/// Refuses a request without the admin token.
pub async fn require_token(
    State(state): State<Arc<AdminState>>,
    request: Request,
    next: Next,
) -> Response {
    if !bearer(&request).is_some_and(|t| token_matches(&state, t)) {
        return unauthorized();
    }
    next.run(request).await
}

/// Refuses a state-changing request without [`ADMIN_HEADER`].
pub async fn state_changing(request: Request, next: Next) -> Response {
    let changes = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let marked = request
        .headers()
        .get(ADMIN_HEADER.0)
        .is_some_and(|v| v.as_bytes() == ADMIN_HEADER.1.as_bytes());
    if changes && !marked {
        return problem(
            StatusCode::FORBIDDEN,
            "state-changing admin calls need the header X-Portcullis-Admin: 1",
        );
    }
    next.run(request).await
}

/// Adds the headers every admin answer carries, and removes any CORS header a merged route
/// might have set: the admin API is never readable from another origin.
pub async fn answer_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for name in [
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::SET_COOKIE,
    ] {
        h.remove(name);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN};
    use axum::http::StatusCode;

    #[tokio::test]
    async fn everything_but_healthz_needs_the_token() {
        let admin = Admin::new().await;
        assert_eq!(admin.get("/healthz", None).await.0, StatusCode::OK);
        for path in [
            "/readyz",
            "/metrics",
            "/api/config",
            "/api/decisions",
            "/api/limits/127.0.0.1",
            "/openapi.json",
            "/api/events",
        ] {
            let (status, headers, _) = admin.get(path, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert!(headers.contains_key("www-authenticate"), "{path}");
            let (status, _, _) = admin.get(path, Some("wrong")).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{path} with a wrong token"
            );
        }
        assert_eq!(
            admin.get("/readyz", Some(TOKEN)).await.0,
            StatusCode::OK,
            "the right token"
        );
    }

    #[tokio::test]
    async fn state_changing_calls_need_the_admin_header() {
        let admin = Admin::new().await;
        let (status, _, body) = admin
            .send("POST", "/api/events/ticket", Some(TOKEN), false, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("X-Portcullis-Admin"), "{body}");
        let (status, _, _) = admin
            .send("POST", "/api/events/ticket", Some(TOKEN), true, None)
            .await;
        assert_eq!(status, StatusCode::CREATED);
        // The header without the token is still refused.
        let (status, _, _) = admin
            .send("POST", "/api/events/ticket", None, true, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn routes_the_caller_adds_are_behind_the_same_checks() {
        let extra = axum::Router::new().route(
            "/api/inventory",
            axum::routing::get(|| async { "inventory" }).post(|| async { "changed" }),
        );
        let admin = Admin::with_extra(Some(extra)).await;
        assert_eq!(
            admin.get("/api/inventory", None).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, _, body) = admin.get("/api/inventory", Some(TOKEN)).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "inventory"));
        let (status, _, _) = admin
            .send("POST", "/api/inventory", Some(TOKEN), false, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn no_cors_no_cookie_no_caching_no_framing() {
        let admin = Admin::new().await;
        let (_, headers, _) = admin
            .send_with(
                "OPTIONS",
                "/api/bans",
                &[
                    ("origin", "https://evil.example"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "x-portcullis-admin"),
                ],
            )
            .await;
        assert!(!headers.contains_key("access-control-allow-origin"));
        assert!(!headers.contains_key("access-control-allow-headers"));
        let (_, headers, _) = admin.get("/api/config", Some(TOKEN)).await;
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(!headers.contains_key("set-cookie"));
        assert!(!headers.contains_key("access-control-allow-origin"));
    }
}
