//! JWT verification for the configured issuers.
//!
//! Order of checks (each failure has its own [`AuthFailure`]): size; three base64url parts;
//! the header (`alg: none` and `crit` refused; `jku`, `x5u`, `jwk` and `x5c` ignored: keys
//! come only from configuration); the issuer (unverified `iss` picks the configured issuer,
//! whose allowlist must hold `alg`; HMAC only with a configured secret, never with a key from
//! a key set); the key by `kid` (an unknown `kid` triggers one rate-limited refetch); the
//! signature; then `exp` (required), `nbf`, `iat` with leeway against an injectable clock,
//! and `aud`. Verified tokens are cached until they expire, in a bounded map.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indexmap::IndexMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::jwks::{Key, KeySource};
use super::{AuthFailure, Principal};
use crate::bounded::{BoundedMap, Expiring, WhenFull};

/// Longest token accepted.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Most verified tokens cached.
pub const CACHE_CAPACITY: usize = 10_000;

/// Seconds since the epoch; injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// One trusted issuer.
pub struct Issuer {
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted audiences (empty: not checked).
    pub audiences: Vec<String>,
    /// Allowed algorithms.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed, seconds.
    pub leeway: u64,
    /// Asymmetric keys.
    pub keys: KeySource,
    /// HMAC secret (HS* allowed only with it).
    pub secret: Option<DecodingKey>,
    /// Claim holding roles.
    pub roles_claim: String,
}

/// An algorithm name that is not one of the JWS algorithms we know.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown JWT algorithm {0:?} (expected RS256/384/512, PS256/384/512, ES256/384, EdDSA, HS256/384/512)"
)]
pub struct UnknownAlgorithm(pub String);

/// Parses an algorithm name from configuration.
pub fn algorithm(name: &str) -> Result<Algorithm, UnknownAlgorithm> {
    Algorithm::from_str(name).map_err(|_| UnknownAlgorithm(name.to_owned()))
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn kty_for(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 | Algorithm::ES384 => "EC",
        Algorithm::EdDSA => "OKP",
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => "oct",
        _ => "RSA",
    }
}

/// A verified token's principal, cached until the token expires (`exp` plus leeway).
struct Verified {
    principal: Arc<Principal>,
    until: u64,
}

impl Expiring for Verified {
    fn alive(&self, now: u64) -> bool {
        now < self.until
    }
}

/// Verifies tokens against the configured issuers.
pub struct Verifier {
    issuers: Vec<Issuer>,
    roles: IndexMap<String, Vec<String>>,
    clock: Clock,
    /// Verified tokens (seconds; full shards swept at most once a second, then a tenth evicted).
    cache: BoundedMap<Box<str>, Verified>,
    cache_on: bool,
}

fn b64_json(part: &str) -> Result<Value, AuthFailure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| AuthFailure::Malformed("a part is not base64url".to_owned()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| AuthFailure::Malformed("a part is not JSON".to_owned()))?;
    if !value.is_object() {
        return Err(AuthFailure::Malformed(
            "a part is not a JSON object".to_owned(),
        ));
    }
    Ok(value)
}

impl Verifier {
    /// Each issuer's `iss` with its remote key set, for the issuers that have one.
    pub fn remote_key_sets(
        &self,
    ) -> impl Iterator<Item = (&str, &crate::identity::jwks::RemoteJwks)> {
        self.issuers.iter().filter_map(|i| match &i.keys {
            KeySource::Remote(r) => Some((i.issuer.as_str(), r.as_ref())),
            KeySource::Static(_) => None,
        })
    }

    /// A verifier over `issuers`; `roles` maps role names to the scopes they grant.
    pub fn new(
        issuers: Vec<Issuer>,
        roles: IndexMap<String, Vec<String>>,
        clock: Clock,
    ) -> Verifier {
        Verifier {
            issuers,
            roles,
            clock,
            cache: BoundedMap::new(CACHE_CAPACITY, 1, WhenFull::Evict),
            cache_on: true,
        }
    }

    /// Turns the verified-token cache off (benchmarks compare with and without).
    pub fn without_cache(mut self) -> Verifier {
        self.cache_on = false;
        self
    }

