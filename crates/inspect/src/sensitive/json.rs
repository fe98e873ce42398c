//! One pass over a JSON document's bytes: every string token is checked where it lies (no
//! value tree), strings with escapes through a small decoded copy that maps back to the raw
//! bytes, and the document is validated as it goes (RFC 8259: UTF-8, no control characters in
//! strings, valid escapes, numbers, literals, nesting), so invalid JSON is an [`Error`], never a
//! half-masked body. Memory is the output (when something changes), one small stack frame per
//! nesting level (at most [`MAX_DEPTH`]) and the decoded copy of the current escaped string.

use super::{Kind, Kinds, Options, is_secret_name, scan};
use crate::bytes::{at, hex};
use std::ops::Range;

/// The bytes that stop the scan of a string: `"`, `\\` and control characters.
static STOP: [bool; 256] = stop_table();

// Indices run over 0..256 into a 256-entry table: never out of bounds.
#[allow(clippy::indexing_slicing)]
const fn stop_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c < 0x20 || c == b'"' as usize || c == b'\\' as usize;
        c += 1;
    }
    t
}

/// Nesting deeper than this is refused (the walker recurses once per level, in small frames).
pub const MAX_DEPTH: usize = 512;

/// Why a body could not be scanned: it is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The body is not UTF-8.
    #[error("the JSON body is not valid UTF-8 (byte {offset})")]
    Utf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The body is not JSON.
    #[error("the body is not valid JSON: {what} at byte {offset}")]
    Syntax {
        /// Offset of the problem.
        offset: usize,
        /// What was expected or found.
        what: &'static str,
    },
    /// The body nests deeper than [`MAX_DEPTH`].
    #[error("the JSON body nests deeper than {MAX_DEPTH} levels (byte {offset})")]
    TooDeep {
        /// Offset of the opening bracket over the limit.
        offset: usize,
    },
}

/// What [`mask_json`] returns: the new body, when anything changed, and the kinds seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// The masked document; `None` when nothing changed.
    pub body: Option<Vec<u8>>,
    /// The kinds of sensitive data seen.
    pub kinds: Kinds,
}

/// A JSON document (bytes) with every sensitive value inside its strings masked in place with
/// `*` (same length, so the document stays valid; card numbers keep their last 4 digits), every
/// string or number value of a secret-named property replaced by `"***"`, and a card number
/// written as a JSON number replaced by a masked string. Returns the kinds seen; the body is
/// `None` when nothing changed.
pub fn mask_json(body: &[u8], options: Options) -> Result<Masked, Error> {
    let mut w = Walker::new(body, options, true)?;
    w.run()?;
    let kinds = w.kinds;
    Ok(Masked {
        body: w.finish(),
        kinds,
    })
}

/// The kinds of sensitive data in a JSON document (for `log` and `block` modes): no copy.
pub fn scan_json(body: &[u8], options: Options) -> Result<Kinds, Error> {
    let mut w = Walker::new(body, options, false)?;
    w.run()?;
    Ok(w.kinds)
}

/// Slots of the key-verdict table (a power of two).
const KEY_SLOTS: usize = 256;

/// Keys a document shows before its key verdicts are cached.
const KEYS_BEFORE_CACHE: usize = 32;

/// The walker's state: the input, the output being built, and scratch buffers.
struct Walker<'a> {
    b: &'a [u8],
    i: usize,
    options: Options,
    mask: bool,
    kinds: Kinds,
    out: Option<Vec<u8>>,
    copied: usize,
    scratch: Vec<u8>,
    map: Vec<usize>,
    hits: Vec<(Kind, Range<usize>)>,
    /// Verdicts of recent keys (documents repeat their keys): (start, len, secret) by a hash.
    /// Made only once a document has shown [`KEYS_BEFORE_CACHE`] keys: a small answer would
    /// spend more on filling the table than the table saves.
    keys: Vec<(usize, usize, bool)>,
    /// Keys looked at so far (counted until the table is made).
    keys_seen: usize,
    /// Strings shorter than this (raw) cannot hold a value any detector finds.
    min_len: usize,
}

