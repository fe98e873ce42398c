//! One forward pass over a string: at each word start whose first byte can begin a sensitive
//! value, the shapes for that byte are tried; a match is skipped over whole.

use super::shapes;
use super::{Kind, Options};
use std::ops::Range;

/// What a byte can start (bit set), indexed by the byte.
const START: [u8; 256] = start_table();

const DIGIT: u8 = 1;
const UPPER: u8 = 2;
const KEYISH: u8 = 4;
const DOLLAR: u8 = 8;
const DASH: u8 = 16;
const PLUS: u8 = 32;

// Indices are bytes into a 256-entry table: never out of bounds.
#[allow(clippy::indexing_slicing)]
const fn start_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = b'0';
    while b <= b'9' {
        t[b as usize] = DIGIT;
        b += 1;
    }
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = UPPER;
        b += 1;
    }
    // Lowercase letters that begin a key prefix or a Django-style hash.
    let keyish = b"aegxsrwnyhpb";
    let mut k = 0;
    while k < keyish.len() {
        t[keyish[k] as usize] = KEYISH;
        k += 1;
    }
    t[b'$' as usize] = DOLLAR;
    t[b'-' as usize] = DASH;
    t[b'+' as usize] = PLUS;
    t
}

/// Which two-byte starts can begin a sensitive value (a 65,536-bit set indexed by the first
/// byte and the next): letters and digits are tried only where their pair is in it.
static PAIRS: [u64; 1024] = pair_table();

// Indices are pairs of bytes into a 65,536-bit table: never out of bounds.
#[allow(clippy::indexing_slicing)]
const fn pair_table() -> [u64; 1024] {
    let mut t = [0u64; 1024];
    let mut a = 0usize;
    while a < 256 {
        let mut b = 0usize;
        while b < 256 {
            let (x, y) = (a as u8, b as u8);
            let on = x.is_ascii_digit()
                || (x.is_ascii_uppercase() && y.is_ascii_uppercase())
                || matches!((x, y), (b'A', b'c' | b'w') | (b'S', b'h'))
                || (x.is_ascii_lowercase()
                    && matches!(
                        (x, y),
                        (b'a', b'w' | b'r')
                            | (b'g', b'h' | b'l')
                            | (b'x', b'o' | b'a')
                            | (b's' | b'r', b'k')
                            | (b's', b'h' | b'c')
                            | (b'w', b'h')
                            | (b'n', b'p')
                            | (b'y', b'a')
                            | (b'h', b'f')
                            | (b'p', b'y' | b'b')
                            | (b'b', b'c')
                            | (b'e', b'y')
                    ))
                || x == b'$'
                || (x == b'-' && y == b'-')
                || (x == b'+' && y.is_ascii_digit());
            if on {
                let bit = a * 256 + b;
                t[bit / 64] |= 1 << (bit % 64);
            }
            b += 1;
        }
        a += 1;
    }
    t
}

/// Whether the bytes at `i` and `i + 1` can start a sensitive value.
fn pair(t: &[u8], i: usize) -> bool {
    let bit = usize::from(crate::bytes::at(t, i)) * 256 + usize::from(crate::bytes::at(t, i + 1));
    PAIRS
        .get(bit / 64)
        .is_some_and(|w| w & (1 << (bit % 64)) != 0)
}

/// Scans one string: the kinds found and the byte ranges to mask (in order, not overlapping).
pub fn find(text: &str, options: Options) -> Vec<(Kind, Range<usize>)> {
    let mut out = Vec::new();
    scan(text.as_bytes(), options, &mut |k, r| out.push((k, r)));
    out
}

/// The scanner behind [`find`], reporting each match to `hit` (no allocation). Letters and
/// digits are only looked at where a word starts; the rest of a word is skipped.
pub(super) fn scan(t: &[u8], options: Options, hit: &mut dyn FnMut(Kind, Range<usize>)) {
    let mut i = 0;
    let mut last_end = 0;
    while let Some(&b) = t.get(i) {
        let class = START.get(usize::from(b)).copied().unwrap_or(0);
        if b.is_ascii_alphanumeric() {
            if class != 0 && pair(t, i) {
                let prev = i.checked_sub(1).map_or(b' ', |p| crate::bytes::at(t, p));
                if let Some((kind, end)) = try_at(t, i, class, prev, options) {
                    hit(kind, i..end);
                    last_end = end;
                    i = end.max(i + 1);
                    continue;
                }
            }
            i += 1;
            while t.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                i += 1;
            }
            continue;
        }
        if class != 0 && pair(t, i) {
            if let Some((kind, end)) = try_at(t, i, class, b' ', options) {
                hit(kind, i..end);
                last_end = end;
                i = end.max(i + 1);
                continue;
            }
        } else if b == b'@'
            && options.emails
            && let Some((s, e)) = shapes::email(t, i)
            && s >= last_end
        {
            hit(Kind::Email, s..e);
            last_end = e;
            i = e.max(i + 1);
            continue;
        }
        i += 1;
    }
}

/// The shapes a byte of `class` can start.
fn try_at(t: &[u8], i: usize, class: u8, prev: u8, options: Options) -> Option<(Kind, usize)> {
    match class {
        DIGIT => {
            if prev == b'.' || prev == b'-' {
                return None;
            }
            if let Some(e) = shapes::card(t, i) {
                return Some((Kind::Card, e));
            }
            shapes::ssn(t, i).map(|e| (Kind::Ssn, e))
        }
        UPPER => {
            if let Some(e) = shapes::cloud_key(t, i) {
                return Some((Kind::CloudKey, e));
            }
            shapes::iban(t, i).map(|e| (Kind::Iban, e))
        }
        KEYISH => {
            if let Some(e) = shapes::jwt(t, i) {
                return Some((Kind::Jwt, e));
            }
            if let Some(e) = shapes::cloud_key(t, i) {
                return Some((Kind::CloudKey, e));
            }
            shapes::password_hash(t, i).map(|e| (Kind::PasswordHash, e))
        }
        DOLLAR => shapes::password_hash(t, i).map(|e| (Kind::PasswordHash, e)),
        DASH if crate::bytes::at(t, i + 1) == b'-' => {
            shapes::private_key(t, i).map(|e| (Kind::PrivateKey, e))
        }
        PLUS if options.phones => shapes::phone(t, i).map(|e| (Kind::Phone, e)),
        _ => None,
    }
}
