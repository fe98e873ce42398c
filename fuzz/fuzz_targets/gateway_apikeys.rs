//! The first line is a presented API key, the rest an API-key file. Against the fixed file
//! `crates/gateway/tests/data/fuzz/api-keys.yaml`, only one of its live keys authenticates, as
//! its owner. The given file loads (and then verifies the key without a panic) or fails with
//! an error that names it. A refusal is a fixed message that names at most the presented key's
//! id, never its secret.
#![no_main]

use std::sync::LazyLock;

use indexmap::IndexMap;
use libfuzzer_sys::fuzz_target;
use portcullis_gateway::identity::apikeys::{self, ApiKeyError, ApiKeyFailure, ApiKeys};

const KEYS: &str = include_str!("../../crates/gateway/tests/data/fuzz/api-keys.yaml");
/// 2027-01-15: after `expired`, before `later`.
const NOW: u64 = 1_800_000_000;

/// The fixture's keys as presented, each with the owner it authenticates (`None`: refused).
const PRESENTED: [(&str, Option<&str>); 5] = [
    (
        "pc_active_active-secret-0123456789abcdefghijklmnopq",
        Some("alice"),
    ),
    ("pc_expired_expired-secret-0123456789abcdefghijklmno", None),
    ("pc_disabled_disabled-secret-0123456789abcdefghijklmn", None),
    (
        "pc_later_later_secret_with_underscores-0123456789",
        Some("dave"),
    ),
    (
        "pc_UP-per-9_upper-secret-0123456789abcdefghijklmnopqr",
        Some("eve@example.com"),
    ),
];

static ROLES: LazyLock<IndexMap<String, Vec<String>>> = LazyLock::new(|| {
    IndexMap::from([
        ("teller".to_owned(), vec!["accounts:read".to_owned()]),
        ("auditor".to_owned(), vec!["audit:read".to_owned()]),
    ])
});

static FIXTURE: LazyLock<ApiKeys> =
    LazyLock::new(
        || match ApiKeys::from_str_named("api-keys.yaml", KEYS, &ROLES) {
            Ok(keys) => keys,
            Err(e) => panic!("the fuzz target's own key file must load: {e}"),
        },
    );

/// A refusal's text is one of the fixed messages, naming at most the presented key's id:
/// never its secret.
fn refusal_keeps_the_secret(presented: &str, f: &ApiKeyFailure) {
    let message = f.to_string();
    assert!(!f.rule().is_empty() && !f.code().is_empty());
    let id = presented
        .strip_prefix(apikeys::PREFIX)
        .and_then(|r| r.split_once('_'))
        .map(|(id, _)| id);
    let (named, what) = match f {
        ApiKeyFailure::Malformed => {
            assert_eq!(message, "malformed API key");
            return;
        }
        ApiKeyFailure::UnknownId => {
            assert_eq!(message, "unknown API key id");
            return;
        }
        ApiKeyFailure::WrongSecret(named) => (named, "wrong secret"),
        ApiKeyFailure::Expired(named) => (named, "expired"),
        ApiKeyFailure::Disabled(named) => (named, "disabled"),
    };
    assert_eq!(Some(named.as_str()), id);
    assert!(apikeys::valid_id(named), "{named:?}");
    assert_eq!(message, format!("API key {named}: {what}"));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (presented, file) = text.split_once('\n').unwrap_or((text, ""));
    let expected = PRESENTED.iter().find(|(p, _)| *p == presented);
    match FIXTURE.verify(presented, NOW) {
        Ok(principal) => {
            let owner = expected.and_then(|(_, owner)| *owner);
            assert!(owner.is_some(), "{presented:?} authenticated");
            assert_eq!(principal.subject.as_deref(), owner);
            assert_eq!(principal.issuer, apikeys::ISSUER);
        }
        Err(f) => {
            assert!(
                expected.is_none_or(|(_, owner)| owner.is_none()),
                "{presented:?}: {f}"
            );
            refusal_keeps_the_secret(presented, &f);
        }
    }
    match ApiKeys::from_str_named("fuzz-keys.yaml", file, &ROLES) {
        Ok(keys) => {
            assert!(keys.len() <= apikeys::MAX_KEYS);
            if let Err(f) = keys.verify(presented, NOW) {
                refusal_keeps_the_secret(presented, &f);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz-keys.yaml"), "{message}");
            if let ApiKeyError::Invalid { line, .. } = &e {
                assert!(*line >= 1, "{message}");
            }
        }
    }
});
