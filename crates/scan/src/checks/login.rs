//! The login operation of the configuration (`identities.*.login`):
//!
//! * user enumeration (ENUM-001): failed logins for the configured user (wrong password) and
//!   for an unknown user, each sent twice; reported when each pair answers the same way and
//!   the two pairs differ (status or body, with the names and passwords sent taken out), which
//!   also catches APIs that fail logins with 200;
//! * missing rate limiting (RATE-001): a bounded burst of failed logins for a made-up user,
//!   stopped at the first refusal (429, 423, 503 or a `Retry-After`); reported when the whole
//!   burst was answered as ordinary failed logins.

use serde_json::{Map, Value};

use crate::config::Login;
use crate::http::{Exchange, Request};
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// Failed logins in the burst.
pub const BURST: u64 = 30;

/// Keys of volatile members left out when answers are compared.
const VOLATILE: &[&str] = &[
    "timestamp",
    "time",
    "date",
    "request_id",
    "requestid",
    "trace",
    "traceid",
    "trace_id",
    "nonce",
    "id",
];

/// The user-name and password members of a login body.
pub(super) fn fields(body: &Map<String, Value>) -> Option<(String, String)> {
    let password = body.keys().find(|k| {
        let k = k.to_ascii_lowercase();
        k.contains("pass") || k.contains("secret") || k == "pin"
    })?;
    let user = body
        .iter()
        .find(|(k, v)| *k != password && v.is_string())
        .map(|(k, _)| k.clone())?;
    Some((user, password.clone()))
}

pub(super) fn attempt(login: &Login, path: &str, user: &str, password: &str) -> Option<Request> {
    let mut body = login.body.as_object()?.clone();
    let (u, p) = fields(&body)?;
    body.insert(u, Value::String(user.to_owned()));
    body.insert(p, Value::String(password.to_owned()));
    let mut r = Request::new("POST", path);
    r.body = Some(Value::Object(body));
    Some(r)
}

fn strip_volatile(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.to_ascii_lowercase().as_str()))
                .map(|(k, v)| (k.clone(), strip_volatile(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_volatile).collect()),
        other => other.clone(),
    }
}

/// An answer reduced to what a client can tell apart: status and body, with the user name
/// and password that were sent replaced by placeholders.
fn signature(x: &Exchange, user: &str, password: &str) -> (u16, String) {
    let body = match &x.json {
        Some(v) => strip_volatile(v).to_string(),
        None => x.text(),
    };
    (
        x.status,
        body.replace(password, "{password}").replace(user, "{user}"),
    )
}

/// True when the answer is a successful login: 2xx with a token where the flow says. An API
/// that fails logins with 200 gives no token.
pub(super) fn logged_in(x: &Exchange, login: &Login) -> bool {
    x.ok()
        && x.json
            .as_ref()
            .and_then(|j| j.pointer(&login.token))
            .is_some_and(|t| t.as_str().is_some_and(|s| !s.is_empty()))
}

fn refused(x: &Exchange) -> bool {
    matches!(x.status, 429 | 423 | 503) || x.header("retry-after").is_some()
}

/// The login flow, its operation and path (as built for an anonymous caller).
pub(super) fn setup(scan: &mut Scan<'_>) -> Option<(usize, Login, String)> {
    let op = scan.login_op?;
    let login = scan.login.clone()?;
    let path = scan.build(op, Who::Anon)?.request.path;
    Some((op, login, path))
}

/// User enumeration.
pub async fn enumeration(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let Some((op, login, path)) = setup(scan) else {
        return Ok(());
    };
    let Some((user_key, _)) = login.body.as_object().and_then(fields) else {
        scan.notes
            .push("login checks: cannot tell the user name and password in login.body".into());
        return Ok(());
    };
    let Some(known) = login
        .body
        .get(&user_key)
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    let unknown = scan.generator.unique();
    let mut answers = Vec::new();
    for user in [&known, &unknown, &known, &unknown] {
        let password = format!("Wrong-{}", scan.generator.unique());
        let Some(request) = attempt(&login, &path, user, &password) else {
            return Ok(());
        };
        let Some(x) = scan.send(request, Some(op)).await? else {
            return Ok(());
        };
        if logged_in(&x, &login) || refused(&x) {
            return Ok(());
        }
        answers.push((signature(&x, user, &password), x));
    }
    let [(k1, _), (u1, unknown_answer), (k2, known_answer), (u2, _)] = answers.as_slice() else {
        return Ok(());
    };
    if k1 == k2 && u1 == u2 && k1 != u1 {
        let (known_answer, unknown_answer) = (known_answer.clone(), unknown_answer.clone());
        scan.report(
            "PC-SCAN-ENUM-001",
            Some(op),
            &unknown_answer,
            format!(
                "the login answers an unknown user ({} {}) differently from a known user with a wrong password ({} {})",
                unknown_answer.status,
                excerpt(&unknown_answer),
                known_answer.status,
                excerpt(&known_answer)
            ),
            "each case sent twice with the same answer both times; the two cases answer differently".to_owned(),
        );
    }
    Ok(())
}

fn excerpt(x: &Exchange) -> String {
    let text = crate::evidence::mask_url_password(&x.text());
    let short: String = text.chars().take(120).collect();
    short
}

/// Missing rate limiting on the login.
pub async fn rate_limit(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let Some((op, login, path)) = setup(scan) else {
        return Ok(());
    };
    if scan.client.remaining() < BURST + 10 {
        scan.notes
            .push("login rate limit: not enough budget left for the burst".into());
        return Ok(());
    }
    let user = scan.generator.unique();
    let started = std::time::Instant::now();
    let mut last = None;
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..BURST {
        let password = format!("Wrong-{}", scan.generator.unique());
        let Some(request) = attempt(&login, &path, &user, &password) else {
            return Ok(());
        };
        let Some(x) = scan.send(request, Some(op)).await? else {
            return Ok(());
        };
        if refused(&x) || logged_in(&x, &login) {
            return Ok(());
        }
        statuses.insert(x.status);
        last = Some(x);
    }
    if let Some(x) = last {
        let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
        scan.report(
            "PC-SCAN-RATE-001",
            Some(op),
            &x,
            format!(
                "{BURST} failed logins for one user name in {} ms were all answered as ordinary failures; none was refused",
                started.elapsed().as_millis()
            ),
            format!(
                "statuses seen: {}; no 429, 423, 503 or Retry-After in the whole burst",
                statuses.join(", ")
            ),
        );
    }
    Ok(())
}
