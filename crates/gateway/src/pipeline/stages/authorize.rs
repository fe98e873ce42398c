//! The authorization stage: authentication's verdict (a missing or refused credential, or
//! scopes short of the requirement) and then the admin role of operations marked admin
//! (`x-portcullis-admin`, `admin_operations`; OWASP API5).

use super::{RequestCtx, Verdict};
use crate::identity::{AuthFailure, Principal};
use crate::problem::Denial;
use crate::runtime::Api;

use super::unauthorized;

/// The request phase.
pub(super) fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict {
    if let Some(failure) = r.auth_failure.take() {
        return Verdict::Deny(failure.0, r.api.mode);
    }
    if r.plan.is_some_and(|p| p.admin)
        && let Some(d) = admin_denial(r.api, r.principal.as_deref())
    {
        return Verdict::Deny(d, r.api.mode);
    }
    Verdict::Continue
}

/// The refusal for a caller without the admin role (401 when there is no caller).
fn admin_denial(api: &Api, principal: Option<&Principal>) -> Option<Denial> {
    match principal {
        None => Some(unauthorized(&AuthFailure::Missing)),
        Some(p) if p.roles.contains(&api.admin_role) => None,
        Some(_) => Some(
            Denial::new(
                403,
                crate::rules::AUTHZ_ADMIN,
                format!("the operation requires the {} role", api.admin_role),
            )
            .detail("insufficient rights"),
        ),
    }
}
