//! Errors of loading a document: each names the file, line and column, the JSON pointer and
//! what is wrong.

use std::path::PathBuf;

use crate::model::Location;

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: cannot read the file: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The file is larger than the loader accepts.
    #[error("{path}: the file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The bytes are not valid YAML or JSON (bad syntax, invalid UTF-8, duplicate keys,
    /// nesting or alias expansion over the limits).
    #[error("{location}: {message}")]
    Syntax {
        /// Where the parser stopped.
        location: Location,
        /// What it found.
        message: String,
    },
    /// The document is not an OpenAPI or Swagger description at all.
    #[error("{location}: not an OpenAPI document: {message}")]
    NotOpenApi {
        /// The root of the file.
        location: Location,
        /// Why (no `openapi`/`swagger` key, not a mapping...).
        message: String,
    },
    /// The document declares a version this loader does not support.
    #[error("{location}: unsupported OpenAPI version {declared:?} (supported: 2.0, 3.0.x, 3.1.x)")]
    UnsupportedVersion {
        /// Where the version is declared.
        location: Location,
        /// The declared version.
        declared: String,
    },
    /// A value has the wrong shape (`paths` is a list, a parameter has no `name`...).
    #[error("{location}: {message}")]
    Invalid {
        /// Where the value is.
        location: Location,
        /// What is wrong with it.
        message: String,
    },
    /// A `$ref` cannot be resolved: dangling pointer, missing file, or a cycle of
    /// references that never reaches a value.
    #[error("{location}: cannot resolve $ref {reference:?}: {message}")]
    Ref {
        /// Where the `$ref` is written.
        location: Location,
        /// The reference as written.
        reference: String,
        /// What went wrong, naming the chain of references followed.
        message: String,
    },
}

impl Error {
    /// The location the error points at, when it has one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Io { .. } | Error::TooLarge { .. } => None,
            Error::Syntax { location, .. }
            | Error::NotOpenApi { location, .. }
            | Error::UnsupportedVersion { location, .. }
            | Error::Invalid { location, .. }
            | Error::Ref { location, .. } => Some(location),
        }
    }
}
