use crate::parse::Format;
use crate::parse::tests::{fails, ok};

use super::*;

fn json(text: &str) -> Value {
    let (v, _) = ok(text, Format::Json);
    let reference: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v, reference, "same value as serde_json for {text:?}");
    v
}

fn error(text: &str) -> (u32, u32, String) {
    let (loc, message) = fails(text, Format::Json);
    (loc.line, loc.column, message)
}

#[test]
fn values_equal_serde_json() {
    json("{\"a\": [1, -2, 3.5, -0, 0.0, 2E-3, 18446744073709551616], \"b\": null}");
    json("[true, false, null, \"\", {}, [], [[]], {\"\": {}}]");
    json("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00 é 😀\"");
    json("12345678901234567890123");
    json("-9223372036854775808");
    json("[1.7976931348623157e308, 5e-324, 0.1, 123456789.123456789]");
    json(" \t\r\n{\"a\" : 1 , \"b\":{\"c\":[ ]}}\r\n");
}

#[test]
fn keys_keep_document_order() {
    let v = json("{\"z\": 1, \"a\": 2, \"m\": 3}");
    let keys: Vec<&String> = v
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn positions_point_at_keys_and_items() {
    let text = "{\n  \"paths\": {\n    \"/a\": {\"get\": [1, {\"x\": 2}]}\n  }\n}";
    let (v, p) = ok(text, Format::Json);
    assert_eq!(p.find(&v, ""), Some((1, 1, true)));
    assert_eq!(p.find(&v, "/paths"), Some((2, 3, true)));
    assert_eq!(p.find(&v, "/paths/~1a/get"), Some((3, 12, true)));
    assert_eq!(p.find(&v, "/paths/~1a/get/0"), Some((3, 20, true)));
    assert_eq!(p.find(&v, "/paths/~1a/get/1/x"), Some((3, 24, true)));
}

#[test]
fn long_single_lines_count_columns_in_characters() {
    let mut text = String::from("[");
    for i in 0..5000 {
        text.push_str(&format!("{{\"k{i}é\": \"ü{i}\"}},"));
    }
    text.push_str("0]");
    let (v, p) = ok(&text, Format::Json);
    // Item i starts after i items of 14 + 2 * digits(i) characters.
    let col = |i: usize| {
        let before: usize = (0..i).map(|j| 12 + 2 * j.to_string().len()).sum();
        u32::try_from(before + 2).unwrap()
    };
    assert_eq!(p.find(&v, "/4321"), Some((1, col(4321), true)));
    assert_eq!(p.find(&v, "/4321/k4321é"), Some((1, col(4321) + 1, true)));
    assert_eq!(p.find(&v, "/5000"), Some((1, col(5000), true)));
}

#[test]
fn non_json_is_refused() {
    for (text, line, column, what) in [
        ("{\"a\": 1,}", 1, 9, "string key"),
        ("[1, 2,]", 1, 7, "expected a JSON value"),
        ("{'a': 1}", 1, 2, "string key"),
        ("{a: 1}", 1, 2, "string key"),
        ("// c\n{}", 1, 1, "expected a JSON value"),
        ("{\"a\": 1} /* c */", 1, 10, "trailing characters"),
        ("[01]", 1, 2, "leading zero"),
        ("[-]", 1, 3, "expected a digit"),
        ("[1.]", 1, 4, "after the decimal point"),
        ("[.5]", 1, 2, "expected a JSON value"),
        ("[1e]", 1, 4, "exponent"),
        ("[+1]", 1, 2, "expected a JSON value"),
        ("[NaN]", 1, 2, "expected a JSON value"),
        ("[tru]", 1, 2, "expected a JSON value"),
        ("[True]", 1, 2, "expected a JSON value"),
        ("\"a\tb\"", 1, 3, "control character U+0009"),
        ("\"a\nb\"", 1, 3, "control character U+000A"),
        ("\"\\x\"", 1, 2, "invalid escape"),
        ("\"\\u12\"", 1, 2, "four hexadecimal digits"),
        ("\"abc", 1, 5, "unterminated string"),
        ("{\"a\" 1}", 1, 6, "expected ':'"),
        ("{\"a\": 1 \"b\": 2}", 1, 9, "expected ',' or '}'"),
        ("[1 2]", 1, 4, "expected ',' or ']'"),
        ("[1", 1, 3, "expected ',' or ']'"),
        ("{\"a\":", 1, 6, "end of input"),
        ("[1] [2]", 1, 5, "trailing characters"),
        ("\u{a0}[]", 1, 1, "expected a JSON value"),
    ] {
        let (l, c, message) = error(text);
        assert!(message.contains(what), "{text:?}: {message}");
        assert_eq!((l, c), (line, column), "{text:?}: {message}");
        assert!(
            serde_json::from_str::<Value>(text).is_err(),
            "{text:?} is invalid JSON"
        );
    }
}

#[test]
fn lone_surrogates_are_refused() {
    for text in [
        "\"\\ud800\"",
        "\"\\uDBFF x\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\ud800\\\"",
    ] {
        let (_, _, message) = error(text);
        assert!(
            message.contains("surrogate") || message.contains("unterminated"),
            "{text:?}: {message}"
        );
    }
}

#[test]
fn duplicate_keys_name_the_key_and_both_lines() {
    let (line, column, message) = error("{\n \"a\": 1,\n \"b\": {},\n \"a\": 2\n}");
    assert_eq!((line, column), (4, 2));
    assert!(
        message.contains("duplicate key \"a\" in one object (first on line 2, again on line 4)"),
        "{message}"
    );
    // Escapes are decoded before comparing.
    let (_, _, message) = error("{\"\\u0061\": 1, \"a\": 2}");
    assert!(message.contains("duplicate key \"a\""), "{message}");
    let (loc, _) = fails("{\"x\": [{\"k\": 1, \"k\": 2}]}", Format::Json);
    assert_eq!(loc.pointer, "/x/0");
}

#[test]
fn numbers_out_of_range_are_refused() {
    let (_, _, message) = error("[1e400]");
    assert!(message.contains("out of range"), "{message}");
    assert!(serde_json::from_str::<Value>("[1e400]").is_err());
}
