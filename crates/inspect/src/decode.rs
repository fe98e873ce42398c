//! The decoded forms of a request value that the injection detectors look at.
//!
//! An attacker hides a payload behind encodings the application undoes before it reaches the
//! database, the shell or the browser: percent (once or twice, with `+` for space, IIS's
//! `%uXXXX` and overlong UTF-8), HTML entities (named and numeric, with or without `;`), and
//! backslash escapes (`\xHH`, `\uHHHH`, `\'`). [`forms`] returns the value itself and each
//! successive decoding of it, ASCII-lowercased, until a round changes nothing; a copy with SQL
//! `/* */` comments removed is added when there are any. The work is bounded: at most
//! [`MAX_VALUE`] bytes of a value are read and at most [`MAX_ROUNDS`] rounds run, so a value
//! costs at most a few times its capped length.

use crate::bytes::{at, find_from, hex};

/// Bytes of a value that are inspected (the rest is not read).
pub const MAX_VALUE: usize = 16 * 1024;
/// Decoding rounds at most (double encoding needs two; up to quadruple is undone).
pub const MAX_ROUNDS: usize = 4;

/// The value (capped at [`MAX_VALUE`] bytes), then each decoding round that changed it, all
/// ASCII-lowercased; then, when one of them holds `/*`, that form with comments removed.
pub fn forms(value: &str) -> Vec<Vec<u8>> {
    let raw = value.as_bytes();
    let capped = raw.get(..MAX_VALUE).unwrap_or(raw);
    let mut first = capped.to_vec();
    first.make_ascii_lowercase();
    let mut out = vec![first];
    for _ in 0..MAX_ROUNDS {
        let Some(last) = out.last() else { break };
        if !needs_decoding(last) {
            break;
        }
        let mut next = round(last);
        next.truncate(MAX_VALUE);
        next.make_ascii_lowercase();
        if out.contains(&next) {
            break;
        }
        out.push(next);
    }
    if let Some(commented) = out.iter().rev().find(|f| crate::bytes::contains(f, b"/*")) {
        let stripped = strip_comments(commented);
        if !out.contains(&stripped) {
            out.push(stripped);
        }
    }
    out
}

/// Whether any decoder has something to do.
fn needs_decoding(value: &[u8]) -> bool {
    memchr::memchr3(b'%', b'+', b'&', value).is_some()
        || memchr::memchr(b'\\', value).is_some()
        || value.iter().any(|&b| b >= 0xc0)
}

/// One round: percent (and `+`), then HTML entities, then backslash escapes.
fn round(value: &[u8]) -> Vec<u8> {
    let percent = percent(value);
    let entities = entities(&percent);
    backslashes(&entities)
}

