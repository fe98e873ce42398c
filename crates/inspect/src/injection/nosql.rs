//! NoSQL operator injection (MongoDB style): query operators as object keys (`{"$ne": ""}`),
//! in bracket form in parameter names (`user[$ne]=`), inside a string holding JSON, and
//! server-side JavaScript shapes for `$where`.

use crate::bytes::{Needles, at, contains};

/// MongoDB query and aggregation operators an attacker uses to turn an equality into a query
/// (lowercase).
const OPERATORS: &[&str] = &[
    "ne",
    "eq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "nin",
    "regex",
    "where",
    "exists",
    "expr",
    "or",
    "and",
    "nor",
    "not",
    "elemmatch",
    "function",
    "accumulator",
    "all",
    "size",
    "type",
    "mod",
    "text",
    "jsonschema",
    "lookup",
    "options",
    "comment",
    "where",
    "search",
    "match",
];

/// Keys of JSON documents that start with `$` legitimately (JSON Schema, JSON-LD, OData...).
const BENIGN_DOLLAR: &[&str] = &[
    "ref",
    "schema",
    "id",
    "comment",
    "defs",
    "anchor",
    "dynamicref",
    "vocabulary",
    "top",
    "skip",
    "filter",
    "select",
    "orderby",
    "expand",
    "count",
    "format",
    "value",
];

/// A key that is an operator: `$ne` or `name[$ne]` (paranoia 2: any `$name` key other than
/// JSON Schema's and OData's own).
pub(super) fn check_key(key: &str, paranoia: u8) -> Option<String> {
    let lower = key.to_ascii_lowercase();
    let op = if let Some(open) = lower.find("[$") {
        lower.get(open + 2..)?.split(']').next()?
    } else {
        lower.strip_prefix('$')?
    };
    if OPERATORS.contains(&op) {
        return Some(format!("${op}"));
    }
    let word = !op.is_empty() && op.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if paranoia >= 2 && word && !BENIGN_DOLLAR.contains(&op) {
        return Some(format!("${op}"));
    }
    None
}

/// Server-side JavaScript an attacker sends to `$where`.
static JS: Needles = Needles::new(&[
    "return true",
    "return 1==1",
    "return 1 == 1",
    "this.password",
    "this.username",
    "db.getcollection",
    "db.users.",
    "sleep(5000)",
    "while(true)",
    "while (true)",
]);

/// An operator inside a value (`{"$gt": ""}`, `[$ne]=1`, `$where: ...`) or `$where`-style
/// JavaScript (`'; return true; //`, `|| this.password`). Paranoia 2: any `$operator`.
pub(super) fn check(form: &[u8], paranoia: u8) -> Option<String> {
    let dollar = memchr::memchr(b'$', form).is_some();
    if dollar {
        let mut i = 0;
        while let Some(j) = memchr::memchr(b'$', form.get(i..).unwrap_or_default()) {
            let start = i + j + 1;
            let mut end = start;
            while at(form, end).is_ascii_alphabetic() {
                end += 1;
            }
            let name = std::str::from_utf8(form.get(start..end).unwrap_or_default()).unwrap_or("");
            if OPERATORS.contains(&name) {
                let before = (i + j).checked_sub(1).map_or(0, |k| at(form, k));
                let after = at(form, crate::bytes::skip_blanks(form, end));
                let keyed = matches!(before, b'"' | b'\'' | b'[' | b'{' | b' ' | b',')
                    && matches!(after, b'"' | b'\'' | b']' | b':' | b'=');
                if keyed || name == "where" || paranoia >= 2 {
                    return Some(format!("${name}"));
                }
            }
            i = end.max(start);
        }
    }
    let maybe_js = memchr::memchr3(b'(', b'|', b'.', form).is_some() || contains(form, b"return");
    if !maybe_js {
        return None;
    }
    if let Some(hit) = JS.find(form) {
        return Some(hit.split(' ').next().unwrap_or("js").to_owned());
    }
    if quoted_or_equals(form) {
        return Some("||==".to_owned());
    }
    if paranoia >= 2 && (contains(form, b"this.") || contains(form, b"return ")) {
        return Some("js".to_owned());
    }
    None
}

/// `' || '1'=='1`: a quote, `||`, a quote, and a JavaScript `==` after it.
fn quoted_or_equals(form: &[u8]) -> bool {
    let Some(i) = crate::bytes::find(form, b"||") else {
        return false;
    };
    let before = form.get(..i).unwrap_or_default().trim_ascii_end();
    let after = form.get(i + 2..).unwrap_or_default().trim_ascii_start();
    matches!(before.last(), Some(b'\'' | b'"'))
        && matches!(after.first(), Some(b'\'' | b'"'))
        && contains(after, b"==")
}
