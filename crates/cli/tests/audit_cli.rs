//! `portcullis audit` as a process: exit codes 0/1/2, `--list-rules`, `--explain`, `--rules`
//! files, SARIF validity against the vendored OASIS schema, directories, a broken document among
//! good ones, in-spec suppressions, and the findings on the demo bank's document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A document with no finding at or above `high` (the default `--fail-on`).
const CLEAN: &str = "\
openapi: 3.1.0
info:
  title: clean
  version: 1.0.0
  contact: {name: team, email: team@example.com}
servers:
  - url: https://api.example.com/v1
security:
  - bearer: []
paths:
  /items:
    get:
      operationId: listItems
      responses:
        '200':
          description: ok
        '401': {description: unauthenticated}
        '403': {description: forbidden}
        '429': {description: too many}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
";

/// A write operation without security (PC-AUTH-001, high) at line 7 (`post:`).
const WEAK: &str = "\
openapi: 3.0.3
info: {title: weak, version: '1'}
servers:
  - url: https://api.example.com
paths:
  /items:
    post:
      responses:
        '201': {description: created}
";

/// `portcullis audit --profile strict ARGS` (every rule runs, so each test sees them all; the
/// default profile is tested in audit_diff_cli.rs).
fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["audit", "--profile", "strict"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run portcullis")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

/// `(rule, pointer, line)` of every finding in a JSON report.
fn findings(report: &Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["location"]["pointer"].as_str().unwrap().to_owned(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn has(report: &Value, rule: &str, pointer: &str) -> bool {
    findings(report)
        .iter()
        .any(|(r, p, _)| r == rule && p == pointer)
}

#[test]
fn exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let clean = write(dir.path(), "clean.yaml", CLEAN);
    let weak = write(dir.path(), "weak.yaml", WEAK);

    let out = audit(&[clean.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("score"), "{}", stdout(&out));

    let out = audit(&[weak.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("HIGH"), "{text}");
    // Grouped by rule: the rule with its count, then its places.
    assert!(
        text.contains("  PC-AUTH-001  Write operation without security (1)\n"),
        "{text}"
    );
    assert!(text.contains("weak.yaml:7:5  POST /items"), "{text}");

    // The clean document has low findings: `--fail-on low` turns them into a failure.
    let out = audit(&["--fail-on", "low", clean.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    // And the weak one passes when the threshold is above its worst finding.
    let out = audit(&["--fail-on", "critical", weak.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let out = audit(&[missing.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("nope.yaml"), "{}", stderr(&out));

    let out = audit(&["--format", "xml", "x.yaml"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    // A directory without any OpenAPI document is not a clean audit.
    write(dir.path(), "notes/readme.yaml", "title: not an API\n");
    let out = audit(&[dir.path().join("notes").to_str().unwrap()]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no OpenAPI document"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn list_rules_and_explain() {
    let out = audit(&["--list-rules"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("PC-"))
        .collect();
    assert!(ids.len() >= 45, "{} rules listed", ids.len());
    assert!(ids.contains(&"PC-AUTH-001") && ids.contains(&"PC-SSRF-001"));

    let out = audit(&["--explain", "PC-AUTHZ-001"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("PC-AUTHZ-001"), "{text}");
    assert!(
        text.contains("API1:2023") && text.contains("CWE-639"),
        "{text}"
    );

    let out = audit(&["--explain", "PC-NOPE-999"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("PC-NOPE-999"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn rules_file_disables_and_changes_severity() {
    let dir = tempfile::tempdir().unwrap();
    let weak = write(dir.path(), "weak.yaml", WEAK);
    let weak = weak.to_str().unwrap();

    let off = write(dir.path(), "off.yaml", "rules:\n  PC-AUTH-001: off\n");
    let out = audit(&["--rules", off.to_str().unwrap(), "--format", "json", weak]);
    assert!(!has(&json(&out), "PC-AUTH-001", "/paths/~1items/post"));

    let lower = write(dir.path(), "low.yaml", "rules:\n  PC-AUTH-001: low\n");
    let out = audit(&["--rules", lower.to_str().unwrap(), "--format", "json", weak]);
    let report = json(&out);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "PC-AUTH-001")
        .expect("PC-AUTH-001 still reported");
    assert_eq!(f["severity"], "low");
    assert_eq!(code(&out), 0, "no finding at or above high is left");
}

#[test]
fn rules_file_with_unknown_id_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let weak = write(dir.path(), "weak.yaml", WEAK);
    let rules = write(
        dir.path(),
        "rules.yaml",
        "rules:\n  PC-AUTH-001: off\n  PC-NOPE-999: low\n",
    );
    let out = audit(&["--rules", rules.to_str().unwrap(), weak.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("rules.yaml:3:"), "{err}");
    assert!(err.contains("PC-NOPE-999"), "{err}");
    assert!(stdout(&out).is_empty(), "no report on a bad rules file");
}

fn sarif_validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../report/tests/data/sarif-schema-2.1.0.json"
    );
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Same work-around as crates/report/tests/sarif_schema.rs: the official schema's `language`
    // pattern has an unbalanced `]` the meta-schema's regex check refuses.
    fn escape(v: &mut Value) -> usize {
        const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
        match v {
            Value::String(s) if s == BROKEN => {
                *s = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$".into();
                1
            }
            Value::Object(map) => map.values_mut().map(escape).sum(),
            Value::Array(items) => items.iter_mut().map(escape).sum(),
            _ => 0,
        }
    }
    assert_eq!(escape(&mut schema), 2, "the vendored schema changed");
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn sarif_is_valid_and_marks_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let weak = write(dir.path(), "weak.yaml", WEAK);
    // The same flaw, suppressed in the document with a reason.
    let suppressed = write(
        dir.path(),
        "suppressed.yaml",
        &WEAK.replace(
            "    post:\n",
            "    post:\n      x-portcullis-ignore: [{rule: PC-AUTH-001, reason: \"public form\"}]\n",
        ),
    );
    let out_file = dir.path().join("out.sarif");
    let out = audit(&[
        "--format",
        "sarif",
        "--output",
        out_file.to_str().unwrap(),
        weak.to_str().unwrap(),
        suppressed.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "the report goes to --output");
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();

    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    // The validator is not vacuous.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("catastrophic");
    assert!(!validator.is_valid(&broken));

    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let auth: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "PC-AUTH-001")
        .collect();
    assert_eq!(auth.len(), 2, "{auth:#?}");
    for r in &auth {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["region"]["startLine"], 7);
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        let is_suppressed = r
            .get("suppressions")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty());
        assert_eq!(is_suppressed, uri.ends_with("suppressed.yaml"), "{r:#}");
    }
}

#[test]
fn suppression_without_reason_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let doc = write(
        dir.path(),
        "doc.yaml",
        &WEAK.replace(
            "    post:\n",
            "    post:\n      x-portcullis-ignore: PC-AUTH-001\n",
        ),
    );
    let out = audit(&["--format", "json", doc.to_str().unwrap()]);
    let report = json(&out);
    assert!(
        findings(&report)
            .iter()
            .any(|(r, _, line)| r == "PC-META-001" && *line == 8),
        "{:?}",
        findings(&report)
    );
}

#[test]
fn directories_are_walked_and_non_openapi_files_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/clean.yaml", CLEAN);
    write(dir.path(), "a/b/weak.yml", WEAK);
    write(
        dir.path(),
        "a/b/weak.json",
        r#"{"swagger": "2.0", "info": {"title": "j", "version": "1"}, "host": "api.example.com",
            "schemes": ["https"], "paths": {"/x": {"delete": {"responses": {"204": {"description": "gone"}}}}}}"#,
    );
    write(dir.path(), "a/config.yaml", "name: not an API\n");
    write(dir.path(), "a/notes.txt", "openapi: 3.0.0\n");

    let out = audit(&["--format", "json", dir.path().join("a").to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let mut artifacts: Vec<String> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            Path::new(a.as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    artifacts.sort();
    assert_eq!(artifacts, ["clean.yaml", "weak.json", "weak.yml"]);
    assert!(stderr(&out).contains("skipped 1 file"), "{}", stderr(&out));
    let files: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "PC-AUTH-001")
        .map(|f| f["location"]["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
}

#[test]
fn a_broken_document_exits_2_after_auditing_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let weak = write(dir.path(), "weak.yaml", WEAK);
    let broken = write(
        dir.path(),
        "broken.yaml",
        "openapi: 3.0.3\ninfo: {title: b, version: '1'}\npaths:\n  /x: [unclosed\n",
    );
    let out = audit(&[
        "--format",
        "json",
        weak.to_str().unwrap(),
        broken.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("broken.yaml:"), "{err}");
    assert!(
        err.contains("1 of 2 document(s) could not be audited"),
        "{err}"
    );
    // The good document was still audited and reported.
    let report = json(&out);
    assert!(has(&report, "PC-AUTH-001", "/paths/~1items/post"));
}

#[test]
fn demo_bank_flaws_are_found() {
    let bank = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo/bank.yaml");
    let out = audit(&["--format", "json", bank]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    // BOLA-prone sequential id, the zombie v1 route, the cleartext demo server.
    assert!(has(
        &report,
        "PC-AUTHZ-001",
        "/paths/~1v1~1accounts~1{accountId}/get/parameters/0/schema/type"
    ));
    assert!(has(
        &report,
        "PC-INV-001",
        "/paths/~1v1~1accounts~1{accountId}/get/deprecated"
    ));
    assert!(has(&report, "PC-TLS-001", "/servers/0"));
    // The document itself closes bodies and declares 429 on login: no false alarm there.
    assert!(
        !findings(&report)
            .iter()
            .any(|(r, p, _)| (r == "PC-AUTH-017" || r == "PC-LIMIT-001")
                && p.starts_with("/paths/~1auth~1login")),
        "{:?}",
        findings(&report)
    );
    assert!(report["score"].as_u64().unwrap() < 100);
}

/// The demo bank as its deliberately weak implementation behaves, written down as a spec
/// (open bodies, password hashes in `User`, no 429 anywhere): the audit reports each flaw.
#[test]
fn demo_bank_implementation_flaws_are_found_when_documented() {
    let bank = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/demo/bank.yaml"
    ))
    .unwrap();
    let user = "    User:\n      type: object\n      additionalProperties: false\n      required: [id, username, email]\n      properties:\n";
    let too_many = "        '429':\n          $ref: '#/components/responses/TooManyRequests'\n";
    assert!(
        bank.contains(user) && bank.contains(too_many),
        "the demo document changed: update this test"
    );
    let weak = bank
        .replace(
            user,
            &format!(
                "{user}        password_hash:\n          type: string\n          maxLength: 128\n"
            ),
        )
        .replace(too_many, "")
        .replace("      additionalProperties: false\n", "");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "weak-bank.yaml", &weak);
    let report = json(&audit(&["--format", "json", path.to_str().unwrap()]));
    let found = findings(&report);
    let rules: Vec<&str> = found.iter().map(|(r, _, _)| r.as_str()).collect();
    // Mass assignment on the sign-up and profile bodies.
    assert!(
        has(&report, "PC-INPUT-007", "/components/schemas/NewUser"),
        "{found:?}"
    );
    assert!(
        has(&report, "PC-INPUT-007", "/components/schemas/ProfileUpdate"),
        "{found:?}"
    );
    // The password hash in a response.
    assert!(
        found.iter().any(|(r, p, _)| r.starts_with("PC-EXPO-")
            && p == "/components/schemas/User/properties/password_hash"),
        "{found:?}"
    );
    // Login without 429 is a login without brute-force limits.
    assert!(
        found
            .iter()
            .any(|(r, p, _)| (r == "PC-AUTH-017" || r == "PC-LIMIT-001")
                && p.starts_with("/paths/~1auth~1login")),
        "{found:?}"
    );
    for expected in ["PC-AUTHZ-001", "PC-INV-001"] {
        assert!(rules.contains(&expected), "{expected} not in {rules:?}");
    }
}
