//! Request-path normalization: the one function that turns the path of a request-target
//! into the canonical form that is both routed and forwarded upstream, so that what the
//! gateway checks is exactly what the upstream receives.
//!
//! ```
//! use portcullis_spec::{normalize_path, PathError};
//!
//! assert_eq!(normalize_path("//pets/%7e/./42/").unwrap().as_str(), "/pets/~/42");
//! assert_eq!(normalize_path("/files/a%2Fb"), Err(PathError::EncodedSlash { offset: 8 }));
//! assert_eq!(normalize_path("/a/../.."), Err(PathError::Traversal { offset: 6 }));
//! ```
//!
//! The input is the path component of an HTTP request-target, the query already cut at the
//! first `?`. The rules, applied in this order:
//!
//! | # | rule | example |
//! |---|------|---------|
//! | 1 | The input must not be empty, `*` (asterisk-form) or absolute-/authority-form, and must start with `/`. | `*` -> `AsteriskForm`, `http://h/a` -> `AbsoluteForm`, `a/b` -> `MissingLeadingSlash` |
//! | 2 | At most [`MAX_PATH_LEN`] (8 KiB) bytes of input and [`MAX_SEGMENTS`] (256) non-empty segments, dot segments included. | |
//! | 3 | The input is split into segments on raw `/`; empty segments are dropped, which merges duplicate slashes and removes a trailing slash. | `//a///b/` -> `/a/b` |
//! | 4 | In each segment every `%XX` is decoded (either hex case); a `%` not followed by two hex digits is an error. | `%41` -> `A`, `%G1`/`%4`/`%` -> `InvalidEscape` |
//! | 5 | A raw `?` or `#` is an error: the caller passed more than a path. | `/a#b` -> `Delimiter` |
//! | 6 | The decoded bytes must be valid UTF-8 (no overlong form, surrogate, stray or missing continuation byte). Raw non-ASCII UTF-8 is allowed. | `%C0%AF`, `%ED%A0%80`, `%C3` -> `InvalidUtf8` |
//! | 7 | No control character (0x00-0x1F, 0x7F), raw or encoded; no encoded slash `%2F`; no backslash, raw or `%5C`. | `%00` -> `ControlCharacter`, `%2f` -> `EncodedSlash`, `\` -> `Backslash` |
//! | 8 | Dot segments are removed after decoding (RFC 3986 5.2.4 on the segment list): `.` is dropped, `..` drops the previous segment; a `..` with nothing left to drop is an error. | `/a/%2e%2E/b` -> `/b`, `/..` -> `Traversal` |
//! | 9 | A `.` or `..` followed by `;` parameters is an error (Tomcat-style servers strip the parameters and then climb). | `/a/..;x/b` -> `DotSegmentWithParameters` |
//! | 10 | Each kept segment is re-encoded: every byte that is not an RFC 3986 `pchar` (unreserved, sub-delims `!$&'()*+,;=`, `:`, `@`) becomes `%XX` with upper-case hex; every `pchar` is literal. | `%7e` -> `~`, `%2a` -> `*`, `%20` and raw space -> `%20`, `é` -> `%C3%A9`, `%25` -> `%25` |
//! | 11 | Case is preserved; `;` matrix parameters and `+` are ordinary segment text. | `/Admin;x=1` stays, `/a+b` stays |
//! | 12 | The result is `/` followed by the kept segments joined with `/`, or `/` when none is left. | `/a/..` -> `/` |
//!
//! Every check of rules 4 to 9 reports the first problem by position in the input, with its
//! byte offset ([`PathError::offset`]).
//!
//! Consequences the router and proxy rely on: the output starts with `/`, has no `//`, no
//! dot segment, no trailing slash (except the root), only upper-case escapes of non-`pchar`
//! bytes, decodes to valid UTF-8, and normalizing it again returns it unchanged. Decoding a
//! segment of the output can never yield a `/`.
//!
//! An input that is already canonical is checked in one pass without allocating: the result
//! borrows it ([`NormalizedPath::is_unchanged`]). Every gateway request goes through here.

mod error;
mod segment;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use smallvec::SmallVec;

pub use error::PathError;
pub(crate) use segment::{Decoded, SegmentKind, decode_canonical};

/// The longest input accepted, in bytes (8 KiB).
pub const MAX_PATH_LEN: usize = 8 * 1024;

/// The most non-empty segments accepted in the input, dot segments included.
pub const MAX_SEGMENTS: usize = 256;

/// A canonical request path, produced by [`normalize_path`]: what is routed and forwarded.
///
/// It borrows the input when the input was already canonical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedPath<'a> {
    path: Cow<'a, str>,
}

