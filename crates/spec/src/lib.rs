//! # portcullis-spec
//!
//! Loads OpenAPI 2.0, 3.0 and 3.1 descriptions (YAML or JSON, one file or many joined by
//! `$ref`) into one version-neutral [`Catalog`], and routes requests to its operations.
//!
//! ```no_run
//! let catalog = portcullis_spec::load(std::path::Path::new("petstore.yaml"))?;
//! for op in &catalog.operations {
//!     println!("{} {} ({})", op.method, op.path, op.id);
//! }
//! # Ok::<(), portcullis_spec::Error>(())
//! ```
//!
//! Every part of Portcullis (audit, scan, gateway, inventory) reads this catalog; nothing
//! downstream ever parses a document itself or needs to know its version.
//!
//! * [`load`] / [`load_str`]: read a document, resolve every `$ref`, convert 2.0 and 3.0
//!   schemas to JSON Schema 2020-12, and build the [`Catalog`].
//! * [`normalize`]: the one path-normalization function the router and the proxy share.
//! * [`Router`]: method + normalized path -> operation and path parameters.

pub mod error;
pub mod load;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod pointer;
pub mod router;
pub mod source;

pub use error::Error;
pub use load::{LoadOptions, load, load_str, load_str_with, load_with};
pub use model::*;
pub use normalize::{NormalizedPath, PathError, normalize_path};
pub use router::{
    PathParams, Route, RouteProblem, RouteWarning, Router, RouterOptions, TemplateError,
};
