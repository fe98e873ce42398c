//! Auditing files and directories, in parallel.
//!
//! Directories are walked (sorted, hidden entries and symbolic-link loops skipped, at most
//! [`MAX_DEPTH`] levels) for `.yaml`, `.yml` and `.json` files; of those, documents without a
//! top-level `openapi`/`swagger` key are skipped and counted. A file named on the command line
//! is always audited, so a file that is not OpenAPI is an error there. A file that cannot be
//! loaded is reported as a [`Failure`] and the others are audited anyway.

use std::path::{Path, PathBuf};

use portcullis_report::Report;
use rayon::prelude::*;

use crate::engine::audit_catalog;
use crate::rules;
use crate::score::score;
use crate::settings::Settings;

/// Deepest directory nesting walked.
pub const MAX_DEPTH: usize = 32;

/// A file that could not be audited.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The document could not be loaded (the error names the file, place and problem).
    #[error(transparent)]
    Load(#[from] portcullis_spec::Error),
    /// A directory could not be read.
    #[error("{}: cannot read the directory: {source}", path.display())]
    Walk {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The result of auditing a set of paths.
#[derive(Debug)]
pub struct Outcome {
    /// Findings of every audited document (sorted, summarized, scored).
    pub report: Report,
    /// Files that could not be audited, in input order.
    pub failures: Vec<Failure>,
    /// Files found in directories that are not OpenAPI documents.
    pub skipped: Vec<PathBuf>,
    /// Number of documents audited.
    pub audited: usize,
}

/// One input file, and whether it was found by walking a directory.
struct Input {
    path: PathBuf,
    walked: bool,
}

/// Loads one document the way the audit reads it: tolerantly
/// ([`portcullis_spec::LoadOptions::tolerant`]), so that a `$ref` that cannot be resolved
/// becomes a finding (PC-DOC-001) instead of a refusal, and OpenAPI 3.2 is read as 3.1
/// (PC-DOC-002). The gateway loads strictly and refuses both.
pub fn load(path: &Path) -> Result<portcullis_spec::Catalog, portcullis_spec::Error> {
    portcullis_spec::load_with(path, &portcullis_spec::LoadOptions::tolerant())
}

/// Audits every path (files and directories), documents in parallel.
pub fn audit_paths(paths: &[PathBuf], settings: &Settings) -> Outcome {
    let mut inputs = Vec::new();
    let mut failures = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, 0, &mut inputs, &mut failures);
        } else {
            inputs.push(Input {
                path: p.clone(),
                walked: false,
            });
        }
    }

    // Largest files first, so that no core is left alone with a big document at the end;
    // the results are put back in input order.
    let mut order: Vec<(u64, usize)> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (std::fs::metadata(&input.path).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_by_key(|&(size, i)| (std::cmp::Reverse(size), i));
    let mut results: Vec<(usize, Done)> = order
        .par_iter()
        .with_max_len(1)
        .filter_map(|&(_, i)| inputs.get(i).map(|input| (i, audit_one(input, settings))))
        .collect();
    results.sort_by_key(|(i, _)| *i);

    let mut report = Report::new("portcullis", env!("CARGO_PKG_VERSION"));
    let mut skipped = Vec::new();
    let mut audited = 0;
    let mut lowest: Option<u8> = None;
    for (_, done) in results {
        match done {
            Done::Audited(path, findings) => {
                audited += 1;
                let s = score(&findings);
                lowest = Some(lowest.map_or(s, |l| l.min(s)));
                report.artifacts.push(path.display().to_string());
                report.findings.extend(findings);
            }
            Done::Skipped(path) => skipped.push(path),
            Done::Failed(f) => failures.push(f),
        }
    }
    report.score = lowest;
    report.rules = rules::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| settings.enabled(m.id))
        .map(|m| m.info(settings.severity(m.id, m.severity)))
        .collect();
    report.finish();
    Outcome {
        report,
        failures,
        skipped,
        audited,
    }
}

/// What became of one input.
enum Done {
    Audited(PathBuf, Vec<portcullis_report::Finding>),
    Skipped(PathBuf),
    Failed(Failure),
}

/// Loads and audits one input (the catalog is dropped here, on the worker).
fn audit_one(input: &Input, settings: &Settings) -> Done {
    match load(&input.path) {
        Ok(catalog) => Done::Audited(input.path.clone(), audit_catalog(&catalog, settings)),
        Err(portcullis_spec::Error::NotOpenApi { .. }) if input.walked => {
            Done::Skipped(input.path.clone())
        }
        Err(e) => Done::Failed(Failure::Load(e)),
    }
}

/// True for the extensions of documents.
fn is_document(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
}

/// Collects documents under `dir`, sorted by name.
fn walk(dir: &Path, depth: usize, inputs: &mut Vec<Input>, failures: &mut Vec<Failure>) {
    if depth > MAX_DEPTH {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            failures.push(Failure::Walk {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    paths.sort();
    for p in paths {
        // Symbolic links to directories are not followed (no loops); links to files are.
        let is_link_dir =
            std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) && p.is_dir();
        if p.is_dir() && !is_link_dir {
            walk(&p, depth + 1, inputs, failures);
        } else if p.is_file() && is_document(&p) {
            inputs.push(Input {
                path: p,
                walked: true,
            });
        }
    }
}
