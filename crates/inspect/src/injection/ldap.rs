//! LDAP filter injection: a value that closes the application's filter and opens its own
//! (`*)(uid=*`, `admin)(|(password=*)`, `(|(`...).

use crate::bytes::{at, contains};

/// A filter break-out: `)(` followed by an operator or an `attribute=`, or a nested
/// `(|(`, `(&(`, `(!(`. Paranoia 2: any `*)` or `)(`.
pub(super) fn check(form: &[u8], paranoia: u8) -> Option<String> {
    memchr::memchr2(b'(', b')', form)?;
    for op in [&b"(|("[..], b"(&(", b"(!("] {
        if contains(form, op) {
            return Some(String::from_utf8_lossy(op).into_owned());
        }
    }
    let mut from = 0;
    while let Some(j) = crate::bytes::find(form.get(from..).unwrap_or_default(), b")(") {
        let mut i = from + j + 2;
        while at(form, i) == b'(' {
            i += 1;
        }
        let next = at(form, i);
        if matches!(next, b'|' | b'&' | b'!') {
            return Some(format!("){}", next as char));
        }
        if attribute_test(form, i) {
            return Some(")(attr=".to_owned());
        }
        if paranoia >= 2 {
            return Some(")(".to_owned());
        }
        from = i;
    }
    let end = form.trim_ascii_end();
    if end.ends_with(b"*))") || contains(form, b"*))\0") || contains(form, b"*)\0") {
        return Some("*))".to_owned());
    }
    if paranoia >= 2 && contains(form, b"*)") {
        return Some("*)".to_owned());
    }
    None
}

/// `name=`, `name~=`, `name>=`, `name<=` at `i` (an LDAP attribute test).
fn attribute_test(form: &[u8], i: usize) -> bool {
    let mut j = i;
    while at(form, j).is_ascii_alphanumeric() || matches!(at(form, j), b'-' | b'.' | b';') {
        j += 1;
    }
    if j == i || !at(form, i).is_ascii_alphabetic() {
        return false;
    }
    match at(form, j) {
        b'=' => true,
        b'~' | b'>' | b'<' => at(form, j + 1) == b'=',
        _ => false,
    }
}
