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

/// Every wrong field of a key file is reported at once, each at its line, in the file's order.
#[test]
fn every_problem_of_a_key_file_is_reported_at_once() {
    let hash = format!("sha256:{}", "ab".repeat(32));
    let text = format!(
        "keys:\n  - id: a_b\n    hash: \"sha256:12\"\n    owner: o\n  - id: ok\n    hash: \"{hash}\"\n    owner: o\n    expires: soon\n  - id: ok\n    hash: \"{hash}\"\n    owner: p\n"
    );
    let Err(e) = ApiKeys::from_str_named("keys.yaml", &text, &roles()) else {
        panic!("a file with four mistakes loads");
    };
    let places: Vec<(u32, &str)> = e
        .located()
        .iter()
        .map(|l| (l.at.map_or(0, |(line, _)| line), l.field.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            (2, "/keys/0/id"),
            (3, "/keys/0/hash"),
            (8, "/keys/1/expires"),
            (9, "/keys/2/id"),
        ],
        "{e}"
    );
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 4, "{shown}");
    assert!(
        shown.lines().all(|l| l.starts_with("keys.yaml:")),
        "{shown}"
    );
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

mod properties {
    //! The key-file parser and the presented-key parser on arbitrary and mutated input: never
    //! a panic, errors always located, and only the exact key verifies.
    use super::*;
    use proptest::prelude::*;

    /// The fixture file's text, for mutation.
    fn fixture_text() -> String {
        let (_, g) = key("good", "");
        let (_, d) = key("off", "    disabled: true\n");
        let (_, e) = key("old", "    expires: \"2026-12-31T00:00:00Z\"\n");
        format!("keys:\n{g}{d}{e}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_presented_keys_never_verify(presented in "\\PC{0,300}") {
            let (keys, [good, ..]) = fixture();
            prop_assume!(presented != good);
            prop_assert!(keys.verify(&presented, NOW).is_err());
        }

        #[test]
        fn shaped_presented_keys_are_refused_with_a_reason(
            id in "[A-Za-z0-9_-]{0,70}",
            secret in "[A-Za-z0-9_=+/-]{0,300}",
        ) {
            let (keys, [good, ..]) = fixture();
            let presented = format!("pc_{id}_{secret}");
            prop_assume!(presented != good);
            let failure = keys.verify(&presented, NOW).err();
            prop_assert!(failure.is_some());
            // An id that is not in the file is never reported as anything but unknown/malformed.
            if !["good", "off", "old", "later"].contains(&id.as_str()) {
                prop_assert!(matches!(
                    failure,
                    Some(ApiKeyFailure::UnknownId | ApiKeyFailure::Malformed)
                ));
            }
        }

        #[test]
        fn one_changed_character_of_a_valid_key_is_refused(at in any::<usize>(), c in any::<char>()) {
            let (keys, [good, ..]) = fixture();
            let mut chars: Vec<char> = good.chars().collect();
            let i = at % chars.len();
            prop_assume!(chars[i] != c);
            chars[i] = c;
            let forged: String = chars.into_iter().collect();
            prop_assert!(keys.verify(&forged, NOW).is_err());
        }

        #[test]
        fn arbitrary_key_files_never_panic(text in "\\PC{0,400}") {
            if let Err(e) = ApiKeys::from_str_named("keys.yaml", &text, &roles()) {
                for located in e.located() {
                    let (line, column) = located.at.unwrap_or((0, 0));
                    prop_assert!(line >= 1 && column >= 1);
                }
            }
        }

        #[test]
        fn mutated_key_files_load_or_fail_located(
            at in any::<usize>(),
            cut in 0usize..40,
            insert in "\\PC{0,12}",
        ) {
            let text = fixture_text();
            let mut chars: Vec<char> = text.chars().collect();
            let i = at % chars.len();
            let end = (i + cut).min(chars.len());
            chars.splice(i..end, insert.chars());
            let mutated: String = chars.into_iter().collect();
            match ApiKeys::from_str_named("keys.yaml", &mutated, &roles()) {
                Ok(keys) => prop_assert!(keys.len() <= 3),
                Err(e @ (ApiKeyError::Invalid(_) | ApiKeyError::Several(_))) => {
                    for located in e.located() {
                        prop_assert_eq!(&located.file, "keys.yaml");
                        let (line, column) = located.at.unwrap_or((0, 0));
                        prop_assert!(line >= 1 && column >= 1);
                        prop_assert!(line as usize <= mutated.lines().count().max(1) + 1);
                    }
                }
                Err(ApiKeyError::Syntax(e)) => {
                    // A YAML error names the file, line and column: "keys.yaml:L:C ...".
                    let text = e.to_string();
                    let mut parts = text.splitn(4, ':');
                    prop_assert_eq!(parts.next(), Some("keys.yaml"), "{}", text);
                    let line: Option<u32> = parts.next().and_then(|l| l.parse().ok());
                    prop_assert!(line.is_some_and(|l| l >= 1), "{}", text);
                }
                Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
            }
        }

        #[test]
        fn rfc3339_round_trips_and_never_panics(
            secs in 0i64..253_402_300_799,
            junk in "\\PC{0,40}",
        ) {
            let t = time::OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let text = t
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parse_rfc3339(&text), u64::try_from(secs).ok());
            let _ = parse_rfc3339(&junk);
        }
    }
}
