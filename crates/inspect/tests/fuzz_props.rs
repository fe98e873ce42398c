// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

//! The stable twin of the `inspect` fuzz target: the property of `fuzz_props/properties.rs` on
//! random bytes, on text made of the characters injection and masking care about, and on JSON
//! documents with sensitive values inside (whose masked form must parse again).

#[path = "fuzz_props/properties.rs"]
mod properties;

use portcullis_inspect::sensitive::Options;
use proptest::prelude::*;
use serde_json::Value;

/// Pieces that exercise the decoders and detectors.
const PIECES: &[&str] = &[
    "'",
    "\"",
    "--",
    "#",
    "/*",
    "*/",
    ";",
    "|",
    "&",
    "`",
    "$(",
    "${",
    "{{",
    "}}",
    "<",
    ">",
    "%",
    "%2",
    "%25",
    "%u00",
    "&#",
    "&#x",
    ";",
    "\\",
    "\\u00",
    "\\x",
    "..",
    "/",
    "\\",
    ")(",
    "*)",
    "$ne",
    "[$gt]",
    "or ",
    "union select ",
    "sleep(5)",
    "<script>",
    "onerror=",
    "javascript:",
    "etc/passwd",
    "127.0.0.1",
    "http://",
    "[::1]",
    "@",
    "0x7f",
    "4111 1111 1111 1111",
    "-----BEGIN PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
    "AKIAIOSFODNN7EXAMPLE",
    "$2b$12$",
    "DE89370400440532013000",
    "123-45-6789",
    "+44 20 7946 0958",
    "a",
    "1",
    " ",
    "\n",
    "\u{e9}",
    "\u{ff0e}",
    "\u{0}",
];

fn pieces() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (1_000_000_000_000u64..9_999_999_999_999_999u64).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        pieces().prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("password".to_owned()),
            Just("token_type".to_owned()),
            Just("api_key".to_owned()),
            Just("card".to_owned()),
            pieces(),
            any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        properties::inspect(&data);
    }

    #[test]
    fn interesting_text(text in pieces()) {
        properties::inspect(text.as_bytes());
    }

    #[test]
    fn json_documents_stay_json(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
        properties::json(text.as_bytes(), Options { emails: true, phones: true });
        properties::inspect(text.as_bytes());
    }

    #[test]
    fn mutated_json(value in json_value(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = serde_json::to_vec(&value).unwrap();
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        properties::json(&bytes, Options::default());
    }
}

#[test]
fn deep_and_long_inputs() {
    let deep = "[".repeat(5000) + &"]".repeat(5000);
    properties::json(deep.as_bytes(), Options::default());
    let long = format!("[\"{}\"]", "4111 1111 1111 1111 ".repeat(20_000));
    properties::json(long.as_bytes(), Options::default());
    properties::inspect("%25".repeat(30_000).as_bytes());
}
