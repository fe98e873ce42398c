//! The shape and checksum of each kind of sensitive value, tried at a word start. Each returns
//! where the value ends (exclusive), or `None`.

use crate::bytes::at;

/// Whether `b` continues a word (a value must not run into one).
fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// A card number at `i`: 13 to 19 digits, optionally in groups separated by one kind of
/// separator (space or dash), a known issuer prefix, and a valid Luhn sum.
pub(super) fn card(t: &[u8], i: usize) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut n = 0;
    let mut j = i;
    let mut sep = 0u8;
    loop {
        let b = at(t, j);
        if b.is_ascii_digit() {
            *digits.get_mut(n)? = b - b'0';
            n += 1;
            j += 1;
            continue;
        }
        if (b == b' ' || b == b'-')
            && (sep == 0 || sep == b)
            && at(t, j + 1).is_ascii_digit()
            && n > 0
        {
            sep = b;
            j += 1;
            continue;
        }
        break;
    }
    if !(13..=19).contains(&n)
        || word(at(t, j))
        || at(t, j) == b'.' && at(t, j + 1).is_ascii_digit()
    {
        return None;
    }
    let d = digits.get(..n)?;
    (issuer(d) && luhn(d)).then_some(j)
}

/// Known issuer prefixes (IIN ranges) and their lengths.
fn issuer(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + u32::from(x));
    match p(1) {
        4 => matches!(n, 13 | 16 | 19),
        5 => {
            (51..=55).contains(&p(2)) && n == 16
                || matches!(p(4), 5018 | 5020 | 5038 | 5893) && n >= 12
        }
        2 => (2221..=2720).contains(&p(4)) && n == 16 || (2200..=2204).contains(&p(4)) && n >= 16,
        3 => {
            matches!(p(2), 34 | 37) && n == 15
                || ((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39))
                    && (14..=19).contains(&n)
                || (3528..=3589).contains(&p(4)) && n >= 16
        }
        6 => {
            (p(4) == 6011 || (644..=649).contains(&p(3)) || p(2) == 65 || p(2) == 62) && n >= 16
                || matches!(p(4), 6304 | 6759 | 6761 | 6762 | 6763) && n >= 12
        }
        _ => false,
    }
}

