//! SQL injection and XSS through libinjection (the `libinjectionrs` port): its SQL tokenizer
//! folds a value into at most five token types and looks the fingerprint up in its list of
//! known injections; its HTML5 tokenizer parses the value in five contexts and flags blacklisted
//! tags, attributes and URL schemes. Higher paranoia adds keyword shapes on top.

use crate::bytes::{at, contains, find_from, is_word};
use libinjectionrs::{SqliFlags, SqliState, XssDetector};

/// libinjection's SQL fingerprint (e.g. `s&sos`), then at paranoia 2 SQL keyword pairs and
/// functions, at 3 a quote followed by a boolean operator or a comment.
pub(super) fn sqli(form: &[u8], paranoia: u8) -> Option<String> {
    let mut state = SqliState::new(form, SqliFlags::FLAG_NONE);
    if state.detect() {
        return Some(state.fingerprint_string());
    }
    if paranoia >= 2
        && let Some(hit) = keywords(form)
    {
        return Some(hit.to_owned());
    }
    if paranoia >= 3
        && let Some(hit) = quote_break(form)
    {
        return Some(hit.to_owned());
    }
    None
}

/// Functions and phrases that only SQL has.
const SQL_MARKERS: &[&str] = &[
    "sleep(",
    "benchmark(",
    "waitfor delay",
    "pg_sleep",
    "information_schema",
    "xp_cmdshell",
    "load_file(",
    "into outfile",
    "into dumpfile",
    "dbms_pipe",
    "utl_http",
    "extractvalue(",
    "updatexml(",
    "sysobjects",
    "@@version",
];

/// Keyword pairs in SQL order.
const SQL_PAIRS: &[(&str, &str)] = &[
    ("union", "select"),
    ("select", "from"),
    ("insert", "into"),
    ("delete", "from"),
    ("drop", "table"),
    ("update", "set"),
    ("exec", "master"),
];

fn keywords(form: &[u8]) -> Option<&'static str> {
    if let Some(m) = SQL_MARKERS.iter().find(|m| contains(form, m.as_bytes())) {
        return Some(m);
    }
    SQL_PAIRS.iter().find_map(|(a, b)| {
        let i = find_word(form, a.as_bytes(), 0)?;
        find_word(form, b.as_bytes(), i + a.len()).map(|_| *a)
    })
}

/// Where `word` occurs as a whole word at or after `from`.
fn find_word(hay: &[u8], word: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let i = find_from(hay, word, from)?;
        let before = i.checked_sub(1).map_or(0, |j| at(hay, j));
        if !is_word(before) && !is_word(at(hay, i + word.len())) {
            return Some(i);
        }
        from = i + 1;
    }
}

fn quote_break(form: &[u8]) -> Option<&'static str> {
    form.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\'' && b != b'"' {
            return None;
        }
        let j = crate::bytes::skip_blanks(form, i + 1);
        let rest = form.get(j..)?;
        ["or ", "and ", "||", ";", "--", "#"]
            .iter()
            .find(|m| rest.starts_with(m.as_bytes()))
            .map(|_| "quote-break")
    })
}

/// libinjection's XSS verdict (with a short name for what matched), then at paranoia 2 event
/// handlers and script URLs anywhere, at 3 any tag.
pub(super) fn xss(form: &[u8], paranoia: u8) -> Option<String> {
    let start = form.trim_ascii_start();
    for scheme in ["javascript:", "vbscript:", "data:text/html", "livescript:"] {
        if start.starts_with(scheme.as_bytes()) {
            return Some(scheme.to_owned());
        }
    }
    let lt = memchr::memchr(b'<', form).is_some();
    let suspicious = lt || contains(form, b"script:") || contains(form, b"=");
    if suspicious && XssDetector::new().detect(form).is_injection() {
        return Some(xss_name(form).to_owned());
    }
    if paranoia >= 2
        && let Some(hit) = loose_xss(form)
    {
        return Some(hit.to_owned());
    }
    if paranoia >= 3 && lt {
        let tag = form.windows(2).any(|w| {
            w.first() == Some(&b'<')
                && w.get(1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'!' || *c == b'/')
        });
        if tag {
            return Some("tag".to_owned());
        }
    }
    None
}

/// A short name for an XSS value: the first telling piece found.
fn xss_name(form: &[u8]) -> &'static str {
    const NAMES: &[(&str, &str)] = &[
        ("<script", "<script"),
        ("javascript:", "javascript:"),
        ("vbscript:", "vbscript:"),
        ("data:", "data:"),
        ("<iframe", "<iframe"),
        ("<svg", "<svg"),
        ("<img", "<img"),
        ("<object", "<object"),
        ("<embed", "<embed"),
        ("<style", "<style"),
        ("<link", "<link"),
        ("<meta", "<meta"),
        ("<!doctype", "<!doctype"),
        ("style=", "style="),
    ];
    if let Some((_, n)) = NAMES.iter().find(|(m, _)| contains(form, m.as_bytes())) {
        return n;
    }
    if event_handler(form) {
        return "on*=";
    }
    "html"
}

fn loose_xss(form: &[u8]) -> Option<&'static str> {
    if event_handler(form) {
        return Some("on*=");
    }
    [
        "javascript:",
        "vbscript:",
        "<svg",
        "<iframe",
        "srcdoc",
        "expression(",
    ]
    .into_iter()
    .find(|m| contains(form, m.as_bytes()))
}

/// `on<letters>` followed by optional blanks and `=`, as a whole word.
fn event_handler(form: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = find_from(form, b"on", from) {
        from = i + 2;
        let before = i.checked_sub(1).map_or(b' ', |j| at(form, j));
        if before.is_ascii_alphanumeric() {
            continue;
        }
        let mut j = i + 2;
        while at(form, j).is_ascii_alphabetic() {
            j += 1;
        }
        if j > i + 4 && at(form, crate::bytes::skip_blanks(form, j)) == b'=' {
            return true;
        }
    }
    false
}
