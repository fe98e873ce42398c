//! Baselines and `audit diff` over every single-file document of the corpus
//! (`PORTCULLIS_CORPUS`), through the library (crates/cli/tests/audit_diff_cli.rs runs the same
//! through the binary for a few documents):
//!
//! * a document against its own findings as baseline has no new finding;
//! * unrelated edits (keys reordered, descriptions changed, lines shifted) make no change and
//!   no new finding;
//! * a mutated copy (a security requirement removed, a maxLength removed, a response field
//!   added, an operation added without security) makes exactly those changes, and the
//!   findings the mutations cause are new.
//!
//! Skipped, with a note, when the corpus is absent (a failure when CI=true). Multi-file
//! documents (`multi/`) are left out: their copies would need the other files beside them.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "common/mutate.rs"]
mod mutate;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use portcullis_audit::diff::{Version, diff_versions};
use portcullis_audit::{Settings, baseline, load};
use portcullis_report::Report;
use portcullis_spec::{LoadOptions, load_str_with};
use rayon::prelude::*;

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

/// The single-file documents of the manifest.
fn documents(dir: &Path) -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty() && !f.starts_with("multi/"))
        .map(|f| dir.join(f))
        .collect()
}

fn load_text(name: &str, text: &str) -> portcullis_spec::Catalog {
    load_str_with(name, text, &LoadOptions::tolerant()).unwrap()
}

/// Checks one document; returns how many mutations it allowed.
fn check(path: &Path, settings: &Settings) -> usize {
    let name = path.display().to_string();
    let original = load(path).unwrap();
    let before = Version::new(&original, settings, &name);
    let findings = before.findings().to_vec();

    // Its own baseline: nothing new, nothing fixed.
    let mut report = Report::new("portcullis", "t");
    report.artifacts = vec![name.clone()];
    report.findings = findings.clone();
    report.finish();
    let mut again = report.clone();
    baseline::apply(&mut again, report, "self");
    let b = again.baseline.as_ref().unwrap();
    assert!(
        again.findings.is_empty(),
        "{name}: {:?}",
        again.findings.first()
    );
    assert_eq!((b.baselined, b.fixed), (findings.len(), 0), "{name}");

    // The document as parsed: the loader keeps it (reading and parsing the file again cost a
    // tenth of this test's time).
    let raw = original.sources.root().unwrap().value.clone();

    // Unrelated edits.
    let edited = load_text(
        "edited.json",
        &mutate::shifted_text(&mutate::unrelated(&raw)),
    );
    let d = diff_versions(
        &before,
        &Version::new(&edited, settings, "edited.json"),
        settings,
    );
    assert!(
        d.changes.is_empty(),
        "{name}: unrelated edits changed {:#?}",
        d.changes
    );
    assert!(
        d.new_findings.is_empty(),
        "{name}: unrelated edits made new findings {:#?}",
        d.new_findings.iter().take(3).collect::<Vec<_>>()
    );

    // Mutations.
    let mut mutated = raw;
    let expected = mutate::mutate(&original, &mut mutated);
    let copy = load_text("mutated.json", &mutate::shifted_text(&mutated));
    let d = diff_versions(
        &before,
        &Version::new(&copy, settings, "mutated.json"),
        settings,
    );
    let got: BTreeSet<(String, String)> = d
        .changes
        .iter()
        .map(|c| {
            (
                c.rule.clone(),
                c.location.pointer.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = expected
        .iter()
        .map(|e| (e.change.to_owned(), e.pointer.clone()))
        .collect();
    assert_eq!(got, want, "{name}: changes");
    for e in &expected {
        if e.rules.is_empty() || !e.rules.iter().any(|r| settings.enabled(r)) {
            continue;
        }
        assert!(
            d.new_findings
                .iter()
                .any(|f| e.rules.contains(&f.rule.as_str())
                    && f.location.pointer.as_deref().is_some_and(|p| !p.is_empty()
                        && (p.starts_with(&e.pointer) || e.pointer.starts_with(p)))),
            "{name}: no new {:?} finding at {} among {:#?}",
            e.rules,
            e.pointer,
            d.new_findings
                .iter()
                .map(|f| (&f.rule, &f.location.pointer))
                .collect::<Vec<_>>()
        );
    }
    expected.len()
}

#[test]
fn baselines_and_diffs_over_the_corpus() {
    let Some(dir) = corpus() else { return };
    let docs = documents(&dir);
    assert!(docs.len() > 300, "{} documents", docs.len());
    // Every rule runs, so every rule's fingerprints are checked.
    let settings = Settings::default();
    let mutations: Vec<usize> = docs.par_iter().map(|p| check(p, &settings)).collect();
    let total: usize = mutations.iter().sum();
    // Every document allows the added operation; most allow the others.
    assert!(mutations.iter().all(|m| *m >= 1));
    assert!(
        total > docs.len() * 2,
        "{total} mutations over {} documents",
        docs.len()
    );
    println!("{} documents, {total} mutations", docs.len());
}
