//! The properties of the fuzz targets (`fuzz/fuzz_targets/`), as proptests so every CI run
//! checks them on stable without libFuzzer: random bytes and byte-mutated documents through
//! the YAML and JSON parsers and the catalog builder, and arbitrary requests through the
//! router of `tests/fixtures/router-mix.yaml`, never panic. (`normalize_path` on arbitrary
//! strings is `arbitrary_strings_never_panic` in `src/normalize/tests.rs`; structured document
//! mutations are `tests/load_proptest.rs`.)

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, LazyLock};

use portcullis_spec::parse::{Format, Limits, parse};
use portcullis_spec::{Catalog, Route, Router, RouterOptions, load_str, normalize_path};
use proptest::prelude::*;

/// Documents to mutate: the YAML fixtures and, for the JSON parser, their JSON text.
const FIXTURES: [&str; 6] = [
    include_str!("fixtures/petstore/swagger2.yaml"),
    include_str!("fixtures/petstore/openapi30.yaml"),
    include_str!("fixtures/petstore/openapi31.yaml"),
    include_str!("fixtures/security.yaml"),
    include_str!("fixtures/recursive.yaml"),
    include_str!("fixtures/router-mix.yaml"),
];

static JSON_FIXTURES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let name: Arc<str> = Arc::from("fixture.yaml");
    FIXTURES
        .iter()
        .map(|text| {
            let (value, _) = parse(&name, text, Format::Yaml, &Limits::default()).unwrap();
            serde_json::to_string_pretty(&value).unwrap()
        })
        .collect()
});

/// Text that means something to YAML, JSON or OpenAPI, spliced into documents.
const TOKENS: [&str; 32] = [
    ":",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "&a ",
    "*a",
    "<<: *a\n",
    "\n",
    "  ",
    "# c",
    "!!str ",
    "!!int ",
    "? ",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "\t",
    "\\u0000",
    "\\ud800",
    "1e999",
    "-0",
    "$ref: '#/'\n",
    "\"$ref\": \"#/paths\"",
    "{a: *a}",
    "\u{feff}",
];

/// One edit of a document's bytes, at a position taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
    Byte(usize, u8),
    /// Repeat a slice (deep nesting, long runs).
    Repeat(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        (any::<usize>(), 1usize..16, 2usize..200).prop_map(|(at, n, k)| Edit::Repeat(at, n, k)),
    ]
}

