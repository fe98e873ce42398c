use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::*;
use crate::pointer;

/// Every JSON pointer of `value`, root first.
pub(crate) fn all_pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(String::new(), value)];
    while let Some((at, v)) = todo.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    todo.push((pointer::push(&at, k), child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    todo.push((pointer::push(&at, &i.to_string()), child));
                }
            }
            _ => {}
        }
        out.push(at);
    }
    out
}

/// Asserts that every node of `value` is found exactly by `positions`.
pub(crate) fn assert_all_found(value: &Value, positions: &Positions) {
    for p in all_pointers(value) {
        let found = positions.find(value, &p);
        assert!(
            matches!(found, Some((l, c, true)) if l > 0 && c > 0),
            "{p:?}: {found:?}"
        );
    }
}

pub(crate) fn name() -> Arc<str> {
    Arc::from("test.yaml")
}

/// Parses successfully and checks every pointer.
pub(crate) fn ok(text: &str, format: Format) -> (Value, Positions) {
    let parsed = parse(&name(), text, format, &Limits::default());
    let (value, positions) = match parsed {
        Ok(p) => p,
        Err(e) => panic!("{text:?}: {e}"),
    };
    assert_all_found(&value, &positions);
    (value, positions)
}

/// Fails with a syntax error; returns its location and message.
pub(crate) fn fails_with(text: &str, format: Format, limits: &Limits) -> (Location, String) {
    match parse(&name(), text, format, limits) {
        Err(Error::Syntax { location, message }) => (location, message),
        Err(other) => panic!("{text:?}: not a syntax error: {other}"),
        Ok((value, _)) => panic!("{text:?}: parsed as {value}"),
    }
}

pub(crate) fn fails(text: &str, format: Format) -> (Location, String) {
    fails_with(text, format, &Limits::default())
}

fn at(p: &Positions, v: &Value, pointer: &str) -> (u32, u32) {
    match p.find(v, pointer) {
        Some((l, c, true)) => (l, c),
        other => panic!("{pointer}: {other:?}"),
    }
}

#[test]
fn auto_detects_json_by_first_byte() {
    assert_eq!(Format::Auto.detect(" \n\t{}"), Format::Json);
    assert_eq!(Format::Auto.detect("[1]"), Format::Json);
    assert_eq!(Format::Auto.detect("a: 1"), Format::Yaml);
    assert_eq!(Format::Auto.detect(""), Format::Yaml);
    assert_eq!(Format::Yaml.detect("{}"), Format::Yaml);
    // Strict JSON: a YAML-only flow mapping detected as JSON is refused.
    let (_, message) = fails("{a: 1}", Format::Auto);
    assert!(message.contains("double-quoted"), "{message}");
    assert_eq!(Format::from_path(Path::new("x/API.JSON")), Format::Json);
    assert_eq!(Format::from_path(Path::new("a.yml")), Format::Yaml);
    assert_eq!(Format::from_path(Path::new("a.YAML")), Format::Yaml);
    assert_eq!(Format::from_path(Path::new("a.txt")), Format::Auto);
}

#[test]
fn byte_order_mark_is_dropped() {
    let (v, p) = ok("\u{feff}{\"a\": 1}", Format::Auto);
    assert_eq!(v, json!({"a": 1}));
    assert_eq!(at(&p, &v, "/a"), (1, 2));
    let (v, p) = ok("\u{feff}a: 1\n", Format::Auto);
    assert_eq!(v, json!({"a": 1}));
    assert_eq!(at(&p, &v, "/a"), (1, 1));
}

#[test]
fn crlf_line_endings_keep_lines_and_columns() {
    let yaml = "openapi: 3.0.0\r\npaths:\r\n  /a:\r\n    get: {}\r\n";
    let (v, p) = ok(yaml, Format::Yaml);
    assert_eq!(v, json!({"openapi": "3.0.0", "paths": {"/a": {"get": {}}}}));
    assert_eq!(at(&p, &v, "/paths/~1a/get"), (4, 5));
    let json = "{\r\n  \"a\": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n";
    let (v, p) = ok(json, Format::Json);
    assert_eq!(at(&p, &v, "/a"), (2, 3));
    assert_eq!(at(&p, &v, "/a/1"), (4, 5));
}

