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
//! | [`shadow`] | SHADOW-001/002 | undocumented debug, admin, backup and old-version paths answer |
//! | [`login`] | ENUM-001, RATE-001 | the login tells users apart; a burst of failed logins is never refused |
//! | [`logic`] | LOGIC-001 | a negative number is accepted where the spec requires zero or more |
//! | [`mass`] | MASS-001 | privileged properties sent in a body are kept |
//! | [`deprecated`] | DEPR-001 | a deprecated operation still answers |

pub mod authn;
pub mod bfla;
pub mod bola;
pub mod deprecated;
pub mod jwt;
pub mod logic;
pub mod login;
pub mod mass;
pub mod passive;
pub mod shadow;
pub mod sqli;

use portcullis_report::{Cwe, Owasp, RuleInfo, Severity};

use crate::scan::{Scan, Stop};

/// One rule: what a check reports.
struct Def {
    id: &'static str,
    title: &'static str,
    severity: Severity,
    owasp: Owasp,
    cwe: u32,
    rationale: &'static str,
    remediation: &'static str,
}

const RULES: &[Def] = &[
    Def {
        id: "PC-SCAN-AUTHN-001",
        title: "Secured operation answers without credentials",
        severity: Severity::High,
        owasp: Owasp::Api2,
        cwe: 306,
        rationale: "The spec requires authentication, but the API serves the same data to anyone.",
        remediation: "Authenticate every request to this operation before doing anything else; refuse with 401.",
    },
    Def {
        id: "PC-SCAN-JWT-001",
        title: "Token with `alg: none` accepted",
        severity: Severity::Critical,
        owasp: Owasp::Api2,
        cwe: 347,
        rationale: "Anyone can write an unsigned token for any user.",
        remediation: "Verify every token's signature with an allow-list of algorithms; never accept `none`.",
    },
    Def {
        id: "PC-SCAN-JWT-002",
        title: "Token without its signature accepted",
        severity: Severity::Critical,
        owasp: Owasp::Api2,
        cwe: 347,
        rationale: "The signature is not checked, so any token content is trusted.",
        remediation: "Verify the signature of every token before reading its claims.",
    },
    Def {
        id: "PC-SCAN-JWT-003",
        title: "Token with changed claims accepted (impersonation)",
        severity: Severity::Critical,
        owasp: Owasp::Api2,
        cwe: 345,
        rationale: "A caller can change the subject of their own token and act as someone else.",
        remediation: "Verify the signature over the claims that were sent; reject tokens whose signature does not match.",
    },
    Def {
        id: "PC-SCAN-JWT-004",
        title: "Token signed with a guessable HMAC secret",
        severity: Severity::Critical,
        owasp: Owasp::Api2,
        cwe: 1391,
        rationale: "The signing secret is on a list of common secrets: anyone can sign tokens for any user.",
        remediation: "Use a random secret of 32 bytes or more (or an asymmetric algorithm) and rotate the current one.",
    },
    Def {
        id: "PC-SCAN-BOLA-001",
        title: "Another user's object can be read",
        severity: Severity::High,
        owasp: Owasp::Api1,
        cwe: 639,
        rationale: "The object id in the request is trusted; nobody checks that the object belongs to the caller.",
        remediation: "Check, for every object id a request names, that the caller may access that object.",
    },
    Def {
        id: "PC-SCAN-BFLA-001",
        title: "Ordinary user can call an administrators' operation",
        severity: Severity::High,
        owasp: Owasp::Api5,
        cwe: 285,
        rationale: "The operation is meant for administrators, but any logged-in user gets its answer.",
        remediation: "Check the caller's role or scope in every administrative operation; deny by default.",
    },
    Def {
        id: "PC-SCAN-MASS-001",
        title: "Privileged property accepted (mass assignment)",
        severity: Severity::High,
        owasp: Owasp::Api3,
        cwe: 915,
        rationale: "A property the caller must not set (role, admin flag, balance) is taken from the request body.",
        remediation: "Bind request bodies to an allow-list of the properties the caller may set; refuse or drop the rest.",
    },
    Def {
        id: "PC-SCAN-EXPO-001",
        title: "Sensitive data in a response",
        severity: Severity::High,
        owasp: Owasp::Api3,
        cwe: 213,
        rationale: "The answer carries secrets or personal data (password hashes, SSNs, write-only fields) the spec does not expose.",
        remediation: "Serialize responses from an explicit list of the properties the spec declares.",
    },
    Def {
        id: "PC-SCAN-EXPO-002",
        title: "Undeclared properties in a response",
        severity: Severity::Low,
        owasp: Owasp::Api3,
        cwe: 213,
        rationale: "The answer carries properties the spec does not declare; clients should not see internal fields.",
        remediation: "Return only the declared properties, or declare the ones that are meant to be public.",
    },
    Def {
        id: "PC-SCAN-SQLI-001",
        title: "SQL injection (error-based)",
        severity: Severity::High,
        owasp: Owasp::Api8,
        cwe: 89,
        rationale: "A quote in a parameter breaks the SQL statement the server builds from it: the input is pasted into SQL.",
        remediation: "Use parameterized queries for every value that comes from a request.",
    },
    Def {
        id: "PC-SCAN-ENUM-001",
        title: "Login tells existing users from unknown ones",
        severity: Severity::Medium,
        owasp: Owasp::Api2,
        cwe: 204,
        rationale: "Different answers for an unknown user and a wrong password let anyone list valid accounts.",
        remediation: "Answer every failed login the same way (status and body).",
    },
    Def {
        id: "PC-SCAN-RATE-001",
        title: "Login has no attempt limit",
        severity: Severity::Medium,
        owasp: Owasp::Api4,
        cwe: 307,
        rationale: "A burst of failed logins is never refused, so passwords can be guessed at full speed.",
        remediation: "Limit failed logins per account and per client (429 with Retry-After).",
    },
    Def {
        id: "PC-SCAN-ERR-001",
        title: "Verbose error (stack trace or SQL error)",
        severity: Severity::Medium,
        owasp: Owasp::Api8,
        cwe: 209,
        rationale: "Error answers reveal internals (stack traces, SQL statements) that help an attacker.",
        remediation: "Log the details on the server; answer with a generic problem document.",
    },
    Def {
        id: "PC-SCAN-SHADOW-001",
        title: "Undocumented endpoint answers",
        severity: Severity::Medium,
        owasp: Owasp::Api9,
        cwe: 1059,
        rationale: "A debug, admin, backup or old-version path answers although the spec does not document it.",
        remediation: "Remove the endpoint or document and protect it.",
    },
    Def {
        id: "PC-SCAN-SHADOW-002",
        title: "Undocumented endpoint leaks secrets",
        severity: Severity::High,
        owasp: Owasp::Api9,
        cwe: 200,
        rationale: "An undocumented path answers with credentials or other secrets.",
        remediation: "Remove the endpoint, and rotate the secrets it exposed.",
    },
    Def {
        id: "PC-SCAN-LOGIC-001",
        title: "Negative value accepted where the spec requires a positive one",
        severity: Severity::Medium,
        owasp: Owasp::Api6,
        cwe: 1284,
        rationale: "The server does not enforce the declared lower bound: negative amounts or quantities reverse a business flow (money moves the other way).",
        remediation: "Validate request bodies against the spec (bounds included) on the server before acting on them.",
    },
    Def {
        id: "PC-SCAN-DEPR-001",
        title: "Deprecated operation still served",
        severity: Severity::Low,
        owasp: Owasp::Api9,
        cwe: 1059,
        rationale: "The spec marks the operation deprecated, but it still answers.",
        remediation: "Switch deprecated operations off once their clients have moved.",
    },
];

