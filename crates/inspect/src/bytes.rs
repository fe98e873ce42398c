//! Small helpers over byte slices that never index out of bounds.

/// Where `needle` first occurs in `hay` at or after `from`.
pub(crate) fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let tail = hay.get(from..)?;
    memchr::memmem::find(tail, needle).map(|i| i + from)
}

/// Whether `hay` contains `needle`.
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// The byte at `i`, or 0 past the end.
pub(crate) fn at(hay: &[u8], i: usize) -> u8 {
    hay.get(i).copied().unwrap_or(0)
}

/// The first index at or after `i` that is not a space or tab.
pub(crate) fn skip_blanks(hay: &[u8], mut i: usize) -> usize {
    while matches!(at(hay, i), b' ' | b'\t') {
        i += 1;
    }
    i
}

/// Whether `b` is an ASCII letter, digit or `_`.
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The value of an ASCII hex digit.
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
