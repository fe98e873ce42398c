// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

//! False positives on real API values: every string under an `example`, `examples`, `default`
//! or `enum` key of the 325 documents of the real-world corpus (read in place, never copied),
//! checked at paranoia 1. Fails over 0.1%. The corpus is `PORTCULLIS_CORPUS`, else
//! `../shared/corpus` beside the checkout; when it is absent the test says it skipped, and fails
//! instead when `CI=true`.
//!
//! `cargo test -p portcullis-inspect --test spec_examples -- --nocapture` prints the figures.

use portcullis_inspect::injection::Detector;
use portcullis_spec::parse::{Limits, parse_file};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPUS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        },
        PathBuf::from,
    );
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and the corpus is not at {} (set PORTCULLIS_CORPUS)",
        dir.display()
    );
    println!(
        "SKIPPED: the real-world corpus is not at {} (set PORTCULLIS_CORPUS)",
        dir.display()
    );
    None
}

/// Every string under an example/default/enum key, at any depth below it.
fn collect(value: &Value, inside: bool, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if inside => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, inside, out)),
        Value::Object(map) => {
            for (k, v) in map {
                let key = matches!(
                    k.as_str(),
                    "example" | "examples" | "default" | "enum" | "x-example"
                );
                collect(v, inside || key, out);
            }
        }
        _ => {}
    }
}

#[test]
fn spec_example_strings_are_not_attacks() {
    let Some(dir) = corpus() else { return };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let files: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|line| line.split('\t').next())
        .collect();
    // Documents read in parallel on every core (rayon), their strings put together.
    let read: Vec<Option<BTreeSet<String>>> = files
        .par_iter()
        .with_max_len(1)
        .map(|file| {
            let name: Arc<str> = Arc::from(*file);
            match parse_file(&dir.join(file), name, &Limits::default()) {
                Ok(source) => {
                    let mut values = BTreeSet::new();
                    collect(&source.value, false, &mut values);
                    Some(values)
                }
                Err(e) => {
                    println!("unreadable {file}: {e}");
                    None
                }
            }
        })
        .collect();
    let documents = read.iter().flatten().count();
    let mut values = BTreeSet::new();
    for set in read.into_iter().flatten() {
        values.extend(set);
    }
    let detector = Detector::new(1);
    let flagged: Vec<(String, String)> = values
        .par_iter()
        .filter_map(|v| {
            detector
                .check(v)
                .map(|f| (v.clone(), format!("{} {}", f.kind.rule(), f.fingerprint)))
        })
        .collect();
    let pct = 100.0 * flagged.len() as f64 / values.len().max(1) as f64;
    println!(
        "spec examples: {documents} documents, {} distinct strings, {} flagged at paranoia 1 ({pct:.3}%)",
        values.len(),
        flagged.len()
    );
    for (v, why) in flagged.iter().take(60) {
        let short: String = v.chars().take(160).collect();
        println!("    flagged ({why}): {short:?}");
    }
    assert!(
        documents >= 300,
        "only {documents} corpus documents could be read"
    );
    assert!(
        pct <= 0.1,
        "false positives on the corpus's example strings are {pct:.3}% (> 0.1%)"
    );
}
