//! Parses every file of the real-world corpus (see `shared/corpus/README.md`).
//!
//! The corpus is found through `PORTCULLIS_CORPUS`, else `../shared/corpus` next to the
//! workspace; when it is absent the tests say so and pass.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_spec::parse::{Format, Limits, parse, parse_file};
use portcullis_spec::pointer;
use portcullis_spec::source::Positions;
use rayon::prelude::*;
use serde_json::Value;

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
    if dir.is_dir() {
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

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_document(path: &Path) -> bool {
    Format::from_path(path) != Format::Auto
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Asserts that every node of `value` is found exactly; returns how many were checked.
fn check_every_pointer(file: &str, value: &Value, positions: &Positions) -> usize {
    let mut checked = 0;
    let mut todo = vec![(String::new(), value)];
    while let Some((at, v)) = todo.pop() {
        let found = positions.find(value, &at);
        assert!(
            matches!(found, Some((l, c, true)) if l > 0 && c > 0),
            "{file}: {at:?} not found exactly: {found:?}"
        );
        checked += 1;
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    todo.push((pointer::push(&at, k), child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    todo.push((pointer::push(&at, &i.to_string()), child));
                }
            }
            _ => {}
        }
    }
    checked
}

/// What became of one file of the corpus.
enum Parsed {
    /// Not a YAML or JSON document.
    Other,
    /// The parser's error.
    Failed(String),
    /// Parsed (a JSON file exactly as serde_json reads it).
    Document {
        json: bool,
        bytes: u64,
        /// Time spent in the parser.
        took: Duration,
        /// What `openapi` (else `swagger`) holds, as the manifest writes it.
        version: String,
    },
}

/// Parses one file; a JSON file must give what serde_json gives (asserted here).
fn parse_one(path: &Path, name: &str, limits: &Limits) -> Parsed {
    if !is_document(path) {
        return Parsed::Other;
    }
    let started = Instant::now();
    let parsed = parse_file(path, Arc::from(name), limits);
    let took = started.elapsed();
    let source = match parsed {
        Ok(source) => source,
        Err(e) => return Parsed::Failed(e.to_string()),
    };
    let json = Format::from_path(path) == Format::Json;
    if json {
        let text = std::fs::read_to_string(path).unwrap();
        let reference: Value = serde_json::from_str(&text).unwrap();
        assert!(reference == source.value, "{name}: differs from serde_json");
    }
    let version = match source
        .value
        .get("openapi")
        .or_else(|| source.value.get("swagger"))
    {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Parsed::Document {
        json,
        bytes: source.bytes,
        took,
        version,
    }
}

#[test]
fn every_corpus_file_parses() {
    let Some(dir) = corpus() else { return };
    let limits = Limits::default();
    // Files in parallel on every core (rayon), put together in the sorted order.
    let outcomes: Vec<(String, Parsed)> = files(&dir)
        .par_iter()
        .with_max_len(1)
        .map(|path| {
            (
                relative(&dir, path),
                parse_one(path, &relative(&dir, path), &limits),
            )
        })
        .collect();
    let (mut yaml, mut json, mut others, mut bytes) = (0, 0, Vec::new(), 0_u64);
    let mut failures = Vec::new();
    let mut parsing = Duration::ZERO;
    // The version a top-level document declares (`openapi`, else `swagger`), by file name.
    let mut versions = BTreeMap::new();
    for (name, outcome) in outcomes {
        match outcome {
            Parsed::Other => others.push(name),
            Parsed::Failed(e) => failures.push(e),
            Parsed::Document {
                json: is_json,
                bytes: b,
                took,
                version,
            } => {
                parsing += took;
                bytes += b;
                if is_json {
                    json += 1;
                } else {
                    yaml += 1;
                }
                if !name.contains('/') {
                    versions.insert(name, version);
                }
            }
        }
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "corpus: {} documents parsed ({yaml} YAML, {json} JSON), {mb:.1} MB in {:.2} s of parsing (summed over the threads) = {:.1} MB/s; \
         {} other files not parsed: {others:?}",
        yaml + json,
        parsing.as_secs_f64(),
        mb / parsing.as_secs_f64(),
        others.len(),
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(yaml + json > 3700, "only {} documents found", yaml + json);

    // Every manifest row declares the version exactly as its document does.
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut checked = 0;
    for row in manifest.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (Some(file), Some(declared)) = (cols.first(), cols.get(5)) else {
            continue;
        };
        let Some(shown) = versions.get(*file) else {
            continue;
        };
        assert_eq!(shown, declared, "{file}");
        checked += 1;
    }
    assert!(checked > 300, "{checked} manifest rows checked");
}

#[test]
fn yaml_spot_checks() {
    let Some(dir) = corpus() else { return };
    let limits = Limits::default();
    let load = |name: &str| parse_file(&dir.join(name), Arc::from(name), &limits).unwrap();

    // Unquoted integer response codes become string keys.
    let docker = load("docker__engine-api-swagger.yaml");
    let responses = docker
        .get("/paths/~1containers~1json/get/responses")
        .unwrap();
    assert!(responses.get("200").is_some(), "{responses}");
    assert!(docker.get("/swagger").is_some_and(|v| v == "2.0"));

    // Anchors and aliases are expanded.
    let openai = load("openai__openapi-2025-02.yaml");
    let logprob = "/components/schemas/ChatCompletionTokenLogprob/properties";
    let anchored = openai.get(&format!("{logprob}/bytes")).unwrap();
    let alias = openai.get(&format!("{logprob}/top_logprobs/items/properties/bytes"));
    assert_eq!(alias, Some(anchored));
    assert_eq!(anchored.get("type").and_then(Value::as_str), Some("array"));
    let text = std::fs::read_to_string(dir.join("openai__openapi-2025-02.yaml")).unwrap();
    let alias_line = text.lines().position(|l| l.trim() == "bytes: *a3").unwrap() + 1;
    let at = openai.locate(&format!("{logprob}/top_logprobs/items/properties/bytes"));
    assert_eq!(
        at.line as usize, alias_line,
        "the alias's member is where it is written"
    );

    // Block scalars keep their newlines, quoted scalars their text.
    let petstore = load("multi/oai-petstore-separate-yaml/spec/swagger.yaml");
    assert_eq!(
        petstore.get("/swagger").and_then(Value::as_str),
        Some("2.0")
    );
}

#[test]
fn every_pointer_of_some_corpus_files_is_found() {
    let Some(dir) = corpus() else { return };
    let limits = Limits::default();
    let mut total = 0;
    for name in [
        "docker__engine-api-swagger.yaml",
        "openai__openapi-2025-02.yaml",
        "jira__platform-swagger-v3-minified.json",
        "readme__v30-circular.yaml",
        "crapi__crapi-openapi-spec.json",
        "multi/digitalocean/DigitalOcean-public.v2.yaml",
    ] {
        let path = dir.join(name);
        if !path.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI=true and {name} is not in the corpus"
            );
            println!("skipped: {name} not in the corpus");
            continue;
        }
        let source = parse_file(&path, Arc::from(name), &limits).unwrap();
        total += check_every_pointer(name, &source.value, &source.positions);
    }
    println!("{total} pointers found exactly");
    assert!(total > 1000);
}

