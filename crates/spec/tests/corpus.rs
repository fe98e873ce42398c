//! Loads every document of the real-world corpus manifest (see `shared/corpus/README.md`) into
//! a catalog. Each must load, or fail with the error `corpus-expectations.tsv` lists for it
//! (strict loads, as the gateway does); each of those must then load tolerantly (as the audit
//! does), its problem recorded instead.
//!
//! The corpus is found through `PORTCULLIS_CORPUS`, else `../shared/corpus` next to the
//! workspace; when it is absent the test says so and passes.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use portcullis_spec::{Catalog, LoadOptions, load, load_with};
use serde_json::Value;

/// How long one document may take before the test reports it as hanging (a watchdog for a
/// hang, not a performance assertion: the slowest document takes well under a second).
const HANG: Duration = Duration::from_secs(300);

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

/// First column of the manifest, header skipped.
fn manifest(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `file -> expected error substring` from `corpus-expectations.tsv` (comments start with `#`).
fn expectations() -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus-expectations.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() == 3 && cols.iter().all(|c| !c.trim().is_empty()),
            "corpus-expectations.tsv line {}: want `file<TAB>error substring<TAB>why the document is invalid`",
            n + 1
        );
        let previous = out.insert(cols[0].to_owned(), cols[1].to_owned());
        assert!(
            previous.is_none(),
            "corpus-expectations.tsv lists {} twice",
            cols[0]
        );
    }
    out
}

/// What loading one document gave.
enum Outcome {
    Loaded(Summary),
    Failed(String),
    Panicked(String),
}

struct Summary {
    operations: usize,
    declared_operations: usize,
    warnings: usize,
    schemas: usize,
    bytes: u64,
    problems: Vec<String>,
}

/// Checks the invariants every catalog keeps, returning what is wrong.
fn summarize(catalog: &Catalog) -> Summary {
    // Operations written directly in the root's path items (items that are `$ref`s to other
    // files are not counted): the catalog must have at least these.
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let declared_operations = catalog
        .sources
        .root()
        .and_then(|f| f.value.get("paths"))
        .and_then(Value::as_object)
        .map_or(0, |paths| {
            paths
                .values()
                .filter_map(Value::as_object)
                .map(|item| {
                    item.keys()
                        .filter(|k| methods.contains(&k.as_str()))
                        .count()
                })
                .sum()
        });
    let mut problems = Vec::new();
    for key in catalog.schemas.keys() {
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            problems.push(format!(
                "schema key {key:?} has characters outside [A-Za-z0-9._-]"
            ));
        }
    }
    let mut operation_schemas: Vec<&Value> = Vec::new();
    for op in &catalog.operations {
        let params = op.parameters.iter().filter_map(|p| p.schema.as_ref());
        let bodies = op.request_body.iter().flat_map(|b| b.content.values());
        let responses = op.responses.values().flat_map(|r| r.content.values());
        let media = bodies.chain(responses).filter_map(|m| m.schema.as_ref());
        let headers = op
            .responses
            .values()
            .flat_map(|r| r.headers.values().flatten());
        operation_schemas.extend(params.chain(media).chain(headers).map(|s| &*s.value));
    }
    problems.extend(check_bundle(catalog, &operation_schemas));
    let mut schemas: Vec<&Value> = catalog.schemas.values().map(|s| &*s.value).collect();
    schemas.extend(operation_schemas);
    for schema in schemas {
        let mut todo = vec![schema];
        while let Some(v) = todo.pop() {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref")
                        && catalog.resolve_ref(r).is_none()
                    {
                        problems.push(format!("$ref {r:?} is not in catalog.schemas"));
                    }
                    // Data keywords may hold anything, `$ref` keys included.
                    for (k, child) in map {
                        if !matches!(
                            k.as_str(),
                            "enum" | "const" | "default" | "examples" | "example"
                        ) && !k.starts_with("x-")
                        {
                            todo.push(child);
                        }
                    }
                }
                Value::Array(items) => todo.extend(items),
                _ => {}
            }
        }
    }
    let mut ids = std::collections::HashSet::new();
    for op in &catalog.operations {
        if !ids.insert(op.id.as_str()) {
            problems.push(format!("operation id {:?} is not unique", op.id));
        }
        if op.location.line == 0 {
            problems.push(format!("operation {} has no line", op.id));
        }
    }
    problems.truncate(5);
    Summary {
        operations: catalog.operations.len(),
        declared_operations,
        warnings: catalog.warnings.len(),
        schemas: catalog.schemas.len(),
        bytes: catalog.sources.files.iter().map(|f| f.bytes).sum(),
        problems,
    }
}

