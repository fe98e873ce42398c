//! One segment (or a literal piece of one): percent-decoding, validation and canonical
//! re-encoding. Shared by [`normalize_path`](super::normalize_path) and by the router, which
//! canonicalizes the literal text of path templates with exactly the same rules.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};

use super::PathError;

/// Every byte that is not an RFC 3986 `pchar` (unreserved, sub-delims, `:`, `@`): these are
/// percent-encoded in the canonical form. Non-ASCII bytes are always encoded.
const NOT_PCHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// For each byte, true when it stays literal in the canonical form: an RFC 3986 `pchar`
/// (unreserved, sub-delims, `:`, `@`), `%` excepted. No non-ASCII byte is one.
static PCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut rest: &mut [bool] = &mut table;
    let mut c = 0u8;
    while let [slot, tail @ ..] = rest {
        *slot = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        rest = tail;
        c = c.wrapping_add(1);
    }
    table
};

/// True for a byte that stays literal in the canonical form (RFC 3986 `pchar` minus `%`).
#[inline]
pub(crate) fn is_pchar(b: u8) -> bool {
    // A u8 always indexes a 256-entry table: the check compiles away.
    PCHAR.get(usize::from(b)).copied().unwrap_or(false)
}

/// The value of one hexadecimal digit, either case.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The value of one canonical (upper-case) hexadecimal digit.
pub(crate) fn upper_hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What a decoded segment is, for dot-segment removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    /// `.`: removed.
    Dot,
    /// `..`: removes the previous segment.
    DotDot,
    /// Anything else: kept.
    Normal,
}

/// A reusable buffer holding a decoded segment and, for each decoded byte, the offset in the
/// input where it was written (for precise errors).
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    bytes: Vec<u8>,
    origins: Vec<usize>,
}

impl Decoded {
    /// Decodes `raw`, which starts at byte `base` of the input, and checks every rule that
    /// applies to the bytes of one segment. On error, the error is the first problem by
    /// position in the input.
    pub(crate) fn decode(&mut self, raw: &str, base: usize) -> Result<(), PathError> {
        self.bytes.clear();
        self.origins.clear();
        let input = raw.as_bytes();
        let mut bad_escape = None;
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            let at = base + i;
            if b == b'%' {
                let hi = input.get(i + 1).copied().and_then(hex_value);
                let lo = input.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    bad_escape = Some(PathError::InvalidEscape { offset: at });
                    break;
                };
                self.bytes.push(hi << 4 | lo);
                i += 3;
            } else {
                if b == b'?' || b == b'#' {
                    bad_escape = Some(PathError::Delimiter {
                        offset: at,
                        byte: b,
                    });
                    break;
                }
                self.bytes.push(b);
                i += 1;
            }
            self.origins.push(at);
        }

        // Everything before the first escape error is checked first, so the error reported
        // is the earliest one. A UTF-8 sequence cut short by a bad escape is the escape's
        // fault, not an encoding error.
        let utf8 = std::str::from_utf8(&self.bytes);
        let (checked_len, utf8_error) = match utf8 {
            Ok(_) => (self.bytes.len(), None),
            Err(e) if e.error_len().is_none() && bad_escape.is_some() => (e.valid_up_to(), None),
            Err(e) => (e.valid_up_to(), Some(e.valid_up_to())),
        };
        for (&b, &at) in self.bytes.iter().zip(&self.origins).take(checked_len) {
            match b {
                0x00..=0x1F | 0x7F => {
                    return Err(PathError::ControlCharacter {
                        offset: at,
                        byte: b,
                    });
                }
                b'/' => return Err(PathError::EncodedSlash { offset: at }),
                b'\\' => return Err(PathError::Backslash { offset: at }),
                _ => {}
            }
        }
        if let Some(index) = utf8_error {
            let offset = self.origins.get(index).copied().unwrap_or(base);
            return Err(PathError::InvalidUtf8 { offset });
        }
        match bad_escape {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Classifies the decoded segment, which starts at byte `base` of the input.
    pub(crate) fn kind(&self, base: usize) -> Result<SegmentKind, PathError> {
        canonical_kind(&self.bytes, base)
    }

    /// Appends the canonical encoding of the decoded bytes to `out`.
    pub(crate) fn encode_into(&self, out: &mut String) {
        out.extend(percent_encode(&self.bytes, NOT_PCHAR));
    }
}

/// True when `path` (which starts with `/`) is already canonical: no empty segment (so no
/// `//` and no trailing slash, the root `/` aside), at most `max_segments` segments, none a
/// dot segment, only `pchar`s and upper-case escapes of bytes that must stay encoded,
/// decoding to valid UTF-8 without control characters, slash or backslash. One pass, no
/// allocation.
pub(crate) fn is_canonical_path(path: &str, max_segments: usize) -> bool {
    let input = path.as_bytes();
    if input == b"/" {
        return true;
    }
    let mut segments = 0;
    let mut start = 1;
    let mut i = 1;
    loop {
        let b = input.get(i).copied();
        if b.is_some_and(is_pchar) {
            i += 1;
            continue;
        }
        match b {
            None | Some(b'/') => {
                segments += 1;
                let segment = input.get(start..i).unwrap_or_default();
                if segments > max_segments || is_dot_like(segment) {
                    return false;
                }
                if b.is_none() {
                    return true;
                }
                i += 1;
                start = i;
            }
            Some(b'%') => match canonical_escapes(input, i) {
                Some(next) => i = next,
                None => return false,
            },
            Some(_) => return false,
        }
    }
}

