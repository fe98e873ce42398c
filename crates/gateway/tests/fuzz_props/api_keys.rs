//! `gateway_apikeys`: presented keys and key files.

use super::*;

pub(crate) static ROLES: LazyLock<IndexMap<String, Vec<String>>> = LazyLock::new(|| {
    IndexMap::from([
        ("teller".to_owned(), vec!["accounts:read".to_owned()]),
        ("auditor".to_owned(), vec!["audit:read".to_owned()]),
    ])
});

pub(crate) static FIXTURE_KEYS: LazyLock<ApiKeys> =
    LazyLock::new(|| ApiKeys::from_str_named("api-keys.yaml", KEYS, &ROLES).unwrap());

/// The fixture's keys as presented, each with the owner it authenticates (`None`: refused).
pub(crate) const PRESENTED: [(&str, Option<&str>); 5] = [
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

/// The API-keys target: the first line is a presented key, the rest a key file. Against the
/// fixture, only a listed key authenticates, as its owner; a refusal is a fixed message that
/// names at most the key id, never its secret. The file loads or fails naming itself; a
/// loaded file verifies any key.
pub(crate) fn check_apikeys(text: &str) -> Result<(), TestCaseError> {
    let (presented, file) = text.split_once('\n').unwrap_or((text, ""));
    verify_against_fixture(presented)?;
    match ApiKeys::from_str_named("fuzz-keys.yaml", file, &ROLES) {
        Ok(keys) => {
            prop_assert!(keys.len() <= apikeys::MAX_KEYS);
            if let Err(f) = keys.verify(presented, NOW) {
                refusal_keeps_the_secret(presented, &f)?;
            }
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("fuzz-keys.yaml"), "{message}");
            if let ApiKeyError::Invalid { line, .. } = &e {
                prop_assert!(*line >= 1, "{message}");
            }
        }
    }
    Ok(())
}

pub(crate) fn verify_against_fixture(presented: &str) -> Result<(), TestCaseError> {
    let expected = PRESENTED.iter().find(|(p, _)| *p == presented);
    match FIXTURE_KEYS.verify(presented, NOW) {
        Ok(principal) => {
            let owner = expected.and_then(|(_, owner)| *owner);
            prop_assert!(owner.is_some(), "{presented:?} authenticated");
            prop_assert_eq!(principal.subject.as_deref(), owner);
            prop_assert_eq!(principal.issuer.as_str(), apikeys::ISSUER);
        }
        Err(f) => {
            prop_assert!(
                expected.is_none_or(|(_, owner)| owner.is_none()),
                "{presented:?}: {f}"
            );
            refusal_keeps_the_secret(presented, &f)?;
        }
    }
    Ok(())
}

/// A refusal's text is one of the fixed messages, naming at most the presented key's id:
/// never its secret.
pub(crate) fn refusal_keeps_the_secret(
    presented: &str,
    f: &ApiKeyFailure,
) -> Result<(), TestCaseError> {
    let message = f.to_string();
    prop_assert!(!f.rule().is_empty() && !f.code().is_empty());
    let id = presented
        .strip_prefix(apikeys::PREFIX)
        .and_then(|r| r.split_once('_'))
        .map(|(id, _)| id);
    let (named, what) = match f {
        ApiKeyFailure::Malformed => {
            prop_assert_eq!(message, "malformed API key");
            return Ok(());
        }
        ApiKeyFailure::UnknownId => {
            prop_assert_eq!(message, "unknown API key id");
            return Ok(());
        }
        ApiKeyFailure::WrongSecret(named) => (named, "wrong secret"),
        ApiKeyFailure::Expired(named) => (named, "expired"),
        ApiKeyFailure::Disabled(named) => (named, "disabled"),
    };
    prop_assert_eq!(Some(named.as_str()), id);
    prop_assert!(apikeys::valid_id(named), "{named:?}");
    prop_assert_eq!(message, format!("API key {named}: {what}"));
    Ok(())
}
