//! The rate-limit stages (`apis[].rate_limits`, `concurrency`; OWASP API4).
//!
//! Limits are checked in two places: those whose key the request shows without credentials
//! (`ip`, `header:NAME`) before any credential is verified or any body read, so that a flood
//! is refused before it costs a key-set fetch, an introspection call or a body read; those
//! keyed by who the caller is (`subject`, `key_id`, `claim:NAME`) after authentication. Each
//! check is one round trip to the state backend for all of its limits.

use http::header::{self, HeaderName};

use super::{Headers, RequestCtx, Verdict};
use crate::pipeline::limit_key;
use crate::problem::Denial;
use crate::ratelimit::{Few, Limit};

/// Checks the limits `indices` (into the API's limits) whose key this request has.
pub(super) async fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>, indices: &[usize]) -> Verdict {
    let ctx = r.env;
    let api = r.api;
    let keyed: Few<(&Limit, String)> = indices
        .iter()
        .filter_map(|i| api.limits.get(*i))
        .filter_map(|l| {
            limit_key(&l.key, ctx, r.principal.as_deref(), &r.parts.headers).map(|k| (l, k))
        })
        .collect();
    if keyed.is_empty() {
        return Verdict::Continue;
    }
    let checks: Few<(&Limit, &str)> = keyed.iter().map(|(l, k)| (*l, k.as_str())).collect();
    let decision = Box::pin(ctx.gw.limiter.check(&checks)).await;
    if decision.degraded {
        ctx.shared.metrics.ratelimit_degraded.inc();
    }
    if decision.allowed && !api.rate_limit_headers {
        return Verdict::Continue;
    }
    let headers: Headers = vec![
        (
            HeaderName::from_static("ratelimit-limit"),
            decision.limit.to_string(),
        ),
        (
            HeaderName::from_static("ratelimit-remaining"),
            decision.remaining.to_string(),
        ),
        (
            HeaderName::from_static("ratelimit-reset"),
            decision.reset_secs.to_string(),
        ),
    ];
    if api.rate_limit_headers {
        r.answer_headers.clone_from(&headers);
    }
    if decision.allowed {
        return Verdict::Continue;
    }
    let mut d = Denial::new(
        429,
        crate::rules::RATELIMIT,
        format!(
            "rate limit {} exceeded",
            decision.denied_by.as_deref().unwrap_or("?")
        ),
    )
    .detail("too many requests");
    d.headers = headers;
    d.headers.push((
        header::RETRY_AFTER,
        decision.retry_after_secs.unwrap_or(1).to_string(),
    ));
    Verdict::Deny(d, api.mode)
}

/// Takes a slot of the client IP's requests in flight, held until the answer.
pub(super) fn concurrency<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict {
    let Some(limiter) = &r.api.concurrency else {
        return Verdict::Continue;
    };
    match limiter.acquire(&r.env.client_key()) {
        Some(permit) => {
            r.permit = Some(permit);
            Verdict::Continue
        }
        None => Verdict::Deny(
            Denial::new(
                429,
                crate::rules::RATELIMIT_CONCURRENCY,
                "too many requests in flight for this client",
            )
            .detail("too many concurrent requests")
            .header(header::RETRY_AFTER, "1"),
            r.api.mode,
        ),
    }
}
