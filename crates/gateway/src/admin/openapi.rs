//! `GET /openapi.json`: the admin API's own OpenAPI 3.1 document (`openapi.json` beside this
//! file, embedded). `portcullis audit --profile strict --fail-on medium` passes it (a test of
//! the `portcullis` binary checks so).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT).into_response()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN};
    use super::*;
    use axum::http::StatusCode;
    use serde_json::Value;

    /// Every route the admin API serves (with what `cli` merges in), by method.
    const ROUTES: &[(&str, &str)] = &[
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/openapi.json"),
        ("get", "/metrics"),
        ("get", "/api/config"),
        ("post", "/api/reload"),
        ("get", "/api/decisions"),
        ("get", "/api/limits/{client}"),
        ("get", "/api/operations/{api}/{operation}"),
        ("post", "/api/events/ticket"),
        ("get", "/api/events"),
        ("get", "/api/inventory"),
        ("get", "/api/alerts"),
        ("get", "/api/audit"),
        ("get", "/api/bans"),
        ("post", "/api/bans"),
        ("delete", "/api/bans/{client}"),
    ];

    #[tokio::test]
    async fn the_document_is_served_and_describes_every_route() {
        let admin = Admin::new().await;
        let (status, headers, body) = admin.get("/openapi.json", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "only the routes served are documented"
        );
        for (method, path) in ROUTES {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path} is documented");
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            assert_eq!(
                public,
                *path == "/healthz",
                "{method} {path}: only /healthz is public"
            );
            let marked = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["$ref"] == "#/components/parameters/AdminHeader")
            });
            assert_eq!(
                marked,
                *method != "get",
                "{method} {path}: the admin header on state changes"
            );
        }
        assert_eq!(DOCUMENT, body);
    }
}
