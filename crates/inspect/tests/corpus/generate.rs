//! The attack corpus: known payload shapes of each kind expanded by the encodings an attacker
//! wraps them in. Deterministic: `write_attack_corpus` (ignored) writes `corpus/attacks/*.txt`,
//! and `attack_corpus_is_generated` checks that the files are what this code generates.

#[path = "shapes.rs"]
mod shapes;

use shapes::*;

/// Payload shapes per kind (file name, shapes, encodings that make sense for the kind).
pub fn kinds() -> Vec<(&'static str, Vec<String>, &'static [Encoding])> {
    vec![
        (
            "sqli",
            SQLI.iter().map(|s| (*s).to_owned()).collect(),
            SQL_ENCODINGS,
        ),
        (
            "xss",
            XSS.iter().map(|s| (*s).to_owned()).collect(),
            CASE_ENCODINGS,
        ),
        (
            "cmd",
            CMD.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        (
            "traversal",
            TRAVERSAL.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        (
            "ldap",
            LDAP.iter().map(|s| (*s).to_owned()).collect(),
            CASE_ENCODINGS,
        ),
        (
            "ssti",
            SSTI.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        (
            "nosql",
            NOSQL.iter().map(|s| (*s).to_owned()).collect(),
            ENCODINGS,
        ),
        ("ssrf", ssrf(), &[Encoding::Raw]),
    ]
}

/// The lines of one kind's file: `encoding<TAB>payload`.
pub fn lines(shapes: &[String], encodings: &[Encoding]) -> Vec<String> {
    let mut out = Vec::new();
    for shape in shapes {
        for e in encodings {
            let p = e.apply(shape);
            let line = format!("{}\t{}", e.name(), p);
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    Raw,
    Url,
    UrlAll,
    DoubleUrl,
    Plus,
    HtmlDec,
    HtmlHex,
    JsonUnicode,
    MixedCase,
    SqlComment,
    Tab,
}

const ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Url,
    Encoding::UrlAll,
    Encoding::DoubleUrl,
    Encoding::Plus,
    Encoding::HtmlDec,
    Encoding::HtmlHex,
    Encoding::JsonUnicode,
];
const CASE_ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Url,
    Encoding::UrlAll,
    Encoding::DoubleUrl,
    Encoding::Plus,
    Encoding::HtmlDec,
    Encoding::HtmlHex,
    Encoding::JsonUnicode,
    Encoding::MixedCase,
];
const SQL_ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Url,
    Encoding::UrlAll,
    Encoding::DoubleUrl,
    Encoding::Plus,
    Encoding::HtmlDec,
    Encoding::HtmlHex,
    Encoding::JsonUnicode,
    Encoding::MixedCase,
    Encoding::SqlComment,
    Encoding::Tab,
];

fn special(c: char) -> bool {
    !c.is_ascii_alphanumeric() && c != ' ' && c != '.' && c != '_' && c != '-'
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Raw => "raw",
            Encoding::Url => "url",
            Encoding::UrlAll => "url-all",
            Encoding::DoubleUrl => "double-url",
            Encoding::Plus => "plus",
            Encoding::HtmlDec => "html-dec",
            Encoding::HtmlHex => "html-hex",
            Encoding::JsonUnicode => "json-unicode",
            Encoding::MixedCase => "mixed-case",
            Encoding::SqlComment => "sql-comment",
            Encoding::Tab => "tab",
        }
    }

    pub fn apply(self, s: &str) -> String {
        match self {
            Encoding::Raw => s.to_owned(),
            Encoding::Url => url(s, |c| special(c) || c == ' '),
            Encoding::UrlAll => url(s, |_| true),
            Encoding::DoubleUrl => url(&url(s, |c| special(c) || c == ' '), |c| c == '%'),
            Encoding::Plus => url(s, special).replace(' ', "+"),
            Encoding::HtmlDec => s
                .chars()
                .map(|c| {
                    if special(c) && c != '%' {
                        format!("&#{};", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Encoding::HtmlHex => s
                .chars()
                .map(|c| {
                    if special(c) && c != '%' {
                        format!("&#x{:x};", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Encoding::JsonUnicode => s
                .chars()
                .map(|c| {
                    if special(c) && c != '%' && c != '\\' {
                        format!("\\u{:04x}", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            Encoding::MixedCase => s
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            Encoding::SqlComment => s.replace(' ', "/**/"),
            Encoding::Tab => s.replace(' ', "%09"),
        }
    }
}

fn url(s: &str, encode: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if encode(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// SSRF: hosts in their spellings times URL shapes, then scheme shapes.
fn ssrf() -> Vec<String> {
    let mut out = Vec::new();
    for h in SSRF_HOSTS {
        for t in SSRF_TEMPLATES {
            out.push(t.replace("{h}", h));
        }
    }
    out.extend(SSRF_SCHEMES.iter().map(|s| (*s).to_owned()));
    out
}
