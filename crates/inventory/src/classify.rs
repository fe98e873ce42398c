//! Findings from a classified inventory: shadow, zombie and unused endpoints (API9) and the
//! auth posture seen in traffic (API2, API3), in the `report` model.

use portcullis_report::{Cwe, Finding, Location, Owasp, RuleInfo, Severity};

use crate::inventory::{ApiSpec, Class, Endpoint, Posture};

/// The rules the inventory reports, in id order.
pub fn rules() -> Vec<RuleInfo> {
    vec![
        rule(
            "PC-INV-001",
            "Shadow endpoint: called but not documented",
            Severity::Medium,
            Owasp::Api9,
            1059,
            "Traffic reaches an endpoint the spec does not describe: it escapes every spec-driven check, review and test.",
            "Document the endpoint in the spec (the learned OpenAPI document is a start), or remove it from the upstream.",
        ),
        rule(
            "PC-INV-002",
            "Zombie endpoint: deprecated but still called",
            Severity::Medium,
            Owasp::Api9,
            1059,
            "A deprecated version keeps old weaknesses reachable while clients still depend on it.",
            "Move the remaining clients to the current operation, then retire the deprecated one (`deprecated: block`).",
        ),
        rule(
            "PC-INV-003",
            "Unused endpoint: documented but not called",
            Severity::Low,
            Owasp::Api9,
            1059,
            "An operation nobody calls is attack surface without a user.",
            "Confirm it is still needed; remove it from the spec and the upstream if not.",
        ),
        rule(
            "PC-INV-004",
            "Answered without credentials where the spec requires them",
            Severity::Critical,
            Owasp::Api2,
            306,
            "The upstream answered 2xx to requests without valid credentials on an operation the spec protects.",
            "Enforce authentication in front of the operation (`mode: enforce`) and in the upstream itself.",
        ),
        rule(
            "PC-INV-005",
            "Public endpoint returning sensitive data",
            Severity::High,
            Owasp::Api3,
            200,
            "An endpoint without required credentials answered with sensitive data (card numbers, secrets, personal data).",
            "Require authentication on the endpoint, or remove the sensitive fields from its answers (`sensitive_data: mask`).",
        ),
    ]
}

fn rule(
    id: &str,
    title: &str,
    severity: Severity,
    owasp: Owasp,
    cwe: u32,
    rationale: &str,
    remediation: &str,
) -> RuleInfo {
    RuleInfo {
        id: id.to_owned(),
        title: title.to_owned(),
        severity,
        owasp: Some(owasp),
        cwe: Some(Cwe(cwe)),
        rationale: rationale.to_owned(),
        remediation: remediation.to_owned(),
        help_uri: None,
    }
}

/// The findings of a list of classified endpoints.
pub fn findings(endpoints: &[Endpoint], apis: &[ApiSpec]) -> Vec<Finding> {
    let rules = rules();
    let by_id = |id: &str| rules.iter().find(|r| r.id == id);
    let mut out = Vec::new();
    for e in endpoints {
        let location = location(e, apis);
        let what = format!("{} {} ({})", e.method, e.path, e.api);
        let mut push = |id: &str, message: String, evidence: String| {
            if let Some(r) = by_id(id) {
                let mut f = Finding::new(r, location.clone(), message);
                f.evidence = Some(evidence);
                out.push(f);
            }
        };
        let seen = format!(
            "{} requests from {} clients, last {}",
            e.requests,
            e.clients,
            e.last_seen.as_deref().unwrap_or("never")
        );
        match e.class {
            Class::Shadow => push(
                "PC-INV-001",
                format!("{what} is called but not in the spec"),
                seen.clone(),
            ),
            Class::Zombie => push(
                "PC-INV-002",
                format!("{what} is deprecated but still called"),
                seen.clone(),
            ),
            Class::Unused => push(
                "PC-INV-003",
                format!("{what} was not called within the window"),
                seen.clone(),
            ),
            Class::Documented => {}
        }
        match e.posture {
            Posture::Critical => push(
                "PC-INV-004",
                format!(
                    "{what} answered 2xx without valid credentials though the spec requires them"
                ),
                format!("{} such answers", e.auth.unauthenticated_2xx),
            ),
            Posture::High => push(
                "PC-INV-005",
                format!("{what} is public yet returned sensitive data"),
                format!("kinds: {}", e.sensitive.join(", ")),
            ),
            Posture::Ok => {}
        }
    }
    out
}

fn location(e: &Endpoint, apis: &[ApiSpec]) -> Location {
    let op = e.operation.as_ref().and_then(|id| {
        apis.iter()
            .filter(|a| a.name == e.api)
            .find_map(|a| a.catalog.operations.iter().find(|o| &o.id == id))
    });
    Location {
        file: op.map(|o| o.location.file.to_string()),
        pointer: op.map(|o| o.location.pointer.clone()),
        line: op.map(|o| o.location.line).filter(|l| *l > 0),
        column: op.map(|o| o.location.column).filter(|c| *c > 0),
        operation: e.operation.clone(),
        method: Some(e.method.clone()),
        url: Some(e.path.clone()),
    }
}