#[test]
fn tabs_count_as_one_column() {
    let (v, p) = ok("{\t\"a\":\t[\t1]}", Format::Json);
    assert_eq!(at(&p, &v, "/a"), (1, 3));
    assert_eq!(at(&p, &v, "/a/0"), (1, 10));
    let (v, p) = ok("a: 1\t# comment\nb: [\t2]\n", Format::Yaml);
    assert_eq!(v, json!({"a": 1, "b": [2]}));
    assert_eq!(at(&p, &v, "/b/0"), (2, 6));
}

#[test]
fn unicode_columns_count_characters() {
    let (v, p) = ok("{\"é\": {\"ü\": \"日本\", \"x\": 1}}", Format::Json);
    assert_eq!(at(&p, &v, "/é/ü"), (1, 8));
    assert_eq!(at(&p, &v, "/é/x"), (1, 19));
    let (v, p) = ok("日本: {ö: 1, x: 2}\n", Format::Yaml);
    assert_eq!(at(&p, &v, "/日本/ö"), (1, 6));
    assert_eq!(at(&p, &v, "/日本/x"), (1, 12));
}

#[test]
fn nul_is_refused_with_its_place() {
    for format in [Format::Json, Format::Yaml] {
        let (loc, message) = fails("{\"a\": \"x\u{0}\"}", format);
        assert_eq!((loc.line, loc.column), (1, 9), "{format:?}");
        assert!(message.contains("NUL"), "{message}");
    }
    let (loc, _) = fails("a: 1\nb: \u{0}\n", Format::Yaml);
    assert_eq!((loc.line, loc.column), (2, 4));
}

#[test]
fn empty_documents_are_errors() {
    for (text, format) in [
        ("", Format::Auto),
        ("   \n\n", Format::Auto),
        ("# only a comment\n", Format::Yaml),
        ("---\n", Format::Yaml),
        ("---\n...\n", Format::Yaml),
        ("", Format::Json),
        (" \r\n ", Format::Json),
    ] {
        let (_, message) = fails(text, format);
        assert!(message.contains("empty document"), "{text:?}: {message}");
    }
    // An explicit null is a document (the catalog builder then says it is not OpenAPI).
    assert_eq!(ok("~", Format::Yaml).0, Value::Null);
    assert_eq!(ok("null", Format::Json).0, Value::Null);
}

#[test]
fn depth_bombs_fail_without_overflowing_the_stack() {
    let limits = Limits::default();
    for (text, format) in [
        ("[".repeat(100_000), Format::Json),
        ("{\"a\":".repeat(100_000), Format::Json),
        ("[".repeat(100_000), Format::Yaml),
        ("{a: ".repeat(100_000), Format::Yaml),
        ("- ".repeat(100_000), Format::Yaml),
    ] {
        let (loc, message) = fails_with(&text, format, &limits);
        assert!(message.contains("nesting deeper than"), "{message}");
        assert_eq!(loc.line, 1);
    }
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(parse(&name(), &nested(128), Format::Json, &limits).is_ok());
    assert!(parse(&name(), &nested(129), Format::Json, &limits).is_err());
    assert!(parse(&name(), &nested(128), Format::Yaml, &limits).is_ok());
    assert!(parse(&name(), &nested(129), Format::Yaml, &limits).is_err());
}

#[test]
fn node_and_size_limits() {
    let limits = Limits {
        max_nodes: 10,
        max_bytes: 1000,
        ..Limits::default()
    };
    let text = format!("[{}]", vec!["1"; 20].join(","));
    for format in [Format::Json, Format::Yaml] {
        let (_, message) = fails_with(&text, format, &limits);
        assert!(message.contains("more than 10 nodes"), "{message}");
    }
    let big = format!("\"{}\"", "x".repeat(2000));
    let (_, message) = fails_with(&big, Format::Json, &limits);
    assert!(
        message.contains("over the limit of 1000 bytes"),
        "{message}"
    );
}

