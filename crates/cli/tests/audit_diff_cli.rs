//! `portcullis audit --baseline` and `portcullis audit diff` as processes, over a
//! representative set of corpus documents (2.0 YAML, 3.0 YAML and JSON, 3.1 JSON; the whole
//! corpus goes through the library in crates/audit/tests/diff_corpus.rs):
//!
//! * a document against its own JSON report as baseline: 0 new findings, exit 0;
//! * unrelated edits (keys reordered, descriptions changed, lines shifted): nothing new, no
//!   change;
//! * a mutated copy (security requirement removed, maxLength removed, response field added,
//!   operation added without security): exactly those changes in `audit diff` (exit 1), and
//!   the findings they cause new against the baseline, marked `new` in SARIF;
//! * git revisions (`HEAD:api.json`) and the errors when a revision is missing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../audit/tests/common/mutate.rs"]
mod mutate;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const DOCS: [&str; 4] = [
    "apisguru__figshare.com-2.0.0.yaml",
    "apisguru__googleapis.com-calendar-v3.yaml",
    "pagerduty__scim-openapiv3.json",
    "adyen__payout-service-v68.json",
];

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        });
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("corpus not found at {} (CI=true)", dir.display());
    } else {
        println!("skipped: corpus not found at {}", dir.display());
        None
    }
}

fn portcullis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run portcullis")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn parsed(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let name: std::sync::Arc<str> = std::sync::Arc::from(path.display().to_string());
    let limits = portcullis_spec::parse::Limits::default();
    portcullis_spec::parse::parse(&name, &text, portcullis_spec::parse::Format::Auto, &limits)
        .unwrap()
        .0
}

