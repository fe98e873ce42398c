//! SARIF output validates against the official OASIS SARIF 2.1.0 schema (vendored in
//! tests/data, see its README), for a fixed report and for arbitrary findings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use portcullis_report::{Finding, Location, Report, Severity, write};
use proptest::prelude::*;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = include_str!("data/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(text).unwrap();
    // The official schema's `language` patterns have an unbalanced `]` (a literal in ECMA
    // regexes), which the meta-schema's `format: regex` check rejects. Escaping it keeps the
    // same meaning; we never emit `language`, so nothing we check depends on it.
    let patched = escape_bracket(&mut schema);
    assert_eq!(
        patched, 2,
        "the vendored schema changed: review this work-around"
    );
    jsonschema::validator_for(&schema).unwrap()
}

fn escape_bracket(v: &mut Value) -> usize {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        Value::String(s) if s == BROKEN => {
            *s = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$".into();
            1
        }
        Value::Object(map) => map.values_mut().map(escape_bracket).sum(),
        Value::Array(items) => items.iter_mut().map(escape_bracket).sum(),
        _ => 0,
    }
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sample_report_is_valid_sarif() {
    let v = validator();
    let sarif = write::sarif_value(&common::sample());
    assert_eq!(errors(&v, &sarif), Vec::<String>::new());
}

#[test]
fn baseline_and_diff_sarif_are_valid() {
    let v = validator();
    let mut report = common::sample();
    let mut fixed = report.findings[0].clone();
    fixed.fingerprint = Some("0123456789abcdef".into());
    report.baseline = Some(portcullis_report::Baseline {
        file: "base.json".into(),
        baselined: 1,
        fixed: 1,
        unchanged: vec![report.findings[1].clone()],
        absent: vec![fixed],
    });
    let sarif = write::sarif_value(&report);
    assert_eq!(errors(&v, &sarif), Vec::<String>::new());
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let states: Vec<&str> = results
        .iter()
        .map(|r| r["baselineState"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "new").count(),
        report.findings.len()
    );
    assert_eq!(states.iter().filter(|s| **s == "unchanged").count(), 1);
    let absent = results
        .iter()
        .find(|r| r["baselineState"] == "absent")
        .unwrap();
    assert_eq!(
        (&absent["kind"], &absent["level"]),
        (&Value::from("pass"), &Value::from("none"))
    );
    assert_eq!(
        absent["partialFingerprints"]["portcullisFinding/v2"],
        "0123456789abcdef"
    );

    let mut diff = portcullis_report::DiffReport {
        tool: "portcullis".into(),
        version: "0.1.0".into(),
        old: "main:a.yaml".into(),
        new: "a.yaml".into(),
        changes: vec![report.findings[0].clone()],
        new_findings: vec![report.findings[1].clone()],
        fixed_findings: vec![report.findings[2].clone()],
        ..Default::default()
    };
    diff.finish();
    let mut out = Vec::new();
    write::diff_sarif(&diff, &mut out).unwrap();
    let sarif: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(errors(&v, &sarif), Vec::<String>::new());
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
}

#[test]
fn the_validator_really_checks() {
    // A wrong `level` must be caught, or the test above proves nothing.
    let v = validator();
    let mut sarif = write::sarif_value(&common::sample());
    sarif["runs"][0]["results"][0]["level"] = Value::String("catastrophic".into());
    assert!(!errors(&v, &sarif).is_empty());
    let mut sarif = write::sarif_value(&common::sample());
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!errors(&v, &sarif).is_empty());
}

#[test]
fn empty_report_is_valid_sarif() {
    let v = validator();
    let sarif = write::sarif_value(&Report::new("portcullis", "0.1.0"));
    assert_eq!(errors(&v, &sarif), Vec::<String>::new());
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::DESCENDING.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_findings_give_valid_sarif_and_json_round_trips(
        rule_id in "[A-Z]{2,4}-[A-Z]{2,5}-[0-9]{3}",
        title in ".{0,40}",
        message in ".{0,80}",
        file in proptest::option::of("[^\u{0}]{1,30}"),
        pointer in proptest::option::of(".{0,30}"),
        line in proptest::option::of(0u32..5000),
        column in proptest::option::of(0u32..200),
        url in proptest::option::of("http://127\\.0\\.0\\.1/[a-z/]{0,20}"),
        suppressed in proptest::option::of(".{0,20}"),
        sev in severity(),
    ) {
        let rule = common::rule(&rule_id, &title, sev, portcullis_report::Owasp::Api4, 770);
        let location = Location { file, pointer, line, column, url, ..Location::default() };
        let mut f = Finding::new(&rule, location, message);
        f.suppressed = suppressed;
        let mut report = Report::new("portcullis", "0.1.0");
        report.push(f);
        report.rules.push(rule);
        report.finish();
        let sarif = write::sarif_value(&report);
        let errs = errors(&validator(), &sarif);
        prop_assert!(errs.is_empty(), "{:?}", errs);
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.findings, report.findings);
    }
}
