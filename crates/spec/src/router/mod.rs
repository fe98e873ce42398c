//! The router: HTTP method + normalized path -> operation of a
//! [`Catalog`](crate::Catalog) and its path parameters, or "undocumented".
//!
//! ```
//! use portcullis_spec::{Method, Route, Router, RouterOptions, normalize_path};
//! # use std::sync::Arc;
//! # use portcullis_spec::*;
//! # let location = Location { file: Arc::from("api.yaml"), pointer: String::new(), line: 0, column: 0 };
//! # let op = |method, path: &str, id: &str| Operation {
//! #     id: id.into(), operation_id: Some(id.into()), method, path: path.into(), summary: None,
//! #     description: None, tags: vec![], deprecated: false, parameters: vec![], request_body: None,
//! #     responses: Default::default(), security: vec![], security_origin: SecurityOrigin::None,
//! #     servers: vec![], extensions: Default::default(), location: location.clone(),
//! # };
//! # let server = Server { url: "https://api.example/v1".into(), resolved_url: "https://api.example/v1".into(),
//! #     base_path: "/v1".into(), description: None, location: location.clone() };
//! # let catalog = Catalog {
//! #     version: SpecVersion::OpenApi31, declared_version: "3.1.0".into(), root_file: Arc::from("api.yaml"),
//! #     info: Info::default(), servers: vec![server],
//! #     operations: vec![op(Method::Get, "/pets/{petId}", "getPet"), op(Method::Get, "/pets/mine", "myPets")],
//! #     security_schemes: Default::default(), global_security: None, global_security_location: None,
//! #     schemas: Default::default(), tags: Default::default(), extensions: Default::default(),
//! #     warnings: vec![], unresolved_refs: vec![], sources: Default::default(),
//! # };
//! // `catalog`: GET /pets/{petId} (getPet) and GET /pets/mine (myPets), served under /v1.
//! let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
//! assert!(warnings.is_empty());
//!
//! let path = normalize_path("/v1/pets/%34%32/").unwrap(); // -> /v1/pets/42
//! let Route::Matched { operation, params } = router.route("GET", path.as_str()) else {
//!     unreachable!()
//! };
//! assert_eq!(catalog.operations[operation].id, "getPet");
//! assert_eq!(params.get("petId").as_deref(), Some("42"));
//!
//! assert_eq!(
//!     router.route("DELETE", "/v1/pets/42"),
//!     Route::MethodNotAllowed { allowed: vec![Method::Get, Method::Head] }
//! );
//! assert_eq!(router.route("GET", "/v2/pets/42"), Route::NotFound);
//! ```
//!
//! How it routes:
//!
//! * **Input.** `path` must come from [`normalize_path`](crate::normalize_path): templates
//!   are canonicalized with the same rules when the router is built (trailing and duplicate
//!   slashes, percent-encoding, case kept), so a template matches exactly the normalized
//!   paths it describes. A path that is not normalized may simply not match.
//! * **Segment tree.** Every template goes into one radix tree whose edges are whole
//!   segments (`tree.rs`), prefixed by each of its base paths. Equivalent templates
//!   (`/pets/{id}` for GET and `/pets/{petId}` for DELETE) share one node, and each operation
//!   keeps its own parameter names. A lookup never scans the operations.
//! * **Concrete beats templated.** At each segment, from left to right, literal text wins
//!   over a parameter with literal text around it (`{name}.json`; more literal text wins),
//!   which wins over a bare parameter (OpenAPI: `/pets/mine` beats `/pets/{id}`). The walk
//!   backtracks: a literal branch that fails deeper does not hide a parameter branch that
//!   matches.
//! * **Parameters** match exactly one non-empty segment, or part of one, never a `/`;
//!   several may share a segment (`/{owner}:{repo}`, `v{major}.{minor}`). Their values come
//!   back percent-decoded; they borrow the path when they hold no escape.
//! * **Methods.** Method tokens are case-sensitive (RFC 9110): `GET` matches, `get` does
//!   not. `HEAD` falls back to the `GET` operation when the document declares no `HEAD`
//!   for that path. A path that exists without the method, including methods OpenAPI cannot
//!   describe (`PROPFIND`, `CONNECT`...), gives [`Route::MethodNotAllowed`] with the
//!   allowed methods (`HEAD` included when it falls back to `GET`).
//! * **Base paths.** See [`RouterOptions::base_paths`].
//! * **Cost.** A lookup is one tree walk, a binary search per segment, and allocates
//!   nothing for up to eight parameters (values are decoded only when read, and borrow the
//!   path when they hold no escape); only [`Route::MethodNotAllowed`] allocates, for its
//!   list. `benches/router.rs` measures it (`BENCHMARKS.md`, "## Router").
//!
//! `matchit`, the usual radix router, was used first: it allocates a backtracking stack on
//! lookups that pass a node with both literal and parameter children (one in six on the
//! Cloudflare document), cannot hold several parameters in one segment, and its own
//! lookups alone came to about as much time as this whole router now takes.