/// `(rule, pointer)` of a list of findings or changes.
fn places(list: &Value) -> BTreeSet<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["location"]["pointer"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn baselines_and_diffs_of_corpus_documents() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for doc in DOCS {
        let original = corpus.join(doc);
        let orig = original.to_str().unwrap();
        let base = dir.join(format!("{doc}.base.json"));
        let out = portcullis(
            dir,
            &["audit", "--profile", "strict", "--format", "json", orig],
        );
        assert!(
            code(&out) <= 1,
            "{doc}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&base, &out.stdout).unwrap();
        let total = json(&out)["findings"].as_array().unwrap().len();
        let base = base.to_str().unwrap();

        // Its own baseline: nothing new, everything baselined, exit 0 at any threshold.
        let out = portcullis(
            dir,
            &[
                "audit",
                "--profile",
                "strict",
                "--format",
                "json",
                "--fail-on",
                "low",
                "--baseline",
                base,
                orig,
            ],
        );
        let report = json(&out);
        assert_eq!(code(&out), 0, "{doc}");
        assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{doc}");
        assert_eq!(
            report["baseline"]["baselined"].as_u64(),
            Some(total as u64),
            "{doc}"
        );
        assert_eq!(report["baseline"]["fixed"].as_u64(), Some(0), "{doc}");

        // Unrelated edits.
        let raw = parsed(&original);
        let edited = dir.join(format!("{doc}.edited.json"));
        std::fs::write(&edited, mutate::shifted_text(&mutate::unrelated(&raw))).unwrap();
        let edited = edited.to_str().unwrap();
        let out = portcullis(
            dir,
            &[
                "audit",
                "--profile",
                "strict",
                "--format",
                "json",
                "--baseline",
                base,
                edited,
            ],
        );
        assert_eq!(
            json(&out)["findings"].as_array().unwrap().len(),
            0,
            "{doc}: edited"
        );
        let out = portcullis(
            dir,
            &[
                "audit",
                "diff",
                "--profile",
                "strict",
                "--format",
                "json",
                orig,
                edited,
            ],
        );
        let d = json(&out);
        assert_eq!(code(&out), 0, "{doc}: {d}");
        assert!(places(&d["changes"]).is_empty(), "{doc}: {}", d["changes"]);
        assert!(
            places(&d["new_findings"]).is_empty(),
            "{doc}: {}",
            d["new_findings"]
        );

        // Mutations.
        let catalog = portcullis_audit::load(&original).unwrap();
        let mut value = raw;
        let expected = mutate::mutate(&catalog, &mut value);
        assert!(
            expected.len() >= 3,
            "{doc}: only {} mutations apply",
            expected.len()
        );
        let mutated = dir.join(format!("{doc}.mutated.json"));
        std::fs::write(&mutated, mutate::shifted_text(&value)).unwrap();
        let mutated = mutated.to_str().unwrap();
        let out = portcullis(
            dir,
            &[
                "audit",
                "diff",
                "--profile",
                "strict",
                "--format",
                "json",
                orig,
                mutated,
            ],
        );
        let d = json(&out);
        assert_eq!(code(&out), 1, "{doc}: a critical change must fail the diff");
        let want: BTreeSet<(String, String)> = expected
            .iter()
            .map(|e| (e.change.to_owned(), e.pointer.clone()))
            .collect();
        assert_eq!(places(&d["changes"]), want, "{doc}");

        let out = portcullis(
            dir,
            &[
                "audit",
                "--profile",
                "strict",
                "--format",
                "json",
                "--baseline",
                base,
                mutated,
            ],
        );
        assert_eq!(code(&out), 1, "{doc}");
        let new = places(&json(&out)["findings"]);
        for e in expected.iter().filter(|e| !e.rules.is_empty()) {
            assert!(
                new.iter().any(|(rule, p)| e.rules.contains(&rule.as_str())
                    && !p.is_empty()
                    && (p.starts_with(&e.pointer) || e.pointer.starts_with(p.as_str()))),
                "{doc}: no new {:?} at {} in {new:?}",
                e.rules,
                e.pointer
            );
        }
        // The same through the diff: its new findings are the baseline's new findings.
        assert_eq!(places(&d["new_findings"]), new, "{doc}");

        // SARIF marks them: new ones `new`, the rest `unchanged`.
        let out = portcullis(
            dir,
            &[
                "audit",
                "--profile",
                "strict",
                "--format",
                "sarif",
                "--baseline",
                base,
                mutated,
            ],
        );
        let sarif = json(&out);
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let count = |state: &str| {
            results
                .iter()
                .filter(|r| r["baselineState"] == state)
                .count()
        };
        assert_eq!(count("new"), new.len(), "{doc}");
        assert!(count("unchanged") > 0, "{doc}");
        assert!(
            results
                .iter()
                .all(|r| r["partialFingerprints"]["portcullisFinding/v2"].is_string())
        );
    }
}

#[test]
fn grouped_text_and_markdown() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let doc = corpus.join(DOCS[2]);
    let out = portcullis(
        tmp.path(),
        &["audit", "--max-per-rule", "2", doc.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("... and "), "{text}");
    assert!(
        !text.contains("PC-INPUT-001"),
        "recommended leaves PC-INPUT-001 out: {text}"
    );
    let out = portcullis(
        tmp.path(),
        &[
            "audit",
            "--profile",
            "strict",
            "--max-per-rule",
            "0",
            doc.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PC-INPUT-001"), "{text}");

    let mut value = parsed(&doc);
    let catalog = portcullis_audit::load(&doc).unwrap();
    mutate::mutate(&catalog, &mut value);
    let mutated = tmp.path().join("m.json");
    std::fs::write(&mutated, mutate::shifted_text(&value)).unwrap();
    let out = portcullis(
        tmp.path(),
        &[
            "audit",
            "diff",
            "--format",
            "markdown",
            doc.to_str().unwrap(),
            "m.json",
        ],
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 1);
    assert!(md.starts_with("### Portcullis: security diff"), "{md}");
    assert!(md.contains("| **critical** | `security-removed` |"), "{md}");
    // --fail-on above every change: exit 0.
    let out = portcullis(
        tmp.path(),
        &[
            "audit",
            "diff",
            "--fail-on",
            "critical",
            "--format",
            "json",
            "m.json",
            "m.json",
        ],
    );
    assert_eq!(code(&out), 0);
}

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn git_revisions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    if !git(dir, &["init", "-q"]) {
        println!("skipped: git is not available");
        return;
    }
    let v1 = "{\"openapi\": \"3.0.3\", \"info\": {\"title\": \"t\", \"version\": \"1\"},\n \"security\": [{\"key\": []}],\n \"paths\": {\"/items/{id}\": {\"delete\": {\"responses\": {\"204\": {\"description\": \"gone\"}}}}},\n \"components\": {\"securitySchemes\": {\"key\": {\"type\": \"apiKey\", \"in\": \"header\", \"name\": \"K\"}}}}\n";
    std::fs::write(dir.join("api.json"), v1).unwrap();
    assert!(git(dir, &["add", "api.json"]));
    assert!(git(
        dir,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "v1"
        ]
    ));
    let v2 = v1.replace("\"delete\": {", "\"delete\": {\"security\": [], ");
    std::fs::write(dir.join("api.json"), v2).unwrap();

    let out = portcullis(
        dir,
        &[
            "audit",
            "diff",
            "--format",
            "json",
            "HEAD:api.json",
            "api.json",
        ],
    );
    let d = json(&out);
    assert_eq!(code(&out), 1, "{d}");
    assert_eq!(d["old"], "HEAD:api.json");
    assert_eq!(d["changes"][0]["rule"], "security-removed");
    assert_eq!(d["changes"][0]["severity"], "critical");
    assert_eq!(d["changes"][0]["location"]["line"], 3);

    let out = portcullis(dir, &["audit", "diff", "nope:api.json", "api.json"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope:api.json") && err.contains("git show"),
        "{err}"
    );
    let out = portcullis(dir, &["audit", "diff", "missing.json", "api.json"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing.json") && err.contains("no such file"),
        "{err}"
    );
}