impl<'a> NormalizedPath<'a> {
    /// The canonical path, percent-encoded, starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// True when the input was already canonical (the result borrows it).
    pub fn is_unchanged(&self) -> bool {
        matches!(self.path, Cow::Borrowed(_))
    }

    /// The canonical path as a `Cow`.
    pub fn into_cow(self) -> Cow<'a, str> {
        self.path
    }

    /// An owned copy that no longer borrows the input.
    pub fn into_owned(self) -> NormalizedPath<'static> {
        NormalizedPath {
            path: Cow::Owned(self.path.into_owned()),
        }
    }

    /// The canonical (still percent-encoded) segments; none for the root `/`.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|s| !s.is_empty())
    }

    /// The percent-decoded segments; each borrows when it has no escape.
    pub fn decoded_segments(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.segments().map(decode_canonical)
    }
}

impl AsRef<str> for NormalizedPath<'_> {
    fn as_ref(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for NormalizedPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

impl PartialEq<str> for NormalizedPath<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.path == *other
    }
}

impl PartialEq<&str> for NormalizedPath<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.path == **other
    }
}

impl From<NormalizedPath<'_>> for String {
    fn from(path: NormalizedPath<'_>) -> String {
        path.path.into_owned()
    }
}

/// Normalizes the path of a request-target following the rules of the [module
/// documentation](self).
///
/// `path` is the path component only: the caller cuts the query at the first `?`.
///
/// # Errors
///
/// A [`PathError`] naming the first rule the input breaks and the byte offset where.
pub fn normalize_path(path: &str) -> Result<NormalizedPath<'_>, PathError> {
    check_form(path)?;
    if is_canonical(path) {
        return Ok(NormalizedPath {
            path: Cow::Borrowed(path),
        });
    }
    normalize_slow(path).map(|path| NormalizedPath {
        path: Cow::Owned(path),
    })
}

/// Rules 1 and 2 (length): what the request-target is, before looking at segments.
fn check_form(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty { offset: 0 });
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong {
            offset: MAX_PATH_LEN,
            length: path.len(),
            limit: MAX_PATH_LEN,
        });
    }
    if path.starts_with('/') {
        return Ok(());
    }
    if path == "*" {
        return Err(PathError::AsteriskForm { offset: 0 });
    }
    if has_scheme_or_authority(path) {
        return Err(PathError::AbsoluteForm { offset: 0 });
    }
    Err(PathError::MissingLeadingSlash { offset: 0 })
}

/// True for `scheme:...` (RFC 3986 `scheme`) and `host:port`, the absolute and authority
/// forms of a request-target.
fn has_scheme_or_authority(path: &str) -> bool {
    let Some((head, _)) = path.split_once(':') else {
        return false;
    };
    let mut bytes = head.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// The fast path: true when `path` (already past [`check_form`]) is canonical and valid, so
/// the slow path would return it unchanged. Allocates nothing. False means "take the slow
/// path", which also produces the precise error when there is one.
fn is_canonical(path: &str) -> bool {
    segment::is_canonical_path(path, MAX_SEGMENTS)
}

/// The general path: applies every rule and builds the canonical string.
fn normalize_slow(path: &str) -> Result<String, PathError> {
    let mut out = String::with_capacity(path.len() + 8);
    // Where each kept segment starts in `out` (its `/`), so `..` can truncate.
    let mut starts: SmallVec<[usize; 16]> = SmallVec::new();
    let mut decoded = Decoded::default();
    let mut count = 0;
    let mut offset = 0;
    for raw in path.split('/') {
        let base = offset;
        offset += raw.len() + 1;
        if raw.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_SEGMENTS {
            return Err(PathError::TooManySegments {
                offset: base,
                limit: MAX_SEGMENTS,
            });
        }
        // Canonical text is copied as is; anything else is decoded and re-encoded.
        let plain = segment::is_canonical_text(raw.as_bytes());
        let kind = if plain {
            segment::canonical_kind(raw.as_bytes(), base)?
        } else {
            decoded.decode(raw, base)?;
            decoded.kind(base)?
        };
        match kind {
            SegmentKind::Dot => {}
            SegmentKind::DotDot => match starts.pop() {
                Some(start) => out.truncate(start),
                None => return Err(PathError::Traversal { offset: base }),
            },
            SegmentKind::Normal => {
                starts.push(out.len());
                out.push('/');
                if plain {
                    out.push_str(raw);
                } else {
                    decoded.encode_into(&mut out);
                }
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}
