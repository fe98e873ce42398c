//! Server-side template injection: template expressions that compute or reach objects
//! (`{{7*7}}`, `${7*7}`, `#{...}`, `<%= ... %>`, `{{config.__class__}}`, `${jndi:...}`,
//! `<#assign`, `#set(`), not placeholders such as `{{name}}` or `${user.email}` that
//! notification templates carry legitimately.

use crate::bytes::{Needles, contains, find_from};

/// Openers and their closers.
const DELIMITERS: &[(&str, &str)] = &[
    ("{{", "}}"),
    ("${", "}"),
    ("#{", "}"),
    ("*{", "}"),
    ("@{", "}"),
    ("<%", "%>"),
    ("{%", "%}"),
    ("[[", "]]"),
    ("@(", ")"),
];

/// Names that reach interpreter objects from a template.
const DANGEROUS: &[&str] = &[
    "__",
    "config",
    "self",
    "request",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "range(",
    "constructor",
    "process",
    "global",
    "getclass",
    "forname",
    "runtime",
    "jndi:",
    "java.",
    "class.",
    "popen",
    "system(",
    "exec",
    "eval",
    "import",
    "os.",
    "subprocess",
    "t(",
    "new(",
    "freemarker",
    "getruntime",
    "include",
    "require",
    "attr(",
    "|attr",
    "mro",
    "subclasses",
    "builtins",
    "dump(",
    "env",
    "settings",
    "sys.",
    "this.",
    "product.",
    "app.",
];

/// Template syntax no placeholder uses (FreeMarker, Velocity, Smarty, doT, Log4j lookups).
static MARKERS: Needles = Needles::new(&[
    "<#assign", "<#import", "#set(", "?new(", "$class.", "{php}", "{{=", "${{", "jndi:",
    "${lower:", "${upper:", "${::-", "${env:", "${sys:", "|attr(",
]);

/// The delimiter of the first dangerous expression (paranoia 2: any expression that is more
/// than a dotted name; 3: any template delimiter pair).
pub(super) fn check(form: &[u8], paranoia: u8) -> Option<String> {
    // Every opener and marker holds one of these bytes.
    let openers = memchr::memchr3(b'{', b'$', b'<', form).is_some()
        || memchr::memchr3(b'#', b'[', b'@', form).is_some()
        || memchr::memchr2(b'?', b'|', form).is_some()
        || contains(form, b"jndi:");
    if !openers {
        return None;
    }
    if let Some(marker) = MARKERS.find(form) {
        return Some(marker.to_owned());
    }
    for (open, close) in DELIMITERS {
        let mut from = 0;
        while let Some(i) = find_from(form, open.as_bytes(), from) {
            let body_start = i + open.len();
            let limit = (body_start + 512).min(form.len());
            let window = form.get(body_start..limit).unwrap_or_default();
            let Some(end) = crate::bytes::find(window, close.as_bytes()) else {
                break;
            };
            let body = window.get(..end).unwrap_or_default();
            if dangerous(body, open) || paranoia >= 3 || (paranoia >= 2 && !placeholder(body)) {
                return Some(format!("{open}{close}"));
            }
            from = body_start + end;
        }
    }
    None
}

/// An expression that computes (`7*7`, a call, an index) or names an interpreter object.
fn dangerous(body: &[u8], open: &str) -> bool {
    let body = body.trim_ascii();
    if body.is_empty() {
        return false;
    }
    let arithmetic = body
        .iter()
        .any(|&b| matches!(b, b'*' | b'+' | b'/' | b'%' | b'^'))
        && body.iter().any(|b| b.is_ascii_digit());
    let calls = body.iter().any(|&b| matches!(b, b'(' | b'['));
    if open == "[[" {
        // Thymeleaf's inlined expressions; also markdown/wiki links, so only dangerous names.
        return DANGEROUS.iter().any(|d| contains(body, d.as_bytes())) && calls;
    }
    arithmetic || calls || DANGEROUS.iter().any(|d| contains(body, d.as_bytes()))
}

/// A placeholder: a dotted name with optional blanks (`{{ user.name }}`).
fn placeholder(body: &[u8]) -> bool {
    body.trim_ascii()
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b' '))
}
