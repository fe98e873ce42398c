//! Path traversal and local file references: climbs (`../`, `..\`, `..;/`, and `....//`, which a
//! one-pass filter turns into `../`) and well-known system files.

use crate::bytes::{Needles, at};

/// Files an attacker reads first (lowercase, `/` separators).
const FILES: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/group",
    "etc/hosts",
    "etc/issue",
    "etc/hostname",
    "proc/self/",
    "proc/version",
    "windows/win.ini",
    "win.ini",
    "boot.ini",
    "windows/system32",
    "winnt/system32",
    ".ssh/id_rsa",
    ".ssh/authorized_keys",
    ".bash_history",
    "web-inf/web.xml",
    ".git/config",
    ".htpasswd",
    "var/log/",
    "/.env",
    "system32/drivers/etc",
];

static FILE_SET: Needles = Needles::new(FILES);

/// `../` (or a spelling of it) at least twice, or once before a known file; a known file as the
/// whole value (`/etc/passwd`, `file:///etc/passwd`, `C:\boot.ini`); a NUL before an extension.
/// Paranoia 2: any climb or a known file anywhere.
pub(super) fn check(form: &[u8], paranoia: u8) -> Option<String> {
    let has_dots = crate::bytes::contains(form, b"..");
    let slashes = memchr::memchr2(b'/', b'\\', form).is_some() || form.iter().any(|&b| b >= 0xe2);
    if !slashes && memchr::memchr(0, form).is_none() {
        return None;
    }
    let path = slashes_folded(form);
    let climbs = if has_dots { count_climbs(&path) } else { 0 };
    let file = FILE_SET.find(&path);
    if climbs >= 2 {
        return Some("../../".to_owned());
    }
    if climbs == 1 && file.is_some() {
        return Some("../+file".to_owned());
    }
    if let Some(f) = file
        && (is_path_value(&path) || paranoia >= 2)
    {
        return Some(f.trim_matches('/').to_owned());
    }
    if let Some(nul) = memchr::memchr(0, &path)
        && (at(&path, nul + 1) == b'.' || paranoia >= 2)
    {
        return Some("nul-byte".to_owned());
    }
    if climbs == 1 && paranoia >= 2 {
        return Some("../".to_owned());
    }
    None
}

/// The value is a path (or a file URL): it starts with `/`, `~/`, `file:`, or a drive letter.
fn is_path_value(path: &[u8]) -> bool {
    let p = path.trim_ascii_start();
    matches!(p.first(), Some(b'/'))
        || p.starts_with(b"~/")
        || p.starts_with(b"file:")
        || (at(p, 0).is_ascii_alphabetic() && at(p, 1) == b':' && at(p, 2) == b'/')
}

/// How many climbs a path makes: `..` followed by `/`, `;/` or the end, after `/` or at the
/// start; `....//` and `.../` count too.
fn count_climbs(path: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while let Some(j) = crate::bytes::find(path.get(i..).unwrap_or_default(), b"..") {
        let at_dots = i + j;
        let mut k = at_dots;
        while at(path, k) == b'.' {
            k += 1;
        }
        while at(path, k) == b';' {
            k += 1;
        }
        let before = at_dots.checked_sub(1).map_or(b'/', |b| at(path, b));
        let ends = at(path, k) == b'/' || (k == path.len() && n > 0);
        if ends && matches!(before, b'/' | b'=' | b' ' | b'"' | b'\'' | b':') {
            n += 1;
        }
        i = k.max(at_dots + 2);
    }
    n
}

/// `\\` and the Unicode slashes some servers normalize (`∕` U+2215, `⁄` U+2044, `／` U+FF0F,
/// `＼` U+FF3C) as `/`.
fn slashes_folded(form: &[u8]) -> Vec<u8> {
    const WIDE: &[&[u8]] = &[
        "\u{2215}".as_bytes(),
        "\u{2044}".as_bytes(),
        "\u{ff0f}".as_bytes(),
        "\u{ff3c}".as_bytes(),
    ];
    let mut out = Vec::with_capacity(form.len());
    let mut i = 0;
    while let Some(&b) = form.get(i) {
        if b == b'\\' {
            out.push(b'/');
            i += 1;
            continue;
        }
        if b >= 0xe2
            && let Some(w) = WIDE.iter().find(|w| form.get(i..i + w.len()) == Some(**w))
        {
            out.push(b'/');
            i += w.len();
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}
