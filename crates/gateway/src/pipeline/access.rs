//! The stages after routing: deprecation, authentication, rate limits, authorization
//! (scopes, admin role, owner binding), validation, then forwarding.

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use http::header::{self, HeaderMap, HeaderName};
use http::request::Parts;
use hyper::body::{Body as _, Incoming};
use portcullis_spec::PathParams;
use serde_json::Value;

use super::{
    Ctx, Outcome, Routed, deprecated_denial, forward, full, limit_key, on, policy_mode, read_body,
    stream_body,
};
use crate::identity::mtls::ClientCert;
use crate::identity::{AuthFailure, Principal};
use crate::problem::Denial;
use crate::proxy::Body;
use crate::request_id::RequestId;
use crate::runtime::{Api, OwnerRule};
use crate::validate::Violation;

type Headers = Vec<(HeaderName, String)>;

/// A request body: still streaming, or already read (a login operation's, for the lockout).
enum Pending {
    Stream(Incoming),
    Read(Bytes),
}

mod apikey;
mod bearer;
mod credentials;
mod lockout;
mod mtls;

use credentials::{authenticate, unauthorized};

/// Runs the stages for a routed (or undocumented but logged) request (a function returning
/// an `async move` block, as [`super::handle`] and for the same reason).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would keep its by-value arguments twice in its state"
)]
pub(crate) fn run<'f>(
    ctx: &'f Ctx<'_>,
    routed: &'f Routed<'_, '_>,
    parts: Parts,
    body: Incoming,
    outcome: &'f mut Outcome,
) -> impl Future<Output = Response<Body>> + Send + 'f {
    async move {
        let Routed {
            api,
            plan,
            params,
            forward_path,
        } = routed;
        let api: &Api = api;
        let forward_path = forward_path.as_deref();
        let max = ctx.gw.config.server.limits.max_body.as_usize();
        let rid = ctx.request_id;
        let Some(plan) = plan else {
            // Undocumented and only logged: limits that apply to every request, then forward.
            let extra = match limits(
                ctx,
                api,
                &api.undocumented_limits,
                None,
                &parts.headers,
                outcome,
            )
            .await
            {
                Ok(h) => h,
                Err(r) => return r,
            };
            // Boxed, as every await off the common path here: an async fn's state holds each
            // future it awaits (twice over while it is moved in), and this one is built per
            // request.
            return Box::pin(forward(
                ctx,
                api,
                parts,
                stream_body(body, max),
                forward_path,
                outcome,
                extra,
            ))
            .await;
        };
        if let Some((d, mode)) = deprecated_denial(api, plan)
            && let Some(r) = outcome.deny(mode, d, rid)
        {
            return r;
        }
        // Lockout: a login operation's body is read first (it names the account); a locked IP or
        // account is refused before any credential is checked.
        let body = match lockout::login_of(api, plan) {
            Some(_) => match Box::pin(read_body(body, max)).await {
                Ok(b) => Pending::Read(b),
                Err(d) => return outcome.refuse(&d, rid),
            },
            None => Pending::Stream(body),
        };
        let early = match &body {
            Pending::Read(b) => Some(b),
            Pending::Stream(_) => None,
        };
        let watch = lockout::Watch::new(api, plan, ctx.ip, early, &parts.headers);
        if let Some(w) = &watch
            && let Some(d) = Box::pin(w.check(ctx)).await
            && let Some(r) = outcome.deny(api.mode, d, rid)
        {
            return r;
        }
        let cert = parts.extensions.get::<Arc<ClientCert>>().map(|c| &**c);
        let auth = if plan.security.is_empty() {
            Ok(None)
        } else {
            Box::pin(authenticate(
                ctx,
                plan,
                &parts.headers,
                parts.uri.query(),
                cert,
            ))
            .await
        };
        if let (Some(w), Err((d, presented))) = (&watch, &auth)
            && counts_for_lockout(d, *presented)
        {
            Box::pin(w.auth_failed(ctx)).await;
        }
        let principal = auth.as_ref().ok().cloned().flatten();
        if let Some(p) = &principal {
            outcome.sub.clone_from(&p.subject);
            outcome.key_id = p.claim("key_id");
        }
        let extra = match limits(
            ctx,
            api,
            &plan.limits,
            principal.as_deref(),
            &parts.headers,
            outcome,
        )
        .await
        {
            Ok(h) => h,
            Err(r) => return r,
        };
        if let Err((d, _)) = auth
            && let Some(r) = outcome.deny(api.mode, d, rid)
        {
            return r;
        }
        if plan.admin
            && let Some(d) = admin_denial(api, principal.as_deref())
            && let Some(r) = outcome.deny(api.mode, d, rid)
        {
            return r;
        }
        let _permit = match &api.concurrency {
            Some(c) => match c.acquire(&ctx.ip.to_string()) {
                Some(p) => Some(p),
                None => {
                    let d = Denial::new(
                        429,
                        "ratelimit.concurrency",
                        "too many requests in flight for this client",
                    )
                    .detail("too many concurrent requests")
                    .header(header::RETRY_AFTER, "1");
                    if let Some(r) = outcome.deny(api.mode, d, rid) {
                        return r;
                    }
                    None
                }
            },
            None => None,
        };
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        if on(api.request.validate)
            && let Some(v) = plan.check.check_params(params, &query, &parts.headers)
            && let Some(r) = deny_violation(api, v, outcome, rid)
        {
            return r;
        }
        let body_params = plan
            .owner
            .iter()
            .any(|o| params.get(&o.param).is_none() && !query.iter().any(|(k, _)| *k == o.param));
        let validate_body = plan.check.body.is_some()
            && (on(api.request.validate) || on(api.request.unknown_fields));
        // Whether a body came. hyper knows when none can (HTTP/1 without a length or with a
        // zero one; HTTP/2 with END_STREAM on the head), which spares the common GET any
        // lookup; else the headers declare one. HTTP/2 needs no length: where an operation
        // takes no body and none was declared, only the body itself can tell (it is read,
        // bounded by max_body: an empty DATA frame that ends the stream is no body).
        let body = match body {
            Pending::Stream(stream)
                if plan.check.body.is_none()
                    && on(api.request.validate)
                    && !stream.is_end_stream()
                    && !declares_body(&parts.headers) =>
            {
                match Box::pin(read_body(stream, max)).await {
                    Ok(b) => Pending::Read(b),
                    Err(d) => return outcome.refuse(&d, rid),
                }
            }
            other => other,
        };
        let has_body = match &body {
            Pending::Read(b) => !b.is_empty(),
            Pending::Stream(stream) => !stream.is_end_stream(),
        };
        if plan.check.body.is_none() && has_body && on(api.request.validate) {
            let d = Denial::new(
                415,
                "request.content-type",
                format!("operation {} takes no request body", plan.id),
            );
            if let Some(r) =
                outcome.deny(policy_mode(api, crate::validate::Policy::Validate), d, rid)
            {
                return r;
            }
        }
        let (body, bytes) = match body {
            Pending::Read(b) => (full(b.clone()), Some(b)),
            Pending::Stream(body) if validate_body || (body_params && has_body) => {
                match Box::pin(read_body(body, max)).await {
                    Ok(b) => (full(b.clone()), Some(b)),
                    Err(d) => return outcome.refuse(&d, rid),
                }
            }
            Pending::Stream(body) => (stream_body(body, max), None),
        };
        if validate_body && let (Some(check), Some(bytes)) = (&plan.check.body, &bytes) {
            let content_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let violations = Box::pin(check.check(
                content_type,
                bytes,
                ctx.gw.config.server.limits.max_json_depth,
                on(api.request.validate),
                on(api.request.unknown_fields),
            ))
            .await;
            for v in violations {
                if let Some(r) = deny_violation(api, v, outcome, rid) {
                    return r;
                }
            }
        }
        for rule in &plan.owner {
            if let Some(d) =
                owner_denial(rule, principal.as_deref(), params, &query, bytes.as_ref())
                && let Some(r) = outcome.deny(api.mode, d, rid)
            {
                return r;
            }
        }
        let response = forward(ctx, api, parts, body, forward_path, outcome, extra).await;
        if let Some(w) = &watch {
            Box::pin(w.answered(ctx, outcome.upstream_status)).await;
        }
        response
    }
}

