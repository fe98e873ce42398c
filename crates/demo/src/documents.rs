//! The bank's documents and report exports, with two injection flaws in the weak bank:
//!
//! * `GET /documents?name=terms.txt` (FLAW, API8 path traversal): the name is joined to the
//!   documents directory and `..` is resolved, so `../../etc/passwd` reads the (fake) system
//!   file of the bank's toy file system. The fixed twin accepts plain file names only.
//! * `GET /reports/export?name=q4` (FLAW, API8 command injection): the name is pasted into
//!   `report-gen --name <name>`, run by the toy shell ([`crate::shell`]). The fixed twin
//!   accepts `[A-Za-z0-9_-]` names only.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::bank::{Bank, error};

/// The directory the documents are served from.
const DOCS: &str = "/srv/bank/docs";

/// The toy file system: (absolute path, content).
const FILES: &[(&str, &str)] = &[
    (
        "/srv/bank/docs/terms.txt",
        "Terms of the demo bank: nothing here is real money.",
    ),
    (
        "/srv/bank/docs/privacy.txt",
        "The demo bank keeps no personal data beyond the demo.",
    ),
    (
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n",
    ),
    ("/etc/hostname", "bank-demo\n"),
];

#[derive(Deserialize)]
pub(crate) struct Named {
    name: Option<String>,
}

/// `base/name` with `.` and `..` resolved (never above `/`), as a careless join does.
fn resolve(base: &str, name: &str) -> String {
    let joined = if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("{base}/{name}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `GET /documents`.
pub(crate) async fn get_document(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Query(q): Query<Named>,
) -> Response {
    if bank.caller_sub(&headers).is_none() {
        return error(StatusCode::UNAUTHORIZED, "no token");
    }
    let Some(name) = q.name else {
        return error(StatusCode::BAD_REQUEST, "name is required");
    };
    if bank.is_fixed() && (name.contains(['/', '\\']) || name.starts_with('.')) {
        return error(StatusCode::BAD_REQUEST, "a document name, not a path");
    }
    let path = resolve(DOCS, &name);
    match FILES.iter().find(|(p, _)| *p == path) {
        Some((_, content)) => Json(json!({"name": name, "content": content})).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such document"),
    }
}

/// `GET /reports/export`.
pub(crate) async fn export_report(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Query(q): Query<Named>,
) -> Response {
    if bank.caller_sub(&headers).is_none() {
        return error(StatusCode::UNAUTHORIZED, "no token");
    }
    let Some(name) = q.name else {
        return error(StatusCode::BAD_REQUEST, "name is required");
    };
    let plain = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bank.is_fixed() && !plain {
        return error(
            StatusCode::BAD_REQUEST,
            "a report name is letters, digits, - and _",
        );
    }
    let output = crate::shell::run(&format!("report-gen --name {name}"));
    Json(json!({"name": name, "output": output})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn careless_join() {
        assert_eq!(resolve(DOCS, "terms.txt"), "/srv/bank/docs/terms.txt");
        assert_eq!(resolve(DOCS, "../../../../etc/passwd"), "/etc/passwd");
        assert_eq!(resolve(DOCS, "/etc/passwd"), "/etc/passwd");
        assert_eq!(
            resolve(DOCS, "./a/../terms.txt"),
            "/srv/bank/docs/terms.txt"
        );
    }
}
