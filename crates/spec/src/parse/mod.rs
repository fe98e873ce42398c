//! Reading one document: YAML or JSON text into a [`serde_json::Value`] (object keys in
//! document order) and the [`Positions`] of every node in it.
//!
//! Both parsers build the value and the position tree in a single pass, with an explicit stack
//! (no recursion, so no stack overflow on deeply nested input) and with [`Limits`] on size,
//! depth, node count and YAML alias expansion, so hostile input fails fast with a precise
//! [`Error::Syntax`] instead of eating memory.
//!
//! * YAML goes through the `saphyr-parser` event API (`yaml.rs`); plain scalars follow the
//!   YAML 1.2 core schema (`scalar.rs`); anchors, aliases and the `<<` merge key are expanded.
//! * JSON goes through a small strict RFC 8259 parser (`json.rs`): on the corpus's large JSON
//!   files it is an order of magnitude faster than running JSON through the YAML parser
//!   (the measurement is in `json.rs`).
//!
//! ```
//! use std::sync::Arc;
//! use portcullis_spec::parse::{parse, Format, Limits};
//!
//! let name: Arc<str> = Arc::from("api.yaml");
//! let (value, positions) = parse(&name, "paths:\n  /a: {}\n", Format::Auto, &Limits::default())?;
//! assert_eq!(value["paths"]["/a"], serde_json::json!({}));
//! assert_eq!(positions.find(&value, "/paths/~1a"), Some((2, 3, true)));
//! # Ok::<(), portcullis_spec::Error>(())
//! ```

mod json;
mod merge;
mod repair;
mod scalar;
mod vars;
mod yaml;

pub use vars::{expand_vars, substitute_vars};

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::model::Location;
use crate::source::{Positions, SourceFile};

/// Limits on what one file may make us allocate.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 64 MiB).
    pub max_bytes: u64,
    /// Deepest nesting of mappings and sequences (default 128).
    pub max_depth: usize,
    /// Most nodes (scalars, mappings, sequences, including alias copies) in one file
    /// (default 20 000 000).
    pub max_nodes: usize,
    /// Most nodes that YAML aliases may create by copying their anchor (default 1 000 000).
    pub max_alias_expansion: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 128,
            max_nodes: 20_000_000,
            max_alias_expansion: 1_000_000,
        }
    }
}

/// Which syntax to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// JSON when the first non-whitespace byte is `{` or `[`, else YAML.
    #[default]
    Auto,
    /// Strict JSON (RFC 8259).
    Json,
    /// YAML 1.2 (core schema), first document of the stream.
    Yaml,
}

impl Format {
    /// The format a file's extension names: `.json` is JSON, `.yaml`/`.yml` YAML (any case),
    /// anything else [`Format::Auto`].
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml") => {
                Format::Yaml
            }
            _ => Format::Auto,
        }
    }

    /// Resolves [`Format::Auto`] by looking at the first non-whitespace byte of `text`.
    pub fn detect(self, text: &str) -> Format {
        match self {
            Format::Auto => {
                let first = text
                    .bytes()
                    .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                match first {
                    Some(b'{' | b'[') => Format::Json,
                    _ => Format::Yaml,
                }
            }
            other => other,
        }
    }
}

/// A syntax error found by one of the parsers, before it is tied to a file name.
#[derive(Debug)]
pub(crate) struct Failure {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// JSON pointer to where parsing was (best effort).
    pub pointer: String,
    /// What is wrong, without the excerpt.
    pub message: String,
}

