//! The table of the scanner's rules: id, title, severity, OWASP API Security Top 10 2023
//! category, CWE, rationale and remediation.

use portcullis_report::{Cwe, Owasp, RuleInfo, Severity};

/// One rule: what a check reports.
pub(super) struct Def {
    pub(super) id: &'static str,
    title: &'static str,
    severity: Severity,
    owasp: Owasp,
    cwe: u32,
    pub(super) rationale: &'static str,
    pub(super) remediation: &'static str,
}

pub(super) const RULES: &[Def] = &[
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
        id: "PC-SCAN-SQLI-002",
        title: "SQL injection (time-based)",
        severity: Severity::High,
        owasp: Owasp::Api8,
        cwe: 89,
        rationale: "A SQL delay function in a parameter delays the answer by the time asked for: the input is run as SQL.",
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
    Def {
        id: "PC-SCAN-JWT-005",
        title: "Expired token accepted",
        severity: Severity::High,
        owasp: Owasp::Api2,
        cwe: 613,
        rationale: "A token whose `exp` has passed still works: stolen tokens never stop working.",
        remediation: "Check `exp` (and `nbf`) on every token, with a small clock skew at most.",
    },
    Def {
        id: "PC-SCAN-JWT-006",
        title: "RS/HS algorithm confusion: token signed with the public key accepted",
        severity: Severity::Critical,
        owasp: Owasp::Api2,
        cwe: 347,
        rationale: "The server verifies HS256 tokens with its RSA public key as the HMAC secret; the key is public, so anyone can sign tokens.",
        remediation: "Pin the algorithm each key may be used with (RS256 for an RSA key); never take it from the token's header.",
    },
    Def {
        id: "PC-SCAN-BOLA-002",
        title: "Another user's object can be changed or deleted",
        severity: Severity::Critical,
        owasp: Owasp::Api1,
        cwe: 639,
        rationale: "An update or deletion of an object named in the request is not checked against its owner.",
        remediation: "Check, for every object a request changes or deletes, that it belongs to the caller (or that the caller may change it).",
    },
    Def {
        id: "PC-SCAN-NOSQL-001",
        title: "NoSQL operator injection",
        severity: Severity::High,
        owasp: Owasp::Api8,
        cwe: 943,
        rationale: "A JSON object with a query operator (`$ne`) where a string is expected is run as part of the query (here: a login without the password).",
        remediation: "Require the declared type (a string) before building queries; never pass request objects into a query.",
    },
    Def {
        id: "PC-SCAN-CMDI-001",
        title: "OS command injection",
        severity: Severity::Critical,
        owasp: Owasp::Api8,
        cwe: 78,
        rationale: "A shell command appended to a parameter runs on the server: its output (an arithmetic result the payload does not contain) is in the answer.",
        remediation: "Never build shell command lines from request values; call programs with an argument list and validate the values.",
    },
    Def {
        id: "PC-SCAN-TRAV-001",
        title: "Path traversal",
        severity: Severity::High,
        owasp: Owasp::Api8,
        cwe: 22,
        rationale: "`../` in a parameter leaves the intended directory: a system file (/etc/passwd) is served.",
        remediation: "Map names to files through an allow-list or a canonicalized path checked to stay under the base directory.",
    },
    Def {
        id: "PC-SCAN-REDOS-001",
        title: "Regular expression denial of service (ReDoS)",
        severity: Severity::Medium,
        owasp: Owasp::Api4,
        cwe: 1333,
        rationale: "The answer time grows exponentially with the length of a crafted value: a few requests can keep the server busy for minutes.",
        remediation: "Use a linear-time regex engine, or rewrite the pattern without nested quantifiers, and bound input lengths.",
    },
    Def {
        id: "PC-SCAN-SSRF-001",
        title: "Server-side request forgery",
        severity: Severity::High,
        owasp: Owasp::Api7,
        cwe: 918,
        rationale: "The server fetches a URL taken from the request: a listener the scanner runs received the request, so internal services can be reached the same way.",
        remediation: "Fetch only allow-listed hosts; resolve and refuse loopback, private and metadata addresses; do not return fetched content.",
    },
    Def {
        id: "PC-SCAN-HDR-001",
        title: "Security headers missing",
        severity: Severity::Low,
        owasp: Owasp::Api8,
        cwe: 693,
        rationale: "Authenticated answers lack `X-Content-Type-Options: nosniff` or a `Cache-Control` that keeps them out of shared caches (and, over https, `Strict-Transport-Security`).",
        remediation: "Send `X-Content-Type-Options: nosniff`, `Cache-Control: no-store` on answers with personal data, and HSTS over https.",
    },
    Def {
        id: "PC-SCAN-CORS-001",
        title: "CORS reflects any origin with credentials",
        severity: Severity::High,
        owasp: Owasp::Api8,
        cwe: 942,
        rationale: "Any web site can call the API with the visitor's cookies or credentials and read the answers.",
        remediation: "Allow an explicit list of origins; never reflect the `Origin` header together with `Access-Control-Allow-Credentials: true`.",
    },
    Def {
        id: "PC-SCAN-METHOD-001",
        title: "Undocumented method executed (method tampering)",
        severity: Severity::High,
        owasp: Owasp::Api5,
        cwe: 650,
        rationale: "A method the spec does not document for this path (PUT or PATCH) is executed: a gateway or client that only knows the documented methods does not expect it, and nothing documented guards it.",
        remediation: "Route only the documented methods (405 for the rest), and remove handlers the API no longer offers.",
    },
    Def {
        id: "PC-SCAN-METHOD-002",
        title: "Access control bypassed by changing the method",
        severity: Severity::High,
        owasp: Owasp::Api5,
        cwe: 650,
        rationale: "The operation refuses an anonymous GET, but runs for an anonymous HEAD (or an unknown method): access control is tied to the method, not to the resource.",
        remediation: "Authenticate and authorize every method of a route (HEAD included), and refuse unknown methods with 405.",
    },
    Def {
        id: "PC-SCAN-METHOD-003",
        title: "Method override bypasses a method restriction",
        severity: Severity::High,
        owasp: Owasp::Api5,
        cwe: 650,
        rationale: "A write refused as itself is executed when sent as a POST with `X-HTTP-Method-Override` (or `X-Method-Override`, `X-HTTP-Method`, `_method`): anything that filters on the method (a gateway, a WAF, an allow-list) is bypassed.",
        remediation: "Do not honour method overrides; if a client needs them, apply the override before every method check and only for the methods the route documents.",
    },
    Def {
        id: "PC-SCAN-BOLA-003",
        title: "Another user's object id accepted in a request body",
        severity: Severity::High,
        owasp: Owasp::Api1,
        cwe: 639,
        rationale: "An object id carried in the JSON body (an account to read or to debit) is trusted; nobody checks that the object belongs to the caller.",
        remediation: "Check, for every object id a request body names, that the caller may use that object (the source of a transfer must be the caller's own).",
    },
    Def {
        id: "PC-SCAN-RATE-002",
        title: "Sensitive operation has no rate limit",
        severity: Severity::Medium,
        owasp: Owasp::Api4,
        cwe: 799,
        rationale: "A burst of requests to a code verification, search, signup or password reset is never refused: codes can be guessed, data scraped, accounts or messages created at full speed.",
        remediation: "Limit these operations per client and per account (429 with Retry-After), tighter for code verifications and password resets.",
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
