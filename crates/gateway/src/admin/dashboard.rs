//! The dashboard: static files embedded in the binary (`crates/gateway/dashboard/`), served
//! at `/` and `/assets/...` without a token (they hold no data: the page asks for the token
//! once, keeps it in the tab's session storage, and sends it on every API call).
//!
//! No file loads anything from elsewhere, and every answer carries a Content-Security-Policy
//! of `default-src 'self'` (no inline script or style, no other origin) that also forbids
//! framing, `<base>` and form posts.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The policy every dashboard file is served with.
pub const CSP: &str =
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The embedded files: path under `/assets/`, media type, content.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../dashboard/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/api.js"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/ui.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/chart.js"),
    ),
    (
        "overview.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/overview.js"),
    ),
    (
        "inventory.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/inventory.js"),
    ),
    (
        "endpoint.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/endpoint.js"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/live.js"),
    ),
    (
        "alerts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/alerts.js"),
    ),
    (
        "audit.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../dashboard/audit.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../dashboard/favicon.svg"),
    ),
];

/// The page.
pub const INDEX: &[u8] = include_bytes!("../../dashboard/index.html");

/// The dashboard's routes.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", INDEX) }),
        )
        .route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => file(kind, body),
        None => super::problem(StatusCode::NOT_FOUND, "no such dashboard file"),
    }
}

fn file(kind: &'static str, body: &'static [u8]) -> Response {
    let mut r = ([(header::CONTENT_TYPE, kind)], body).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::super::testing::Admin;
    use super::*;

    #[tokio::test]
    async fn the_page_and_its_files_are_served_with_the_policy_and_no_token() {
        let admin = Admin::new().await;
        let (status, headers, body) = admin.get("/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-security-policy"], CSP);
        assert!(body.contains("<script type=\"module\" src=\"/assets/app.js\">"));
        for (name, kind, _) in ASSETS {
            let (status, headers, _) = admin.get(&format!("/assets/{name}"), None).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(headers["content-type"], *kind);
            assert_eq!(headers["content-security-policy"], CSP);
        }
        assert_eq!(
            admin.get("/assets/nope.js", None).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            admin.get("/assets/..%2fmod.rs", None).await.0,
            StatusCode::NOT_FOUND
        );
    }

    /// What the policy promises, checked on the files themselves: no inline script, style
    /// or event handler, and no address of another origin.
    #[test]
    fn nothing_inline_nothing_external() {
        let index = String::from_utf8_lossy(INDEX);
        assert!(!index.contains("<style"), "inline style");
        assert!(!index.contains(" style="), "inline style attribute");
        for tag in index.split("<script").skip(1) {
            assert!(
                tag.trim_start()
                    .starts_with("type=\"module\" src=\"/assets/"),
                "inline script: {tag}"
            );
        }
        for (name, _, body) in ASSETS
            .iter()
            .map(|(n, k, b)| (n, k, String::from_utf8_lossy(b)))
        {
            for needle in [
                "http://",
                "https://",
                "//cdn",
                " onclick=",
                "innerHTML",
                "eval(",
                "new Function",
            ] {
                let allowed = needle == "http://"
                    && body.contains("http://www.w3.org/2000/svg")
                    && body.matches("http://").count()
                        == body.matches("http://www.w3.org/2000/svg").count();
                assert!(
                    allowed || !body.contains(needle),
                    "{name} contains {needle}"
                );
            }
        }
        assert!(!index.contains("http"), "no address in the page");
    }
}
