use serde_json::json;

use crate::parse::tests::{fails, fails_with, ok};
use crate::parse::{Format, Limits};

use super::*;

fn yaml(text: &str) -> Value {
    ok(text, Format::Yaml).0
}

fn at(text: &str, pointer: &str) -> (u32, u32) {
    let (v, p) = ok(text, Format::Yaml);
    match p.find(&v, pointer) {
        Some((l, c, true)) => (l, c),
        other => panic!("{pointer}: {other:?}"),
    }
}

#[test]
fn plain_scalars_follow_the_core_schema() {
    let v = yaml(
        "a: ~\nb: null\nc:\nd: true\ne: False\nf: 42\ng: -7\nh: 0x1f\ni: 0o17\nj: 1.5\n\
         k: .inf\nl: -.inf\nm: .nan\nn: 1e3\no: 3.0.0\np: yes\nq: 99999999999999999999\n\
         r: 2020-01-01\n",
    );
    assert_eq!(
        v,
        json!({"a": null, "b": null, "c": null, "d": true, "e": false, "f": 42, "g": -7,
               "h": 31, "i": 15, "j": 1.5, "k": ".inf", "l": "-.inf", "m": ".nan",
               "n": 1000.0, "o": "3.0.0", "p": "yes", "q": 1e20, "r": "2020-01-01"})
    );
}

#[test]
fn quoted_and_block_scalars_are_strings() {
    let v =
        yaml("a: '42'\nb: \"true\"\nc: \"\"\nd: |\n  12\ne: >-\n  null\n  ~\nf: \"\\u00e9\\t\"\n");
    assert_eq!(
        v,
        json!({"a": "42", "b": "true", "c": "", "d": "12\n", "e": "null ~", "f": "é\t"})
    );
}

#[test]
fn core_tags_are_respected_and_unknown_tags_ignored() {
    let v = yaml(
        "a: !!str 42\nb: !!int '42'\nc: !!float 1\nd: !!bool 'true'\ne: !!null ''\nf: !custom 7\ng: ! 12\nh: !!binary aGk=\n",
    );
    assert_eq!(
        v,
        json!({"a": "42", "b": 42, "c": 1.0, "d": true, "e": null, "f": 7, "g": "12", "h": "aGk="})
    );
    let (loc, message) = fails("a: 1\nb: !!int abc\n", Format::Yaml);
    assert_eq!((loc.line, loc.column, loc.pointer.as_str()), (2, 4, "/b"));
    assert!(
        message.contains("\"abc\" is not a valid !!int"),
        "{message}"
    );
    let (_, message) = fails("a: !!str {b: 1}\n", Format::Yaml);
    assert!(
        message.contains("!!str cannot be applied to a mapping"),
        "{message}"
    );
    assert_eq!(
        yaml("a: !!map {b: 1}\nc: !!seq [1]\n"),
        json!({"a": {"b": 1}, "c": [1]})
    );
}

#[test]
fn keys_of_every_scalar_type_become_strings() {
    let v = yaml(
        "200: a\ntrue: b\n~: c\n1.50: d\n0x1F: e\n'q': f\n\"dq\": g\n? |\n  block\n: h\n!!int 7: i\n",
    );
    assert_eq!(
        v,
        json!({"200": "a", "true": "b", "~": "c", "1.50": "d", "0x1F": "e", "q": "f",
               "dq": "g", "block\n": "h", "7": "i"})
    );
    let keys: Vec<&String> = v
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys.first().map(|k| k.as_str()),
        Some("200"),
        "document order"
    );
    assert_eq!(
        at("responses:\n  200:\n    x: 1\n", "/responses/200/x"),
        (3, 5)
    );
}

#[test]
fn collection_keys_are_errors() {
    for text in [
        "? [a]\n: 1\n",
        "? {a: 1}\n: 1\n",
        "{[1]: 2}\n",
        "a: &x [1]\n*x : 2\n",
    ] {
        let (_, message) = fails(text, Format::Yaml);
        assert!(
            message.contains("cannot be a mapping key"),
            "{text:?}: {message}"
        );
    }
}

