// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

//! The stable twin of the `discover_logs` fuzz target: the property of
//! `fuzz_props/properties.rs` on random bytes, on traffic files of each format made of valid
//! and broken lines, and on the seeds of `fuzz/seeds/discover_logs/` with random edits.

#[path = "fuzz_props/properties.rs"]
mod properties;

use proptest::prelude::*;

/// The fuzz target's committed seeds (one file per format).
const SEEDS: [&str; 3] = [
    include_str!("../../../fuzz/seeds/discover_logs/decisions.jsonl"),
    include_str!("../../../fuzz/seeds/discover_logs/traffic.har"),
    include_str!("../../../fuzz/seeds/discover_logs/access.log"),
];

const METHODS: [&str; 6] = ["GET", "POST", "DELETE", "get", "", "PROPFIND"];
const PATHS: [&str; 9] = [
    "/api/users/me",
    "/api/users/42",
    "/api/users/42/../me",
    "/api/accounts/a-1/transactions?limit=3&x",
    "/api//users/%2e%2e",
    "/other/7",
    "users",
    "/api/users/%ff",
    "",
];
const TIMES: [&str; 5] = [
    "2026-12-07T01:00:00.000Z",
    "2026-12-07T01:00:00+23:59",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "yesterday",
];
const CLF_TIMES: [&str; 4] = [
    "10/Oct/2026:13:55:36 -0700",
    "31/Dec/9999:23:59:59 -2359",
    "01/Jan/0000:00:00:00 +2359",
    "x",
];

fn decision_line() -> impl Strategy<Value = String> {
    (
        0..METHODS.len(),
        0..PATHS.len(),
        0..TIMES.len(),
        prop_oneof![
            Just(200i64),
            Just(401),
            Just(-1),
            Just(70_000),
            any::<i64>()
        ],
        "[ -~]{0,8}",
    )
        .prop_map(|(m, p, t, status, rule)| {
            serde_json::json!({
                "ts": TIMES[t], "api": "bank", "method": METHODS[m], "path": PATHS[p],
                "status": status, "rule": rule, "decision": "allow",
                "client": {"ip": "10.0.0.1", "key_id": null, "sub": "alice"},
                "response_bytes": 12,
            })
            .to_string()
        })
}

fn combined_line() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("10.0.0.1"), Just("::1"), Just("host")],
        prop_oneof![Just("-"), Just("alice")],
        0..CLF_TIMES.len(),
        0..METHODS.len(),
        0..PATHS.len(),
        prop_oneof![Just("200"), Just("404"), Just("99999"), Just("x")],
        prop_oneof![Just("-"), Just("2326"), Just("-5")],
    )
        .prop_map(|(ip, user, t, m, p, status, bytes)| {
            format!(
                "{ip} - {user} [{}] \"{} {} HTTP/1.1\" {status} {bytes} \"-\" \"curl/8\"",
                CLF_TIMES[t], METHODS[m], PATHS[p]
            )
        })
}

fn har(entries: Vec<(usize, usize, i64)>) -> String {
    let entries: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|(m, p, status)| {
            serde_json::json!({
                "startedDateTime": TIMES[p % TIMES.len()],
                "request": {"method": METHODS[m], "url": format!("https://bank.example{}", PATHS[p]),
                    "headers": [{"name": "Authorization", "value": "Bearer x"}]},
                "response": {"status": status, "bodySize": -1, "content": {"size": 10}},
            })
        })
        .collect();
    serde_json::to_string_pretty(
        &serde_json::json!({"log": {"version": "1.2", "entries": entries}}),
    )
    .unwrap()
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
    fn logs_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        properties::check_logs(&bytes);
    }

    #[test]
    fn decision_logs(lines in prop::collection::vec(prop_oneof![decision_line(), "[ -~]{0,40}"], 0..12)) {
        properties::check_logs(lines.join("\n").as_bytes());
    }

    #[test]
    fn combined_logs(lines in prop::collection::vec(prop_oneof![combined_line(), "[ -~]{0,40}"], 0..12)) {
        properties::check_logs(lines.join("\n").as_bytes());
    }

    #[test]
    fn har_files(entries in prop::collection::vec((0..METHODS.len(), 0..PATHS.len(), prop_oneof![Just(200i64), Just(-3), any::<i64>()]), 0..8)) {
        properties::check_logs(har(entries).as_bytes());
    }

    #[test]
    fn edited_seeds(bytes in edited()) {
        properties::check_logs(&bytes);
    }
}

#[test]
fn seeds_read_as_their_format() {
    for seed in SEEDS {
        properties::check_logs(seed.as_bytes());
    }
}