    /// True when no issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Verifies `token` into a principal.
    pub async fn verify(&self, token: &str) -> Result<Arc<Principal>, AuthFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::TooLarge(MAX_TOKEN_BYTES));
        }
        let now = (self.clock)();
        if self.cache_on
            && let Some(p) = self.cached(token, now)
        {
            return Ok(p);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthFailure::Malformed(
                "not three dot-separated parts".to_owned(),
            ));
        };
        let header = b64_json(h)?;
        let claims = b64_json(c)?;
        let alg_name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthFailure::Malformed("no alg in the header".to_owned()))?;
        if alg_name.eq_ignore_ascii_case("none") {
            return Err(AuthFailure::AlgNone);
        }
        if let Some(crit) = header.get("crit") {
            return Err(AuthFailure::Crit(crit.to_string()));
        }
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(AuthFailure::Claim("iss"))?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.issuer == iss)
            .ok_or(AuthFailure::UnknownIssuer)?;
        let alg = Algorithm::from_str(alg_name)
            .ok()
            .filter(|a| issuer.algorithms.contains(a))
            .ok_or_else(|| AuthFailure::AlgNotAllowed(alg_name.chars().take(16).collect()))?;
        let kid = header.get("kid").and_then(Value::as_str);
        let key = self.key_for(issuer, alg, kid).await?;
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
            | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
            | jsonwebtoken::errors::ErrorKind::InvalidEddsaKey => AuthFailure::BadSignature,
            other => AuthFailure::Malformed(format!("{other:?}")),
        })?;
        let exp = check_times(&claims, now, issuer.leeway)?;
        check_audience(&claims, &issuer.audiences)?;
        let principal = Arc::new(self.principal(issuer, claims));
        if self.cache_on {
            self.remember(token, principal.clone(), exp, now);
        }
        Ok(principal)
    }

    async fn key_for(
        &self,
        issuer: &Issuer,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<DecodingKey, AuthFailure> {
        if is_hmac(alg) {
            return issuer
                .secret
                .clone()
                .ok_or_else(|| AuthFailure::AlgNotAllowed(format!("{alg:?}")));
        }
        let pick = |keys: &[Key]| -> Option<DecodingKey> {
            let fits = |k: &&Key| {
                k.kty == kty_for(alg)
                    && k.alg
                        .as_deref()
                        .is_none_or(|a| a.eq_ignore_ascii_case(&format!("{alg:?}")))
            };
            match kid {
                Some(kid) => keys
                    .iter()
                    .filter(fits)
                    .find(|k| k.kid.as_deref() == Some(kid))
                    .map(|k| k.key.clone()),
                None => {
                    let mut candidates = keys.iter().filter(fits);
                    match (candidates.next(), candidates.next()) {
                        (Some(only), None) => Some(only.key.clone()),
                        _ => None,
                    }
                }
            }
        };
        if let Some(k) = pick(&issuer.keys.keys()) {
            return Ok(k);
        }
        if let KeySource::Remote(remote) = &issuer.keys {
            match remote.refresh().await {
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refetch failed; keeping the keys held");
                    if remote.keys().is_empty() {
                        return Err(AuthFailure::KeysUnavailable);
                    }
                }
            }
            if let Some(k) = pick(&remote.keys()) {
                return Ok(k);
            }
        }
        Err(AuthFailure::UnknownKey(
            kid.unwrap_or("(none)").chars().take(64).collect(),
        ))
    }

    fn principal(&self, issuer: &Issuer, claims: Value) -> Principal {
        let mut scopes = BTreeSet::new();
        for name in ["scope", "scp"] {
            match claims.get(name) {
                Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(str::to_owned)),
                Some(Value::Array(items)) => {
                    scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
        let roles: BTreeSet<String> = match claims.get(&issuer.roles_claim) {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => BTreeSet::new(),
        };
        for role in &roles {
            if let Some(granted) = self.roles.get(role) {
                scopes.extend(granted.iter().cloned());
            }
        }
        Principal {
            subject: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            issuer: issuer.issuer.clone(),
            scopes,
            roles,
            claims: Arc::new(claims),
        }
    }

    fn cached(&self, token: &str, now: u64) -> Option<Arc<Principal>> {
        self.cache.read(token, now, |v| v.principal.clone())
    }

    fn remember(&self, token: &str, principal: Arc<Principal>, exp: u64, now: u64) {
        let verified = Verified {
            principal,
            until: exp,
        };
        self.cache.insert(token, verified, now);
    }
}

fn number(claims: &Value, name: &'static str) -> Result<Option<u64>, AuthFailure> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or(AuthFailure::Claim(name)),
    }
}

/// Checks `exp` (required), `nbf` and `iat`; returns `exp`.
fn check_times(claims: &Value, now: u64, leeway: u64) -> Result<u64, AuthFailure> {
    let exp = number(claims, "exp")?.ok_or(AuthFailure::Claim("exp"))?;
    if exp.saturating_add(leeway) <= now {
        return Err(AuthFailure::Expired);
    }
    if let Some(nbf) = number(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(AuthFailure::NotYetValid);
    }
    if let Some(iat) = number(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(AuthFailure::IssuedInFuture);
    }
    Ok(exp.saturating_add(leeway))
}

fn check_audience(claims: &Value, audiences: &[String]) -> Result<(), AuthFailure> {
    if audiences.is_empty() {
        return Ok(());
    }
    let ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.iter().any(|x| x == a),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthFailure::WrongAudience)
    }
}

#[cfg(test)]
mod tests;
