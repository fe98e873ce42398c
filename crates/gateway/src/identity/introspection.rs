//! OAuth2 token introspection (RFC 7662) for opaque bearer tokens.
//!
//! A token is first checked for RFC 6750 token syntax and size (no call for garbage), then
//! looked up in a bounded [`cache`] keyed by its SHA-256. On a miss it is POSTed as
//! `token=...&token_type_hint=access_token` to the configured endpoint with the gateway's
//! client credentials as HTTP Basic (RFC 7662 §2.1, RFC 6749 §2.3.1), within a timeout, with
//! at most `max_in_flight` calls at once and the answer bounded in size. The answer is judged
//! by [`response`]. An endpoint that fails (unreachable, slow, not 200, garbage) refuses the
//! token with the configured status, unless `on_failure: allow_cached` finds an earlier
//! active answer for it. Neither the token nor the client secret is ever logged.

mod cache;
mod response;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use indexmap::IndexMap;
use tokio::sync::Semaphore;

use self::cache::{Cache, Lifetimes, Lookup};
use self::response::{Answer, Expect};
use super::Principal;
use super::jwt::{Clock, MAX_TOKEN_BYTES};
use crate::client_tls::{self, ClientTls};
use crate::config::{IntrospectionConfig, IntrospectionOnFailure, redact_url};

pub use self::response::DEFAULT_ISSUER;

/// Largest introspection answer read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Why an opaque token was refused. The text never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Over the size limit or outside RFC 6750's token characters (no call made).
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The server answered `active: false` (unknown, revoked, expired at the server...).
    #[error("the authorization server says the token is not active")]
    Inactive,
    /// Active, but its `exp` has passed.
    #[error("expired (exp of the introspection answer)")]
    Expired,
    /// The answer's `iss` is not the configured issuer.
    #[error("the introspection answer names another issuer")]
    WrongIssuer,
    /// The answer's `aud` names none of the configured audiences.
    #[error("wrong audience")]
    WrongAudience,
    /// The endpoint could not be asked: unreachable, too slow, or not a 200.
    #[error("introspection endpoint unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The status to answer with (`failure_status`).
        status: u16,
    },
    /// The endpoint answered 200 with something that is not an introspection answer.
    #[error("invalid introspection answer: {message}")]
    BadResponse {
        /// What is wrong with it.
        message: String,
        /// The status to answer with (`failure_status`).
        status: u16,
    },
}

impl Failure {
    /// A stable short code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Malformed(_) => "token_malformed",
            Failure::Inactive => "token_inactive",
            Failure::Expired => "token_expired",
            Failure::WrongIssuer => "token_issuer",
            Failure::WrongAudience => "token_audience",
            Failure::Unavailable { .. } => "introspection_unavailable",
            Failure::BadResponse { .. } => "introspection_invalid",
        }
    }

    /// The decision-log rule.
    pub fn rule(&self) -> &'static str {
        match self {
            Failure::Malformed(_) => crate::rules::AUTH_TOKEN_MALFORMED,
            Failure::Inactive => crate::rules::AUTH_TOKEN_INACTIVE,
            Failure::Expired => crate::rules::AUTH_TOKEN_EXPIRED,
            Failure::WrongIssuer => crate::rules::AUTH_TOKEN_ISSUER,
            Failure::WrongAudience => crate::rules::AUTH_TOKEN_AUDIENCE,
            Failure::Unavailable { .. } => crate::rules::AUTH_INTROSPECTION_UNAVAILABLE,
            Failure::BadResponse { .. } => crate::rules::AUTH_INTROSPECTION_INVALID,
        }
    }

    /// The status to answer with: 401, or `failure_status` when the token was not judged.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Unavailable { status, .. } | Failure::BadResponse { status, .. } => *status,
            _ => 401,
        }
    }
}

/// What a call to the endpoint came to, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    /// An active answer (accepted or refused for its `exp`, issuer, audience).
    Active,
    /// `active: false`.
    Inactive,
    /// Unreachable, slow, not 200, or not an answer.
    Error,
}

/// How a token was judged.
#[derive(Debug)]
pub struct Introspection {
    /// The caller, or why not.
    pub result: Result<Arc<Principal>, Failure>,
    /// The call made to the endpoint, if one was.
    pub call: Option<CallResult>,
    /// A fresh cached answer was used (no call).
    pub cache_hit: bool,
    /// The call failed and a stale cached answer was used (`allow_cached`).
    pub stale: bool,
}