#[test]
fn positions_point_at_keys_and_items() {
    let text = "openapi: 3.0.0\npaths:\n  /pets:\n    get:\n      tags: [a, b]\n      \
                responses:\n        - x\n        -   y: 1\n";
    assert_eq!(at(text, ""), (1, 1));
    assert_eq!(at(text, "/openapi"), (1, 1));
    assert_eq!(at(text, "/paths/~1pets"), (3, 3));
    assert_eq!(at(text, "/paths/~1pets/get/tags/1"), (5, 17));
    assert_eq!(at(text, "/paths/~1pets/get/responses/0"), (7, 11));
    assert_eq!(at(text, "/paths/~1pets/get/responses/1"), (8, 13));
    assert_eq!(at(text, "/paths/~1pets/get/responses/1/y"), (8, 13));
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let text = "defs:\n  a: &A {type: string, n: [1, 2]}\n  s: &S hello\nuse:\n  x: *A\n  \
                list: [*S, *A]\n  &K key: 1\n  other: {*K : 2}\n";
    let v = yaml(text);
    let a = json!({"type": "string", "n": [1, 2]});
    assert_eq!(v["use"]["x"], a);
    assert_eq!(v["use"]["list"], json!(["hello", a]));
    assert_eq!(v["use"]["other"], json!({"key": 2}));
    // The alias's own node is where `*A` is written; what it copies points at the anchor.
    assert_eq!(at(text, "/use/x"), (5, 3));
    assert_eq!(at(text, "/use/list/1"), (6, 14));
    assert_eq!(at(text, "/use/list/1/n/1"), (2, 31));
    let (_, message) = fails("a: *nope\n", Format::Yaml);
    assert!(!message.is_empty());
    let (_, message) = fails("a: &x [1, *x]\n", Format::Yaml);
    assert!(message.contains("not defined yet"), "{message}");
}

#[test]
fn merge_keys_merge_with_explicit_keys_winning() {
    let text = "base: &B {a: 1, b: 2}\nmore: &M {b: 20, c: 30}\nx:\n  z: 0\n  <<: *B\n  a: 10\n";
    let v = yaml(text);
    assert_eq!(v["x"], json!({"z": 0, "a": 10, "b": 2}));
    let keys: Vec<&String> = v["x"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["z", "b", "a"], "merged keys sit where `<<` was");
    // Earlier merged mappings win over later ones; inline mappings merge too.
    let v =
        yaml("base: &B {a: 1, b: 2}\nmore: &M {b: 20, c: 30}\ny: {<<: [*B, *M, {d: 4}], c: 3}\n");
    assert_eq!(v["y"], json!({"a": 1, "b": 2, "d": 4, "c": 3}));
    // Merged members keep the positions of their definitions.
    let text = "base: &B\n  a: 1\ny:\n  <<: *B\n";
    assert_eq!(at(text, "/y/a"), (2, 3));
    let (_, message) = fails("a: {<<: 1}\n", Format::Yaml);
    assert!(message.contains("merge key"), "{message}");
    let (_, message) = fails("a: {<<: [1]}\n", Format::Yaml);
    assert!(message.contains("merge key"), "{message}");
    // A quoted `<<` is an ordinary key.
    assert_eq!(yaml("'<<': {a: 1}\n"), json!({"<<": {"a": 1}}));
}

