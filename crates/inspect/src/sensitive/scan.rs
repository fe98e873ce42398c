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

/// Scans one string: the kinds found and the byte ranges to mask (in order, not overlapping).
pub fn find(text: &str, options: Options) -> Vec<(Kind, Range<usize>)> {
    let mut out = Vec::new();
    scan(text.as_bytes(), options, &mut |k, r| out.push((k, r)));
    out
}

/// The scanner behind [`find`], reporting each match to `hit` (no allocation).
pub(super) fn scan(t: &[u8], options: Options, hit: &mut dyn FnMut(Kind, Range<usize>)) {
    let mut i = 0;
    let mut prev: u8 = b' ';
    let mut last_end = 0;
    while let Some(&b) = t.get(i) {
        let class = START.get(usize::from(b)).copied().unwrap_or(0);
        if class != 0
            && !prev.is_ascii_alphanumeric()
            && let Some((kind, end)) = try_at(t, i, class, prev, options)
        {
            hit(kind, i..end);
            last_end = end;
            prev = crate::bytes::at(t, end.saturating_sub(1));
            i = end.max(i + 1);
            continue;
        }
        if b == b'@'
            && options.emails
            && let Some((s, e)) = shapes::email(t, i)
            && s >= last_end
        {
            hit(Kind::Email, s..e);
            last_end = e;
            prev = crate::bytes::at(t, e.saturating_sub(1));
            i = e.max(i + 1);
            continue;
        }
        prev = b;
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
        DASH => shapes::private_key(t, i).map(|e| (Kind::PrivateKey, e)),
        PLUS if options.phones => shapes::phone(t, i).map(|e| (Kind::Phone, e)),
        _ => None,
    }
}
