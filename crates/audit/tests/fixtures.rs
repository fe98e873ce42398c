//! One fixture per rule: `tests/fixtures/<RULE-ID>/bad.yaml` must raise exactly the findings of
//! that rule listed in `expected.tsv` (pointer and line, one per row), and `good.yaml` none of
//! that rule. Every rule must have its fixture.
//!
//! After a deliberate change, regenerate the expectations with
//! `UPDATE_FIXTURES=1 cargo test -p portcullis-audit --test fixtures` and review the diff.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use portcullis_audit::{Settings, audit_catalog, rules};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// (pointer, line) of every finding of `rule` in `file`, in report order.
fn findings_of(rule: &str, file: &Path) -> Vec<(String, u32)> {
    let catalog =
        portcullis_audit::load(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut findings = audit_catalog(&catalog, &Settings::default());
    findings.retain(|f| f.rule == rule);
    findings.sort_by_key(|f| (f.location.line, f.location.pointer.clone()));
    findings
        .into_iter()
        .map(|f| {
            (
                f.location.pointer.unwrap_or_default(),
                f.location.line.unwrap_or(0),
            )
        })
        .collect()
}

fn render(rows: &[(String, u32)]) -> String {
    let mut out = String::from("# pointer\tline\n");
    for (p, l) in rows {
        out.push_str(&format!("{p}\t{l}\n"));
    }
    out
}

#[test]
fn every_rule_has_a_fixture_with_exact_findings() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut failures = Vec::new();
    for rule in rules::all() {
        let id = rule.meta().id;
        let dir = fixtures().join(id);
        let (bad, good, expected) = (
            dir.join("bad.yaml"),
            dir.join("good.yaml"),
            dir.join("expected.tsv"),
        );
        if !bad.exists() || !good.exists() {
            failures.push(format!("{id}: missing {}/{{bad,good}}.yaml", dir.display()));
            continue;
        }
        let got = findings_of(id, &bad);
        if got.is_empty() {
            failures.push(format!("{id}: bad.yaml raises no finding of the rule"));
        }
        let rendered = render(&got);
        if update {
            std::fs::write(&expected, &rendered).unwrap();
        } else {
            let want = std::fs::read_to_string(&expected).unwrap_or_default();
            if want != rendered {
                failures.push(format!("{id}: bad.yaml findings differ from expected.tsv\n--- expected\n{want}--- got\n{rendered}"));
            }
        }
        let clean = findings_of(id, &good);
        if !clean.is_empty() {
            failures.push(format!("{id}: good.yaml raises {clean:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n(after a deliberate change: UPDATE_FIXTURES=1 cargo test -p portcullis-audit --test fixtures)",
        failures.join("\n")
    );
}