mod build;
mod template;
mod tree;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use crate::model::{Method, Operation};
use crate::normalize::{PathError, decode_canonical};

pub use template::TemplateError;

use tree::{Tree, Values};

/// How a [`Router`] is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterOptions {
    /// Path prefixes the API is mounted under (`/v1`, `/api/bank`), each normalized like a
    /// request path; `""` or `"/"` mounts at the root, and an empty list means `[""]`.
    /// Every operation is reachable under every prefix given here.
    ///
    /// `None` (the default): each operation is reachable under the base paths of its own
    /// effective servers ([`Operation::servers`], or the catalog's when it has none), or at
    /// the root when there are none. So the router holds the distinct base paths of the
    /// catalog's and the operations' servers, each with the operations it serves.
    pub base_paths: Option<Vec<String>>,
}

/// Where a lookup led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'r, 'p> {
    /// A documented operation.
    Matched {
        /// Index of the operation in [`Catalog::operations`](crate::Catalog::operations).
        operation: usize,
        /// Its path parameters, percent-decoded, in template order.
        params: PathParams<'r, 'p>,
    },
    /// The path is documented, but not for this method.
    MethodNotAllowed {
        /// The methods the path accepts, in [`Method::ALL`] order.
        allowed: Vec<Method>,
    },
    /// No documented path matches.
    NotFound,
}

/// The path parameters of a match, in template order: names from the router, values
/// borrowed from the path (held inline up to eight) and percent-decoded when read, so
/// decoding costs nothing for callers that only need the operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathParams<'r, 'p> {
    names: &'r [Box<str>],
    values: Values<'p>,
}

impl<'r, 'p> PathParams<'r, 'p> {
    /// The percent-decoded value of the first parameter called `name`; it borrows the path
    /// when the value has no escape.
    pub fn get(&self, name: &str) -> Option<Cow<'p, str>> {
        self.raw(name).map(decode_canonical)
    }

    /// The value of the first parameter called `name` as written in the normalized path
    /// (canonical percent-encoding).
    pub fn raw(&self, name: &str) -> Option<&'p str> {
        self.names
            .iter()
            .zip(&self.values)
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| *v)
    }

    /// `(name, percent-decoded value)` pairs, in template order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'r str, Cow<'p, str>)> + '_ {
        let names: &'r [Box<str>] = self.names;
        names
            .iter()
            .zip(self.values.iter())
            .map(|(n, v)| (n.as_ref(), decode_canonical(v)))
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the template has no parameter.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A route the router could not add, or a base path it could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteWarning {
    /// Index of the operation in the catalog; `None` for a base-path problem.
    pub operation: Option<usize>,
    /// The operation's [`Operation::id`]; `None` for a base-path problem.
    pub operation_id: Option<String>,
    /// The operation's method; `None` for a base-path problem.
    pub method: Option<Method>,
    /// The path template as declared, or the base path.
    pub path: String,
    /// What is wrong.
    pub problem: RouteProblem,
}

impl fmt::Display for RouteWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.method, &self.operation_id) {
            (Some(method), Some(id)) => write!(
                f,
                "operation {id} ({method} {}): not routed: {}",
                self.path, self.problem
            ),
            _ => write!(f, "base path {:?}: not used: {}", self.path, self.problem),
        }
    }
}

