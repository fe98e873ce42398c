//! The authentication stage: the operation's security requirements (an OR of ANDs of schemes)
//! checked against the request's credentials (bearer tokens, API keys, client certificates).
//! The principal, or the refusal a failed or missing credential gets, goes into the request's
//! context; the authorization stage enforces it, so that a presented credential that was
//! refused is counted by the lockout first.

mod apikey;
mod bearer;
mod mtls;

use std::sync::Arc;

use http::header::{self, HeaderMap};

use super::{RequestCtx, Verdict};
use crate::identity::mtls::ClientCert;
use crate::identity::{AuthFailure, Principal};
use crate::metrics::AuthLabels;
use crate::observe::Credentials;
use crate::pipeline::Ctx;
use crate::problem::Denial;
use crate::runtime::{OpPlan, Scheme};

/// The token of an `Authorization: Bearer` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The request phase: the principal, or the refusal, into the context.
pub(super) async fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict {
    let Some(plan) = r.plan else {
        return Verdict::Continue;
    };
    let cert = r.parts.extensions.get::<Arc<ClientCert>>().map(|c| &**c);
    let auth = Box::pin(authenticate(
        r.env,
        plan,
        &r.parts.headers,
        r.parts.uri.query(),
        cert,
    ))
    .await;
    match auth {
        Ok(principal) => {
            if let Some(p) = &principal {
                r.outcome.sub.clone_from(&p.subject);
                r.outcome.key_id = p.claim("key_id");
                r.outcome.credentials = Credentials {
                    presented: true,
                    valid: true,
                };
            }
            r.principal = principal;
        }
        Err((denial, presented)) => {
            r.outcome.credentials.presented = presented;
            if let Some(w) = &r.watch
                && counts_for_lockout(&denial, presented)
            {
                Box::pin(w.auth_failed(r.env)).await;
            }
            r.auth_failure = Some(Box::new((denial, presented)));
        }
    }
    Verdict::Continue
}

