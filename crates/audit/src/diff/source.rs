//! The two versions `audit diff` compares: files, or git revisions of a file (`REV:path`).
//!
//! An argument that names an existing file is that file. Otherwise `REV:path` is read with
//! `git show REV:path`, run in the current directory, so git finds the repository the current
//! directory is in and reads `path` as git does: from the top of the repository, or from the
//! current directory when it starts with `./`. A revision is loaded from its text alone: an
//! external `$ref` in it is not followed (it becomes a PC-DOC-001 finding).

use std::path::Path;
use std::process::Command;

use portcullis_spec::{Catalog, LoadOptions};

/// Largest document read from git (the spec loader's own limits apply too).
pub const MAX_GIT_BYTES: usize = 256 * 1024 * 1024;

/// Why a version could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Neither a file nor `REV:path`.
    #[error("`{0}`: no such file (a git revision is written REV:path, e.g. main:openapi.yaml)")]
    NotFound(String),
    /// git could not be started.
    #[error("`{arg}`: cannot run git to read the revision: {source}")]
    NoGit {
        /// The argument.
        arg: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// git refused (unknown revision, path not in it, not a repository).
    #[error("`{arg}`: git show {arg} failed: {message}")]
    Git {
        /// The argument.
        arg: String,
        /// git's own message.
        message: String,
    },
    /// The revision's text is too large or not UTF-8.
    #[error("`{arg}`: {message}")]
    Content {
        /// The argument.
        arg: String,
        /// What is wrong.
        message: String,
    },
    /// The document could not be loaded.
    #[error(transparent)]
    Load(#[from] portcullis_spec::Error),
}

/// Loads one version the way the audit reads documents (tolerantly).
pub fn load_version(arg: &str) -> Result<Catalog, SourceError> {
    let path = Path::new(arg);
    if path.is_file() {
        return Ok(crate::run::load(path)?);
    }
    let Some((rev, file)) = arg
        .split_once(':')
        .filter(|(r, f)| !r.is_empty() && !f.is_empty())
    else {
        return Err(SourceError::NotFound(arg.to_owned()));
    };
    let out = Command::new("git")
        .arg("show")
        .arg(format!("{rev}:{file}"))
        .output()
        .map_err(|source| SourceError::NoGit {
            arg: arg.to_owned(),
            source,
        })?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr);
        let message = message.trim();
        return Err(SourceError::Git {
            arg: arg.to_owned(),
            message: if message.is_empty() {
                format!("exit status {}", out.status)
            } else {
                message.lines().take(3).collect::<Vec<_>>().join("; ")
            },
        });
    }
    if out.stdout.len() > MAX_GIT_BYTES {
        return Err(SourceError::Content {
            arg: arg.to_owned(),
            message: format!(
                "the revision is {} bytes, more than the {MAX_GIT_BYTES} read",
                out.stdout.len()
            ),
        });
    }
    let text = String::from_utf8(out.stdout).map_err(|e| SourceError::Content {
        arg: arg.to_owned(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    Ok(portcullis_spec::load_str_with(
        arg,
        &text,
        &LoadOptions::tolerant(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing() {
        let err = load_version("no-such-file.yaml").unwrap_err().to_string();
        assert!(
            err.contains("no-such-file.yaml") && err.contains("no such file"),
            "{err}"
        );
        let err = load_version(":x").unwrap_err().to_string();
        assert!(err.contains("no such file"), "{err}");
    }
}
