//! Mutating valid inputs: the edits the proptests apply to the fixtures.

use super::*;

/// Text that means something to one of the parsers, spliced into valid inputs.
pub(crate) const TOKENS: [&str; 40] = [
    "\n", "\r\n", "\n\n", ": ", "=", "&", ";", ",", "|", " ", "%", "%2", "%00", "%ff", "%C3%A9",
    "+", "[", "]", "{", "}", "\"", "'", "\\", "\\u0000", "\\ud800", "1e999", "-0", ".", "..", "/",
    "--", "--X\r\n", "${", "${A:-", "$${", "&a ", "*a", "- ", "\t", "\u{feff}",
];

/// One edit of an input's bytes, at a position taken modulo its length.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
    Byte(usize, u8),
    /// Repeat a slice (deep nesting, long runs, many parts).
    Repeat(usize, usize, usize),
}

pub(crate) fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1usize..24).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        (any::<usize>(), 1usize..16, 2usize..160).prop_map(|(at, n, k)| Edit::Repeat(at, n, k)),
    ]
}

pub(crate) fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

/// Applies the edits to `input`.
pub(crate) fn mutate(input: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for e in edits {
        let at = |i: usize| i % (bytes.len() + 1);
        match *e {
            Edit::Insert(i, t) => {
                let i = at(i);
                bytes.splice(i..i, TOKENS[t].bytes());
            }
            Edit::Delete(i, n) => {
                let i = at(i);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Byte(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = b;
                }
            }
            Edit::Repeat(i, n, k) => {
                let i = at(i);
                let end = (i + n).min(bytes.len());
                let piece = bytes[i..end].to_vec();
                for _ in 0..k {
                    bytes.splice(i..i, piece.iter().copied());
                }
            }
        }
    }
    bytes
}

pub(crate) fn mutate_text(input: &str, edits: &[Edit]) -> String {
    String::from_utf8_lossy(&mutate(input.as_bytes(), edits)).into_owned()
}
