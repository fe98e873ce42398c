//! Missing rate limits on sensitive or expensive operations other than the login
//! (RATE-002; the login is RATE-001 in [`super::login`]): verification codes (OTP, MFA,
//! verify), searches, and, only with `safe: false`, signups and password resets (a burst of
//! those creates accounts or sends messages).
//!
//! For each such operation (at most four), a bounded burst of [`BURST`] requests, paced by
//! the scan's rate and counted against its budget (skipped, with a note, when the budget left
//! is too small): the first user's request from the exploration, repeated (a wrong code each
//! time for verifications, fresh names for signups). The burst stops at the first sign of a
//! limit: 429, 423 or 503, `Retry-After`, or a rate-limit header (`RateLimit-*`,
//! `X-RateLimit-*`, `X-Rate-Limit-*`). Reported only when no answer showed one, the
//! exploration's answer announced none, and no answer was a server error.

use std::collections::BTreeSet;

use portcullis_spec::{Method, Operation};
use serde_json::Value;

use crate::harvest::norm;
use crate::http::{Exchange, Request};
use crate::plan;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// Requests in one burst.
pub const BURST: u64 = 20;
/// The most operations tried.
const MAX_OPS: usize = 4;

/// Why an operation deserves a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Checks a code (OTP, MFA, e-mail verification): guessable without a limit.
    Verification,
    /// Starts a password reset (sends messages).
    PasswordReset,
    /// Creates an account.
    Signup,
    /// Searches (expensive, and scrapes data).
    Search,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Verification => "code verification",
            Kind::PasswordReset => "password reset",
            Kind::Signup => "signup",
            Kind::Search => "search",
        }
    }

    /// True when a burst of it changes nothing but attempt counters (safe mode runs it).
    fn harmless(self) -> bool {
        matches!(self, Kind::Verification | Kind::Search)
    }
}

/// The kind of `op`, from its id and path (summaries are prose: "kept for old clients'
/// lookups" is no search).
pub fn kind(op: &Operation) -> Option<Kind> {
    let text = norm(&format!("{} {}", op.id, op.path));
    let any = |words: &[&str]| words.iter().any(|w| text.contains(w));
    // Short codes are whole words only (`forgotPassword` holds "otp").
    let words = words(&format!("{} {}", op.id, op.path));
    let word = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    if any(&["password", "passwd"]) && any(&["reset", "forgot", "recover"]) {
        Some(Kind::PasswordReset)
    } else if any(&["verify", "verification", "twofactor", "confirmcode"])
        || word(&["otp", "mfa", "2fa", "totp"])
    {
        Some(Kind::Verification)
    } else if any(&["signup", "register", "registration"]) {
        Some(Kind::Signup)
    } else if any(&["search", "find", "lookup", "autocomplete", "suggest"]) {
        Some(Kind::Search)
    } else {
        None
    }
}

/// The words of `text`, lower case: split at anything but letters and digits, and where a
/// lower-case letter is followed by an upper-case one (`verifyOtp` -> verify, otp).
fn words(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_ascii_alphanumeric() || (previous_lower && c.is_ascii_uppercase()) {
            out.push(String::new());
        }
        if c.is_ascii_alphanumeric()
            && let Some(last) = out.last_mut()
        {
            last.push(c.to_ascii_lowercase());
        }
        previous_lower = c.is_ascii_lowercase();
    }
    out.retain(|w| !w.is_empty());
    out
}

/// True when the answer shows a rate limit (a refusal, or headers that announce one).
pub fn limited(x: &Exchange) -> bool {
    matches!(x.status, 429 | 423 | 503)
        || x.headers.iter().any(|(k, _)| {
            k == "retry-after"
                || k.starts_with("ratelimit")
                || k.starts_with("x-ratelimit")
                || k.starts_with("x-rate-limit")
        })
}

