//! Any method and path against the router of `crates/spec/tests/fixtures/router-mix.yaml`
//! (literal, templated, multi-parameter and overlapping paths under two base paths). The
//! first input byte picks the method, the rest is the path, routed raw and after
//! `normalize_path`. A match names a real operation and its parameters are non-empty and never
//! span a `/`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis_spec::{Catalog, Route, Router, RouterOptions, load_str, normalize_path};

const SPEC: &str = include_str!("../../crates/spec/tests/fixtures/router-mix.yaml");

const METHODS: [&str; 12] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "get", "PROPFIND",
    "CONNECT", "",
];

static ROUTER: LazyLock<(Catalog, Router)> = LazyLock::new(|| {
    let catalog = match load_str("router-mix.yaml", SPEC) {
        Ok(catalog) => catalog,
        Err(e) => panic!("the fuzz target's own document must load: {e}"),
    };
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    (catalog, router)
});

fn check(catalog: &Catalog, route: &Route<'_, '_>) {
    if let Route::Matched { operation, params } = route {
        assert!(catalog.operations.get(*operation).is_some(), "{route:?}");
        // iter() percent-decodes every value, which must not panic either.
        for (name, _decoded) in params.iter() {
            let raw = params.raw(name).unwrap_or_default();
            assert!(
                !raw.is_empty() && !raw.contains('/'),
                "{name}={raw:?} {route:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (catalog, router) = &*ROUTER;
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(path) = std::str::from_utf8(rest) else {
        return;
    };
    let method = METHODS
        .get(usize::from(first) % METHODS.len())
        .copied()
        .unwrap_or("GET");
    check(catalog, &router.route(method, path));
    if let Ok(normalized) = normalize_path(path) {
        check(catalog, &router.route(method, normalized.as_str()));
    }
});
