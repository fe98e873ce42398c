//! The router over every document of the real-world corpus: for each operation, a request
//! built from its template (parameters filled in, under its first server's base path)
//! routes back to that operation with those values, unless the router warned about it.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use portcullis_spec::{Catalog, Operation, Route, Router, RouterOptions, normalize_path};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("PORTCULLIS_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        )),
    }
}

/// A request path for operation `index`: each `{name}` replaced by a value unlikely to be a
/// literal of any template. Returns the path and the expected (name, value) pairs.
fn request(catalog: &Catalog, op: &Operation, index: usize) -> (String, Vec<(String, String)>) {
    let base = op
        .servers
        .first()
        .or(catalog.servers.first())
        .map_or("", |s| s.base_path.as_str());
    let mut path = String::from(base);
    let mut params = Vec::new();
    let mut rest = op.path.as_str();
    while let Some((literal, after)) = rest.split_once('{') {
        let Some((name, next)) = after.split_once('}') else {
            break;
        };
        let value = format!("q{}z ü{}", index, params.len());
        path.push_str(literal);
        path.push_str(&value.replace(' ', "%20").replace('ü', "%C3%BC"));
        params.push((name.to_owned(), value));
        rest = next;
    }
    path.push_str(rest);
    (path, params)
}

/// What routing one document's operations gave.
#[derive(Default)]
struct Tally {
    loaded: bool,
    operations: usize,
    routed: usize,
    warned: usize,
    failures: Vec<String>,
}

/// Routes a request for every operation of `file` back (see the module's doc).
fn check(dir: &Path, file: &str) -> Tally {
    let mut t = Tally::default();
    let Ok(catalog) = portcullis_spec::load(&dir.join(file)) else {
        return t; // The loader's own corpus test reports documents it refuses.
    };
    t.loaded = true;
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    for (index, op) in catalog.operations.iter().enumerate() {
        t.operations += 1;
        if warnings.iter().any(|w| w.operation == Some(index)) {
            t.warned += 1;
            continue;
        }
        let (raw, expected) = request(&catalog, op, index);
        let Ok(path) = normalize_path(&raw) else {
            t.failures
                .push(format!("{file}: {} {raw}: does not normalize", op.method));
            continue;
        };
        match router.route(op.method.as_str(), path.as_str()) {
            Route::Matched { operation, params } if operation == index => {
                let got: Vec<(String, String)> = params
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.into_owned()))
                    .collect();
                if got == expected {
                    t.routed += 1;
                } else {
                    t.failures
                        .push(format!("{file}: {} {}: params {got:?}", op.method, op.path));
                }
            }
            Route::Matched { operation, .. } => {
                let other = &catalog.operations[operation].path;
                t.failures.push(format!(
                    "{file}: {} {} routed to {other}",
                    op.method, op.path
                ));
            }
            other => t
                .failures
                .push(format!("{file}: {} {raw}: {other:?}", op.method)),
        }
        if !matches!(
            router.route("PROPFIND", path.as_str()),
            Route::MethodNotAllowed { .. }
        ) {
            t.failures
                .push(format!("{file}: PROPFIND {raw} is not 405"));
        }
    }
    t
}

#[test]
fn every_operation_of_the_corpus_routes_back() {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        // CI must have the corpus: there a skip would pass a run that tested nothing.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true and the corpus is not at {} (set PORTCULLIS_CORPUS)",
            dir.display()
        );
        println!("skipped: corpus not found at {}", dir.display());
        return;
    };
    let files: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    // Documents in parallel on every core (rayon); the tallies and failures are put together
    // in manifest order.
    let tallies: Vec<Tally> = files
        .par_iter()
        .with_max_len(1)
        .map(|file| check(&dir, file))
        .collect();
    let (mut documents, mut operations, mut routed, mut warned) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for t in tallies {
        documents += usize::from(t.loaded);
        operations += t.operations;
        routed += t.routed;
        warned += t.warned;
        failures.extend(t.failures);
    }
    println!(
        "{documents} documents, {operations} operations: {routed} routed back, {warned} with a \
         router warning, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