/// Every operation schema, with `catalog.schemas` as `$defs`, must be a valid JSON Schema
/// 2020-12 document that a validator compiles: the contract the gateway relies on.
fn check_bundle(catalog: &Catalog, schemas: &[&Value]) -> Option<String> {
    let defs: serde_json::Map<String, Value> = catalog
        .schemas
        .iter()
        .map(|(k, s)| (k.clone(), (*s.value).clone()))
        .collect();
    let mut any_of: Vec<Value> = schemas.iter().map(|s| (*s).clone()).collect();
    if any_of.is_empty() {
        any_of.push(Value::Bool(true));
    }
    let bundle = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": defs,
        "anyOf": any_of,
    });
    if let Err(e) = jsonschema::meta::validate(&bundle) {
        return Some(format!(
            "the schema bundle is not valid JSON Schema 2020-12 at {}: {e}",
            e.instance_path()
        ));
    }
    jsonschema::draft202012::new(&bundle)
        .err()
        .map(|e| format!("the schema bundle does not compile: {e}"))
}

fn run_one(path: &Path) -> Outcome {
    let path = path.to_owned();
    match std::panic::catch_unwind(move || load(&path)) {
        Ok(Ok(catalog)) => Outcome::Loaded(summarize(&catalog)),
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(panic) => Outcome::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default(),
        ),
    }
}

#[test]
fn every_manifest_document_loads_or_fails_as_expected() {
    let Some(dir) = corpus() else { return };
    let docs = Arc::new(manifest(&dir));
    let expected = expectations();
    for file in expected.keys() {
        assert!(
            docs.contains(file),
            "corpus-expectations.tsv lists {file}, which is not in the manifest"
        );
    }

    // A few workers each take the next document; the main thread watches for a hang and
    // names the document in flight when one does not finish.
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(Mutex::new(BTreeMap::<usize, String>::new()));
    let (tx, rx) = mpsc::channel();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    for _ in 0..workers {
        let (docs, next, in_flight, tx, dir) = (
            docs.clone(),
            next.clone(),
            in_flight.clone(),
            tx.clone(),
            dir.clone(),
        );
        std::thread::spawn(move || {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(file) = docs.get(i) else { break };
                in_flight.lock().unwrap().insert(i, file.clone());
                let begun = Instant::now();
                let outcome = run_one(&dir.join(file));
                in_flight.lock().unwrap().remove(&i);
                if tx.send((file.clone(), outcome, begun.elapsed())).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let mut failures = Vec::new();
    let (mut loaded, mut failed, mut operations, mut warnings, mut schemas, mut bytes) =
        (0, 0, 0, 0, 0, 0u64);
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    for _ in 0..docs.len() {
        let (file, outcome, took) = match rx.recv_timeout(HANG) {
            Ok(r) => r,
            Err(_) => panic!(
                "no document finished in {HANG:?}; in flight: {:?}",
                in_flight.lock().unwrap()
            ),
        };
        slowest.push((took, file.clone()));
        match (outcome, expected.get(&file)) {
            (Outcome::Panicked(msg), _) => failures.push(format!("{file}: PANICKED: {msg}")),
            (Outcome::Loaded(s), None) => {
                loaded += 1;
                operations += s.operations;
                warnings += s.warnings;
                schemas += s.schemas;
                bytes += s.bytes;
                if s.operations < s.declared_operations {
                    failures.push(format!(
                        "{file}: {} operations in the root's path items but {} in the catalog",
                        s.declared_operations, s.operations
                    ));
                }
                for p in s.problems {
                    failures.push(format!("{file}: {p}"));
                }
            }
            (Outcome::Loaded(_), Some(want)) => failures.push(format!(
                "{file}: loads, but corpus-expectations.tsv expects it to fail with {want:?} (remove the row?)"
            )),
            (Outcome::Failed(got), None) => failures.push(format!("{file}: unexpected error:\n    got:  {got}")),
            (Outcome::Failed(got), Some(want)) => {
                failed += 1;
                if !got.contains(want.as_str()) {
                    failures.push(format!("{file}: fails differently:\n    want: ...{want}...\n    got:  {got}"));
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    println!(
        "corpus: {} documents in {secs:.1} s on {workers} threads ({:.1} docs/s): {loaded} loaded \
         ({operations} operations, {schemas} $defs schemas, {warnings} warnings, {:.1} MB read), \
         {failed} failed as expected",
        docs.len(),
        docs.len() as f64 / secs,
        bytes as f64 / 1e6,
    );
    for (took, file) in slowest.iter().take(5) {
        println!("  {:>8.1} ms  {file}", took.as_secs_f64() * 1e3);
    }
    assert!(
        failures.is_empty(),
        "{} corpus documents differ from what is expected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_refused_document_loads_tolerantly() {
    let Some(dir) = corpus() else { return };
    let mut failures = Vec::new();
    for file in expectations().keys() {
        match load_with(&dir.join(file), &LoadOptions::tolerant()) {
            Ok(c) if !c.unresolved_refs.is_empty() || c.declared_version.starts_with("3.2") => {
                // Every unresolved reference is located on its `$ref` member, with a line.
                for u in &c.unresolved_refs {
                    if !u.location.pointer.ends_with("/$ref") || u.location.line == 0 {
                        failures.push(format!(
                            "{file}: unresolved $ref badly located: {:?}",
                            u.location
                        ));
                    }
                }
            }
            Ok(_) => failures.push(format!("{file}: loads tolerantly but records nothing")),
            Err(e) => failures.push(format!("{file}: a tolerant load fails: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
