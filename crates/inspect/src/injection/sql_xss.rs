//! SQL injection and XSS through libinjection (the `libinjectionrs` port): its SQL tokenizer
//! folds a value into at most five token types and looks the fingerprint up in its list of
//! known injections; its HTML5 tokenizer parses the value in five contexts and flags blacklisted
//! tags, attributes and URL schemes. Higher paranoia adds keyword shapes on top.

use crate::bytes::{at, contains, find_from, is_word};
use libinjectionrs::{SqliFlags, SqliState, XssDetector};

/// libinjection's SQL fingerprint (e.g. `s&sos`), then at paranoia 2 SQL keyword pairs and
/// functions, at 3 a quote followed by a boolean operator or a comment.
pub(super) fn sqli(form: &[u8], paranoia: u8) -> Option<String> {
    if let Some(fingerprint) = libinjection(form, paranoia) {
        return Some(fingerprint);
    }
    if let Some(hit) = comment_after_quote(form) {
        return Some(hit.to_owned());
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

/// libinjection's contexts, as `libinjection_is_sqli` runs them: the value as it is (a numeric
/// context), then as if it followed a `'` (ANSI and MySQL) and a `"` (MySQL). At paranoia 1 a
/// hit in the numeric context counts only when the value could continue a number there (it
/// starts with a digit, a sign, a bracket, `@`, `;` or a SQL function), so that prose and code
/// whose words happen to fold into a fingerprint (`DROP (the band)`, `if (a && b) {...}`) pass;
/// and the fingerprint `1c` (a number and a comment: "50% off -- today") is not an injection.
fn libinjection(form: &[u8], paranoia: u8) -> Option<String> {
    let ansi = SqliFlags::FLAG_SQL_ANSI;
    let mysql = SqliFlags::FLAG_SQL_MYSQL;
    let none = SqliFlags::FLAG_QUOTE_NONE;
    let single = SqliFlags::FLAG_QUOTE_SINGLE;
    let double = SqliFlags::FLAG_QUOTE_DOUBLE;
    let numeric_ok = paranoia >= 2 || numeric_start(form);
    // As libinjection does, MySQL's reading is tried again only when a comment could make it
    // differ (`#`, `--`, `/*`).
    let comments =
        memchr::memchr(b'#', form).is_some() || contains(form, b"--") || contains(form, b"/*");
    let as_is: &[SqliFlags] = match (numeric_ok, comments) {
        (false, _) => &[],
        (true, false) => &[none | ansi],
        (true, true) => &[none | ansi, none | mysql],
    };
    for &flags in as_is {
        let mut state = SqliState::new(form, flags);
        if state.is_sqli() {
            let fp = state.fingerprint_string();
            if paranoia >= 2 || fp != "1c" {
                return Some(fp);
            }
        }
    }
    let quotes: [(u8, &[SqliFlags]); 2] = [
        (
            b'\'',
            if comments {
                &[single | ansi, single | mysql]
            } else {
                &[single | ansi]
            },
        ),
        (b'"', &[double | mysql]),
    ];
    for (quote, contexts) in quotes {
        if memchr::memchr(quote, form).is_none() {
            continue;
        }
        for &flags in contexts {
            let mut state = SqliState::new(form, flags);
            if state.is_sqli() {
                let fp = state.fingerprint_string();
                if paranoia >= 2 || !prose_quote(form, quote, &fp) {
                    return Some(fp);
                }
            }
        }
    }
    None
}

/// A three-token string comparison (`x' or 'y`, `x' < 'y`) whose text before the quote is prose
/// (it holds a blank): people quote words ("allow "or" searches", "unexpected token '<'"),
/// while the boolean bypass puts a quote after one token (`admin' or '1`).
fn prose_quote(form: &[u8], quote: u8, fingerprint: &str) -> bool {
    if !matches!(fingerprint, "s&s" | "sos") {
        return false;
    }
    let head = memchr::memchr(quote, form)
        .and_then(|q| form.get(..q))
        .unwrap_or_default();
    head.trim_ascii().contains(&b' ')
}

/// Where a value injected into a numeric context can start.
fn numeric_start(form: &[u8]) -> bool {
    let v = form.trim_ascii_start();
    let Some(&first) = v.first() else {
        return false;
    };
    if first.is_ascii_digit()
        || matches!(
            first,
            b'-' | b'+' | b'(' | b')' | b'@' | b';' | b'.' | b'\'' | b'"' | b'`'
        )
    {
        return true;
    }
    const STARTS: &[&str] = &[
        "sleep(",
        "benchmark(",
        "pg_sleep(",
        "if(",
        "case ",
        "(select",
        "exists",
        "extractvalue(",
        "updatexml(",
        "waitfor ",
        "convert(",
        "cast(",
        "char(",
        "concat(",
        "ascii(",
        "substring(",
        "ord(",
        "mid(",
        "elt(",
        "true",
        "false",
        "0x",
        "select ",
        "union ",
        "having ",
    ];
    STARTS.iter().any(|p| v.starts_with(p.as_bytes()))
}

/// `admin'--`, `admin' #`, `admin'/*`: a login-style value ended by a quote and a comment, and
/// `'; SHUTDOWN--` (a quote, `;` and a statement).
fn comment_after_quote(form: &[u8]) -> Option<&'static str> {
    let v = form.trim_ascii();
    if let Some(q) = v.iter().position(|&b| b == b'\'' || b == b'"') {
        let head = v.get(..q).unwrap_or_default();
        let tail = v.get(q + 1..).unwrap_or_default().trim_ascii_start();
        let comment = [&b"--"[..], b"#", b"/*"]
            .into_iter()
            .find(|c| tail.starts_with(c));
        if let Some(c) = comment {
            let rest = tail.get(c.len()..).unwrap_or_default().trim_ascii();
            if !head.contains(&b' ') && (rest.is_empty() || c == b"/*") {
                return Some("quote-comment");
            }
        }
    }
    const STATEMENTS: &[&str] = &[
        "shutdown",
        "drop ",
        "delete ",
        "insert ",
        "update ",
        "exec",
        "select ",
        "declare ",
        "create ",
        "alter ",
        "truncate ",
        "grant ",
        "waitfor ",
        "union ",
    ];
    let mut from = 0;
    while let Some(i) = find_from(v, b";", from) {
        from = i + 1;
        let before = v.get(..i).unwrap_or_default().trim_ascii_end();
        if !matches!(before.last(), Some(b'\'' | b'"' | b')'))
            && !before.last().is_some_and(u8::is_ascii_digit)
        {
            continue;
        }
        let after = v.get(i + 1..).unwrap_or_default().trim_ascii_start();
        if STATEMENTS.iter().any(|s| after.starts_with(s.as_bytes())) {
            return Some("quote;statement");
        }
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
    if let Some(hit) = script_url_or_tag(form) {
        return Some(hit.to_owned());
    }
    // libinjection needs a tag, or an attribute to break into (`" onerror=`, `style=`,
    // `src=javascript:`): without `<` and `=`-with-an-attribute-name, it cannot flag.
    let suspicious = lt
        || contains(form, b"script:")
        || (memchr::memchr(b'=', form).is_some()
            && (contains(form, b"on")
                || contains(form, b"style")
                || contains(form, b"src")
                || contains(form, b"href")
                || contains(form, b"action")
                || contains(form, b"xlink")));
    if suspicious && libinjection_xss(form) {
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

/// A script URL with the blanks browsers ignore removed (`jav&#x09;ascript:`), or a `<script`
/// tag hidden in another (`<scr<script>ipt>`).
fn script_url_or_tag(form: &[u8]) -> Option<&'static str> {
    // Both schemes end in `:` and the tag starts with `<`: most values have neither.
    memchr::memchr2(b':', b'<', form)?;
    let tight: Vec<u8> = form
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'))
        .collect();
    for scheme in [&b"javascript:"[..], b"vbscript:"] {
        let mut from = 0;
        while let Some(i) = find_from(&tight, scheme, from) {
            from = i + 1;
            let next = at(&tight, i + scheme.len());
            let before = i.checked_sub(1).map_or(b'"', |j| at(&tight, j));
            if next != 0
                && !next.is_ascii_whitespace()
                && matches!(before, b'"' | b'\'' | b'=' | b' ' | b'(' | b'`')
            {
                return Some("javascript:");
            }
        }
    }
    let mut from = 0;
    while let Some(i) = find_from(form, b"<script", from) {
        from = i + 1;
        if matches!(at(form, i + 7), b'>' | b' ' | b'/' | b'\t' | b'\n') {
            return Some("<script");
        }
    }
    None
}

/// libinjection's XSS verdict, with XML declarations (`<?xml version="1.0"?>`, which it flags
/// as a processing instruction) removed first: XML documents are ordinary API values.
fn libinjection_xss(form: &[u8]) -> bool {
    if !contains(form, b"<?xml") {
        return XssDetector::new().detect(form).is_injection();
    }
    let mut rest = Vec::with_capacity(form.len());
    let mut i = 0;
    while let Some(start) = find_from(form, b"<?xml", i) {
        rest.extend_from_slice(form.get(i..start).unwrap_or_default());
        i = find_from(form, b"?>", start).map_or(form.len(), |e| e + 2);
    }
    rest.extend_from_slice(form.get(i..).unwrap_or_default());
    XssDetector::new().detect(&rest).is_injection()
}
