//! Responses Portcullis itself sends: `application/problem+json` (RFC 9457) with `type`,
//! `title`, `status`, `detail`, `request_id`; never a stack trace or an upstream address.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};

use crate::proxy::Body;
use crate::request_id::RequestId;

/// A refusal by one of the pipeline's stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// HTTP status.
    pub status: u16,
    /// Stable rule id (`route.undocumented`, `auth.invalid`, `request.body`...).
    pub rule: &'static str,
    /// The precise reason, for the decision log.
    pub reason: String,
    /// What the client is told (may be vaguer than `reason`, e.g. for credentials).
    pub detail: String,
    /// Extra response headers (`Allow`, `WWW-Authenticate`, `Retry-After`, `RateLimit-*`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl Denial {
    /// A denial whose client detail is the reason itself.
    pub fn new(status: u16, rule: &'static str, reason: impl Into<String>) -> Denial {
        let reason = reason.into();
        Denial {
            status,
            rule,
            detail: reason.clone(),
            reason,
            headers: Vec::new(),
        }
    }

    /// Sets what the client is told.
    pub fn detail(mut self, detail: impl Into<String>) -> Denial {
        self.detail = detail.into();
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Denial {
        self.headers.push((name, value.into()));
        self
    }
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// The problem+json response for a denial.
pub fn response(denial: &Denial, request_id: &RequestId) -> Response<Body> {
    let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN);
    let body = serde_json::json!({
        "type": format!("https://portcullis.dev/problems/{}", denial.rule),
        "title": title(status),
        "status": status.as_u16(),
        "detail": denial.detail,
        "request_id": request_id.as_str(),
    });
    let mut response = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in &denial.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(name.clone(), v);
        }
    }
    headers.insert(crate::proxy::X_REQUEST_ID, request_id.header().clone());
    response
}
