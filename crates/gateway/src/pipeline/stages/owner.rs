//! The owner-binding stage (`apis[].owner_binding`; OWASP API1, BOLA): a path, query or body
//! parameter that names a resource must equal a claim of the caller (its `sub`, say), unless
//! the caller holds one of the exempt roles.

use bytes::Bytes;
use http_body::Body as HttpBody;
use portcullis_spec::PathParams;
use serde_json::Value;

use super::{RequestCtx, Verdict, unauthorized};
use crate::identity::{AuthFailure, Principal};
use crate::problem::Denial;
use crate::proxy::BoxError;
use crate::runtime::OwnerRule;

/// The request phase: the body is read when a bound parameter is in neither the path nor the
/// query and a body came.
pub(super) async fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let Some(plan) = r.plan else {
        return Verdict::Continue;
    };
    let params = r.params;
    r.query();
    let in_body = plan.owner.iter().any(|o| {
        params.get(&o.param).is_none()
            && !r
                .query
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|(k, _)| *k == o.param)
    });
    if in_body
        && r.has_body()
        && let Err(d) = r.read_body().await
    {
        return Verdict::Refuse(d);
    }
    let query = r.query.as_deref().unwrap_or_default();
    for rule in &plan.owner {
        if let Some(d) = denial(rule, r.principal.as_deref(), params, query, r.body_bytes()) {
            return Verdict::Deny(d, r.api.mode);
        }
    }
    Verdict::Continue
}

/// The refusal when `rule`'s parameter is present and is not the caller's.
fn denial(
    rule: &OwnerRule,
    principal: Option<&Principal>,
    params: &PathParams<'_, '_>,
    query: &[(String, String)],
    body: Option<&Bytes>,
) -> Option<Denial> {
    // The one value the upstream gets: a parameter sent twice is refused, whichever copy
    // the upstream would read.
    if params.get(&rule.param).is_none()
        && query.iter().filter(|(k, _)| *k == rule.param).count() > 1
    {
        return Some(Denial::new(
            400,
            crate::rules::REQUEST_PARAMETER,
            format!("{} is sent more than once; it takes one value", rule.param),
        ));
    }
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
                crate::rules::AUTHZ_OWNER,
                format!(
                    "{} {value:?} is not the caller's ({} claim)",
                    rule.param, rule.claim
                ),
            )
            .detail("the resource does not belong to the caller"),
        ),
    }
}