#[test]
fn billion_laughs_fails_fast() {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut prev = 'a';
    for c in 'b'..='j' {
        text.push_str(&format!(
            "{c}: &{c} [{}]\n",
            vec![format!("*{prev}"); 9].join(", ")
        ));
        prev = c;
    }
    let (loc, message) = fails(&text, Format::Yaml);
    assert!(
        message.contains("aliases expand to more than 1000000 nodes"),
        "{message}"
    );
    assert!(loc.line >= 6, "{loc}");
    // Large strings repeated by aliases are bounded by the text budget.
    let limits = Limits {
        max_bytes: 10_000,
        ..Limits::default()
    };
    let text = format!(
        "s: &s {}\nl: [{}]\n",
        "x".repeat(1000),
        vec!["*s"; 20].join(", ")
    );
    let (_, message) = fails_with(&text, Format::Yaml, &limits);
    assert!(
        message.contains("aliases copy more than 10000 bytes"),
        "{message}"
    );
}

#[test]
fn duplicate_keys_name_the_key_and_both_lines() {
    let (loc, message) = fails(
        "paths:\n  /a:\n    get: 1\n    put: 2\n    get: 3\n",
        Format::Yaml,
    );
    assert_eq!((loc.line, loc.column), (5, 5));
    assert_eq!(loc.pointer, "/paths/~1a");
    assert!(
        message.contains("duplicate key \"get\" in one mapping (first on line 3, again on line 5)"),
        "{message}"
    );
    // Keys that are equal as strings are duplicates, whatever their YAML type.
    let (_, message) = fails("{200: a, '200': b}", Format::Yaml);
    assert!(message.contains("duplicate key \"200\""), "{message}");
    let (_, message) = fails("a: {<<: {x: 1}, <<: {y: 2}}\n", Format::Yaml);
    assert!(message.contains("duplicate merge key"), "{message}");
}

#[test]
fn only_one_document_is_allowed() {
    assert_eq!(yaml("---\na: 1\n...\n"), json!({"a": 1}));
    let (loc, message) = fails("a: 1\n---\nb: 2\n", Format::Yaml);
    assert_eq!(loc.line, 2);
    assert!(message.contains("more than one YAML document"), "{message}");
}

#[test]
fn syntax_errors_carry_place_and_excerpt() {
    let (loc, message) = fails("a:\n  b: [1, 2\nc: 3\n", Format::Yaml);
    assert!(loc.line >= 2, "{loc}");
    assert!(message.contains("near "), "{message}");
    let (loc, message) = fails("a: \"\\ud800\"\n", Format::Yaml);
    assert_eq!(loc.line, 1);
    assert!(message.contains("invalid Unicode"), "{message}");
    let (loc, _) = fails("a: 1\n b: 2\n", Format::Yaml);
    assert_eq!(loc.line, 2);
}

#[test]
fn root_may_be_any_node() {
    assert_eq!(yaml("- 1\n- a\n"), json!([1, "a"]));
    assert_eq!(yaml("hello"), json!("hello"));
    assert_eq!(yaml("'3'"), json!("3"));
    assert_eq!(yaml("{}"), json!({}));
}

#[test]
fn under_indented_flow_content_is_read_as_libyaml_does() {
    // A quoted scalar whose continuation lines start at column 1.
    let text = "a:\n  cert: \"-----BEGIN\nMIIF\n-----END\"\n  next: 1\n";
    let v = yaml(text);
    assert_eq!(
        v,
        json!({"a": {"cert": "-----BEGIN MIIF -----END", "next": 1}})
    );
    // A flow mapping closed under its key, with a member after it on the same line.
    let text = "x:\n  example: {\n      \"80/tcp\": {}\n  }\n  y: [1,\n  2]\n";
    let (v, p) = ok(text, Format::Yaml);
    assert_eq!(v, json!({"x": {"example": {"80/tcp": {}}, "y": [1, 2]}}));
    assert_eq!(
        p.find(&v, "/x/y/1"),
        Some((6, 3, true)),
        "columns of the original text"
    );
    assert_eq!(p.find(&v, "/x/example/80~1tcp"), Some((3, 7, true)));
    // Errors after a repair still point into the original text.
    let (loc, _) = fails("x:\n  e: {\n    \"a\": 1\n  }\n  f: [1, 2\n", Format::Yaml);
    assert!(loc.line >= 5, "{loc}");
}
