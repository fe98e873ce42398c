//! Secure headers (OWASP Secure Headers project): fields that reveal the upstream's software
//! are removed, and the recommended ones for an API are added unless the upstream set them.

use http::Response;
use http::header::{self, HeaderName, HeaderValue};

use super::{RequestCtx, plan};
use crate::proxy::Body;

/// Fields that name the upstream's software and versions (names made once: a `&str` key is
/// parsed again at every lookup).
static REVEALING: [HeaderName; 7] = [
    header::SERVER,
    HeaderName::from_static("x-powered-by"),
    HeaderName::from_static("x-aspnet-version"),
    HeaderName::from_static("x-aspnetmvc-version"),
    HeaderName::from_static("x-runtime"),
    HeaderName::from_static("x-version"),
    HeaderName::from_static("x-generator"),
];

/// `Cross-Origin-Resource-Policy`.
static CORP: HeaderName = HeaderName::from_static("cross-origin-resource-policy");

/// Added unless present: (field, value).
const SECURE: &[(HeaderName, &str)] = &[
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// The response phase.
pub(crate) fn response<B>(r: &RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
    if !plan(r).is_some_and(|p| p.security_headers) {
        return;
    }
    let headers = response.headers_mut();
    for name in &REVEALING {
        headers.remove(name);
    }
    for (name, value) in SECURE {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(&CORP) {
        headers.insert(CORP.clone(), HeaderValue::from_static("same-origin"));
    }
    if r.env.tls && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // An answer for an authenticated caller must not sit in a shared cache.
    if r.outcome.credentials.presented && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