/// Asks the configured endpoint about opaque tokens.
pub struct Introspector {
    endpoint: hyper::Uri,
    shown: String,
    authorization: HeaderValue,
    timeout: Duration,
    issuer: Option<String>,
    audiences: Vec<String>,
    roles_claim: String,
    roles: IndexMap<String, Vec<String>>,
    allow_cached: bool,
    failure_status: u16,
    cache: Cache,
    calls: Semaphore,
    clock: Clock,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// A configuration that cannot be turned into an introspector.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IntrospectorError(String);

/// Why a call did not produce an answer.
enum CallError {
    Unavailable(String),
    Invalid(String),
}

impl Introspector {
    /// An introspector for `config` (checked by the config loader); `roles` maps role names to
    /// the scopes they grant; `tls` verifies an `https://` endpoint (without it only
    /// `http://` works).
    pub fn new(
        config: &IntrospectionConfig,
        roles: &IndexMap<String, Vec<String>>,
        clock: Clock,
        tls: Option<&ClientTls>,
    ) -> Result<Introspector, IntrospectorError> {
        let endpoint: hyper::Uri = config
            .endpoint
            .parse()
            .map_err(|e| IntrospectorError(format!("{}: {e}", redact_url(&config.endpoint))))?;
        let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = STANDARD.encode(format!(
            "{}:{}",
            form(&config.client_id),
            form(config.client_secret.expose())
        ));
        let mut authorization = HeaderValue::from_str(&format!("Basic {credentials}"))
            .map_err(|e| IntrospectorError(format!("client credentials: {e}")))?;
        authorization.set_sensitive(true);
        let client = client_tls::http_client(tls).map_err(|e| {
            IntrospectorError(format!(
                "{}: cannot set up TLS: {e}",
                redact_url(&config.endpoint)
            ))
        })?;
        let cache = &config.cache;
        let allow_cached = config.on_failure == IntrospectionOnFailure::AllowCached;
        Ok(Introspector {
            endpoint,
            shown: redact_url(&config.endpoint),
            authorization,
            timeout: config.timeout.0,
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            roles_claim: config.roles_claim.clone(),
            roles: roles.clone(),
            allow_cached,
            failure_status: config.failure_status,
            cache: Cache::new(Lifetimes {
                capacity: cache.capacity,
                ttl: cache.ttl.0.as_secs(),
                inactive_ttl: cache.inactive_ttl.0.as_secs(),
                max_stale: if allow_cached {
                    cache.max_stale.0.as_secs()
                } else {
                    0
                },
            }),
            calls: Semaphore::new(config.max_in_flight.max(1)),
            clock,
            client,
        })
    }

    /// Judges `token` (the bearer token, already known not to be a JWT).
    pub async fn introspect(&self, token: &str) -> Introspection {
        let mut judged = Introspection {
            result: Err(Failure::Inactive),
            call: None,
            cache_hit: false,
            stale: false,
        };
        if let Err(f) = check_syntax(token) {
            judged.result = Err(f);
            return judged;
        }
        let key = cache::key_of(token);
        let now = (self.clock)();
        let stale = match self.cache.get(&key, now) {
            Lookup::Fresh(result) => {
                judged.result = result;
                judged.cache_hit = true;
                return judged;
            }
            Lookup::Stale(p) => Some(p),
            Lookup::Miss => None,
        };
        let expect = Expect {
            issuer: self.issuer.as_deref(),
            audiences: &self.audiences,
            roles_claim: &self.roles_claim,
            roles: &self.roles,
        };
        let failure = match self.call(token).await {
            Ok(body) => match response::judge(&body, now, &expect) {
                Ok(Answer::Active(p, exp)) => {
                    self.cache.put_active(key, p.clone(), exp, now);
                    judged.call = Some(CallResult::Active);
                    judged.result = Ok(p);
                    return judged;
                }
                Ok(Answer::Refused(f)) => {
                    self.cache.put_refused(key, f.clone(), now);
                    judged.call = Some(if f == Failure::Inactive {
                        CallResult::Inactive
                    } else {
                        CallResult::Active
                    });
                    judged.result = Err(f);
                    return judged;
                }
                Err(message) => Failure::BadResponse {
                    message,
                    status: self.failure_status,
                },
            },
            Err(CallError::Invalid(message)) => Failure::BadResponse {
                message,
                status: self.failure_status,
            },
            Err(CallError::Unavailable(message)) => Failure::Unavailable {
                message,
                status: self.failure_status,
            },
        };
        judged.call = Some(CallResult::Error);
        tracing::warn!(endpoint = %self.shown, reason = failure.code(), "token introspection failed: {failure}");
        match stale {
            Some(p) if self.allow_cached => {
                judged.stale = true;
                judged.result = Ok(p);
            }
            _ => judged.result = Err(failure),
        }
        judged
    }

    /// POSTs `token` to the endpoint; the body of a 200 answer.
    async fn call(&self, token: &str) -> Result<Bytes, CallError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let request = Request::post(self.endpoint.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| CallError::Unavailable(format!("cannot build the request: {e}")))?;
        let exchange = async {
            let _permit = self
                .calls
                .acquire()
                .await
                .map_err(|_| CallError::Unavailable("closed".to_owned()))?;
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| CallError::Unavailable(client_tls::describe(&e)))?;
            let status = response.status();
            if status != StatusCode::OK {
                let hint = if status == StatusCode::UNAUTHORIZED {
                    " (are client_id and client_secret right?)"
                } else {
                    ""
                };
                return Err(CallError::Unavailable(format!("status {status}{hint}")));
            }
            Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        CallError::Invalid(format!("the answer is over {MAX_RESPONSE_BYTES} bytes"))
                    } else {
                        CallError::Unavailable(format!("reading the answer: {e}"))
                    }
                })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                CallError::Unavailable(format!(
                    "no answer within {}",
                    crate::config::Dur(self.timeout)
                ))
            })?
    }
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`,
/// at most [`MAX_TOKEN_BYTES`].
fn check_syntax(token: &str) -> Result<(), Failure> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Failure::Malformed("longer than 8192 bytes"));
    }
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Failure::Malformed(
            "not a bearer token (RFC 6750 token characters)",
        ))
    }
}

/// True when `token` has the shape of a JWS compact serialization (three base64url parts, the
/// first two not empty): such tokens are verified as JWTs, the others introspected.
pub fn looks_like_jwt(token: &str) -> bool {
    let b64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) => {
            !h.is_empty() && !c.is_empty() && b64url(h) && b64url(c) && b64url(s)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