/// Percent-decoding, `+` as space, `%uXXXX`, and overlong two-byte UTF-8 folded to ASCII.
pub fn percent(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        match b {
            b'%' => {
                if let (Some(h), Some(l)) = (hex(at(value, i + 1)), hex(at(value, i + 2))) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                if matches!(at(value, i + 1), b'u' | b'U')
                    && let Some(c) = hex4(value, i + 2)
                {
                    push_char(&mut out, c);
                    i += 6;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
    fold_overlong(out)
}

/// `C0 AF` (an overlong `/`) and its kind folded to the ASCII byte they spell.
fn fold_overlong(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.iter().any(|&b| b == 0xc0 || b == 0xc1 || b == 0xe0) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = at(&bytes, i + 1);
        if (b == 0xc0 || b == 0xc1) && next & 0xc0 == 0x80 {
            out.push(((b & 1) << 6) | (next & 0x3f));
            i += 2;
            continue;
        }
        let third = at(&bytes, i + 2);
        if b == 0xe0 && next & 0xe0 == 0x80 && third & 0xc0 == 0x80 {
            out.push(((next & 1) << 6) | (third & 0x3f));
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Four hex digits at `i` as a code point.
fn hex4(value: &[u8], i: usize) -> Option<u32> {
    let mut c = 0u32;
    for k in 0..4 {
        c = c << 4 | u32::from(hex(at(value, i + k))?);
    }
    Some(c)
}

/// Appends code point `c` as UTF-8 (an invalid one as `?`).
fn push_char(out: &mut Vec<u8>, c: u32) {
    let ch = char::from_u32(c).unwrap_or('?');
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

/// Named entities an attacker uses to spell markup and code (lowercase; `&` handled by case
/// folding of the name).
const NAMED: &[(&[u8], u8)] = &[
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"amp", b'&'),
    (b"quot", b'"'),
    (b"apos", b'\''),
    (b"sol", b'/'),
    (b"bsol", b'\\'),
    (b"colon", b':'),
    (b"semi", b';'),
    (b"lpar", b'('),
    (b"rpar", b')'),
    (b"lsqb", b'['),
    (b"rsqb", b']'),
    (b"lcub", b'{'),
    (b"rcub", b'}'),
    (b"lbrace", b'{'),
    (b"rbrace", b'}'),
    (b"comma", b','),
    (b"period", b'.'),
    (b"excl", b'!'),
    (b"equals", b'='),
    (b"grave", b'`'),
    (b"num", b'#'),
    (b"dollar", b'$'),
    (b"percnt", b'%'),
    (b"plus", b'+'),
    (b"ast", b'*'),
    (b"verbar", b'|'),
    (b"vert", b'|'),
    (b"tab", b'\t'),
    (b"newline", b'\n'),
    (b"nbsp", b' '),
];

/// HTML character references: named ones above, `&#DD`, `&#xHH` (the `;` optional).
pub fn entities(value: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'&', value).is_none() {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b == b'&'
            && let Some((decoded, used)) = entity(value, i + 1)
        {
            push_char(&mut out, decoded);
            i += 1 + used;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// The reference starting after `&` at `i`: its code point and how many bytes it used.
fn entity(value: &[u8], i: usize) -> Option<(u32, usize)> {
    if at(value, i) == b'#' {
        let (radix, start) = if matches!(at(value, i + 1), b'x' | b'X') {
            (16, i + 2)
        } else {
            (10, i + 1)
        };
        let mut c: u32 = 0;
        let mut j = start;
        while let Some(d) = (at(value, j) as char).to_digit(radix) {
            c = c.saturating_mul(radix).saturating_add(d);
            j += 1;
            if j - start > 8 {
                return None;
            }
        }
        if j == start {
            return None;
        }
        if at(value, j) == b';' {
            j += 1;
        }
        return Some((c.min(0x10ffff), j - i));
    }
    let end = (i..i + 8)
        .find(|&j| !at(value, j).is_ascii_alphabetic())
        .unwrap_or(i + 8);
    let name = value.get(i..end)?.to_ascii_lowercase();
    let (_, b) = NAMED.iter().find(|(n, _)| *n == name.as_slice())?;
    let used = end - i + usize::from(at(value, end) == b';');
    Some((u32::from(*b), used))
}

/// Backslash escapes of C, JavaScript and JSON strings; unknown ones are kept.
pub fn backslashes(value: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'\\', value).is_none() {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = at(value, i + 1);
        match next {
            b'x' | b'X' => {
                if let (Some(h), Some(l)) = (hex(at(value, i + 2)), hex(at(value, i + 3))) {
                    out.push(h << 4 | l);
                    i += 4;
                    continue;
                }
            }
            b'u' | b'U' => {
                if let Some(c) = hex4(value, i + 2) {
                    push_char(&mut out, c);
                    i += 6;
                    continue;
                }
            }
            b'\'' | b'"' | b'/' | b'`' | b'\\' => {
                out.push(next);
                i += 2;
                continue;
            }
            b'n' => {
                out.push(b'\n');
                i += 2;
                continue;
            }
            b'r' => {
                out.push(b'\r');
                i += 2;
                continue;
            }
            b't' => {
                out.push(b'\t');
                i += 2;
                continue;
            }
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    out
}

/// `/* ... */` removed (an unclosed one runs to the end); MySQL's `/*!...*/` keeps its body.
pub fn strip_comments(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(start) = find_from(value, b"/*", i) {
        out.extend_from_slice(value.get(i..start).unwrap_or_default());
        let body = start + 2;
        let end = find_from(value, b"*/", body).unwrap_or(value.len());
        if at(value, body) == b'!' {
            let digits = (body + 1..end)
                .take_while(|&j| at(value, j).is_ascii_digit())
                .count();
            out.push(b' ');
            out.extend_from_slice(value.get(body + 1 + digits..end).unwrap_or_default());
            out.push(b' ');
        }
        i = end.saturating_add(2);
    }
    out.extend_from_slice(value.get(i..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(forms: &[Vec<u8>]) -> Vec<String> {
        forms
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn double_percent_and_plus() {
        let f = text(&forms("%2527+OR+1%3D1"));
        assert_eq!(f, ["%2527+or+1%3d1", "%27 or 1=1", "' or 1=1"]);
    }

    #[test]
    fn entities_named_numeric_and_without_semicolon() {
        assert_eq!(entities(b"&lt;script&gt;&#60&#x3C;&QUOT;"), b"<script><<\"");
        assert_eq!(entities(b"AT&T &unknown; &#;"), b"AT&T &unknown; &#;");
    }

    #[test]
    fn backslash_escapes() {
        assert_eq!(backslashes(br"\x3cscript\u003e\'\\n"), b"<script>'\\n");
        assert_eq!(backslashes(br"..\..\windows"), br"..\..\windows");
    }

    #[test]
    fn overlong_and_iis() {
        assert_eq!(percent(b"%c0%ae%c0%ae%c0%af%u002e"), b"../.");
    }

    #[test]
    fn comments() {
        assert_eq!(strip_comments(b"un/**/ion sel/*x*/ect"), b"union select");
        assert_eq!(
            strip_comments(b"/*!50000union*/ select /* open"),
            b" union  select "
        );
    }

    #[test]
    fn bounded() {
        let long = "%25".repeat(20_000);
        let f = forms(&long);
        assert!(f.len() <= MAX_ROUNDS + 2);
        assert!(f.iter().all(|x| x.len() <= MAX_VALUE));
        let f = forms("plain text");
        assert_eq!(f.len(), 1);
    }
}