/// The request of attempt `n`: a wrong code for verifications, fresh names for signups.
fn attempt(base: &Request, kind: Kind, n: u64, scan: &mut Scan<'_>) -> Request {
    let mut r = base.clone();
    match kind {
        Kind::Signup => plan::uniquify(&mut r, &mut scan.generator),
        Kind::Verification => {
            if let Some(Value::Object(body)) = r.body.as_mut() {
                for (k, v) in body.iter_mut() {
                    let k = norm(k);
                    if ["code", "otp", "pin", "token"]
                        .iter()
                        .any(|w| k.contains(w))
                    {
                        *v = Value::String(format!("{:06}", 100_000 + n * 7_919 % 900_000));
                    }
                }
            }
        }
        Kind::PasswordReset | Kind::Search => {}
    }
    r
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let who = if scan.users.is_empty() {
        Who::Anon
    } else {
        Who::User(0)
    };
    let mut work: Vec<(usize, Kind, Request, bool)> = Vec::new();
    for (i, op) in scan.catalog.operations.iter().enumerate() {
        let Some(k) = kind(op) else { continue };
        if Some(i) == scan.login_op || (scan.safe && !k.harmless()) {
            continue;
        }
        if !matches!(
            op.method,
            Method::Get | Method::Post | Method::Put | Method::Patch
        ) {
            continue;
        }
        // The exploration's request; password resets (destructive-looking) were not explored.
        match scan.record(i, who) {
            Some(r) => work.push((i, k, r.exchange.request.clone(), limited(&r.exchange))),
            None if k == Kind::PasswordReset => {
                if let Some(b) = scan.build(i, who) {
                    work.push((i, k, scan.as_who(b.request, who), false));
                }
            }
            None => {}
        }
    }
    for (op, k, base, announced) in work.into_iter().take(MAX_OPS) {
        if announced {
            continue;
        }
        if scan.client.remaining() < BURST + 10 {
            scan.notes.push(format!(
                "rate limits: not enough budget left for a burst of {BURST} requests"
            ));
            return Ok(());
        }
        burst(scan, op, k, &base).await?;
    }
    Ok(())
}

async fn burst(scan: &mut Scan<'_>, op: usize, k: Kind, base: &Request) -> Result<(), Stop> {
    let started = std::time::Instant::now();
    let mut statuses = BTreeSet::new();
    let mut last = None;
    for n in 0..BURST {
        let request = attempt(base, k, n, scan);
        let Some(x) = scan.send(request, Some(op)).await? else {
            return Ok(());
        };
        if limited(&x) || x.status >= 500 {
            return Ok(());
        }
        statuses.insert(x.status);
        last = Some(x);
    }
    let Some(x) = last else { return Ok(()) };
    let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
    scan.report(
        "PC-SCAN-RATE-002",
        Some(op),
        &x,
        format!(
            "{BURST} {} requests ({} {}) in {} ms were all served; none was refused",
            k.describe(),
            x.request.method,
            plan::path_only(&x.request.path),
            started.elapsed().as_millis()
        ),
        format!(
            "statuses seen: {}; no 429, 423 or 503, no Retry-After and no rate-limit header in the whole burst",
            statuses.join(", ")
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const SPEC: &str = r#"
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /auth/otp/verify:
    post: {operationId: verifyOtp, responses: {'200': {description: ok}}}
  /password/forgot:
    post: {operationId: forgotPassword, responses: {'200': {description: ok}}}
  /users:
    post: {operationId: signup, responses: {'201': {description: ok}}}
  /users/v1/register:
    post: {operationId: api_views.users.register_user, responses: {'200': {description: ok}}}
  /accounts/search:
    get: {operationId: searchAccounts, responses: {'200': {description: ok}}}
  /accounts/{id}:
    get: {operationId: getAccount, responses: {'200': {description: ok}}}
"#;

    #[test]
    fn sensitive_operations_by_kind() {
        let c = portcullis_spec::load_str("t.yaml", SPEC).unwrap();
        let kinds: Vec<Option<Kind>> = c.operations.iter().map(kind).collect();
        assert_eq!(
            kinds,
            vec![
                Some(Kind::Verification),
                Some(Kind::PasswordReset),
                Some(Kind::Signup),
                Some(Kind::Signup),
                Some(Kind::Search),
                None
            ]
        );
        assert_eq!(
            words("api_views.verifyOtp /a/{id}"),
            ["api", "views", "verify", "otp", "a", "id"]
        );
        assert!(Kind::Search.harmless() && Kind::Verification.harmless());
        assert!(!Kind::Signup.harmless() && !Kind::PasswordReset.harmless());
    }

    #[test]
    fn limits_are_seen_in_statuses_and_headers() {
        let x = |status: u16, header: Option<&str>| Exchange {
            request: Request::new("GET", "/s"),
            url: "http://h/s".into(),
            status,
            headers: header
                .map(|h| vec![(h.to_owned(), "1".to_owned())])
                .unwrap_or_default(),
            body: bytes::Bytes::new(),
            json: None,
            elapsed: std::time::Duration::ZERO,
        };
        assert!(!limited(&x(200, None)));
        assert!(!limited(&x(401, Some("content-type"))));
        assert!(limited(&x(429, None)));
        assert!(limited(&x(200, Some("retry-after"))));
        assert!(limited(&x(200, Some("ratelimit-remaining"))));
        assert!(limited(&x(200, Some("x-ratelimit-limit"))));
        assert!(limited(&x(200, Some("x-rate-limit-remaining"))));
    }
}
