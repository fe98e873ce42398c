//! The deprecation stage: an operation the spec marks deprecated is refused with 410
//! (`deprecated: block`, in the API's mode) or served and recorded as a `monitor` decision with
//! the rule `route.deprecated` (`deprecated: log`, unless a later check blocks it).

use super::{RequestCtx, Verdict};
use crate::config::{Deprecated, Mode};
use crate::problem::Denial;
use crate::runtime::{Api, OpPlan};

/// Whether the stage has anything to do for `plan`.
pub(super) fn applies(api: &Api, plan: &OpPlan) -> bool {
    plan.deprecated && api.deprecated != Deprecated::Allow
}

/// The request phase.
pub(super) fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict {
    let Some(plan) = r.plan else {
        return Verdict::Continue;
    };
    match r.api.deprecated {
        Deprecated::Allow => Verdict::Continue,
        Deprecated::Log => Verdict::Deny(
            Denial::new(
                410,
                crate::rules::ROUTE_DEPRECATED,
                format!(
                    "operation {} is deprecated (served: deprecated: log)",
                    plan.id
                ),
            ),
            Mode::Monitor,
        ),
        Deprecated::Block => Verdict::Deny(
            Denial::new(
                410,
                crate::rules::ROUTE_DEPRECATED,
                format!("operation {} is deprecated and no longer served", plan.id),
            ),
            r.api.mode,
        ),
    }
}
