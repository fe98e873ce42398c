use super::*;

const NOW: u64 = 1_800_000_000; // 2027-01-15

fn roles() -> IndexMap<String, Vec<String>> {
    let mut r = IndexMap::new();
    r.insert("auditor".to_owned(), vec!["audit:read".to_owned()]);
    r
}

fn key(id: &str, extra: &str) -> (String, String) {
    let g = generate(&NewKey {
        id: id.to_owned(),
        owner: format!("owner-of-{id}"),
        scopes: vec!["accounts:read".to_owned()],
        roles: vec!["auditor".to_owned()],
        expires: None,
    })
    .expect("generate");
    (g.presented, format!("{}{extra}", g.yaml))
}

/// A file with: good, disabled, expired (2026-12-31), future-expiry keys.
fn fixture() -> (ApiKeys, [String; 4]) {
    let (good, g) = key("good", "");
    let (disabled, d) = key("off", "    disabled: true\n");
    let (expired, e) = key("old", "    expires: \"2026-12-31T00:00:00Z\"\n");
    let (later, l) = key("later", "    expires: \"2030-01-01T00:00:00+02:00\"\n");
    let text = format!("keys:\n{g}{d}{e}{l}");
    let keys = ApiKeys::from_str_named("keys.yaml", &text, &roles()).expect("load");
    (keys, [good, disabled, expired, later])
}

#[test]
fn a_generated_key_verifies_into_its_principal() {
    let (keys, [good, _, _, later]) = fixture();
    assert_eq!(keys.len(), 4);
    let p = keys.verify(&good, NOW).expect("valid");
    assert_eq!(p.subject.as_deref(), Some("owner-of-good"));
    assert_eq!(p.issuer, ISSUER);
    assert_eq!(p.claim("key_id").as_deref(), Some("good"));
    assert!(p.scopes.contains("accounts:read"));
    assert!(p.scopes.contains("audit:read"), "role grants its scopes");
    assert!(p.roles.contains("auditor"));
    assert!(keys.verify(&later, NOW).is_ok());
}

#[test]
fn each_refusal_has_its_reason() {
    let (keys, [good, disabled, expired, _]) = fixture();
    // The id has no `_`; the secret (base64url) may.
    let secret = good.strip_prefix("pc_good_").unwrap_or_default().to_owned();
    let cases: Vec<(String, ApiKeyFailure, &str)> = vec![
        (
            String::new(),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            "good".to_owned(),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            "pc_good".to_owned(),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            "pc_good_".to_owned(),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            format!("xx_good_{secret}"),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            format!("pc_go od_{secret}"),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            format!("pc_good_{}", "a".repeat(300)),
            ApiKeyFailure::Malformed,
            "auth.key-malformed",
        ),
        (
            format!("pc_nobody_{secret}"),
            ApiKeyFailure::UnknownId,
            "auth.key-unknown",
        ),
        (
            format!("pc_good_{secret}x"),
            ApiKeyFailure::WrongSecret("good".to_owned()),
            "auth.key-invalid",
        ),
        (
            format!("pc_off_{secret}"),
            ApiKeyFailure::WrongSecret("off".to_owned()),
            "auth.key-invalid",
        ),
        (
            disabled,
            ApiKeyFailure::Disabled("off".to_owned()),
            "auth.key-disabled",
        ),
        (
            expired,
            ApiKeyFailure::Expired("old".to_owned()),
            "auth.key-expired",
        ),
    ];
    for (presented, want, rule) in cases {
        let got = keys.verify(&presented, NOW).expect_err(&presented);
        assert_eq!(got, want, "{presented}");
        assert_eq!(got.rule(), rule);
        assert!(
            !got.to_string().contains(&secret),
            "the message never holds the secret"
        );
    }
}

