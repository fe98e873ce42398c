//! Audits every document of the shared corpus (`PORTCULLIS_CORPUS`, default
//! `../shared/corpus` next to the workspace): no panic, every document audited (the ones a
//! strict load refuses, listed in crates/spec/tests/corpus-expectations.tsv, included: their
//! problems are PC-DOC findings), and every finding located on an existing node with a line.
//! Skipped, with a note, when the corpus is absent.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use portcullis_audit::{Settings, audit_paths};

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
    } else {
        // CI must have the corpus: there a skip would pass a run that tested nothing.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true and the corpus is not at {} (set PORTCULLIS_CORPUS)",
            dir.display()
        );
        println!("skipped: corpus not found at {}", dir.display());
        None
    }
}

#[test]
fn audits_the_whole_corpus() {
    let Some(dir) = corpus() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let docs: Vec<PathBuf> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty())
        .map(|f| dir.join(f))
        .collect();
    assert!(docs.len() > 300, "{} documents", docs.len());

    let outcome = audit_paths(&docs, &Settings::default());
    assert!(outcome.failures.is_empty(), "{:#?}", outcome.failures);
    assert_eq!(outcome.audited, docs.len());

    let report = &outcome.report;
    // The documents a strict load refuses are audited, and say why they were refused.
    let expectations = include_str!("../../spec/tests/corpus-expectations.tsv");
    for line in expectations.lines().filter(|l| !l.starts_with('#')) {
        let Some(file) = line.split('\t').next().filter(|f| !f.is_empty()) else {
            continue;
        };
        // A multi-file document's findings may be in any of its files: match its folder.
        let key = match file.rsplit_once('/') {
            Some((dir, _)) => format!("/{dir}/"),
            None => format!("/{file}"),
        };
        let doc_findings: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.rule.starts_with("PC-DOC-"))
            .filter(|f| f.location.file.as_deref().is_some_and(|p| p.contains(&key)))
            .map(|f| f.rule.as_str())
            .collect();
        assert!(!doc_findings.is_empty(), "{file}: no PC-DOC finding");
    }
    assert!(report.findings.len() > 1000);
    let mut unlocated = Vec::new();
    let mut missing_nodes = 0usize;
    let mut sources: std::collections::HashMap<String, serde_json::Value> = Default::default();
    for f in &report.findings {
        let (Some(file), Some(pointer), Some(line)) =
            (&f.location.file, &f.location.pointer, f.location.line)
        else {
            unlocated.push(format!("{} {:?}", f.rule, f.location));
            continue;
        };
        assert!(line > 0);
        if pointer.is_empty() {
            continue;
        }
        // The pointer names a node that exists in the file (checked on a sample of files).
        if sources.len() < 40 || sources.contains_key(file) {
            let value = sources.entry(file.clone()).or_insert_with(|| {
                let text = std::fs::read_to_string(file).unwrap_or_default();
                let name: std::sync::Arc<str> = std::sync::Arc::from(file.as_str());
                portcullis_spec::parse::parse(
                    &name,
                    &text,
                    portcullis_spec::parse::Format::Auto,
                    &Default::default(),
                )
                .map(|(v, _)| v)
                .unwrap_or(serde_json::Value::Null)
            });
            if !value.is_null() && value.pointer(pointer).is_none() {
                missing_nodes += 1;
                if missing_nodes < 10 {
                    println!("no node at {file} {pointer} ({})", f.rule);
                }
            }
        }
    }
    assert!(
        unlocated.is_empty(),
        "findings without a location: {unlocated:#?}"
    );
    assert_eq!(missing_nodes, 0, "findings whose pointer names no node");
    println!(
        "audited {} documents, {} refused by the loader, {} findings, lowest score {:?}",
        outcome.audited,
        outcome.failures.len(),
        report.findings.len(),
        report.score
    );
}
