//! The checks. Each is a module with its rule ids (OWASP API Security Top 10 2023 category,
//! CWE, severity) and a confirmation step: a finding is reported only once its confirmation
//! passed, with the requests that prove it.
//!
//! | module | rules | what it proves |
//! |---|---|---|
//! | [`passive`] | EXPO-001/002, ERR-001 | every answer is read for undeclared or sensitive properties and verbose errors |
//! | [`authn`] | AUTHN-001 | a secured operation answers without credentials as it does with them |
//! | [`jwt`] | JWT-001..004 | forged tokens (`alg: none`, no signature, changed claims) accepted; HMAC secret guessed offline |
//! | [`bola`] | BOLA-001 | user B reads user A's object and gets what A gets |
//! | [`bfla`] | BFLA-001 | an ordinary user calls an administrators' operation |
//! | [`sqli`] | SQLI-001 | a quote causes a SQL error that a doubled quote does not |
//! | [`sqli_time`] | SQLI-002 | a SQL delay of 1 and 2 s delays the answer by as much, one of 0 s does not |
//! | [`shadow`] | SHADOW-001/002 | undocumented debug, admin, backup and old-version paths answer |
//! | [`login`] | ENUM-001, RATE-001 | the login tells users apart; a burst of failed logins is never refused |
//! | [`logic`] | LOGIC-001 | a negative number is accepted where the spec requires zero or more |
//! | [`mass`] | MASS-001 | privileged properties sent in a body are kept |
//! | [`deprecated`] | DEPR-001 | a deprecated operation still answers |
//! | [`jwt_keys`] | JWT-005, JWT-006 | an expired token, or one signed with the published RSA public key as an HMAC secret, is accepted |
//! | [`bola_write`] | BOLA-002 | user B changes or deletes user A's object, confirmed by A's read-back (`safe: false` only, last) |
//! | [`traversal`] | TRAV-001 | `../` to `/etc/passwd` in a file-like parameter returns it |
//! | [`cmdi`] | CMDI-001 | a shell command appended to a parameter runs (its arithmetic result is in the answer) |
//! | [`nosql`] | NOSQL-001 | a `$ne` operator object in place of the password logs in |
//! | [`ssrf`] | SSRF-001 | the server fetches a URL given in a parameter (the scanner's canary on 127.0.0.1 receives it) |
//! | [`redos`] | REDOS-001 | the answer time grows exponentially with the length of a crafted value |
//! | [`headers`] | HDR-001 | authenticated answers lack nosniff / no-store (/ HSTS over https) |
//! | [`cors`] | CORS-001 | any origin is allowed with credentials |
//! | [`method`] | METHOD-001..003 | an undocumented method is executed; HEAD (or an unknown method) gets past a GET's access control; a method override gets past a refused method |
//! | [`bola_body`] | BOLA-003 | user B reads or acts on user A's object by putting A's id in a request body |
//! | [`rate`] | RATE-002 | a burst of code verifications, searches, signups or password resets is never refused |

pub mod authn;
pub mod bfla;
pub mod bola;
pub mod bola_body;
pub mod bola_write;
pub mod cmdi;
pub mod cors;
pub mod deprecated;
pub mod headers;
pub mod jwt;
pub mod jwt_keys;
pub mod logic;
pub mod login;
pub mod mass;
pub mod method;
pub mod nosql;
pub mod passive;
pub mod points;
pub mod rate;
pub mod redos;
mod rules;
pub mod secrets;
pub mod shadow;
pub mod sqli;
pub mod sqli_time;
pub mod ssrf;
pub mod traversal;

pub use rules::{rule, rules};

use crate::scan::{Scan, Stop};

/// Runs the active checks, in an order that keeps state changes last.
pub async fn run_all(scan: &mut Scan<'_>) -> Result<(), Stop> {
    scan.enter("deprecated");
    deprecated::run(scan);
    scan.enter("headers");
    headers::run(scan);
    scan.enter("jwt-offline");
    jwt::offline(scan);
    scan.enter("authn");
    authn::run(scan).await?;
    scan.enter("method");
    method::run(scan).await?;
    scan.enter("jwt");
    jwt::run(scan).await?;
    scan.enter("jwt_keys");
    jwt_keys::run(scan).await?;
    scan.enter("cors");
    cors::run(scan).await?;
    scan.enter("bola");
    bola::run(scan).await?;
    scan.enter("bola_body");
    bola_body::run(scan, false).await?;
    scan.enter("bfla");
    bfla::run(scan).await?;
    scan.enter("sqli");
    sqli::run(scan).await?;
    scan.enter("sqli_time");
    sqli_time::run(scan).await?;
    scan.enter("traversal");
    traversal::run(scan).await?;
    scan.enter("cmdi");
    cmdi::run(scan).await?;
    scan.enter("ssrf");
    ssrf::run(scan).await?;
    scan.enter("shadow");
    shadow::run(scan).await?;
    scan.enter("nosql");
    nosql::run(scan).await?;
    scan.enter("login-enumeration");
    login::enumeration(scan).await?;
    scan.enter("login-rate_limit");
    login::rate_limit(scan).await?;
    scan.enter("rate_limits");
    rate::run(scan).await?;
    scan.enter("logic");
    logic::run(scan).await?;
    scan.enter("mass");
    mass::run(scan).await?;
    scan.enter("redos");
    redos::run(scan).await?;
    // Changes another user's data: last, and only with `safe: false`.
    scan.enter("bola_write");
    bola_write::run(scan).await?;
    scan.enter("bola_body-writes");
    bola_body::run(scan, true).await?;
    // Writes with undocumented methods on the first user's own objects, put back after.
    scan.enter("method-writes");
    method::writes(scan).await?;
    Ok(())
}

/// Compiles fixed patterns once, for a `LazyLock`: a pattern that does not compile is left
/// out (the tests below prove every one of them compiles, so none is).
pub(crate) fn compile_all(patterns: &[&str]) -> Vec<regex::Regex> {
    patterns
        .iter()
        .filter_map(|p| regex::Regex::new(p).ok())
        .collect()
}

/// True for a 2xx answer with content (not empty, `[]`, `{}` or `null`).
pub fn has_content(x: &crate::http::Exchange) -> bool {
    if !x.ok() {
        return false;
    }
    match &x.json {
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Object(o)) => !o.is_empty(),
        Some(serde_json::Value::Null) => false,
        Some(_) => true,
        None => !x.body.iter().all(u8::is_ascii_whitespace),
    }
}

/// True when two answers carry the same data: both 2xx with content, and equal JSON (or
/// equal bodies when not JSON).
pub fn same_data(a: &crate::http::Exchange, b: &crate::http::Exchange) -> bool {
    has_content(a)
        && has_content(b)
        && match (&a.json, &b.json) {
            (Some(x), Some(y)) => x == y,
            _ => a.body == b.body,
        }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    /// Every fixed pattern compiles, so the compiled-once lists lose none.
    #[test]
    fn every_fixed_pattern_compiles() {
        for list in [
            super::sqli::SQL_ERRORS,
            super::passive::TRACES,
            super::passive::SENSITIVE_VALUES,
        ] {
            assert_eq!(super::compile_all(list).len(), list.len(), "{list:?}");
        }
        assert!(super::sqli::sql_error("near \"x\": syntax error").is_some());
        assert!(super::passive::verbose_error("thread 'main' panicked at src/x.rs").is_some());
        assert!(super::traversal::passwd_line("root:x:0:0:root:/root:/bin/sh").is_some());
        assert!(crate::evidence::url_password("postgres://u:pw@h/db").is_some());
    }
}
