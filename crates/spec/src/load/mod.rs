//! The catalog builder: a Swagger 2.0, OpenAPI 3.0 or 3.1 document (one file, or many joined
//! by relative `$ref`s) in, one version-neutral [`Catalog`] out.
//!
//! ```no_run
//! let catalog = portcullis_spec::load(std::path::Path::new("api.yaml"))?;
//! // Every schema reached through `$ref` is in `catalog.schemas`, and every `$ref` in every
//! // catalog schema reads `#/$defs/<key>`: this is a ready JSON Schema 2020-12 bundle.
//! let defs = serde_json::json!({ "$defs": catalog.schemas.iter()
//!     .map(|(k, s)| (k.clone(), (*s.value).clone()))
//!     .collect::<serde_json::Map<_, _>>() });
//! # let _ = defs;
//! # Ok::<(), portcullis_spec::Error>(())
//! ```
//!
//! The work happens in passes over immutable parsed files:
//!
//! 1. the root is parsed and its version checked (`mod.rs`);
//! 2. every file its relative `$ref`s name is read, once, by canonical path (`refs.rs`);
//! 3. document-level parts are built: `info` and tags (`meta.rs`), servers (`servers.rs`),
//!    security schemes and requirements (`security.rs`);
//! 4. operations are built from `paths` (`operations.rs`), with the 3.x parameters, bodies and
//!    responses in `parts.rs` and the 2.0 ones in `swagger2.rs`; non-schema `$ref`s are inlined;
//! 5. schemas are converted to JSON Schema 2020-12, and every schema a `$ref` reaches is queued
//!    and converted once into [`Catalog::schemas`] (`schema.rs`).
//!
//! Non-fatal problems become [`Catalog::warnings`]; fatal ones are an [`Error`] naming the
//! file, JSON pointer, line and column.

mod meta;
mod node;
mod operations;
mod parts;
mod refs;
mod schema;
mod security;
mod servers;
mod swagger2;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::model::{Catalog, SpecVersion};
use crate::parse::{self, Format, Limits};
use crate::source::{SourceFile, SourceMap};

use node::Builder;
use refs::{Files, ReadLimits};

/// What [`load_with`] accepts.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Limits on each file parsed (size, nesting, nodes, YAML alias expansion).
    pub limits: Limits,
    /// Most files read for one document, the root and every `$ref` target (default 10 000).
    pub max_files: usize,
    /// Most bytes read for one document, all files together (default 512 MiB).
    pub max_total_bytes: u64,
    /// When set, a `$ref` may only name files inside this folder (for documents from an
    /// untrusted source, so that `$ref: /home/me/.ssh/id_rsa` cannot pull a local file into
    /// a report). `None` (the default) allows any readable file, as multi-file
    /// specifications often refer to folders above their root.
    pub confine_to: Option<PathBuf>,
    /// How a document that is not quite right is read. `false` (the default, and what the
    /// gateway and `check` use: fail closed) refuses a `$ref` that cannot be resolved
    /// ([`Error::Ref`]) and any version other than 2.0, 3.0.x and 3.1.x. `true` (for audits,
    /// which report on a document rather than enforce it) records each such `$ref` in
    /// [`Catalog::unresolved_refs`](crate::Catalog::unresolved_refs), reads what it names as
    /// unknown (an empty schema, or an absent parameter, response, header, operation...), and
    /// reads OpenAPI 3.2.x as 3.1 ([`Catalog::declared_version`](crate::Catalog) keeps
    /// `3.2.x`).
    pub tolerant: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            limits: Limits::default(),
            max_files: 10_000,
            max_total_bytes: 512 * 1024 * 1024,
            confine_to: None,
            tolerant: false,
        }
    }
}

impl LoadOptions {
    /// The default limits, read tolerantly ([`LoadOptions::tolerant`]): what an audit uses.
    pub fn tolerant() -> LoadOptions {
        LoadOptions {
            tolerant: true,
            ..LoadOptions::default()
        }
    }
}

/// Loads the document at `path`, and every file its `$ref`s name, into a [`Catalog`], with the
/// default [`LoadOptions`].
pub fn load(path: &Path) -> Result<Catalog, Error> {
    load_with(path, &LoadOptions::default())
}

/// Loads the document at `path` with explicit limits.
///
/// Files reached through `$ref` are named, in locations and messages, by the referring file's
/// name joined with the relative reference (`specs/api.yaml` + `../common/x.yaml` reads
/// `common/x.yaml`), so each name can be opened from where the root's name could.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Catalog, Error> {
    let name: Arc<str> = Arc::from(path.to_string_lossy());
    let root = parse::parse_file(path, name, &options.limits)?;
    let (version, declared) = detect_version(&root, options.tolerant)?;
    let confine_to = match &options.confine_to {
        Some(dir) => Some(std::fs::canonicalize(dir).map_err(|error| Error::Io {
            path: dir.clone(),
            error,
        })?),
        None => None,
    };
    let limits = ReadLimits {
        max_files: options.max_files,
        max_total_bytes: options.max_total_bytes,
        confine_to,
    };
    let mut read = |path: &Path, name: Arc<str>| parse::parse_file(path, name, &options.limits);
    let files = Files::read_all(root, &limits, &mut read)?;
    build(files, version, declared, options.tolerant)
}

