//! Router micro-benchmark on the corpus document with the most operations.
//!
//! Run with `cargo bench -p portcullis-spec --bench router`. The document is
//! `cloudflare__openapi-2024-08.json` (1533 operations; the next are kubernetes with 1123 and
//! amazonaws ec2 with 806, counted over the corpus); `PORTCULLIS_BENCH_SPEC` names another
//! file. `github__api.github.com-2020-08.json` (623 operations, deep `/repos/{owner}/{repo}`
//! templates) is measured too.
//!
//! One request path is built per operation, under its first server's base path, with every
//! template parameter filled with a realistic value (32 hex digits for ids, a word
//! otherwise). Each iteration routes all of them once, so divan's items/s is lookups/s.
//! `route_mixed_largest` adds one miss per four hits (half under an unknown first segment,
//! half one segment deeper than a documented path, which walks the tree to the end before
//! failing): the figure the 5 million lookups/s goal is about.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use divan::counter::ItemsCount;
use divan::{AllocProfiler, Bencher, black_box};
use portcullis_spec::{Catalog, Route, Router, RouterOptions, normalize_path};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

/// The corpus folder: `$PORTCULLIS_CORPUS`, else `shared/corpus` beside the checkout.
fn corpus_dir() -> PathBuf {
    match std::env::var_os("PORTCULLIS_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        )),
    }
}

/// Requests as (method, path).
type Requests = Vec<(&'static str, String)>;

/// A loaded document, its router and one request (method, canonical path) per operation.
struct Fixture {
    router: Router,
    requests: Requests,
    /// The same paths as a client could send them (trailing slash, lower-case escapes).
    raw: Requests,
    /// Every request of `requests` with, after every fourth, one that matches nothing.
    mixed: Requests,
}

fn fixture(file: &str) -> Option<Fixture> {
    let path = match std::env::var_os("PORTCULLIS_BENCH_SPEC") {
        Some(p) if file == DEFAULT_SPEC => PathBuf::from(p),
        _ => corpus_dir().join(file),
    };
    if !path.exists() {
        eprintln!("skipped: corpus not found at {}", path.display());
        return None;
    }
    let catalog = match portcullis_spec::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: {e}");
            return None;
        }
    };
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    let (requests, raw) = requests(&catalog);
    let back = requests
        .iter()
        .zip(&catalog.operations)
        .filter(|((m, p), op)| {
            matches!(router.route(m, p), Route::Matched { operation, .. }
                if catalog.operations.get(operation).is_some_and(|o| o.path == op.path))
        })
        .count();
    let mixed = mixed(&router, &requests);
    let concrete = catalog
        .operations
        .iter()
        .filter(|o| !o.path.contains('{'))
        .count();
    eprintln!(
        "{}: {} operations, {} router paths, {} warnings; \
         {back} of {} requests route back to their own template ({concrete} on concrete \
         paths); mixed: {} lookups, {} of them misses",
        short(&path),
        catalog.operations.len(),
        router.len(),
        warnings.len(),
        requests.len(),
        mixed.len(),
        mixed.len() - requests.len(),
    );
    Some(Fixture {
        router,
        requests,
        raw,
        mixed,
    })
}

/// The hits with a miss after every fourth: alternately an unknown first segment and one
/// segment more than the hit (kept only when the router really finds nothing there).
fn mixed(router: &Router, hits: &Requests) -> Requests {
    let mut out = Vec::new();
    for (i, (method, path)) in hits.iter().enumerate() {
        out.push((*method, path.clone()));
        if i % 4 != 3 {
            continue;
        }
        let miss = if i % 8 == 3 {
            format!("/undocumented{path}")
        } else {
            format!("{path}/undocumented")
        };
        if router.route(method, &miss) == Route::NotFound {
            out.push((*method, miss));
        }
    }
    out
}

fn short(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// One request per operation: the template with its parameters filled in, under the
/// operation's first base path.
fn requests(catalog: &Catalog) -> (Requests, Requests) {
    let mut canonical = Vec::new();
    let mut raw = Vec::new();
    for (i, op) in catalog.operations.iter().enumerate() {
        let base = op
            .servers
            .first()
            .or(catalog.servers.first())
            .map_or("", |s| s.base_path.as_str());
        let mut path = String::from(base);
        let mut rest = op.path.as_str();
        while let Some((literal, after)) = rest.split_once('{') {
            let Some((name, next)) = after.split_once('}') else {
                break;
            };
            path.push_str(literal);
            path.push_str(&value(name, i));
            rest = next;
        }
        path.push_str(rest);
        let Ok(normalized) = normalize_path(&path) else {
            continue;
        };
        let method = op.method.as_str();
        raw.push((method, format!("{path}/")));
        canonical.push((method, normalized.as_str().to_owned()));
    }
    (canonical, raw)
}

/// A realistic value for a parameter called `name`.
fn value(name: &str, seed: usize) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.contains("id") || lower.contains("identifier") || lower.contains("tag") {
        format!(
            "{:016x}{:016x}",
            seed.wrapping_mul(0x9E37_79B9),
            seed + 0x5EED
        )
    } else if lower.contains("number") || lower.contains("page") {
        (seed % 997 + 1).to_string()
    } else {
        format!("name-{}", seed % 113)
    }
}