#[test]
fn errors_name_the_file_place_and_quote_the_text() {
    let text = "openapi: 3.0.0\npaths:\n  /a:\n    get: [1, 2\n";
    let err = parse(&name(), text, Format::Yaml, &Limits::default());
    let Err(err) = err else {
        panic!("parsed");
    };
    let shown = err.to_string();
    assert!(shown.starts_with("test.yaml:"), "{shown}");
    assert!(shown.contains("near "), "{shown}");
    let (loc, message) = fails("{\n  \"paths\": {\"/a\": [1,, 2]}\n}", Format::Json);
    assert_eq!((loc.line, loc.column), (2, 22));
    assert_eq!(loc.pointer, "/paths/~1a/1");
    assert!(message.contains("expected a JSON value"), "{message}");
    assert!(
        message.ends_with("near …\"hs\\\": {\\\"/a\\\": [1,, 2]}\""),
        "{message}"
    );
}

#[test]
fn excerpts_are_short() {
    let line = "x".repeat(500);
    let shown = excerpt(&line, 1, 250);
    assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
    assert!(shown.chars().count() < 50, "{shown}");
    assert_eq!(excerpt("a\n", 7, 1), "end of input");
    assert_eq!(excerpt("a\n  \nb", 2, 1), "an empty line");
}

#[test]
fn line_column_of_byte_offsets() {
    assert_eq!(line_column("ab\ncé\nx", 0), (1, 1));
    assert_eq!(line_column("ab\ncé\nx", 3), (2, 1));
    assert_eq!(line_column("ab\ncé\nx", 6), (2, 3));
    assert_eq!(line_column("ab\ncé\nx", 7), (3, 1));
    assert_eq!(line_column("ab", 99), (1, 3));
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A file in the temporary folder, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(extension: &str, bytes: &[u8]) -> TempFile {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "portcullis-parse-{}-{n}.{extension}",
            std::process::id()
        ));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn parse_file_reads_checks_and_parses() {
    let file = TempFile::new("yaml", b"\xef\xbb\xbfopenapi: 3.1.0\ninfo: {title: t}\n");
    let source = parse_file(&file.0, Arc::from("api.yaml"), &Limits::default()).unwrap();
    assert_eq!(
        source.value,
        json!({"openapi": "3.1.0", "info": {"title": "t"}})
    );
    assert_eq!(source.bytes, 35);
    assert_eq!(&*source.name, "api.yaml");
    assert_eq!(source.path, file.0);
    assert_eq!(source.locate("/info/title").line, 2);

    // The extension decides: this `.json` file is not JSON.
    let file = TempFile::new("json", b"a: 1\n");
    let err = parse_file(&file.0, Arc::from("a.json"), &Limits::default());
    assert!(matches!(err, Err(Error::Syntax { .. })), "{err:?}");
    // Without a known extension, Auto.
    let file = TempFile::new("txt", b"{\"a\": [1]}");
    let source = parse_file(&file.0, Arc::from("a.txt"), &Limits::default()).unwrap();
    assert_eq!(source.value, json!({"a": [1]}));
}

#[test]
fn parse_file_refuses_large_files_before_reading() {
    let file = TempFile::new("yaml", &[b'a'; 2000]);
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let err = parse_file(&file.0, Arc::from("big.yaml"), &limits);
    assert!(
        matches!(
            err,
            Err(Error::TooLarge {
                size: 2000,
                limit: 1000,
                ..
            })
        ),
        "{err:?}"
    );
    let missing = parse_file(Path::new("/nonexistent/x.yaml"), name(), &limits);
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
}

#[test]
fn parse_file_locates_invalid_utf8() {
    let file = TempFile::new("yaml", b"a: 1\nb: caf\xc3\xa9 \xff\n");
    let err = parse_file(&file.0, Arc::from("bad.yaml"), &Limits::default());
    let Err(Error::Syntax { location, message }) = err else {
        panic!("{err:?}");
    };
    assert_eq!((location.line, location.column), (2, 9));
    assert!(
        message.contains("invalid UTF-8 at byte offset 14 (byte 0xff)"),
        "{message}"
    );
    assert_eq!(&*location.file, "bad.yaml");
}