impl<'a> Walker<'a> {
    fn new(b: &'a [u8], options: Options, mask: bool) -> Result<Walker<'a>, Error> {
        if let Err(e) = std::str::from_utf8(b) {
            return Err(Error::Utf8 {
                offset: e.valid_up_to(),
            });
        }
        Ok(Walker {
            b,
            i: 0,
            options,
            mask,
            kinds: Kinds::default(),
            out: None,
            copied: 0,
            scratch: Vec::new(),
            map: Vec::new(),
            hits: Vec::new(),
            keys: Vec::new(),
            keys_seen: 0,
            min_len: if options.emails || options.phones {
                6
            } else {
                11
            },
        })
    }

    fn err(&self, what: &'static str) -> Error {
        Error::Syntax {
            offset: self.i,
            what,
        }
    }

    fn skip_ws(&mut self) {
        while matches!(at(self.b, self.i), b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn run(&mut self) -> Result<(), Error> {
        self.skip_ws();
        self.value(0, false)?;
        self.skip_ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(self.err("text after the document"))
        }
    }

    /// One value at `self.i`; `secret`: it is the value of a secret-named property.
    fn value(&mut self, depth: usize, secret: bool) -> Result<(), Error> {
        match self.b.get(self.i) {
            Some(b'"') => {
                let start = self.i;
                let (end, escaped) = self.string()?;
                let len = end - start - 2;
                if secret {
                    if len > 0 {
                        self.kinds.insert(Kind::SecretName);
                        if self.b.get(start..end) != Some(b"\"***\"") {
                            self.replace(start..end, b"\"***\"");
                        }
                    }
                } else if len >= self.min_len {
                    self.inspect(start + 1..end - 1, escaped);
                }
                Ok(())
            }
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.number()?;
                self.inspect_number(start..self.i, secret);
                Ok(())
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(_) => Err(self.err("expected a value")),
            None => Err(self.err("unexpected end of the document")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep { offset: self.i });
        }
        self.i += 1;
        self.skip_ws();
        if at(self.b, self.i) == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            if at(self.b, self.i) != b'"' {
                return Err(self.err(if self.i < self.b.len() {
                    "expected a property name"
                } else {
                    "unexpected end of the document"
                }));
            }
            let start = self.i;
            let (end, escaped) = self.string()?;
            let secret = self.key_is_secret(start + 1..end - 1, escaped);
            self.skip_ws();
            if at(self.b, self.i) != b':' {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            self.skip_ws();
            self.value(depth, secret)?;
            self.skip_ws();
            match at(self.b, self.i) {
                b',' => {
                    self.i += 1;
                    self.skip_ws();
                }
                b'}' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep { offset: self.i });
        }
        self.i += 1;
        self.skip_ws();
        if at(self.b, self.i) == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(depth, false)?;
            self.skip_ws();
            match at(self.b, self.i) {
                b',' => {
                    self.i += 1;
                    self.skip_ws();
                }
                b']' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    /// A string token at `self.i` (on its `"`): its end (past the closing quote) and whether it
    /// holds escapes.
    fn string(&mut self) -> Result<(usize, bool), Error> {
        let b = self.b;
        let mut j = self.i + 1;
        let mut escaped = false;
        loop {
            // One table look per byte: most bytes are neither a quote, a backslash nor a
            // control character.
            while b
                .get(j)
                .is_some_and(|&c| !STOP.get(usize::from(c)).copied().unwrap_or(true))
            {
                j += 1;
            }
            match b.get(j) {
                None => {
                    self.i = b.len();
                    return Err(self.err("unterminated string"));
                }
                Some(b'"') => {
                    self.i = j + 1;
                    return Ok((j + 1, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    match at(b, j + 1) {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                        b'u' if (2..6).all(|d| hex(at(b, j + d)).is_some()) => j += 6,
                        _ => {
                            self.i = j;
                            return Err(self.err("invalid escape in a string"));
                        }
                    }
                }
                Some(_) => {
                    self.i = j;
                    return Err(self.err("control character in a string"));
                }
            }
        }
    }

    fn number(&mut self) -> Result<(), Error> {
        let b = self.b;
        let mut j = self.i;
        if at(b, j) == b'-' {
            j += 1;
        }
        match at(b, j) {
            b'0' => j += 1,
            b'1'..=b'9' => {
                while at(b, j).is_ascii_digit() {
                    j += 1;
                }
            }
            _ => {
                self.i = j;
                return Err(self.err("invalid number"));
            }
        }
        if at(b, j) == b'.' {
            j += 1;
            let s = j;
            while at(b, j).is_ascii_digit() {
                j += 1;
            }
            if j == s {
                self.i = j;
                return Err(self.err("invalid number"));
            }
        }
        if matches!(at(b, j), b'e' | b'E') {
            j += 1;
            if matches!(at(b, j), b'+' | b'-') {
                j += 1;
            }
            let s = j;
            while at(b, j).is_ascii_digit() {
                j += 1;
            }
            if j == s {
                self.i = j;
                return Err(self.err("invalid number"));
            }
        }
        self.i = j;
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), Error> {
        if self
            .b
            .get(self.i..self.i + word.len())
            .is_some_and(|w| same(w, word))
        {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn key_is_secret(&mut self, raw: Range<usize>, escaped: bool) -> bool {
        if !escaped {
            let b = self.b;
            let key = b.get(raw.clone()).unwrap_or_default();
            let byte = |k: usize| usize::from(at(key, k));
            let n = key.len();
            if self.keys.is_empty() {
                self.keys_seen += 1;
                if self.keys_seen < KEYS_BEFORE_CACHE {
                    return std::str::from_utf8(key).is_ok_and(is_secret_name);
                }
                self.keys = vec![(0, usize::MAX, false); KEY_SLOTS];
            }
            let slot = (n.wrapping_mul(131)
                ^ byte(0).wrapping_mul(7)
                ^ byte(1).wrapping_mul(61)
                ^ byte(n.saturating_sub(1)).wrapping_mul(31)
                ^ byte(n.saturating_sub(2)).wrapping_mul(17))
                & (KEY_SLOTS - 1);
            if let Some((start, len, secret)) = self.keys.get(slot).copied()
                && b.get(start..start.saturating_add(len))
                    .is_some_and(|seen| same(seen, key))
            {
                return secret;
            }
            let secret = std::str::from_utf8(key).is_ok_and(is_secret_name);
            if let Some(entry) = self.keys.get_mut(slot) {
                *entry = (raw.start, key.len(), secret);
            }
            return secret;
        }
        self.decode(raw);
        std::str::from_utf8(&self.scratch).is_ok_and(is_secret_name)
    }

    /// A number: a secret-named property's is replaced; a card number is masked as a string.
    fn inspect_number(&mut self, range: Range<usize>, secret_key: bool) {
        if secret_key {
            self.kinds.insert(Kind::SecretName);
            self.replace(range, b"\"***\"");
            return;
        }
        let digits = self.b.get(range.clone()).unwrap_or_default();
        if !(13..=19).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return;
        }
        if super::shapes::card(digits, 0).is_some() {
            self.kinds.insert(Kind::Card);
            let mut masked = Vec::with_capacity(digits.len() + 2);
            masked.push(b'"');
            masked.extend(std::iter::repeat_n(b'*', digits.len() - 4));
            masked.extend_from_slice(digits.get(digits.len() - 4..).unwrap_or_default());
            masked.push(b'"');
            self.replace(range, &masked);
        }
    }

    /// Runs the detectors over a string's content (raw range between the quotes).
    fn inspect(&mut self, raw: Range<usize>, escaped: bool) {
        let b = self.b;
        let options = self.options;
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        if !escaped {
            let text = b.get(raw.clone()).unwrap_or_default();
            scan::scan(text, options, &mut |k, r| {
                hits.push((k, r.start + raw.start..r.end + raw.start));
            });
            for (kind, range) in hits.drain(..) {
                self.kinds.insert(kind);
                if self.mask {
                    self.mask_range(kind, range);
                }
            }
            self.hits = hits;
            return;
        }
        self.decode(raw);
        let scratch = std::mem::take(&mut self.scratch);
        scan::scan(&scratch, options, &mut |k, r| hits.push((k, r)));
        let map = std::mem::take(&mut self.map);
        for (kind, range) in hits.drain(..) {
            self.kinds.insert(kind);
            if self.mask {
                // Each decoded byte is masked through the raw bytes of its escape.
                let mut raw_ranges: Vec<(Range<usize>, bool)> = Vec::new();
                let keep_from = keep_last_digits(&scratch, kind, range.clone());
                for d in range.clone() {
                    let start = map.get(d).copied().unwrap_or(0);
                    let end = map.get(d + 1).copied().unwrap_or(start + 1);
                    if end > start && raw_ranges.last().is_none_or(|(r, _)| r.start != start) {
                        raw_ranges.push((start..end, d >= keep_from));
                    }
                }
                for (r, keep) in raw_ranges {
                    if !keep {
                        self.overwrite(r);
                    }
                }
            }
        }
        self.scratch = scratch;
        self.map = map;
        self.hits = hits;
    }

    /// Masks `range` (raw offsets), keeping a card's last four digits.
    fn mask_range(&mut self, kind: Kind, range: Range<usize>) {
        let keep_from = keep_last_digits(self.b, kind, range.clone());
        if kind != Kind::Card {
            self.overwrite(range);
            return;
        }
        // Digits only: the separators stay, so the masked number still reads as one.
        let mut k = range.start;
        while k < keep_from {
            let run_end = (k..keep_from)
                .find(|&e| !at(self.b, e).is_ascii_digit())
                .unwrap_or(keep_from);
            self.overwrite(k..run_end);
            k = run_end + 1;
        }
    }

    /// Writes `*` over `range` (same length).
    fn overwrite(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let stars = vec![b'*'; range.len()];
        self.replace(range, &stars);
    }

    /// Replaces `range` of the input by `with` in the output (ranges come in order).
    fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        if !self.mask || range.start < self.copied {
            return;
        }
        let b = self.b;
        let out = self
            .out
            .get_or_insert_with(|| Vec::with_capacity(b.len() + 64));
        out.extend_from_slice(b.get(self.copied..range.start).unwrap_or_default());
        out.extend_from_slice(with);
        self.copied = range.end;
    }

    fn finish(mut self) -> Option<Vec<u8>> {
        let mut out = self.out.take()?;
        out.extend_from_slice(self.b.get(self.copied..).unwrap_or_default());
        Some(out)
    }

    /// Decodes the raw string content into `scratch`, with `map[d]` the raw offset of decoded
    /// byte `d` (and one past the end).
    fn decode(&mut self, raw: Range<usize>) {
        self.scratch.clear();
        self.map.clear();
        let b = self.b;
        let mut j = raw.start;
        while j < raw.end {
            let c = at(b, j);
            if c != b'\\' {
                self.scratch.push(c);
                self.map.push(j);
                j += 1;
                continue;
            }
            let (ch, used) = match at(b, j + 1) {
                b'u' => {
                    let mut code = 0u32;
                    for d in 2..6 {
                        code = code << 4 | u32::from(hex(at(b, j + d)).unwrap_or(0));
                    }
                    let mut used = 6;
                    if (0xd800..0xdc00).contains(&code)
                        && at(b, j + 6) == b'\\'
                        && at(b, j + 7) == b'u'
                    {
                        let mut low = 0u32;
                        for d in 8..12 {
                            low = low << 4 | u32::from(hex(at(b, j + d)).unwrap_or(0));
                        }
                        if (0xdc00..0xe000).contains(&low) {
                            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            used = 12;
                        }
                    }
                    (char::from_u32(code).unwrap_or('\u{fffd}'), used)
                }
                b'n' => ('\n', 2),
                b't' => ('\t', 2),
                b'r' => ('\r', 2),
                b'b' => ('\u{8}', 2),
                b'f' => ('\u{c}', 2),
                other => (char::from(other), 2),
            };
            let mut buf = [0u8; 4];
            for &byte in ch.encode_utf8(&mut buf).as_bytes() {
                self.scratch.push(byte);
                self.map.push(j);
            }
            j += used;
        }
        self.map.push(raw.end);
    }
}

/// Where the kept last four digits of a card start (the range's end for other kinds).
fn keep_last_digits(text: &[u8], kind: Kind, range: Range<usize>) -> usize {
    if kind != Kind::Card {
        return range.end;
    }
    let mut seen = 0;
    let mut k = range.end;
    while k > range.start && seen < 4 {
        k -= 1;
        if at(text, k).is_ascii_digit() {
            seen += 1;
        }
    }
    k
}

/// Byte equality of two short slices by 8-byte words (cheaper than a `memcmp` call for the
/// keys and literals this compares).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut x = a.chunks_exact(8);
    let mut y = b.chunks_exact(8);
    for (p, q) in x.by_ref().zip(y.by_ref()) {
        let p = u64::from_ne_bytes(p.try_into().unwrap_or([0; 8]));
        let q = u64::from_ne_bytes(q.try_into().unwrap_or([1; 8]));
        if p != q {
            return false;
        }
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}
