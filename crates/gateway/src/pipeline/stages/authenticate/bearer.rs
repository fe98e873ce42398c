//! The bearer-token step of authentication: a token shaped like a JWT (three base64url parts)
//! is verified against `identity.jwt`; any other token goes to `identity.introspection` when
//! it is configured (and is refused as a malformed JWT when it is not). Introspection calls,
//! cache hits and stale answers are counted here; the token never reaches a log or a metric.

use std::sync::Arc;

use super::Ctx;
use crate::identity::introspection::{CallResult, looks_like_jwt};
use crate::identity::{AuthFailure, Principal};
use crate::metrics::IntrospectionLabels;

/// Verifies the bearer `token` into a caller.
pub(crate) async fn verify(ctx: &Ctx<'_>, token: &str) -> Result<Arc<Principal>, AuthFailure> {
    if let Some(introspector) = &ctx.gw.introspection
        && !looks_like_jwt(token)
    {
        let judged = introspector.introspect(token).await;
        let metrics = &ctx.shared.metrics;
        if let Some(call) = judged.call {
            let result = match call {
                CallResult::Active => "active",
                CallResult::Inactive => "inactive",
                CallResult::Error => "error",
            };
            metrics
                .introspection_calls
                .get_or_create(&IntrospectionLabels {
                    result: result.to_owned(),
                })
                .inc();
        }
        if judged.cache_hit {
            metrics.introspection_cache_hits.inc();
        }
        if judged.stale {
            metrics.introspection_stale.inc();
            tracing::warn!(
                request_id = %ctx.request_id,
                "introspection endpoint failed; a cached answer was used (on_failure: allow_cached)"
            );
        }
        return judged.result.map_err(AuthFailure::Introspection);
    }
    if ctx.gw.verifier.is_empty() {
        return Err(AuthFailure::UnknownIssuer);
    }
    ctx.gw.verifier.verify(token).await
}
