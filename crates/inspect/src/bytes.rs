//! Small helpers over byte slices that never index out of bounds.

/// Haystacks up to this length are searched by the needle's first byte: building a substring
/// searcher (`memmem::find`) costs more than the whole search of a short value.
const SHORT: usize = 256;

/// Where `needle` first occurs in `hay` (`memmem::find`, cheaper on short values).
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    if hay.len() > SHORT {
        return memchr::memmem::find(hay, needle);
    }
    memchr::memchr_iter(first, hay).find(|&i| hay.get(i + 1..).is_some_and(|t| t.starts_with(rest)))
}

/// Where `needle` first occurs in `hay` at or after `from`.
pub(crate) fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let tail = hay.get(from..)?;
    find(tail, needle).map(|i| i + from)
}

/// Whether `hay` contains `needle`. Short values (most request values) are searched by their
/// first byte, which costs less than building a substring searcher.
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
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

/// A set of literal needles searched in one pass (Aho-Corasick), built once.
pub(crate) struct Needles {
    list: &'static [&'static str],
    automaton: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>>,
}

impl Needles {
    /// A set over `list` (the automaton is built on first use).
    pub(crate) const fn new(list: &'static [&'static str]) -> Needles {
        Needles {
            list,
            automaton: std::sync::OnceLock::new(),
        }
    }

    /// The first needle (leftmost in `hay`) found, if any.
    pub(crate) fn find(&self, hay: &[u8]) -> Option<&'static str> {
        let automaton = self
            .automaton
            .get_or_init(|| aho_corasick::AhoCorasick::new(self.list).ok());
        match automaton {
            Some(ac) => ac
                .find(hay)
                .and_then(|m| self.list.get(m.pattern().as_usize()).copied()),
            // Building cannot fail for these small literal lists; search one by one if it did.
            None => self
                .list
                .iter()
                .copied()
                .find(|n| contains(hay, n.as_bytes())),
        }
    }
}
