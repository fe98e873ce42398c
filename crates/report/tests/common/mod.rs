//! A fixed report used by the writer tests.

use portcullis_report::{Cwe, Exchange, Finding, Location, Owasp, Report, RuleInfo, Severity};

/// A rule description for tests.
pub fn rule(id: &str, title: &str, severity: Severity, owasp: Owasp, cwe: u32) -> RuleInfo {
    RuleInfo {
        id: id.into(),
        title: title.into(),
        severity,
        owasp: Some(owasp),
        cwe: Some(Cwe(cwe)),
        rationale: format!("Why {title} matters."),
        remediation: format!("How to fix {title}."),
        help_uri: Some(format!("https://docs.example/rules/{id}")),
    }
}

/// A report with findings of every kind: severities, a suppressed one, one without a line, a scan finding.
pub fn sample() -> Report {
    let auth = rule(
        "PC-AUTH-001",
        "Mutating operation without security",
        Severity::Critical,
        Owasp::Api2,
        306,
    );
    let input = rule(
        "PC-INPUT-001",
        "String without maxLength",
        Severity::Medium,
        Owasp::Api4,
        770,
    );
    let data = rule(
        "PC-DATA-001",
        "Sensitive property in response",
        Severity::High,
        Owasp::Api3,
        213,
    );
    let bola = rule(
        "PC-SCAN-BOLA",
        "Object readable by another user",
        Severity::High,
        Owasp::Api1,
        639,
    );
    let mut report = Report::new("portcullis", "0.1.0");
    let at = |file: &str, pointer: &str, line: u32, col: u32| Location {
        file: Some(file.into()),
        pointer: Some(pointer.into()),
        line: Some(line),
        column: Some(col),
        ..Location::default()
    };
    let mut f = Finding::new(
        &auth,
        at("specs/bank api.yaml", "/paths/~1accounts/post", 40, 5),
        "POST /accounts has no security requirement",
    );
    f.location.operation = Some("createAccount".into());
    f.location.method = Some("POST".into());
    report.push(f);
    let mut f = Finding::new(
        &input,
        at(
            "specs/bank api.yaml",
            "/components/schemas/Account/properties/name",
            88,
            9,
        ),
        "property name has no maxLength, pattern, enum or format",
    );
    f.evidence = Some("type: string".into());
    report.push(f);
    let mut f = Finding::new(
        &input,
        at(
            "specs/bank api.yaml",
            "/components/schemas/Legacy/properties/note",
            120,
            9,
        ),
        "property note has no maxLength, pattern, enum or format",
    );
    f.suppressed = Some("legacy free-text field, capped by the gateway".into());
    report.push(f);
    let f = Finding::new(
        &data,
        Location {
            file: Some("specs/other.json".into()),
            pointer: Some("/definitions/User".into()),
            ..Location::default()
        },
        "response schema User exposes password",
    );
    report.push(f);
    let mut f = Finding::new(
        &bola,
        Location {
            url: Some("http://127.0.0.1:8081/accounts/2".into()),
            method: Some("GET".into()),
            operation: Some("getAccount".into()),
            ..Location::default()
        },
        "alice read bob's account 2",
    );
    f.exchange = Some(Exchange {
        request: "GET /accounts/2\nAuthorization: [redacted]".into(),
        response: "200 OK\n{\"id\":2,\"owner\":\"bob\"}".into(),
    });
    report.push(f);
    report.rules = vec![auth, input, data];
    report.score = Some(42);
    report.artifacts = vec!["specs/bank api.yaml".into(), "specs/other.json".into()];
    report.finish();
    report
}