/// True when a refusal counts towards the client's lockout: a presented credential refused with
/// 401, unless the gateway could not get the keys to check it or the introspection endpoint
/// failed (with `failure_status: 401`): an outage must not lock out every client.
/// Whether the headers declare a body: `Transfer-Encoding`, or a `Content-Length` other
/// than 0.
fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

fn counts_for_lockout(d: &Denial, presented: bool) -> bool {
    presented
        && d.status == 401
        && d.reason != unauthorized(&AuthFailure::KeysUnavailable).reason
        && !matches!(
            d.rule,
            "auth.introspection-unavailable" | "auth.introspection-invalid"
        )
}

fn deny_violation(
    api: &Api,
    v: Violation,
    outcome: &mut Outcome,
    rid: &RequestId,
) -> Option<Response<Body>> {
    let mode = policy_mode(api, v.policy);
    outcome.deny(mode, Denial::new(v.status, v.rule, v.reason), rid)
}

/// Checks the applicable limits in one store round trip (boxed: the store's future is large,
/// and most operations have no limit, so it is built only when one applies).
async fn limits(
    ctx: &Ctx<'_>,
    api: &Api,
    indices: &[usize],
    principal: Option<&Principal>,
    headers: &HeaderMap,
    outcome: &mut Outcome,
) -> Result<Headers, Response<Body>> {
    let keyed: crate::ratelimit::Few<(&crate::ratelimit::Limit, String)> = indices
        .iter()
        .filter_map(|i| api.limits.get(*i))
        .filter_map(|l| limit_key(&l.key, ctx.ip, principal, headers).map(|k| (l, k)))
        .collect();
    if keyed.is_empty() {
        return Ok(Vec::new());
    }
    let checks: crate::ratelimit::Few<(&crate::ratelimit::Limit, &str)> =
        keyed.iter().map(|(l, k)| (*l, k.as_str())).collect();
    let decision = Box::pin(ctx.gw.limiter.check(&checks)).await;
    ctx.shared
        .metrics
        .ratelimit_degraded
        .set(i64::try_from(ctx.gw.limiter.degraded_decisions()).unwrap_or(i64::MAX));
    if decision.allowed && !api.rate_limit_headers {
        return Ok(Vec::new());
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
    if !decision.allowed {
        let mut d = Denial::new(
            429,
            "ratelimit",
            format!(
                "rate limit {} exceeded",
                decision.denied_by.as_deref().unwrap_or("?")
            ),
        )
        .detail("too many requests");
        d.headers.clone_from(&headers);
        d.headers.push((
            header::RETRY_AFTER,
            decision.retry_after_secs.unwrap_or(1).to_string(),
        ));
        if let Some(r) = outcome.deny(api.mode, d, ctx.request_id) {
            return Err(r);
        }
    }
    Ok(if api.rate_limit_headers {
        headers
    } else {
        Vec::new()
    })
}

/// The principal when it holds every scope `scopes` names; else a 403 naming the missing ones.
fn with_scopes(
    scheme: &str,
    p: &Arc<Principal>,
    scopes: &[String],
) -> Result<Arc<Principal>, Denial> {
    let missing: Vec<&str> = scopes
        .iter()
        .filter(|s| !p.scopes.contains(*s))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(p.clone());
    }
    Err(Denial::new(
        403,
        "authz.scope",
        format!("scheme {scheme}: missing scopes {}", missing.join(" ")),
    )
    .detail("insufficient scope")
    .header(
        header::WWW_AUTHENTICATE,
        format!(
            "Bearer realm=\"portcullis\", error=\"insufficient_scope\", scope=\"{}\"",
            scopes.join(" ")
        ),
    ))
}

