//! `portcullis keys new` as a process: the key is printed once, the entry holds its hash and
//! loads into the gateway's key set, and bad input exits 2 with a message naming the flag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use portcullis_gateway::identity::apikeys::ApiKeys;

fn keys_new(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["keys", "new"])
        .args(args)
        .output()
        .expect("run portcullis")
}

fn key_and_entry(out: &Output) -> (String, String) {
    let text = String::from_utf8(out.stdout.clone()).expect("utf-8");
    let key = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("pc_"))
        .expect("a key line")
        .to_owned();
    let entry = text
        .split_once("identity.api_keys.file:\n")
        .expect("the entry")
        .1
        .to_owned();
    (key, entry)
}

#[test]
fn new_key_verifies_against_its_entry() {
    let out = keys_new(&[
        "--id",
        "ci-bot",
        "--owner",
        "alice",
        "--scopes",
        "accounts:read,accounts:write",
        "--roles",
        "auditor",
        "--expires",
        "2030-01-01T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (key, entry) = key_and_entry(&out);
    assert!(key.starts_with("pc_ci-bot_"), "{key}");
    let secret = key.strip_prefix("pc_ci-bot_").expect("secret");
    assert!(!entry.contains(secret), "the entry never holds the secret");
    assert!(entry.contains("sha256:"), "{entry}");
    let keys =
        ApiKeys::from_str_named("keys.yaml", &format!("keys:\n{entry}"), &Default::default())
            .expect("the entry loads");
    let before_expiry = 1_800_000_000;
    let p = keys.verify(&key, before_expiry).expect("the key verifies");
    assert_eq!(p.subject.as_deref(), Some("alice"));
    assert!(p.scopes.contains("accounts:write") && p.roles.contains("auditor"));
    let after_expiry = 1_900_000_000;
    assert!(keys.verify(&key, after_expiry).is_err());

    let again = keys_new(&["--id", "ci-bot"]);
    assert!(again.status.success());
    assert_ne!(key_and_entry(&again).0, key, "every key is new");
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    for (args, flag) in [
        (&["--id", "with_underscore"][..], "--id"),
        (&["--id", "ok", "--expires", "next week"][..], "--expires"),
    ] {
        let out = keys_new(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "no key printed on error");
    }
    let out = keys_new(&[]);
    assert_eq!(out.status.code(), Some(2), "--id is required");
}