/// The Luhn checksum.
pub(super) fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &x)| {
            let x = u32::from(x);
            if k % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A US SSN at `i`: `AAA-GG-SSSS`, area not 000, 666 or 9xx, group not 00, serial not 0000.
pub(super) fn ssn(t: &[u8], i: usize) -> Option<usize> {
    let shape = [3usize, 2, 4];
    let mut j = i;
    let mut parts = [0u32; 3];
    for (k, len) in shape.iter().enumerate() {
        let mut v = 0;
        for _ in 0..*len {
            let b = at(t, j);
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(b - b'0');
            j += 1;
        }
        *parts.get_mut(k)? = v;
        if k < 2 {
            if at(t, j) != b'-' {
                return None;
            }
            j += 1;
        }
    }
    if word(at(t, j)) || at(t, j) == b'-' {
        return None;
    }
    let [area, group, serial] = parts;
    let valid = area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
    valid.then_some(j)
}

/// IBAN lengths by country.
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// An IBAN at `i`: country code, check digits, the country's length (spaces every four
/// characters allowed), and mod 97 = 1.
pub(super) fn iban(t: &[u8], i: usize) -> Option<usize> {
    let cc = [at(t, i), at(t, i + 1)];
    if !cc[1].is_ascii_uppercase()
        || !at(t, i + 2).is_ascii_digit()
        || !at(t, i + 3).is_ascii_digit()
    {
        return None;
    }
    let (_, len) = IBAN_LENGTHS.iter().find(|(c, _)| **c == cc)?;
    let mut chars = [0u8; 34];
    let mut n = 0;
    let mut j = i;
    while n < *len {
        let b = at(t, j);
        if b.is_ascii_digit() || b.is_ascii_uppercase() {
            *chars.get_mut(n)? = b;
            n += 1;
            j += 1;
        } else if b == b' ' && n % 4 == 0 && n > 0 && at(t, j + 1).is_ascii_alphanumeric() {
            j += 1;
        } else {
            return None;
        }
    }
    if word(at(t, j)) || !at(t, i + 2).is_ascii_digit() || !at(t, i + 3).is_ascii_digit() {
        return None;
    }
    let s = chars.get(..n)?;
    let rotated = s.iter().skip(4).chain(s.iter().take(4));
    let mut rem: u32 = 0;
    for &b in rotated {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    (rem == 1).then_some(j)
}

/// Bytes in `set` from `i`: the end.
fn run(t: &[u8], i: usize, set: fn(u8) -> bool) -> usize {
    let mut j = i;
    while set(at(t, j)) {
        j += 1;
    }
    j
}

fn b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// A JWT at `i` (`eyJ...` header and payload, a signature of at least 16 characters or none).
pub(super) fn jwt(t: &[u8], i: usize) -> Option<usize> {
    if !t.get(i..)?.starts_with(b"eyJ") {
        return None;
    }
    let h = run(t, i, b64url);
    if h - i < 10 || at(t, h) != b'.' || !t.get(h + 1..)?.starts_with(b"eyJ") {
        return None;
    }
    let p = run(t, h + 1, b64url);
    if p - h < 10 || at(t, p) != b'.' {
        return None;
    }
    let s = run(t, p + 1, b64url);
    let sig = s - p - 1;
    (sig == 0 || sig >= 16).then_some(s)
}

/// A PEM private key from `-----BEGIN ... PRIVATE KEY-----` to its END line (or the end).
pub(super) fn private_key(t: &[u8], i: usize) -> Option<usize> {
    let head = t.get(i..)?;
    if !head.starts_with(b"-----BEGIN ") {
        return None;
    }
    let line_end = memchr::memmem::find(head.get(11..)?, b"-----")? + 11;
    let label = head.get(11..line_end)?;
    if label.len() > 40 || memchr::memmem::find(label, b"PRIVATE KEY").is_none() {
        return None;
    }
    let end = memchr::memmem::find(head, b"-----END ")
        .and_then(|e| memchr::memmem::find(head.get(e + 9..)?, b"-----").map(|k| e + 9 + k + 5))
        .unwrap_or(head.len());
    Some(i + end)
}

/// Prefixed service keys: the prefix, the character set and the minimum length after it.
/// A key prefix, its body's alphabet, and the body's least and greatest length.
type Prefixed = (&'static [u8], fn(u8) -> bool, usize, usize);

const PREFIXED: &[Prefixed] = &[
    (b"AKIA", upper_b32, 16, 16),
    (b"ASIA", upper_b32, 16, 16),
    (b"AIza", b64url, 35, 35),
    (b"ghp_", alnum, 36, 40),
    (b"gho_", alnum, 36, 40),
    (b"ghu_", alnum, 36, 40),
    (b"ghs_", alnum, 36, 40),
    (b"ghr_", alnum, 36, 40),
    (b"github_pat_", alnum_, 60, 100),
    (b"xoxb-", alnum_dash, 20, 200),
    (b"xoxp-", alnum_dash, 20, 200),
    (b"xoxa-", alnum_dash, 20, 200),
    (b"xoxr-", alnum_dash, 20, 200),
    (b"xoxs-", alnum_dash, 20, 200),
    (b"xoxe-", alnum_dash, 20, 200),
    (b"xapp-", alnum_dash, 20, 200),
    (b"sk_live_", alnum, 20, 200),
    (b"rk_live_", alnum, 20, 200),
    (b"whsec_", alnum, 24, 200),
    (b"glpat-", alnum_, 20, 40),
    (b"npm_", alnum, 36, 36),
    (b"ya29.", alnum_dash, 30, 2000),
    (b"shpat_", hexdigit, 32, 32),
    (b"shpss_", hexdigit, 32, 32),
    (b"hf_", alnum, 34, 40),
    (b"sk-proj-", alnum_dash, 40, 300),
    (b"sk-ant-", alnum_dash, 40, 300),
    (b"AccountKey=", b64_eq, 80, 100),
    (b"SharedAccessKey=", b64_eq, 40, 50),
    (b"pypi-AgE", alnum_dash, 50, 300),
];

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn alnum_(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}
fn upper_b32(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}
fn hexdigit(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}
fn b64_eq(b: u8) -> bool {
    b64(b) || b == b'='
}

/// A cloud or service key at `i`: a known prefix with a body of the right alphabet and length,
/// SendGrid's `SG.x.y`, Twilio's `SK` + 32 hex, or an AWS secret after its variable name.
pub(super) fn cloud_key(t: &[u8], i: usize) -> Option<usize> {
    if !key_start(at(t, i), at(t, i + 1)) {
        return None;
    }
    let head = t.get(i..)?;
    for (prefix, set, min, max) in PREFIXED {
        if head.starts_with(prefix) {
            let j = run(t, i + prefix.len(), *set);
            let n = j - i - prefix.len();
            if n >= *min && n <= *max && !word(at(t, j)) {
                return Some(j);
            }
        }
    }
    if head.starts_with(b"SG.") {
        let a = run(t, i + 3, b64url);
        if a - i - 3 == 22 && at(t, a) == b'.' {
            let b = run(t, a + 1, b64url);
            if b - a - 1 == 43 {
                return Some(b);
            }
        }
    }
    if head.starts_with(b"SK") {
        let j = run(t, i + 2, hexdigit);
        if j - i - 2 == 32 && !word(at(t, j)) {
            return Some(j);
        }
    }
    let lower_name = head
        .get(..21)
        .is_some_and(|h| h.eq_ignore_ascii_case(b"aws_secret_access_key"));
    if lower_name {
        let mut j = i + 21;
        while matches!(at(t, j), b' ' | b'=' | b':' | b'"' | b'\'') {
            j += 1;
        }
        let e = run(t, j, b64);
        if e - j == 40 {
            return Some(e);
        }
    }
    None
}

/// Whether two bytes can begin one of the keys above (a quick test before the prefixes).
fn key_start(b0: u8, b1: u8) -> bool {
    matches!(
        (b0, b1),
        (b'A', b'K' | b'S' | b'I' | b'c' | b'W' | b'w')
            | (b'a', b'w')
            | (b'g', b'h' | b'l')
            | (b'x', b'o' | b'a')
            | (b's' | b'r', b'k')
            | (b's', b'h')
            | (b'w', b'h')
            | (b'n', b'p')
            | (b'y', b'a')
            | (b'h', b'f')
            | (b'S', b'G' | b'K' | b'h')
            | (b'p', b'y')
    )
}

/// Password hash prefixes and the least length of the whole hash.
const HASHES: &[(&[u8], usize)] = &[
    (b"$2a$", 60),
    (b"$2b$", 60),
    (b"$2y$", 60),
    (b"$2x$", 60),
    (b"$argon2id$", 40),
    (b"$argon2i$", 40),
    (b"$argon2d$", 40),
    (b"$scrypt$", 40),
    (b"$7$", 40),
    (b"$y$", 30),
    (b"$gy$", 30),
    (b"$5$", 40),
    (b"$6$", 80),
    (b"$1$", 30),
    (b"$pbkdf2-sha256$", 50),
    (b"$pbkdf2-sha512$", 50),
    (b"pbkdf2_sha256$", 50),
    (b"pbkdf2_sha1$", 40),
    (b"argon2$argon2", 50),
    (b"bcrypt_sha256$$2", 60),
    (b"bcrypt$$2", 60),
    (b"scrypt$", 50),
];

fn hash_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'+' | b'=' | b'$' | b',' | b'_' | b'-')
}

/// A password hash at `i`: a known prefix and a body of crypt characters long enough.
pub(super) fn password_hash(t: &[u8], i: usize) -> Option<usize> {
    let hash_start = matches!(
        (at(t, i), at(t, i + 1)),
        (b'$', _) | (b'p', b'b') | (b'a', b'r') | (b'b', b'c') | (b's', b'c')
    );
    if !hash_start {
        return None;
    }
    let head = t.get(i..)?;
    let (_, min) = HASHES.iter().find(|(p, _)| head.starts_with(p))?;
    let j = run(t, i, hash_char);
    let dollars = t.get(i..j)?.iter().filter(|&&b| b == b'$').count();
    (j - i >= *min && dollars >= 2).then_some(j)
}

/// An international phone number at `i` (`+`, 8 to 15 digits, single separators).
pub(super) fn phone(t: &[u8], i: usize) -> Option<usize> {
    if at(t, i) != b'+' || !at(t, i + 1).is_ascii_digit() {
        return None;
    }
    let mut j = i + 1;
    let mut digits = 0;
    loop {
        let b = at(t, j);
        if b.is_ascii_digit() {
            digits += 1;
            j += 1;
        } else if b == b')'
            || matches!(b, b' ' | b'-' | b'.' | b'(')
                && (at(t, j + 1).is_ascii_digit() || (b == b' ' && at(t, j + 1) == b'('))
        {
            j += 1;
        } else {
            break;
        }
        if digits > 15 {
            return None;
        }
    }
    ((8..=15).contains(&digits) && !word(at(t, j))).then_some(j)
}

/// An email address around the `@` at `at_sign`: the start and the end.
pub(super) fn email(t: &[u8], at_sign: usize) -> Option<(usize, usize)> {
    let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut s = at_sign;
    while s > 0 && local(at(t, s - 1)) && at_sign - s < 64 {
        s -= 1;
    }
    if s == at_sign {
        return None;
    }
    let domain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
    let e = run(t, at_sign + 1, domain);
    let host = t.get(at_sign + 1..e)?;
    let host = host.strip_suffix(b".").unwrap_or(host);
    let dot = host.iter().rposition(|&b| b == b'.')?;
    let tld = host.get(dot + 1..)?;
    let ok = dot > 0 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic);
    ok.then_some((s, at_sign + 1 + host.len()))
}