/// True when a refusal counts towards the client's lockout: a presented credential refused with
/// 401, unless the gateway could not get the keys to check it or the introspection endpoint
/// failed (with `failure_status: 401`): an outage must not lock out every client.
pub(super) fn counts_for_lockout(d: &Denial, presented: bool) -> bool {
    presented
        && d.status == 401
        && d.reason != unauthorized(&AuthFailure::KeysUnavailable).reason
        && !matches!(
            d.rule,
            crate::rules::AUTH_INTROSPECTION_UNAVAILABLE | crate::rules::AUTH_INTROSPECTION_INVALID
        )
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
        crate::rules::AUTHZ_SCOPE,
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

/// The refusal a failed or missing credential gets (401 with a challenge, or the failure's
/// own status when the gateway could not check it).
pub(crate) fn unauthorized(failure: &AuthFailure) -> Denial {
    let challenge = match failure {
        AuthFailure::Missing => "Bearer realm=\"portcullis\"".to_owned(),
        _ => "Bearer realm=\"portcullis\", error=\"invalid_token\"".to_owned(),
    };
    let detail = match failure {
        AuthFailure::Missing => "credentials are required",
        _ if failure.status() != 401 => "the credentials could not be checked; try again later",
        _ => "the credentials are not valid",
    };
    let denial = Denial::new(
        failure.status(),
        failure.rule(),
        format!("authentication failed: {failure}"),
    )
    .detail(detail);
    if failure.status() == 401 {
        denial.header(header::WWW_AUTHENTICATE, challenge)
    } else {
        denial
    }
}

/// Evaluates the operation's security requirements (OR of ANDs). A refusal says whether a
/// presented credential was refused (what the lockout counts), not only missing ones.
async fn authenticate(
    ctx: &Ctx<'_>,
    plan: &OpPlan,
    headers: &HeaderMap,
    query: Option<&str>,
    cert: Option<&ClientCert>,
) -> Result<Option<Arc<Principal>>, (Denial, bool)> {
    if plan.security.is_empty() {
        return Ok(None);
    }
    let mut verified: Option<Result<Arc<Principal>, AuthFailure>> = None;
    // The denial to send, ranked by (status, a credential was presented).
    let mut best: Option<(Denial, bool)> = None;
    for requirement in &plan.security {
        let mut principal = None;
        let mut failed: Option<Denial> = None;
        let mut presented_bad = false;
        for (name, scheme, scopes) in &requirement.schemes {
            match scheme {
                Scheme::Bearer => {
                    if verified.is_none() {
                        let r = match bearer_token(headers) {
                            None => Err(AuthFailure::Missing),
                            Some(token) => bearer::verify(ctx, token).await,
                        };
                        if let Err(f) = &r {
                            ctx.shared
                                .metrics
                                .auth_failures
                                .get_or_create(&AuthLabels {
                                    reason: f.code().to_owned(),
                                })
                                .inc();
                            tracing::info!(
                                request_id = %ctx.request_id,
                                reason = f.code(),
                                "authentication failed: {f}"
                            );
                        }
                        verified = Some(r);
                    }
                    match &verified {
                        Some(Ok(p)) => match with_scopes(name, p, scopes) {
                            Ok(p) => principal = Some(p),
                            Err(d) => {
                                failed = Some(d);
                                break;
                            }
                        },
                        Some(Err(f)) => {
                            presented_bad = *f != AuthFailure::Missing;
                            failed = Some(unauthorized(f));
                            break;
                        }
                        None => {}
                    }
                }
                Scheme::ApiKey {
                    name: key_name,
                    location,
                } => {
                    let place = apikey::KeyPlace {
                        scheme: name,
                        name: key_name,
                        location: *location,
                        fallback_header: ctx.gw.api_key_header.as_deref(),
                    };
                    let presented = apikey::Presented { headers, query };
                    let now = (ctx.shared.clock)();
                    let checked =
                        apikey::verify(ctx.gw.api_keys.as_deref(), &place, &presented, now)
                            .and_then(|p| with_scopes(name, &p, scopes).map_err(|d| (d, "")));
                    match checked {
                        Ok(p) => principal = Some(p),
                        Err((d, code)) => {
                            presented_bad = code != "missing";
                            count_failure(ctx, &d, code);
                            failed = Some(d);
                            break;
                        }
                    }
                }
                Scheme::MutualTls => {
                    let checked = mtls::verify(ctx.gw.cert_map.as_deref(), cert, name)
                        .and_then(|p| with_scopes(name, &p, scopes).map_err(|d| (d, "")));
                    match checked {
                        Ok(p) => principal = Some(p),
                        Err((d, code)) => {
                            presented_bad = code != "cert_missing";
                            count_failure(ctx, &d, code);
                            failed = Some(d);
                            break;
                        }
                    }
                }
                Scheme::Unsupported(kind) => {
                    failed = Some(
                        Denial::new(
                            401,
                            crate::rules::AUTH_UNSUPPORTED,
                            format!("scheme {name} ({kind}) cannot be verified by the gateway"),
                        )
                        .detail("credentials are required"),
                    );
                    break;
                }
            }
        }
        match failed {
            None => return Ok(principal),
            Some(d) => {
                // Prefer the most telling failure: a valid caller short of rights (403) over
                // a bad credential (401, with its own rule) over a missing one.
                if best
                    .as_ref()
                    .is_none_or(|(b, b_bad)| (d.status, presented_bad) > (b.status, *b_bad))
                {
                    best = Some((d, presented_bad));
                }
            }
        }
    }
    Err(best.unwrap_or_else(|| (unauthorized(&AuthFailure::Missing), false)))
}

/// Counts and logs a refused credential (`code` empty: not a credential failure).
fn count_failure(ctx: &Ctx<'_>, d: &Denial, code: &str) {
    if code.is_empty() {
        return;
    }
    ctx.shared
        .metrics
        .auth_failures
        .get_or_create(&AuthLabels {
            reason: code.to_owned(),
        })
        .inc();
    tracing::info!(
        request_id = %ctx.request_id,
        reason = code,
        "authentication failed: {}",
        d.reason
    );
}
