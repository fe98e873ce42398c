use super::*;

fn kinds(text: &str) -> Vec<Kind> {
    find(
        text,
        Options {
            emails: true,
            phones: true,
        },
    )
    .into_iter()
    .map(|(k, _)| k)
    .collect()
}

#[test]
fn cards() {
    for t in [
        "4111111111111111",
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "378282246310005",
        "6011111111111117",
        "card 4012888888881881 exp 12/29",
        "2223003122003222",
        "3530111333300000",
    ] {
        assert_eq!(kinds(t), [Kind::Card], "{t}");
    }
    for t in [
        "4111111111111112",
        "1234567890123456",
        "order 12345678901234567890",
        "41111111111111110",
        "4111-1111 1111-1111",
        "3.4111111111111111",
        "9111111111111111",
    ] {
        assert!(!kinds(t).contains(&Kind::Card), "{t}");
    }
}

#[test]
fn ibans_and_ssns() {
    for t in [
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "FR1420041010050500013M02606",
    ] {
        assert_eq!(kinds(t), [Kind::Iban], "{t}");
    }
    for t in [
        "DE89370400440532013001",
        "DE8937040044053201300",
        "XX89370400440532013000",
    ] {
        assert!(kinds(t).is_empty(), "{t}");
    }
    assert_eq!(kinds("ssn: 123-45-6789"), [Kind::Ssn]);
    for t in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "123-45-67890",
        "2024-01-1234",
    ] {
        assert!(kinds(t).is_empty(), "{t}");
    }
}

#[test]
fn keys_tokens_hashes() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
    let cases: &[(&str, Kind)] = &[
        (pem, Kind::PrivateKey),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn",
            Kind::PrivateKey,
        ),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            Kind::Jwt,
        ),
        ("AKIAIOSFODNN7EXAMPLE", Kind::CloudKey),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Kind::CloudKey,
        ),
        ("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", Kind::CloudKey),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", Kind::CloudKey),
        (
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            Kind::CloudKey,
        ),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", Kind::CloudKey),
        (
            "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",
            Kind::CloudKey,
        ),
        ("SK0123456789abcdef0123456789abcdef", Kind::CloudKey),
        (
            "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;",
            Kind::CloudKey,
        ),
        (
            "$2b$12$KIXQJKb1v4cZ6Q9m0b8lQe7nQ7u6hQ0eGZQm5JrQm3x1Kq9y8x1aW",
            Kind::PasswordHash,
        ),
        (
            "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            Kind::PasswordHash,
        ),
        (
            "$6$rounds=5000$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
            Kind::PasswordHash,
        ),
        (
            "pbkdf2_sha256$600000$abcdefghijkl$Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg=",
            Kind::PasswordHash,
        ),
        (
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            Kind::PasswordHash,
        ),
        ("mail me at jane.doe+x@example.co.uk today", Kind::Email),
        ("call +44 20 7946 0958", Kind::Phone),
    ];
    for (t, k) in cases {
        assert_eq!(kinds(t), [*k], "{t}");
    }
    for t in [
        "AKIA is a prefix",
        "eyJ.not.a.jwt",
        "$2b$ short",
        "the price is $5.00",
        "-----BEGIN CERTIFICATE-----",
        "a@b",
        "user@localhost",
        "+1 2",
        "SKU-12345",
        "Skeleton",
    ] {
        assert!(kinds(t).is_empty(), "{t}");
    }
    assert!(find("jane@example.com +14155550123", Options::default()).is_empty());
}

#[test]
fn ranges() {
    let t = "pay 4111 1111 1111 1111 now";
    assert_eq!(find(t, Options::default()), [(Kind::Card, 4..23)]);
}

fn masked(body: &str) -> (String, Vec<&'static str>) {
    let m = mask_json(body.as_bytes(), Options::default()).unwrap();
    let out = m
        .body
        .map(|b| String::from_utf8(b).unwrap())
        .unwrap_or_else(|| body.to_owned());
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
    let scanned = scan_json(body.as_bytes(), Options::default()).unwrap();
    assert_eq!(scanned, m.kinds);
    (out, m.kinds.iter().map(Kind::name).collect())
}

#[test]
fn mask_json_in_place_and_secret_names() {
    let (out, k) = masked(r#"{"card":"4111 1111 1111 1111","note":"ok","n":[1,2.5e3,true,null]}"#);
    assert_eq!(
        out,
        r#"{"card":"**** **** **** 1111","note":"ok","n":[1,2.5e3,true,null]}"#
    );
    assert_eq!(k, ["card"]);
    let (out, k) = masked(
        r#"{"user":{"password_hash":"$2b$12$KIXQJKb1v4cZ6Q9m0b8lQe7nQ7u6hQ0eGZQm5JrQm3x1Kq9y8x1aW","token_type":"bearer","pin":1234}}"#,
    );
    assert_eq!(
        out,
        r#"{"user":{"password_hash":"***","token_type":"bearer","pin":"***"}}"#
    );
    assert_eq!(k, ["secret_name"]);
    let (out, _) = masked(r#"[4111111111111111, "x"]"#);
    assert_eq!(out, r#"["************1111", "x"]"#);
}

#[test]
fn mask_json_escapes() {
    let (out, k) = masked(
        r#"{"c":"\u0034111111111111111 \"q\"","k":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}"#,
    );
    assert_eq!(k, ["card", "private_key"]);
    assert!(
        out.starts_with(r#"{"c":"*****************1111 \"q\"","k":"*"#),
        "{out}"
    );
    let (out, _) = masked(r#"{"note":"plain \u00e9 text"}"#);
    assert_eq!(out, r#"{"note":"plain \u00e9 text"}"#);
    let m = mask_json(br#"{"a":"nothing here"}"#, Options::default()).unwrap();
    assert_eq!(m.body, None);
    assert!(m.kinds.is_empty());
}

#[test]
fn invalid_json_is_an_error() {
    for bad in [
        &b"{"[..],
        b"{\"a\":}",
        b"[1,]",
        b"\"abc",
        b"{\"a\":1}x",
        b"[01]",
        b"\"\\q\"",
        b"\"a\x01\"",
        b"\xff",
        b"",
        b"[1 2]",
        b"{\"a\" 1}",
        b"tru",
        b"{]",
    ] {
        assert!(
            mask_json(bad, Options::default()).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let deep = "[".repeat(MAX_DEPTH_TEST) + &"]".repeat(MAX_DEPTH_TEST);
    assert!(matches!(
        scan_json(deep.as_bytes(), Options::default()),
        Err(Error::TooDeep { .. })
    ));
    for good in [
        "1",
        " \"s\" ",
        "[]",
        "{}",
        "[[],{}]",
        "{\"a\":[{\"b\":-0.5E+2}]}",
    ] {
        assert!(
            scan_json(good.as_bytes(), Options::default()).is_ok(),
            "{good}"
        );
    }
}

const MAX_DEPTH_TEST: usize = json::MAX_DEPTH + 1;

#[test]
fn kinds_set() {
    let mut k = Kinds::default();
    assert!(k.is_empty());
    k.insert(Kind::Jwt);
    k.insert(Kind::Card);
    assert!(k.contains(Kind::Jwt) && !k.contains(Kind::Iban));
    assert_eq!(k.iter().collect::<Vec<_>>(), [Kind::Card, Kind::Jwt]);
    assert_eq!(Kind::PasswordHash.name(), "password_hash");
}
