//! `portcullis demo --attack --format json` as a process: every attack works against the bare
//! demo bank and is blocked through the gateway by the rule expected for it, and every benign
//! request passes (issue "demo", measured by).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// The rule each attack must be blocked by, keyed by a fragment of the attack's description.
const EXPECTED: &[(&str, &str)] = &[
    ("BOLA: alice reads bob's accounts", "authz.owner"),
    ("Unsigned token (alg none)", "auth.invalid"),
    ("Token forged with a guessed HMAC secret", "auth.invalid"),
    ("Password guessing", "ratelimit"),
    (
        "Mass assignment: sign up with isAdmin",
        "request.unknown-field",
    ),
    (
        "Mass assignment: alice makes herself admin",
        "request.unknown-field",
    ),
    ("BFLA: bob lists every user", "authz.scope"),
    ("Negative transfer", "request.body"),
    ("SQL injection in a free-text name", "threat.sqli"),
    ("SQL injection in account search", "request.parameter"),
    ("SSRF: a webhook", "threat.ssrf"),
    (
        "Data exposure: profile shows the password hash",
        "response.schema",
    ),
    ("Undocumented debug endpoint", "route.undocumented"),
    ("Zombie API", "route.deprecated"),
    ("Flood", "ratelimit"),
];

fn run_attack() -> (Option<i32>, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["demo", "--attack", "--format", "json"])
        .output()
        .expect("run portcullis demo --attack");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rows = rows.as_array().expect("a JSON array").clone();
    (out.status.code(), rows)
}

#[test]
fn every_attack_works_directly_and_is_blocked_by_its_rule_and_benign_traffic_passes() {
    let (code, rows) = run_attack();
    let attacks: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "attack").collect();
    let benign: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "benign").collect();

    // The contract: at least 8 attacks over at least 5 OWASP categories, each row with
    // the keys attack, owasp, direct_status, gateway_status, rule.
    assert!(attacks.len() >= 8, "only {} attacks", attacks.len());
    let categories: BTreeMap<&str, usize> = attacks.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r["owasp"].as_str().expect("owasp is a string"))
            .or_default() += 1;
        m
    });
    assert!(categories.len() >= 5, "categories: {categories:?}");
    for row in &rows {
        for key in ["attack", "owasp", "direct_status", "gateway_status", "rule"] {
            assert!(row.get(key).is_some(), "row without {key}: {row}");
        }
    }

    for row in &attacks {
        let name = row["attack"].as_str().expect("attack is a string");
        let direct = row["direct_status"].as_u64().expect("direct_status");
        let gateway = row["gateway_status"].as_u64().expect("gateway_status");
        let rule = row["rule"].as_str().unwrap_or("");
        assert_eq!(row["worked_directly"], true, "did not work directly: {row}");
        assert_eq!(
            row["blocked"], true,
            "not blocked through the gateway: {row}"
        );
        if rule.ends_with("(stripped)") {
            // Cleaned rather than refused: the answer is served without what leaked.
            assert!(
                (200..300).contains(&gateway),
                "{name}: gateway answered {gateway}"
            );
        } else {
            assert!(
                (400..500).contains(&gateway),
                "{name}: gateway answered {gateway}"
            );
            assert_ne!(direct, gateway, "{name}: same status both ways");
        }
        let expected = EXPECTED
            .iter()
            .find(|(fragment, _)| name.contains(fragment))
            .map(|(_, rule)| *rule)
            .unwrap_or_else(|| panic!("no expectation for attack {name:?}"));
        assert!(
            rule.starts_with(expected),
            "{name}: blocked by {rule:?}, expected {expected}"
        );
    }

    assert!(!benign.is_empty(), "no benign traffic in the report");
    for row in &benign {
        let status = row["gateway_status"].as_u64().expect("gateway_status");
        assert_eq!(row["passed"], true, "benign request failed: {row}");
        assert!((200..300).contains(&status), "benign {row}");
    }
    assert_eq!(code, Some(0), "exit code with every attack blocked");
}