/// The measurement behind the choice of a dedicated JSON parser (run it with
/// `cargo test --release -p portcullis-spec --test parse_corpus -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement; run in release"]
fn json_parser_choice() {
    let Some(dir) = corpus() else { return };
    let limits = Limits::default();
    let name: Arc<str> = Arc::from("x.json");
    let mut totals = [Duration::ZERO; 3];
    let mut bytes = 0;
    for file in files(&dir)
        .into_iter()
        .filter(|p| Format::from_path(p) == Format::Json)
    {
        let text = std::fs::read_to_string(&file).unwrap();
        bytes += text.len();
        let time = |f: &dyn Fn() -> bool| {
            let started = Instant::now();
            assert!(f(), "{}", file.display());
            started.elapsed()
        };
        let ours = time(&|| parse(&name, &text, Format::Json, &limits).is_ok());
        let yaml = time(&|| parse(&name, &text, Format::Yaml, &limits).is_ok());
        let serde = time(&|| serde_json::from_str::<Value>(&text).is_ok());
        for (total, t) in totals.iter_mut().zip([ours, yaml, serde]) {
            *total += t;
        }
        if text.len() > 3_000_000 {
            println!(
                "{}: {:.1} MB: json parser {ours:.2?}, saphyr {yaml:.2?}, serde_json (no positions) {serde:.2?}",
                relative(&dir, &file),
                text.len() as f64 / 1e6
            );
        }
    }
    let mb = bytes as f64 / 1e6;
    for (label, t) in ["json parser", "saphyr", "serde_json"].iter().zip(totals) {
        println!(
            "all JSON files, {label}: {:.2?} ({:.0} MB/s)",
            t,
            mb / t.as_secs_f64()
        );
    }
}
