//! Who is calling: credentials (JWT bearer tokens) verified into a [`Principal`], and the
//! reasons a credential is refused, for logs and `WWW-Authenticate`.
//!
//! * [`jwt`]: verification of JWTs from configured issuers (algorithm allowlists, `kid`
//!   selection, time claims with leeway, audience), with a bounded cache of verified tokens.
//! * [`apikeys`]: API keys from a file of hashes (`pc_<id>_<secret>`), with distinct refusals.
//! * [`mtls`]: verified client certificates (subject CN, SAN DNS/URI) mapped to principals.
//! * [`introspection`]: opaque bearer tokens asked about at an OAuth2 introspection endpoint
//!   (RFC 7662), with a bounded cache of answers honouring `exp`.
//! * [`jwks`]: key sets from a file or a URL (cached, refetched on an unknown `kid` at a
//!   bounded rate, stale keys kept while the endpoint fails).

pub mod apikeys;
pub mod introspection;
pub mod jwks;
pub mod jwt;
pub mod mtls;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// `sub`.
    pub subject: Option<String>,
    /// `iss`.
    pub issuer: String,
    /// Granted scopes (`scope`, `scp`, plus those of the roles).
    pub scopes: BTreeSet<String>,
    /// Roles (the configured roles claim).
    pub roles: BTreeSet<String>,
    /// Every claim, for owner binding and claim-keyed limits.
    pub claims: Arc<Value>,
}

impl Principal {
    /// A claim as text (strings as they are, numbers and booleans printed).
    pub fn claim(&self, name: &str) -> Option<String> {
        match self.claims.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Why a credential was refused. The text never contains the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No credential where the operation requires one.
    #[error("no credential")]
    Missing,
    /// Longer than the limit.
    #[error("the token is longer than {0} bytes")]
    TooLarge(usize),
    /// Not three base64url parts with JSON header and claims.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `alg: none`.
    #[error("unsigned token (alg none)")]
    AlgNone,
    /// An algorithm this issuer does not allow.
    #[error("algorithm {0} is not allowed for this issuer")]
    AlgNotAllowed(String),
    /// A `crit` header: extensions this gateway does not implement.
    #[error("critical header extensions are not supported: {0}")]
    Crit(String),
    /// No configured issuer has this `iss`.
    #[error("unknown issuer")]
    UnknownIssuer,
    /// No key with this `kid` (after a refetch).
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The key set cannot be obtained.
    #[error("signing keys unavailable")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past.
    #[error("expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("issued in the future")]
    IssuedInFuture,
    /// `aud` does not name this API.
    #[error("wrong audience")]
    WrongAudience,
    /// A required claim is absent or of the wrong type.
    #[error("claim {0} missing or invalid")]
    Claim(&'static str),
    /// An opaque token refused by introspection, or not judged because the endpoint failed.
    #[error("{0}")]
    Introspection(introspection::Failure),
}

impl AuthFailure {
    /// A stable short code for logs and metrics (`expired`, `bad_signature`...).
    pub fn code(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::TooLarge(_) => "too_large",
            AuthFailure::Malformed(_) => "malformed",
            AuthFailure::AlgNone => "alg_none",
            AuthFailure::AlgNotAllowed(_) => "alg_not_allowed",
            AuthFailure::Crit(_) => "crit",
            AuthFailure::UnknownIssuer => "unknown_issuer",
            AuthFailure::UnknownKey(_) => "unknown_key",
            AuthFailure::KeysUnavailable => "keys_unavailable",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::Expired => "expired",
            AuthFailure::NotYetValid => "not_yet_valid",
            AuthFailure::IssuedInFuture => "issued_in_future",
            AuthFailure::WrongAudience => "wrong_audience",
            AuthFailure::Claim(_) => "bad_claim",
            AuthFailure::Introspection(f) => f.code(),
        }
    }

    /// The decision-log rule: `auth.invalid` for JWTs, its own for introspection.
    pub fn rule(&self) -> &'static str {
        match self {
            AuthFailure::Introspection(f) => f.rule(),
            _ => crate::rules::AUTH_INVALID,
        }
    }

    /// The status to answer with: 401, or an introspection endpoint's `failure_status`.
    pub fn status(&self) -> u16 {
        match self {
            AuthFailure::Introspection(f) => f.status(),
            _ => 401,
        }
    }
}