/// True when every byte of `raw` (one segment) is already canonical: `pchar`s and canonical
/// escapes only. Dot segments are the caller's business.
pub(crate) fn is_canonical_text(raw: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if is_pchar(b) {
            i += 1;
        } else if b == b'%' {
            match canonical_escapes(raw, i) {
                Some(next) => i = next,
                None => return false,
            }
        } else {
            return false;
        }
    }
    true
}

/// What a segment whose text is canonical is, for dot-segment removal; `base` is where it
/// starts in the input.
pub(crate) fn canonical_kind(raw: &[u8], base: usize) -> Result<SegmentKind, PathError> {
    match raw {
        b"." => Ok(SegmentKind::Dot),
        b".." => Ok(SegmentKind::DotDot),
        [b'.', b';', ..] | [b'.', b'.', b';', ..] => {
            Err(PathError::DotSegmentWithParameters { offset: base })
        }
        _ => Ok(SegmentKind::Normal),
    }
}

/// True for an empty segment, `.`, `..`, and `.` or `..` followed by `;` parameters.
#[inline]
fn is_dot_like(segment: &[u8]) -> bool {
    matches!(
        segment,
        [] | [b'.'] | [b'.', b'.'] | [b'.', b';', ..] | [b'.', b'.', b';', ..]
    )
}

/// Checks the escape at `i` (and the escapes that continue its UTF-8 sequence) is
/// canonical; returns the index after them.
fn canonical_escapes(input: &[u8], i: usize) -> Option<usize> {
    let first = canonical_escape(input, i)?;
    if first < 0x80 {
        let must_stay_encoded =
            !is_pchar(first) && !matches!(first, 0x00..=0x1F | 0x7F | b'/' | b'\\');
        return must_stay_encoded.then_some(i + 3);
    }
    // A non-ASCII character: its bytes are consecutive escapes forming one valid UTF-8
    // sequence.
    let width = match first {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let mut buf = [0u8; 4];
    for (k, slot) in buf.iter_mut().enumerate().take(width) {
        *slot = canonical_escape(input, i + 3 * k)?;
    }
    std::str::from_utf8(buf.get(..width)?).ok()?;
    Some(i + 3 * width)
}

/// The byte of a canonical escape (`%` and two upper-case hex digits) at `i`.
fn canonical_escape(input: &[u8], i: usize) -> Option<u8> {
    if input.get(i) != Some(&b'%') {
        return None;
    }
    let hi = upper_hex_value(*input.get(i + 1)?)?;
    let lo = upper_hex_value(*input.get(i + 2)?)?;
    Some(hi << 4 | lo)
}

/// Percent-decodes a canonical segment (or part of one) to a string. Borrows when there is
/// no escape. Canonical text always decodes to valid UTF-8; anything else is decoded
/// lossily (U+FFFD) rather than failing.
pub(crate) fn decode_canonical(raw: &str) -> Cow<'_, str> {
    // The common case first: no escape, nothing to decode or validate again.
    if !raw.as_bytes().contains(&b'%') {
        return Cow::Borrowed(raw);
    }
    percent_decode_str(raw).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pchar_table_agrees_with_the_encode_set() {
        for b in 0u8..=0x7F {
            let encoded = percent_encode(&[b], NOT_PCHAR).to_string();
            assert_eq!(is_pchar(b), encoded.len() == 1, "byte 0x{b:02X}");
        }
        assert!(!is_pchar(b'%'));
    }

    fn is_canonical_segment(segment: &str) -> bool {
        is_canonical_path(&format!("/{segment}"), 8)
    }

    #[test]
    fn canonical_segment_check() {
        assert!(is_canonical_segment("pets"));
        assert!(is_canonical_segment("a%20b"));
        assert!(is_canonical_segment("caf%C3%A9"));
        assert!(is_canonical_segment("%F0%9F%98%80"));
        assert!(is_canonical_segment("...")); // not a dot segment
        assert!(!is_canonical_segment("caf%c3%a9"));
        assert!(!is_canonical_segment("%41"));
        assert!(!is_canonical_segment("%C3"));
        assert!(!is_canonical_segment("%C0%AF"));
        assert!(!is_canonical_segment("%ED%A0%80"));
        assert!(!is_canonical_segment("%80"));
        assert!(!is_canonical_segment("%2F"));
        assert!(!is_canonical_segment("%00"));
        assert!(!is_canonical_segment("a b"));
        assert!(!is_canonical_segment("é"));
        assert!(!is_canonical_segment(".."));
        assert!(!is_canonical_segment("..;x"));
        assert!(!is_canonical_segment("%"));
        assert!(!is_canonical_segment("a/"));
        assert!(!is_canonical_segment("a//b"));
        assert!(is_canonical_segment("a/b"));
        assert!(is_canonical_path("/", 0));
        assert!(is_canonical_path("/a/b", 2));
        assert!(!is_canonical_path("/a/b/c", 2));
    }

    #[test]
    fn decode_canonical_borrows_without_escapes() {
        assert!(matches!(decode_canonical("abc"), Cow::Borrowed("abc")));
        assert_eq!(decode_canonical("a%20b%C3%A9"), "a bé");
    }
}