/// Why a route or base path was left out of the router.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteProblem {
    /// The path template cannot be routed.
    #[error("invalid path template: {0}")]
    Template(#[from] TemplateError),
    /// The base path breaks a normalization rule.
    #[error("invalid base path: {0}")]
    BasePath(PathError),
    /// Another operation already has this method on an equivalent template (the same path
    /// once parameter names are ignored); the first one in document order is kept.
    #[error("same method and path as operation {other}, which is kept")]
    Duplicate {
        /// The [`Operation::id`] of the operation kept.
        other: String,
    },
}

/// One operation on a path node: its index and its parameter names in template order.
#[derive(Debug)]
struct Endpoint {
    operation: usize,
    names: Box<[Box<str>]>,
}

/// One distinct path shape (base path + template, parameter names ignored).
#[derive(Debug)]
struct Node {
    /// The shape with positional names (`/v1/pets/{p0}`).
    key: String,
    /// The operation for each method, indexed like [`Method::ALL`].
    endpoints: [Option<Endpoint>; 8],
}

impl Node {
    /// The methods the path accepts, with `HEAD` when it falls back to `GET`.
    fn allowed(&self) -> Vec<Method> {
        Method::ALL
            .into_iter()
            .filter(|&m| self.endpoint(m).is_some())
            .collect()
    }

    /// The operation for `method`, with the `HEAD` -> `GET` fallback.
    fn endpoint(&self, method: Method) -> Option<&Endpoint> {
        let direct = self
            .endpoints
            .get(method_index(method))
            .and_then(Option::as_ref);
        match (direct, method) {
            (None, Method::Head) => self
                .endpoints
                .get(method_index(Method::Get))
                .and_then(Option::as_ref),
            (found, _) => found,
        }
    }
}

/// Maps (method, normalized path) to an operation of a catalog. Built once, shared by all
/// requests (`Send + Sync`, lookups take `&self`).
#[derive(Debug)]
pub struct Router {
    tree: Tree,
    nodes: Vec<Node>,
}

impl Router {
    /// Routes a request. `method` is the method token as sent; `path` is the output of
    /// [`normalize_path`](crate::normalize_path).
    pub fn route<'r, 'p>(&'r self, method: &str, path: &'p str) -> Route<'r, 'p> {
        let mut values = Values::new();
        let Some(node) = self.find(path, &mut values) else {
            return Route::NotFound;
        };
        let endpoint = wire_method(method).and_then(|m| node.endpoint(m));
        let Some(endpoint) = endpoint else {
            return Route::MethodNotAllowed {
                allowed: node.allowed(),
            };
        };
        Route::Matched {
            operation: endpoint.operation,
            params: PathParams {
                names: &endpoint.names,
                values,
            },
        }
    }

    /// How many distinct paths (base path + template shape) the router holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when no path could be routed.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The path shape a lookup would land on (`/v1/pets/{p0}`), for diagnostics.
    pub fn shape(&self, path: &str) -> Option<&str> {
        self.find(path, &mut Values::new())
            .map(|node| node.key.as_str())
    }

    /// The most specific node matching `path`, with raw parameter values in order.
    #[inline]
    fn find<'p>(&self, path: &'p str, values: &mut Values<'p>) -> Option<&Node> {
        self.tree.find(path, values).and_then(|i| self.nodes.get(i))
    }
}

/// The index of a method in [`Method::ALL`] (and in [`Node::endpoints`]).
fn method_index(method: Method) -> usize {
    match method {
        Method::Get => 0,
        Method::Put => 1,
        Method::Post => 2,
        Method::Delete => 3,
        Method::Options => 4,
        Method::Head => 5,
        Method::Patch => 6,
        Method::Trace => 7,
    }
}

/// Parses a method token as sent on the wire: case-sensitive, as RFC 9110 says.
fn wire_method(token: &str) -> Option<Method> {
    Some(match token {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        "HEAD" => Method::Head,
        "PATCH" => Method::Patch,
        "TRACE" => Method::Trace,
        _ => return None,
    })
}

/// The operation's identity, for warnings.
fn warning(index: usize, op: &Operation, problem: RouteProblem) -> RouteWarning {
    RouteWarning {
        operation: Some(index),
        operation_id: Some(op.id.clone()),
        method: Some(op.method),
        path: op.path.clone(),
        problem,
    }
}
