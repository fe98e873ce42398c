//! CORS (`cors`): preflights answered by the gateway from the API's allowlists, and the
//! answers to allowed origins given the fields a browser needs. An origin is never reflected
//! unless listed, and the upstream's own `Access-Control-*` fields are replaced, so a
//! permissive upstream cannot open the API to every site.

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};

use super::RequestCtx;
use crate::pipeline::{Ctx, Outcome, full};
use crate::problem::Denial;
use crate::proxy::Body;
use crate::runtime::protect::CorsPlan;

/// Request headers a page may send without the server listing them (Fetch's safelist).
const SAFELISTED: &[&str] = &[
    "accept",
    "accept-language",
    "content-language",
    "content-type",
];

/// Whether `req` is a CORS preflight.
pub(crate) fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == http::Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The value of `Access-Control-Allow-Origin` for `origin`, when it is allowed.
fn allow_origin(plan: &CorsPlan, origin: &str) -> Option<HeaderValue> {
    if !plan.allows_origin(origin) {
        return None;
    }
    if plan.any && !plan.credentials && !plan.origins.iter().any(|o| o == origin) {
        return Some(HeaderValue::from_static("*"));
    }
    HeaderValue::from_str(origin).ok()
}

/// Answers a preflight: 204 with the allowlists, or 403 `cors.preflight` (in every mode: the
/// gateway answers preflights itself, nothing reaches the upstream).
pub(crate) fn preflight<B>(
    ctx: &Ctx<'_>,
    plan: &CorsPlan,
    req: &Request<B>,
    outcome: &mut Outcome,
) -> Response<Body> {
    let text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let origin = text(header::ORIGIN);
    let method = text(header::ACCESS_CONTROL_REQUEST_METHOD);
    let requested = text(header::ACCESS_CONTROL_REQUEST_HEADERS).to_ascii_lowercase();
    let requested: Vec<&str> = requested
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let refuse = |reason: String| {
        Denial::new(403, crate::rules::CORS_PREFLIGHT, reason)
            .detail("this cross-origin request is not allowed")
    };
    let Some(allow) = allow_origin(plan, &origin) else {
        return outcome.refuse(
            &refuse(format!("origin {origin:?} is not allowed")),
            ctx.request_id,
        );
    };
    if !plan.methods.contains(&method) {
        return outcome.refuse(
            &refuse(format!("method {method:?} is not allowed from {origin}")),
            ctx.request_id,
        );
    }
    if let Some(h) = requested
        .iter()
        .find(|h| !SAFELISTED.contains(h) && !plan.headers.iter().any(|a| a == *h))
    {
        return outcome.refuse(
            &refuse(format!("request header {h:?} is not allowed from {origin}")),
            ctx.request_id,
        );
    }
    let mut response = Response::new(full(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    headers.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&plan.methods_value) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    if !requested.is_empty()
        && let Ok(v) = HeaderValue::from_str(&requested.join(", "))
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(plan.max_age),
    );
    if plan.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.insert(crate::proxy::X_REQUEST_ID, ctx.request_id.header().clone());
    response
}

/// The request phase: keeps the request's `Origin` for the answer.
pub(crate) fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) {
    r.origin = r.parts.headers.get(header::ORIGIN).cloned();
}

/// The response phase: the upstream's CORS fields replaced by the API's.
pub(crate) fn response<B>(r: &RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
    let Some(plan) = r.api.cors.as_deref() else {
        return;
    };
    let headers = response.headers_mut();
    for name in [
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::ACCESS_CONTROL_MAX_AGE,
    ] {
        headers.remove(name);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = r.origin.as_ref().and_then(|o| o.to_str().ok()) else {
        return;
    };
    let Some(allow) = allow_origin(plan, origin) else {
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    if plan.credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if !plan.expose_value.is_empty()
        && let Ok(v) = HeaderValue::from_str(&plan.expose_value)
    {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
}