fn admin_denial(api: &Api, principal: Option<&Principal>) -> Option<Denial> {
    match principal {
        None => Some(unauthorized(&AuthFailure::Missing)),
        Some(p) if p.roles.contains(&api.admin_role) => None,
        Some(_) => Some(
            Denial::new(
                403,
                "authz.admin",
                format!("the operation requires the {} role", api.admin_role),
            )
            .detail("insufficient rights"),
        ),
    }
}

fn owner_denial(
    rule: &OwnerRule,
    principal: Option<&Principal>,
    params: &PathParams<'_, '_>,
    query: &[(String, String)],
    body: Option<&Bytes>,
) -> Option<Denial> {
    let value: Option<String> = params
        .get(&rule.param)
        .map(|v| v.into_owned())
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| *k == rule.param)
                .map(|(_, v)| v.clone())
        })
        .or_else(|| {
            let body: Value = serde_json::from_slice(body?).ok()?;
            match body.get(&rule.param)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                other => Some(other.to_string()),
            }
        });
    let value = value?;
    let Some(principal) = principal else {
        return Some(unauthorized(&AuthFailure::Missing));
    };
    if rule
        .exempt_roles
        .iter()
        .any(|r| principal.roles.contains(r))
    {
        return None;
    }
    match principal.claim(&rule.claim) {
        Some(owner) if owner == value => None,
        _ => Some(
            Denial::new(
                403,
                "authz.owner",
                format!(
                    "{} {value:?} is not the caller's ({} claim)",
                    rule.param, rule.claim
                ),
            )
            .detail("the resource does not belong to the caller"),
        ),
    }
}

#[cfg(test)]
mod tests;