fn info(d: &Def) -> RuleInfo {
    RuleInfo {
        id: d.id.to_owned(),
        title: d.title.to_owned(),
        severity: d.severity,
        owasp: Some(d.owasp),
        cwe: Some(Cwe(d.cwe)),
        rationale: d.rationale.to_owned(),
        remediation: d.remediation.to_owned(),
        help_uri: None,
    }
}

/// Every rule of the scanner.
pub fn rules() -> Vec<RuleInfo> {
    RULES.iter().map(info).collect()
}

/// The rule `id` (a rule that is not in the table gets a generic description).
pub fn rule(id: &str) -> RuleInfo {
    RULES.iter().find(|d| d.id == id).map_or_else(
        || RuleInfo {
            id: id.to_owned(),
            title: id.to_owned(),
            severity: Severity::Medium,
            owasp: None,
            cwe: None,
            rationale: String::new(),
            remediation: String::new(),
            help_uri: None,
        },
        info,
    )
}

/// Runs the active checks, in an order that keeps state changes last.
pub async fn run_all(scan: &mut Scan<'_>) -> Result<(), Stop> {
    deprecated::run(scan);
    jwt::offline(scan);
    authn::run(scan).await?;
    jwt::run(scan).await?;
    bola::run(scan).await?;
    bfla::run(scan).await?;
    sqli::run(scan).await?;
    shadow::run(scan).await?;
    login::enumeration(scan).await?;
    login::rate_limit(scan).await?;
    logic::run(scan).await?;
    mass::run(scan).await?;
    Ok(())
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
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_complete() {
        let mut ids: Vec<&str> = RULES.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert!(
            RULES
                .iter()
                .all(|d| !d.rationale.is_empty() && !d.remediation.is_empty())
        );
    }
}
