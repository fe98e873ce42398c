//! An introspection answer (RFC 7662 §2.2) judged into a caller or a refusal.
//!
//! The answer must be a JSON object with a boolean `active`; `false` is a refusal. An active
//! answer's members are type-checked where they are used (`exp`, `iss`, `aud`, `sub`,
//! `client_id`, `scope`); a wrong type makes the whole answer invalid, never a guess. `exp` in
//! the past is a refusal (`expired`); `nbf` and `iat` are kept as claims (the server's
//! `active` already answers for them).

use std::collections::BTreeSet;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::Failure;
use crate::identity::Principal;

/// The issuer of callers when neither the configuration nor the answer names one.
pub const DEFAULT_ISSUER: &str = "introspection";

/// What an answer must satisfy, and how it becomes a caller.
pub(super) struct Expect<'a> {
    /// Required `iss`.
    pub issuer: Option<&'a str>,
    /// Accepted audiences (empty: not checked).
    pub audiences: &'a [String],
    /// The member holding roles.
    pub roles_claim: &'a str,
    /// Role name to granted scopes.
    pub roles: &'a IndexMap<String, Vec<String>>,
}

/// A well-formed answer.
#[derive(Debug)]
pub(super) enum Answer {
    /// Active and acceptable: the caller, and the answer's `exp`.
    Active(Arc<Principal>, Option<u64>),
    /// Inactive, expired, or for another issuer or audience.
    Refused(Failure),
}

/// Judges the body of a 200 answer at `now`; `Err` says why it is not a valid answer.
pub(super) fn judge(body: &[u8], now: u64, expect: &Expect<'_>) -> Result<Answer, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    let Value::Object(claims) = value else {
        return Err("not a JSON object".to_owned());
    };
    match claims.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(Answer::Refused(Failure::Inactive)),
        Some(_) => return Err("`active` is not a boolean".to_owned()),
        None => return Err("no `active` member".to_owned()),
    }
    let exp = seconds(&claims, "exp")?;
    let iss = text(&claims, "iss")?;
    let sub = text(&claims, "sub")?;
    let client_id = text(&claims, "client_id")?;
    let mut scopes = BTreeSet::new();
    for name in ["scope", "scp"] {
        scopes.extend(strings(&claims, name, true)?);
    }
    let audiences = strings(&claims, "aud", false)?;
    let roles = strings(&claims, expect.roles_claim, true)?;
    if exp.is_some_and(|exp| exp <= now) {
        return Ok(Answer::Refused(Failure::Expired));
    }
    if let Some(required) = expect.issuer
        && iss != Some(required)
    {
        return Ok(Answer::Refused(Failure::WrongIssuer));
    }
    if !expect.audiences.is_empty() && !audiences.iter().any(|a| expect.audiences.contains(a)) {
        return Ok(Answer::Refused(Failure::WrongAudience));
    }
    for role in &roles {
        if let Some(granted) = expect.roles.get(role) {
            scopes.extend(granted.iter().cloned());
        }
    }
    let principal = Principal {
        subject: sub.or(client_id).map(str::to_owned),
        issuer: expect.issuer.or(iss).unwrap_or(DEFAULT_ISSUER).to_owned(),
        scopes,
        roles: roles.into_iter().collect(),
        claims: Arc::new(Value::Object(claims.clone())),
    };
    Ok(Answer::Active(Arc::new(principal), exp))
}

/// A member that must be a string when present.
fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

/// A member that must be a non-negative number of seconds when present.
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not a number of seconds")),
    }
}

/// A string (split at spaces when `split`) or an array of strings, when present.
fn strings(claims: &Map<String, Value>, name: &str, split: bool) -> Result<Vec<String>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if split => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("`{name}` holds something other than strings")),
        Some(_) => Err(format!(
            "`{name}` is neither a string nor an array of strings"
        )),
    }
}
