//! The validation stages (`apis[].request`): parameters, then the body, against the spec
//! (the positive security model; OWASP API3, API8). `validate: block | log | off` and
//! `unknown_fields: block | log | off` say which violations are enforced; a `log` policy
//! records the violation as a `monitor` decision and lets the request go on.

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http_body::Body as HttpBody;

use super::{RequestCtx, Verdict};
use crate::config::{Action, Mode};
use crate::problem::Denial;
use crate::proxy::BoxError;
use crate::runtime::{Api, OpPlan};
use crate::validate::{Policy, Violation};

/// True when the policy asks for a check.
fn on(action: Action) -> bool {
    action != Action::Off
}

/// Whether parameters are checked for this API.
pub(super) fn params_apply(api: &Api) -> bool {
    on(api.request.validate)
}

/// Whether the body stage has anything to do for `plan`: a declared body to check, or (with
/// `validate` on) a body the operation does not take.
pub(super) fn body_applies(api: &Api, plan: &OpPlan) -> bool {
    on(api.request.validate) || (plan.check.body.is_some() && on(api.request.unknown_fields))
}

/// Enforces (in the API's mode) only what its policy says to block.
fn policy_mode(api: &Api, policy: Policy) -> Mode {
    let action = match policy {
        Policy::Validate => api.request.validate,
        Policy::UnknownFields => api.request.unknown_fields,
    };
    if action == Action::Block {
        api.mode
    } else {
        Mode::Monitor
    }
}

/// A violation as a verdict, in the mode its policy gives.
fn violation(api: &Api, v: Violation) -> Verdict {
    let mode = policy_mode(api, v.policy);
    Verdict::Deny(Denial::new(v.status, v.rule, v.reason), mode)
}

/// The parameters stage: path, query, header and cookie parameters against their schemas.
pub(super) fn params<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let Some(plan) = r.plan else {
        return Verdict::Continue;
    };
    let params = r.params;
    r.query();
    let query = r.query.as_deref().unwrap_or_default();
    match plan.check.check_params(params, query, &r.parts.headers) {
        Some(v) => violation(r.api, v),
        None => Verdict::Continue,
    }
}

/// The body stage: a body where the operation takes none is refused (415); a declared body
/// is read (bounded by `max_body`) and checked against its content type and schema.
pub(super) async fn body<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let Some(plan) = r.plan else {
        return Verdict::Continue;
    };
    let api = r.api;
    let validate = on(api.request.validate);
    // Whether a body came. hyper knows when none can (HTTP/1 without a length or with a zero
    // one; HTTP/2 with END_STREAM on the head), which spares the common GET any lookup; else
    // the headers declare one. HTTP/2 needs no length: where an operation takes no body and
    // none was declared, only the body itself can tell (it is read, bounded by max_body: an
    // empty DATA frame that ends the stream is no body).
    if plan.check.body.is_none() {
        if validate
            && r.has_body()
            && !declares_body(&r.parts.headers)
            && let Err(d) = r.read_body().await
        {
            return Verdict::Refuse(d);
        }
        if validate && r.has_body() {
            let d = Denial::new(
                415,
                crate::rules::REQUEST_CONTENT_TYPE,
                format!("operation {} takes no request body", plan.id),
            );
            return Verdict::Deny(d, policy_mode(api, Policy::Validate));
        }
        return Verdict::Continue;
    }
    let Some(check) = &plan.check.body else {
        return Verdict::Continue;
    };
    let max_depth = r.env.gw.config.server.limits.max_json_depth;
    let content_type = r
        .parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = match r.read_body().await {
        Ok(b) => b.clone(),
        Err(d) => return Verdict::Refuse(d),
    };
    let (violations, parsed) = Box::pin(check.check_keeping(
        content_type.as_deref(),
        &bytes,
        max_depth,
        validate,
        on(api.request.unknown_fields),
    ))
    .await;
    // The threat checks walk the same JSON: parsed once, here, and kept when they follow.
    if plan.threats.is_some() {
        r.json = parsed.map(Box::new);
    }
    // The first enforced violation answers; in monitor mode the first is recorded.
    let mut first = None;
    for v in violations {
        match violation(api, v) {
            Verdict::Deny(d, Mode::Enforce) => return Verdict::Deny(d, Mode::Enforce),
            other => {
                first.get_or_insert(other);
            }
        }
    }
    first.unwrap_or(Verdict::Continue)
}

/// Whether the headers declare a body: `Transfer-Encoding`, or a `Content-Length` other
/// than 0.
fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}