#[test]
fn expiry_is_exclusive_at_the_instant() {
    let (keys, [_, _, expired, _]) = fixture();
    let at = parse_rfc3339("2026-12-31T00:00:00Z").expect("date");
    assert!(keys.verify(&expired, at - 1).is_ok());
    assert_eq!(
        keys.verify(&expired, at),
        Err(ApiKeyFailure::Expired("old".to_owned()))
    );
}

#[test]
fn the_file_holds_hashes_only() {
    let (presented, yaml) = key("ci-bot", "");
    let secret = presented.strip_prefix("pc_ci-bot_").unwrap_or_default();
    assert_eq!(secret.len(), 43, "32 bytes in base64url");
    assert!(!yaml.contains(secret));
    assert!(yaml.contains(&format!("sha256:{}", hex(&digest(secret)))));
    let other = generate(&NewKey {
        id: "ci-bot".to_owned(),
        ..NewKey::default()
    })
    .expect("generate");
    assert_ne!(other.presented, presented, "fresh randomness each time");
}

#[test]
fn generate_refuses_bad_ids_and_dates() {
    for id in ["", "with_underscore", "sp ace", &"x".repeat(65)] {
        let new = NewKey {
            id: id.to_owned(),
            ..NewKey::default()
        };
        assert_eq!(
            generate(&new).map(|_| ()),
            Err(NewKeyError::Id(id.to_owned()))
        );
    }
    let new = NewKey {
        id: "ok".to_owned(),
        expires: Some("tomorrow".to_owned()),
        ..NewKey::default()
    };
    assert!(matches!(generate(&new), Err(NewKeyError::Expires(_))));
}

fn load_err(text: &str) -> String {
    match ApiKeys::from_str_named("keys.yaml", text, &roles()) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn file_errors_name_file_line_and_field() {
    let hash = format!("sha256:{}", "ab".repeat(32));
    let e = load_err(&format!(
        "keys:\n  - id: a\n    hash: \"{hash}\"\n    owner: o\n  - id: b\n    hash: \"sha256:12\"\n    owner: o\n"
    ));
    assert!(e.starts_with("keys.yaml:6:"), "{e}");
    assert!(e.contains("/keys/1/hash"), "{e}");
    let e = load_err(&format!(
        "keys:\n  - id: a\n    hash: \"{hash}\"\n    owner: o\n    expires: soon\n"
    ));
    assert!(
        e.contains("keys.yaml:5:") && e.contains("/keys/0/expires"),
        "{e}"
    );
    let e = load_err(&format!("keys:\n  - id: a\n    hash: \"{hash}\"\n"));
    assert!(e.contains("owner"), "{e}");
    let e = load_err(&format!(
        "keys:\n  - id: a\n    hash: \"{hash}\"\n    owner: o\n    secret: x\n"
    ));
    assert!(e.contains("secret"), "unknown field named: {e}");
    let e = load_err(&format!(
        "keys:\n  - id: a\n    hash: \"{hash}\"\n    owner: o\n  - id: a\n    hash: \"{hash}\"\n    owner: p\n"
    ));
    assert!(e.contains("keys.yaml:5:") && e.contains("duplicate"), "{e}");
    let e = load_err(&format!(
        "keys:\n  - id: a_b\n    hash: \"{hash}\"\n    owner: o\n"
    ));
    assert!(e.contains("/keys/0/id"), "{e}");
    let e = load_err("keys: [\n");
    assert!(e.contains("keys.yaml"), "{e}");
}

#[test]
fn load_reads_a_file_and_names_a_missing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (presented, yaml) = key("file-key", "");
    let path = dir.path().join("keys.yaml");
    std::fs::write(&path, format!("keys:\n{yaml}")).expect("write");
    let keys = ApiKeys::load(&path, &roles()).expect("load");
    assert!(keys.verify(&presented, NOW).is_ok());
    let missing = dir.path().join("nope.yaml");
    let e = ApiKeys::load(&missing, &roles()).expect_err("missing");
    assert!(e.to_string().contains("nope.yaml"), "{e}");
}
