//! What the gateway targets share: the fixture API of `crates/gateway/tests/data/fuzz/`, the
//! request layout the params and body targets read, and running the checks' futures. The
//! proptest twins (`crates/gateway/tests/fuzz_props/`) read their inputs the same way.
#![allow(dead_code)]

use std::future::Future;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use portcullis_gateway::validate::RequestCheck;
use portcullis_spec::{PathParams, Route, Router, RouterOptions, load_str, normalize_path};

/// The API the params and body targets check requests against.
pub const SPEC: &str = include_str!("../../../crates/gateway/tests/data/fuzz/spec.yaml");

/// Runs a future that never waits on I/O or a timer (the body check, a verifier over a local
/// key set) to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future waits on something the target never provides");
}

/// A request as the params and body targets read their input: a request line
/// (`METHOD /path?query`), header lines (`Name: value`), an empty line, then the body. Header
/// lines that are not a valid name and value are skipped (hyper refuses them before the
/// gateway sees them).
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub fn read_request(data: &[u8]) -> Request {
    let mut rest = data;
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut body: &[u8] = &[];
    loop {
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + 1..)),
            None => (rest, None),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match after {
            Some(after) if line.is_empty() && !lines.is_empty() => {
                body = after;
                break;
            }
            Some(after) => {
                lines.push(line);
                rest = after;
            }
            None => {
                lines.push(line);
                break;
            }
        }
    }
    let first = String::from_utf8_lossy(lines.first().copied().unwrap_or_default());
    let (method, target) = first.split_once(' ').unwrap_or(("GET", &first));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut headers = http::HeaderMap::new();
    for line in lines.iter().skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default().trim_ascii();
        let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body: Bytes::copy_from_slice(body),
    }
}

pub struct Api {
    pub router: Router,
    /// The checks of each operation, by index in the catalog.
    pub checks: Vec<RequestCheck>,
}

pub static API: LazyLock<Api> = LazyLock::new(|| {
    let catalog = match load_str("spec.yaml", SPEC) {
        Ok(catalog) => catalog,
        Err(e) => panic!("the fuzz targets' own document must load: {e}"),
    };
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let checks = catalog
        .operations
        .iter()
        .map(|op| match RequestCheck::new(&catalog, op) {
            Ok(check) => check,
            Err(e) => panic!("{}: {e}", op.id),
        })
        .collect();
    Api { router, checks }
});

/// A path each operation routes, with its method.
const EXAMPLE_ROUTES: [(&str, &str); 5] = [
    ("GET", "/items/1"),
    ("PUT", "/items/1"),
    ("GET", "/items/a/.1/;k=1"),
    ("POST", "/uploads"),
    ("POST", "/batch"),
];

/// The normalized path of a request, when it has one.
pub fn normalized(req: &Request) -> Option<String> {
    normalize_path(&req.path)
        .ok()
        .map(|p| p.as_str().to_owned())
}

/// The operation a request goes to, and its path parameters. A request that routes nowhere
/// (or whose path is refused) still goes through the checks of one operation, picked by its
/// path's length, with the path parameters of an example path of that operation: the
/// checks of its query, headers and body must cope with anything.
pub fn operation<'a>(
    req: &'a Request,
    normalized: &'a Option<String>,
) -> (&'static RequestCheck, PathParams<'a, 'a>) {
    let api = &*API;
    let route = normalized
        .as_deref()
        .map(|path| api.router.route(&req.method, path));
    let (operation, params) = match route {
        Some(Route::Matched { operation, params }) => (operation, params),
        _ => {
            let (method, path) = EXAMPLE_ROUTES
                .get(req.path.len() % EXAMPLE_ROUTES.len())
                .copied()
                .unwrap_or(("GET", "/items/1"));
            match api.router.route(method, path) {
                Route::Matched { operation, params } => (operation, params),
                other => panic!("{method} {path}: {other:?}"),
            }
        }
    };
    match api.checks.get(operation) {
        Some(check) => (check, params),
        None => panic!("operation {operation} has no checks"),
    }
}