const DEFAULT_SPEC: &str = "cloudflare__openapi-2024-08.json";
const GITHUB_SPEC: &str = "github__api.github.com-2020-08.json";

static LARGEST: LazyLock<Option<Fixture>> = LazyLock::new(|| fixture(DEFAULT_SPEC));
static GITHUB: LazyLock<Option<Fixture>> = LazyLock::new(|| fixture(GITHUB_SPEC));

fn main() {
    divan::main();
}

/// Routes every request once per iteration.
fn route_all(bencher: Bencher, fixture: &LazyLock<Option<Fixture>>) {
    let Some(f) = fixture.as_ref() else {
        return;
    };
    bencher
        .counter(ItemsCount::new(f.requests.len()))
        .bench(|| {
            let mut matched = 0usize;
            for (method, path) in &f.requests {
                if let Route::Matched { params, .. } = f.router.route(method, black_box(path)) {
                    matched += params.len() + 1;
                }
            }
            matched
        });
}

/// Lookups on the largest document, hits only.
#[divan::bench]
fn route_largest(bencher: Bencher) {
    route_all(bencher, &LARGEST);
}

/// Lookups on the largest document, hits on concrete and templated paths and misses
/// (the goal: over 5 million per second on one core).
#[divan::bench]
fn route_mixed_largest(bencher: Bencher) {
    let Some(f) = LARGEST.as_ref() else {
        return;
    };
    bencher.counter(ItemsCount::new(f.mixed.len())).bench(|| {
        f.mixed
            .iter()
            .filter(|(method, path)| {
                matches!(
                    f.router.route(method, black_box(path)),
                    Route::Matched { .. }
                )
            })
            .count()
    });
}

/// Lookups on the largest document that also read every parameter, percent-decoded.
#[divan::bench]
fn route_and_decode_largest(bencher: Bencher) {
    let Some(f) = LARGEST.as_ref() else {
        return;
    };
    bencher
        .counter(ItemsCount::new(f.requests.len()))
        .bench(|| {
            let mut bytes = 0usize;
            for (method, path) in &f.requests {
                if let Route::Matched { params, .. } = f.router.route(method, black_box(path)) {
                    bytes += params.iter().map(|(_, v)| v.len()).sum::<usize>();
                }
            }
            bytes
        });
}

/// Lookups on the GitHub document.
#[divan::bench]
fn route_github(bencher: Bencher) {
    route_all(bencher, &GITHUB);
}

/// What the gateway does per request: normalize the path, then route it; `canonical`
/// paths take the non-allocating fast path, the others (trailing slash) are rewritten.
#[divan::bench(args = ["canonical", "trailing_slash"])]
fn normalize_and_route_largest(bencher: Bencher, input: &str) {
    let Some(f) = LARGEST.as_ref() else {
        return;
    };
    let requests = if input == "canonical" {
        &f.requests
    } else {
        &f.raw
    };
    bencher.counter(ItemsCount::new(requests.len())).bench(|| {
        requests
            .iter()
            .filter(|(method, path)| match normalize_path(black_box(path)) {
                Ok(p) => matches!(f.router.route(method, p.as_str()), Route::Matched { .. }),
                Err(_) => false,
            })
            .count()
    });
}

/// Normalizing paths that are already canonical (the fast path, no allocation).
#[divan::bench]
fn normalize_canonical_largest(bencher: Bencher) {
    let Some(f) = LARGEST.as_ref() else {
        return;
    };
    bencher
        .counter(ItemsCount::new(f.requests.len()))
        .bench(|| {
            f.requests
                .iter()
                .filter(|(_, p)| normalize_path(black_box(p)).is_ok_and(|n| n.is_unchanged()))
                .count()
        });
}

/// Building the router for the largest document.
#[divan::bench(sample_count = 10)]
fn build_largest(bencher: Bencher) {
    let path = corpus_dir().join(DEFAULT_SPEC);
    let Ok(catalog) = portcullis_spec::load(&path) else {
        return;
    };
    bencher.bench(|| Router::new(&catalog, &RouterOptions::default()).0.len());
}

/// For comparison: a bare `matchit` tree (the radix router this crate used before) holding
/// the same shapes, on the same paths, params iterated but neither decoded nor named.
#[divan::bench]
fn matchit_bare_largest(bencher: Bencher) {
    let Some(f) = LARGEST.as_ref() else {
        return;
    };
    let mut tree = matchit::Router::new();
    for (_, path) in &f.requests {
        if let Some(shape) = f.router.shape(path) {
            let _ = tree.insert(shape, ());
        }
    }
    bencher
        .counter(ItemsCount::new(f.requests.len()))
        .bench(|| {
            let mut n = 0usize;
            for (_, path) in &f.requests {
                if let Ok(m) = tree.at(black_box(path)) {
                    n += m.params.iter().count() + 1;
                }
            }
            n
        });
}