/// Applies the edits to the bytes of `text`; the result is read as UTF-8, lossily.
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        let at = |i: usize| i % (bytes.len() + 1);
        match *e {
            Edit::Insert(i, t) => {
                let i = at(i);
                bytes.splice(i..i, TOKENS[t].bytes());
            }
            Edit::Delete(i, n) => {
                let i = at(i);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Byte(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = b;
                }
            }
            Edit::Repeat(i, n, k) => {
                let i = at(i);
                let end = (i + n).min(bytes.len());
                let piece = bytes[i..end].to_vec();
                for _ in 0..k {
                    bytes.splice(i..i, piece.iter().copied());
                }
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The fuzz targets' parse step: a value or an error whose message renders.
fn parse_never_panics(text: &str, format: Format) -> Result<(), TestCaseError> {
    let name: Arc<str> = Arc::from("mutated");
    let limits = Limits {
        max_nodes: 200_000,
        max_alias_expansion: 100_000,
        ..Limits::default()
    };
    if let Err(e) = parse(&name, text, format, &limits) {
        prop_assert!(e.to_string().contains("mutated"), "{e}");
    }
    Ok(())
}

static ROUTER: LazyLock<(Catalog, Router)> = LazyLock::new(|| {
    let catalog = load_str("router-mix.yaml", FIXTURES[5]).unwrap();
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    (catalog, router)
});

/// The router fuzz target's check: a match names an operation and its parameters are
/// non-empty and never span a `/`.
fn check_route(route: &Route<'_, '_>) -> Result<(), TestCaseError> {
    if let Route::Matched { operation, params } = route {
        prop_assert!(ROUTER.0.operations.get(*operation).is_some());
        for (name, _) in params.iter() {
            let raw = params.raw(name).unwrap_or_default();
            prop_assert!(!raw.is_empty() && !raw.contains('/'), "{name}={raw:?}");
        }
    }
    Ok(())
}

/// Request paths near the fixture's templates: its segments, parameters, escapes and dots.
fn request_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("v1".to_owned()),
        Just("api".to_owned()),
        Just("bank%20x".to_owned()),
        Just("pets".to_owned()),
        Just("mine".to_owned()),
        Just("photos".to_owned()),
        Just("latest.jpg".to_owned()),
        Just("repos".to_owned()),
        Just("git".to_owned()),
        Just("refs".to_owned()),
        Just("files".to_owned()),
        Just("status".to_owned()),
        Just("a%2Fb".to_owned()),
        Just("café".to_owned()),
        Just("%C3%BCn%C3%AFcode".to_owned()),
        Just("..".to_owned()),
        Just(String::new()),
        "[a-z0-9.:%;~é]{1,8}",
    ];
    prop::collection::vec(segment, 0..9).prop_map(|segs| format!("/{}", segs.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics_the_parsers(text in any::<String>()) {
        parse_never_panics(&text, Format::Yaml)?;
        parse_never_panics(&text, Format::Json)?;
    }

    #[test]
    fn mutated_yaml_never_panics_the_parser(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        parse_never_panics(&mutate(FIXTURES[which], &edits), Format::Yaml)?;
    }

    #[test]
    fn mutated_json_never_panics_the_parser(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        parse_never_panics(&mutate(&JSON_FIXTURES[which], &edits), Format::Json)?;
    }

    #[test]
    fn mutated_documents_load_or_fail_cleanly(
        which in 0..FIXTURES.len(),
        json in any::<bool>(),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let text = if json { &JSON_FIXTURES[which] } else { FIXTURES[which] };
        match load_str("mutated", &mutate(text, &edits)) {
            // A catalog always builds a router (bad templates become warnings).
            Ok(catalog) => drop(Router::new(&catalog, &RouterOptions::default())),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn arbitrary_requests_never_panic_the_router(
        method in prop::sample::select(vec!["GET", "HEAD", "PUT", "PATCH", "OPTIONS", "TRACE", "get", "PROPFIND", ""]),
        path in prop_oneof![request_path(), any::<String>()],
    ) {
        check_route(&ROUTER.1.route(method, &path))?;
        if let Ok(normalized) = normalize_path(&path) {
            check_route(&ROUTER.1.route(method, normalized.as_str()))?;
        }
    }
}

#[test]
fn the_router_fixture_routes_what_it_documents() {
    let (catalog, router) = &*ROUTER;
    for (method, path, expected) in [
        ("GET", "/v1/pets/mine", "/pets/mine"),
        ("GET", "/api/bank%20x/pets/42", "/pets/{id}"),
        (
            "GET",
            "/v1/pets/7/photos/latest.jpg",
            "/pets/{id}/photos/latest.jpg",
        ),
        (
            "GET",
            "/v1/pets/7/photos/a.png",
            "/pets/{id}/photos/{photo}.{ext}",
        ),
        ("GET", "/v1/repos/o:r", "/repos/{owner}:{repo}"),
        ("GET", "/v1/v2.1/status", "/v{major}.{minor}/status"),
        ("PUT", "/v1/files/x.json", "/files/{name}.json"),
        ("PUT", "/v1/files/x.yaml", "/files/{name}"),
        ("TRACE", "/v1/%C3%BCn%C3%AFcode/mot", "/ünïcode/{mot}"),
        ("OPTIONS", "/v1/caf%C3%A9s/1", "/caf%C3%A9s/{x}"),
    ] {
        let Route::Matched { operation, .. } = router.route(method, path) else {
            panic!("{method} {path}: {:?}", router.route(method, path));
        };
        assert_eq!(
            catalog.operations[operation].path, expected,
            "{method} {path}"
        );
    }
}