/// Parses `text` (the contents of file `name`) into a value (object keys in document order) and
/// the position tree of every node.
///
/// Errors are [`Error::Syntax`] with a [`Location`] naming `name`, the pointer where parsing was
/// (best effort), the line and column of the problem, and a message that quotes the text there.
pub fn parse(
    name: &Arc<str>,
    text: &str,
    format: Format,
    limits: &Limits,
) -> Result<(Value, Positions), Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let too_large = u64::try_from(text.len()).map_or(true, |len| len > limits.max_bytes);
    if too_large {
        let failure = Failure {
            line: 1,
            column: 1,
            pointer: String::new(),
            message: format!(
                "the document is {} bytes, over the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
        };
        return Err(syntax(name, text, failure, false));
    }
    if let Some(offset) = text.bytes().position(|b| b == 0) {
        let (line, column) = line_column(text, offset);
        let failure = Failure {
            line,
            column,
            pointer: String::new(),
            message: "a NUL character (U+0000) is not allowed in a document".to_owned(),
        };
        return Err(syntax(name, text, failure, true));
    }
    let result = match format.detect(text) {
        Format::Json => json::parse(text, limits),
        _ => yaml::parse(text, limits),
    };
    result.map_err(|failure| syntax(name, text, failure, true))
}

/// Reads a file and parses it.
///
/// The size is checked against `max_bytes` before the file is read (and the read itself stops
/// past the limit); invalid UTF-8 is an [`Error::Syntax`] at the line and column of the bad
/// byte; a UTF-8 byte-order mark is dropped. The format is [`Format::from_path`].
pub fn parse_file(path: &Path, name: Arc<str>, limits: &Limits) -> Result<SourceFile, Error> {
    let io = |error| Error::Io {
        path: path.to_owned(),
        error,
    };
    let file = File::open(path).map_err(io)?;
    let declared = file.metadata().map_err(io)?.len();
    if declared > limits.max_bytes {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            size: declared,
            limit: limits.max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    file.take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_bytes {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            size,
            limit: limits.max_bytes,
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let prefix = bytes
                .get(..valid)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or("");
            let (line, column) = line_column(prefix, prefix.len());
            let bad = bytes
                .get(valid)
                .map_or_else(String::new, |b| format!(" (byte 0x{b:02x})"));
            let failure = Failure {
                line,
                column,
                pointer: String::new(),
                message: format!("invalid UTF-8 at byte offset {valid}{bad}"),
            };
            return Err(syntax(&name, prefix, failure, true));
        }
    };
    let (value, positions) = parse(&name, &text, Format::from_path(path), limits)?;
    Ok(SourceFile {
        name,
        path: path.to_owned(),
        value,
        positions,
        bytes: size,
    })
}

/// Turns a parser failure into [`Error::Syntax`] for file `name`, quoting the text at the
/// failure's place when `quote` is set.
fn syntax(name: &Arc<str>, text: &str, failure: Failure, quote: bool) -> Error {
    let message = if quote {
        format!(
            "{}, near {}",
            failure.message,
            excerpt(text, failure.line, failure.column)
        )
    } else {
        failure.message
    };
    Error::Syntax {
        location: Location {
            file: name.clone(),
            pointer: failure.pointer,
            line: failure.line,
            column: failure.column,
        },
        message,
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`. `offset` must be on a
/// character boundary or at the end; any other offset counts the characters before it.
pub(crate) fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.get(line_start..).map_or(0, count_chars) + 1;
    (to_u32(line), to_u32(column))
}

/// Number of UTF-8 characters in `bytes` (bytes that do not continue a character).
pub(crate) fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

/// Saturating conversion for line and column numbers.
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Up to 40 characters of line `line` around `column`, quoted, or `end of input`.
fn excerpt(text: &str, line: u32, column: u32) -> String {
    const BEFORE: usize = 15;
    const WIDTH: usize = 40;
    let index = usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX);
    let Some(content) = text.split('\n').nth(index) else {
        return "end of input".to_owned();
    };
    let content = content.strip_suffix('\r').unwrap_or(content);
    let column = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    let skip = column.saturating_sub(BEFORE);
    let mut shown: String = content.chars().skip(skip).take(WIDTH).collect();
    if shown.trim().is_empty() {
        if content.trim().is_empty() {
            return "an empty line".to_owned();
        }
        shown = content.chars().take(WIDTH).collect();
    }
    let cut_end = content.chars().count() > skip + WIDTH;
    format!(
        "{}{:?}{}",
        if skip > 0 { "…" } else { "" },
        shown,
        if cut_end { "…" } else { "" }
    )
}

#[cfg(test)]
mod tests;
