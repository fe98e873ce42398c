// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

//! The stable twin of the `scan_answers` fuzz target: the property of
//! `fuzz_props/properties.rs` on random bytes, on answers built from JSON documents with ids,
//! tokens and secrets inside, and on the seeds of `fuzz/seeds/scan_answers/` with random edits.

#[path = "fuzz_props/properties.rs"]
mod properties;

use proptest::prelude::*;
use serde_json::{Value, json};

/// The fuzz target's committed seeds.
const SEEDS: [&str; 6] = [
    include_str!("../../../fuzz/seeds/scan_answers/list.txt"),
    include_str!("../../../fuzz/seeds/scan_answers/created.txt"),
    include_str!("../../../fuzz/seeds/scan_answers/sql-error.txt"),
    include_str!("../../../fuzz/seeds/scan_answers/trace.txt"),
    include_str!("../../../fuzz/seeds/scan_answers/redirect.txt"),
    include_str!("../../../fuzz/seeds/scan_answers/me.txt"),
];

const TEMPLATES: [&str; 6] = [
    "/users/{userId}/accounts",
    "/v2/orders",
    "/users/me",
    "/categories/{id}",
    "/",
    "/x/{a}/{b}/search",
];
const KEYS: [&str; 10] = [
    "id",
    "userId",
    "account_id",
    "Account-ID",
    "owner",
    "username",
    "token",
    "password",
    "book_title",
    "uuid",
];
const STRINGS: [&str; 7] = [
    properties::TOKEN,
    "hunter2-alice-password",
    "a-1",
    "postgres://u:pw@db/x",
    "",
    "é\u{0}\"\\",
    "SQLSTATE[42000]",
];
const HEADERS: [&str; 5] = [
    "content-type",
    "location",
    "www-authenticate",
    "retry-after",
    "set-cookie",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (0..STRINGS.len()).prop_map(|i| json!(STRINGS[i])),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((0..KEYS.len(), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (KEYS[k].to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn answer() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(200u16), Just(201), Just(302), Just(500), any::<u16>()],
        0..TEMPLATES.len(),
        prop::collection::vec((0..HEADERS.len(), 0..STRINGS.len()), 0..4),
        value(),
    )
        .prop_map(|(status, t, headers, body)| {
            let mut out = format!("{status} {}\n", TEMPLATES[t]);
            for (h, v) in headers {
                out.push_str(&format!("{}: x {}\n", HEADERS[h], STRINGS[v]));
            }
            out.push('\n');
            out.push_str(&body.to_string());
            out.into_bytes()
        })
}

/// Random edits of a seed: a byte at a place replaced, removed or doubled.
fn edited() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SEEDS.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..8),
    )
        .prop_map(|(which, edits)| {
            let mut bytes = SEEDS[which].as_bytes().to_vec();
            for (at, byte, how) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match how {
                    0 => bytes[i] = byte,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, bytes[i]),
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn answers_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        properties::check_answer(&bytes);
    }

    #[test]
    fn json_answers(bytes in answer()) {
        properties::check_answer(&bytes);
    }

    #[test]
    fn edited_seeds(bytes in edited()) {
        properties::check_answer(&bytes);
    }
}

#[test]
fn seeds_hold() {
    for seed in SEEDS {
        properties::check_answer(seed.as_bytes());
    }
}