/// Loads one in-memory document (YAML or JSON) named `name` in locations and messages. An
/// external `$ref` in it cannot be followed and is an [`Error::Ref`] when it is needed.
pub fn load_str(name: &str, text: &str) -> Result<Catalog, Error> {
    load_str_with(name, text, &LoadOptions::default())
}

/// Loads one in-memory document with explicit options (`limits` and `tolerant` apply; the
/// options about other files do not, as no other file is read).
pub fn load_str_with(name: &str, text: &str, options: &LoadOptions) -> Result<Catalog, Error> {
    let name: Arc<str> = Arc::from(name);
    let (value, positions) = parse::parse(&name, text, Format::Auto, &options.limits)?;
    let root = SourceFile {
        name,
        path: PathBuf::new(),
        value,
        positions,
        bytes: u64::try_from(text.len()).unwrap_or(u64::MAX),
    };
    let (version, declared) = detect_version(&root, options.tolerant)?;
    build(Files::in_memory(root), version, declared, options.tolerant)
}

/// Reads the `openapi` / `swagger` key of a root document; `tolerant` reads 3.2.x as 3.1.
fn detect_version(root: &SourceFile, tolerant: bool) -> Result<(SpecVersion, String), Error> {
    let Value::Object(map) = &root.value else {
        return Err(Error::NotOpenApi {
            location: root.locate(""),
            message: format!(
                "the document is {}, not a mapping",
                node::kind_of(&root.value)
            ),
        });
    };
    let (key, declared) = match (map.get("openapi"), map.get("swagger")) {
        (Some(v), _) => ("openapi", v),
        (None, Some(v)) => ("swagger", v),
        (None, None) => {
            return Err(Error::NotOpenApi {
                location: root.locate(""),
                message: "no `openapi` or `swagger` key at the top level".to_owned(),
            });
        }
    };
    let declared = match declared {
        Value::String(s) => s.clone(),
        // `swagger: 2.0` unquoted is a YAML number; say what was written.
        Value::Number(n) => n.to_string(),
        other => node::kind_of(other).to_owned(),
    };
    let version = match key {
        "openapi" if declared == "3.0" || declared.starts_with("3.0.") => {
            Some(SpecVersion::OpenApi30)
        }
        "openapi" if declared == "3.1" || declared.starts_with("3.1.") => {
            Some(SpecVersion::OpenApi31)
        }
        // 3.2 adds to 3.1 (a `query` method, `additionalOperations`, richer tags) without
        // changing what 3.1 means; what it adds is not read.
        "openapi" if tolerant && (declared == "3.2" || declared.starts_with("3.2.")) => {
            Some(SpecVersion::OpenApi31)
        }
        "swagger" if declared == "2.0" => Some(SpecVersion::Swagger2),
        _ => None,
    };
    match version {
        Some(v) => Ok((v, declared)),
        None => Err(Error::UnsupportedVersion {
            location: root.locate(&format!("/{key}")),
            declared,
        }),
    }
}

/// Builds the catalog from parsed files (root first).
fn build(
    files: Files,
    version: SpecVersion,
    declared_version: String,
    tolerant: bool,
) -> Result<Catalog, Error> {
    let mut b = Builder::new(&files, version, tolerant);
    let root = files.root(0).ok_or_else(|| Error::NotOpenApi {
        location: files.locate(0, ""),
        message: "no document".to_owned(),
    })?;
    let root_file = root.file.name.clone();
    let info = b.info(&root)?;
    let tags = b.tags(&root);
    let extensions = root.extensions();
    let security_schemes = match version {
        SpecVersion::Swagger2 => b.swagger2_security_schemes(&root)?,
        _ => b.security_schemes(&root)?,
    };
    let (global_security, global_security_location) = match root.get_present("security") {
        Some(at) => (Some(b.requirements(&at)?), Some(at.location())),
        None => (None, None),
    };
    let servers = match version {
        SpecVersion::Swagger2 => b.swagger2_servers(&root, None),
        _ => b.servers_or_default(&root)?,
    };
    let operations = b.operations(&root, &servers, global_security.as_deref())?;
    b.finish_schemas()?;
    b.check_security_names(
        &security_schemes,
        global_security.as_deref(),
        global_security_location.as_ref(),
        &operations,
    );
    let schemas = std::mem::take(&mut b.schemas.done);
    // A path-level parameter is read once per operation: say each thing once.
    let mut seen = std::collections::HashSet::new();
    let warnings: Vec<_> = std::mem::take(&mut b.warnings)
        .into_iter()
        .filter(|w| seen.insert((w.location.clone(), w.message.clone())))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let unresolved_refs: Vec<_> = std::mem::take(&mut b.unresolved)
        .into_iter()
        .filter(|u| seen.insert(u.location.clone()))
        .collect();
    drop(b);
    Ok(Catalog {
        version,
        declared_version,
        root_file,
        info,
        servers,
        operations,
        security_schemes,
        global_security,
        global_security_location,
        schemas,
        tags,
        extensions,
        warnings,
        unresolved_refs,
        sources: Arc::new(SourceMap {
            files: files.into_files(),
        }),
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tolerant_tests;
