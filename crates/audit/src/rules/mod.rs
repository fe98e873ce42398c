//! The rules, one module per family, and the registry that lists them all.

use portcullis_spec::{Operation, SecurityOrigin, pointer};

use crate::context::Context;
use crate::rule::Rule;

pub mod auth;
pub mod authz;
pub mod config;
pub mod document;
pub mod exposure;
pub mod input;
pub mod inventory;
pub mod limits;
pub mod meta;
pub mod ssrf;
pub mod transport;

/// Every rule, in id order.
pub fn all() -> &'static [&'static dyn Rule] {
    static ALL: &[&dyn Rule] = &[
        &auth::WriteWithoutSecurity,
        &auth::ReadWithoutSecurity,
        &auth::SecurityOptOut,
        &auth::HttpBasic,
        &auth::ApiKeyInQuery,
        &auth::ApiKeyInCookie,
        &auth::OAuthImplicit,
        &auth::OAuthPassword,
        &auth::CredentialsWithoutTls,
        &auth::InsecureHttpScheme,
        &auth::JwtBestPractices,
        &auth::UndefinedScheme,
        &auth::NoSecuritySchemes,
        &auth::UndeclaredScope,
        &auth::UnusedScope,
        &auth::CredentialsInUrl,
        &auth::LoginWithoutLimits,
        &auth::OAuthUrlWithoutTls,
        &auth::NoRefreshToken,
        &auth::NoGlobalSecurity,
        &auth::ScopesOnPlainScheme,
        &authz::NumericId,
        &authz::AdminNotStricter,
        &authz::ObjectWithout403,
        &authz::OAuthWithoutScopes,
        &input::StringUnbounded,
        &input::StringUnrestricted,
        &input::ArrayUnbounded,
        &input::IntegerUnbounded,
        &input::IntegerNoFormat,
        &input::NumberUnbounded,
        &input::OpenObject,
        &input::AdditionalUnbounded,
        &input::PrivilegedWritable,
        &input::BodyWithoutSchema,
        &input::NoValidationError,
        &exposure::SecretInResponse,
        &exposure::PersonalInResponse,
        &exposure::TokenInResponse,
        &exposure::ResponseWithoutSchema,
        &limits::No429,
        &limits::NoRateLimitHeaders,
        &limits::NoRetryAfter,
        &limits::NoPagination,
        &limits::PageSizeUnbounded,
        &transport::HttpServer,
        &transport::InternalServer,
        &config::No401,
        &config::No500,
        &config::NoCors,
        &config::MediaTypesUndeclared,
        &document::UnresolvedRef,
        &document::Version32,
        &inventory::DeprecatedServed,
        &inventory::NoVersion,
        &inventory::NoContact,
        &inventory::ServerAudience,
        &inventory::ServerEnvironment,
        &ssrf::UrlParameter,
        &ssrf::UrlProperty,
        &ssrf::RedirectParameter,
        &meta::SuppressionWithoutReason,
        &meta::SuppressionUnknownRule,
    ];
    ALL
}

/// The rule with this id (case-insensitive).
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    all()
        .iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id))
}

/// A pointer below an operation.
pub(crate) fn op_ptr(op: &Operation, suffix: &str) -> String {
    pointer::push(&op.location.pointer, suffix)
}

/// True when anyone may call the operation: no requirement, or an anonymous alternative.
pub(crate) fn is_public(op: &Operation) -> bool {
    op.security.is_empty() || op.security.iter().any(|r| r.is_anonymous())
}

/// Where to report a problem with an operation's security: its own `security` when declared
/// there, otherwise the operation itself (an inherited requirement is reported once per
/// operation it affects). Returns the file and the pointer.
pub(crate) fn security_place<'a>(
    _cx: &'a Context<'_>,
    op: &'a Operation,
) -> (&'a std::sync::Arc<str>, String) {
    match op.security_origin {
        SecurityOrigin::Operation => (&op.location.file, op_ptr(op, "security")),
        SecurityOrigin::Global | SecurityOrigin::None => {
            (&op.location.file, op.location.pointer.clone())
        }
    }
}

/// `METHOD path` of an operation, for messages.
pub(crate) fn label(op: &Operation) -> String {
    format!("{} {}", op.method, op.path)
}

/// True when the operation declares a response with this status (or its class, e.g. `4XX`).
pub(crate) fn has_status(op: &Operation, status: &str) -> bool {
    op.responses.keys().any(|k| {
        k == status
            || (k.len() == 3
                && k.get(1..).is_some_and(|r| r.eq_ignore_ascii_case("xx"))
                && k.get(..1) == status.get(..1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_well_formed() {
        let ids: Vec<&str> = all().iter().map(|r| r.meta().id).collect();
        let mut seen = std::collections::HashSet::new();
        for id in &ids {
            assert!(seen.insert(*id), "duplicate id {id}");
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(parts.len(), 3, "{id}");
            assert_eq!(parts[0], "PC");
            assert_eq!(parts[2].len(), 3, "{id}");
        }
        assert!(ids.len() >= 45, "{} rules", ids.len());
        for r in all() {
            let m = r.meta();
            assert!(
                !m.title.is_empty() && !m.rationale.is_empty() && !m.remediation.is_empty(),
                "{}",
                m.id
            );
        }
        assert!(find("pc-auth-001").is_some());
        assert!(find("PC-NOPE-001").is_none());
    }
}
