//! Forged and invalid credentials, each refused with its exact failure, and valid ones
//! accepted, with real keys (tests/data/keys, made with `openssl genpkey`).

use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::EncodingKey;
use serde_json::json;

use super::*;

macro_rules! key_file {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/keys/",
            $name
        ))
    };
}

const RSA: &[u8] = key_file!("rsa.pem");
const RSA_PUB: &[u8] = key_file!("rsa.pub.pem");
const ATTACKER: &[u8] = key_file!("rsa-attacker.pem");
const EC256: &[u8] = key_file!("ec256.pem");
const EC256_PUB: &[u8] = key_file!("ec256.pub.pem");
const EC384: &[u8] = key_file!("ec384.pem");
const EC384_PUB: &[u8] = key_file!("ec384.pub.pem");
const ED: &[u8] = key_file!("ed25519.pem");
const ED_PUB: &[u8] = key_file!("ed25519.pub.pem");
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-hmac";

const NOW: u64 = 1_800_000_000;
const IDP: &str = "https://idp.test";
const HMAC: &str = "https://hmac.test";
const RS_ONLY: &str = "https://rs-only.test";
const TWO_KEYS: &str = "https://two-keys.test";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA).expect("rsa")
}

fn key(kid: &str, kty: &'static str, key: DecodingKey) -> Key {
    Key {
        kid: Some(kid.to_owned()),
        alg: None,
        kty,
        key,
    }
}

fn issuer(name: &str, algorithms: &[Algorithm], keys: Vec<Key>, secret: bool) -> Issuer {
    Issuer {
        issuer: name.to_owned(),
        audiences: vec!["api".to_owned()],
        algorithms: algorithms.to_vec(),
        leeway: 30,
        keys: KeySource::Static(Arc::new(keys)),
        secret: secret.then(|| DecodingKey::from_secret(SECRET)),
        roles_claim: "roles".to_owned(),
    }
}

/// A verifier over four issuers and a clock the test moves.
fn verifier() -> (Verifier, Arc<AtomicU64>) {
    use Algorithm::*;
    let rsa_pub = || DecodingKey::from_rsa_pem(RSA_PUB).expect("rsa pub");
    let idp_keys = vec![
        key("rsa", "RSA", rsa_pub()),
        key(
            "ec256",
            "EC",
            DecodingKey::from_ec_pem(EC256_PUB).expect("ec256"),
        ),
        key(
            "ec384",
            "EC",
            DecodingKey::from_ec_pem(EC384_PUB).expect("ec384"),
        ),
        key("ed", "OKP", DecodingKey::from_ed_pem(ED_PUB).expect("ed")),
    ];
    let all = [
        RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
    ];
    let issuers = vec![
        issuer(IDP, &all, idp_keys, false),
        issuer(
            HMAC,
            &[HS256, HS384, HS512, RS256],
            vec![key("rsa", "RSA", rsa_pub())],
            true,
        ),
        issuer(RS_ONLY, &[RS256], vec![key("rsa", "RSA", rsa_pub())], false),
        issuer(
            TWO_KEYS,
            &[RS256],
            vec![key("a", "RSA", rsa_pub()), key("b", "RSA", rsa_pub())],
            false,
        ),
    ];
    let mut roles = IndexMap::new();
    roles.insert(
        "teller".to_owned(),
        vec!["accounts:read".to_owned(), "accounts:write".to_owned()],
    );
    let now = Arc::new(AtomicU64::new(NOW));
    let clock_now = now.clone();
    let clock: Clock = Arc::new(move || clock_now.load(Ordering::SeqCst));
    (Verifier::new(issuers, roles, clock), now)
}

fn claims(iss: &str) -> Value {
    json!({ "iss": iss, "sub": "alice", "aud": "api", "exp": NOW + 600, "iat": NOW - 10 })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    if let Some(map) = claims.as_object_mut() {
        if value.is_null() {
            map.remove(name);
        } else {
            map.insert(name.to_owned(), value);
        }
    }
    claims
}

/// Signs `header`.`claims` with `key` under `alg` (the header is taken as given).
fn signed(header: Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{sig}")
}

fn token(alg: Algorithm, kid: &str, claims: &Value, key: &EncodingKey) -> String {
    signed(
        json!({ "alg": format!("{alg:?}"), "kid": kid, "typ": "JWT" }),
        claims,
        key,
        alg,
    )
}

fn unsigned(header: Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(sig)
    )
}

fn rs256(claims: &Value) -> String {
    token(Algorithm::RS256, "rsa", claims, &rsa())
}

#[tokio::test]
async fn forty_forged_or_invalid_credentials_and_the_valid_ones() {
    use Algorithm::*;
    let (v, _) = verifier();
    let ok = claims(IDP);
    let rsa = rsa();
    let ec256 = EncodingKey::from_ec_pem(EC256).expect("ec256");
    let ec384 = EncodingKey::from_ec_pem(EC384).expect("ec384");
    let ed = EncodingKey::from_ed_pem(ED).expect("ed");
    let attacker = EncodingKey::from_rsa_pem(ATTACKER).expect("attacker");
    let hmac = EncodingKey::from_secret(SECRET);
    let valid = rs256(&ok);
    let mut parts = valid.split('.');
    let (h, c, s) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let tampered_claims = format!(
        "{h}.{}.{s}",
        b64(with(ok.clone(), "sub", json!("mallory"))
            .to_string()
            .as_bytes())
    );
    let tampered_header = format!(
        "{}.{c}.{s}",
        b64(json!({ "alg": "RS256", "kid": "rsa", "typ": "at+jwt" })
            .to_string()
            .as_bytes())
    );
    let none = |alg: &str| unsigned(json!({ "alg": alg, "typ": "JWT" }), &ok, b"");
    let attacker_header = |extra: (&str, Value)| {
        let mut header = json!({ "alg": "RS256", "kid": "rsa" });
        if let Some(map) = header.as_object_mut() {
            map.insert(extra.0.to_owned(), extra.1);
        }
        signed(header, &ok, &attacker, RS256)
    };
    let attacker_jwk = json!({ "kty": "RSA", "n": "attacker-modulus", "e": "AQAB", "kid": "rsa" });
    let zero_sig = |alg: Algorithm, kid: &str, len: usize| {
        unsigned(
            json!({ "alg": format!("{alg:?}"), "kid": kid }),
            &ok,
            &vec![0u8; len],
        )
    };
    let malformed = || AuthFailure::Malformed(String::new());

    type Case = (&'static str, String, Result<(), AuthFailure>);
    let cases: Vec<Case> = vec![
        // Valid: every asymmetric algorithm, HMAC with a configured secret.
        ("RS256", valid.clone(), Ok(())),
        ("RS384", token(RS384, "rsa", &ok, &rsa), Ok(())),
        ("RS512", token(RS512, "rsa", &ok, &rsa), Ok(())),
        ("PS256", token(PS256, "rsa", &ok, &rsa), Ok(())),
        ("PS384", token(PS384, "rsa", &ok, &rsa), Ok(())),
        ("PS512", token(PS512, "rsa", &ok, &rsa), Ok(())),
        ("ES256", token(ES256, "ec256", &ok, &ec256), Ok(())),
        ("ES384", token(ES384, "ec384", &ok, &ec384), Ok(())),
        ("EdDSA", token(EdDSA, "ed", &ok, &ed), Ok(())),
        (
            "HS256 with secret",
            token(HS256, "s", &claims(HMAC), &hmac),
            Ok(()),
        ),
        (
            "HS384 with secret",
            token(HS384, "s", &claims(HMAC), &hmac),
            Ok(()),
        ),
        (
            "HS512 with secret",
            token(HS512, "s", &claims(HMAC), &hmac),
            Ok(()),
        ),
        (
            "expired within leeway",
            rs256(&with(ok.clone(), "exp", json!(NOW - 10))),
            Ok(()),
        ),
        (
            "audience array naming us",
            rs256(&with(ok.clone(), "aud", json!(["other", "api"]))),
            Ok(()),
        ),
        (
            "no kid, one key of the type",
            signed(json!({ "alg": "RS256" }), &ok, &rsa, RS256),
            Ok(()),
        ),
        // alg none, in several spellings.
        ("alg none", none("none"), Err(AuthFailure::AlgNone)),
        ("alg None", none("None"), Err(AuthFailure::AlgNone)),
        ("alg NONE", none("NONE"), Err(AuthFailure::AlgNone)),
        ("alg nOnE", none("nOnE"), Err(AuthFailure::AlgNone)),
        (
            "alg none with a signature",
            unsigned(json!({ "alg": "none" }), &ok, b"sig"),
            Err(AuthFailure::AlgNone),
        ),
        // Algorithms outside the issuer's allowlist.
        (
            "PS256 for an RS256-only issuer",
            token(PS256, "rsa", &claims(RS_ONLY), &rsa),
            Err(AuthFailure::AlgNotAllowed("PS256".to_owned())),
        ),
        (
            "ES256 for an RS256-only issuer",
            token(ES256, "rsa", &claims(RS_ONLY), &ec256),
            Err(AuthFailure::AlgNotAllowed("ES256".to_owned())),
        ),
        (
            "HS256 without a secret",
            token(HS256, "rsa", &ok, &hmac),
            Err(AuthFailure::AlgNotAllowed("HS256".to_owned())),
        ),
        (
            "unknown alg",
            unsigned(json!({ "alg": "XS999" }), &ok, b"x"),
            Err(AuthFailure::AlgNotAllowed("XS999".to_owned())),
        ),
        (
            "alg not a string",
            unsigned(json!({ "alg": 256 }), &ok, b"x"),
            Err(malformed()),
        ),
        // Algorithm confusion: HMAC keyed with the RSA public key PEM.
        (
            "HS256 keyed with the RSA public key (no secret)",
            token(HS256, "rsa", &ok, &EncodingKey::from_secret(RSA_PUB)),
            Err(AuthFailure::AlgNotAllowed("HS256".to_owned())),
        ),
        (
            "HS256 keyed with the RSA public key (secret issuer)",
            token(
                HS256,
                "rsa",
                &claims(HMAC),
                &EncodingKey::from_secret(RSA_PUB),
            ),
            Err(AuthFailure::BadSignature),
        ),
        (
            "RS256 token relabelled HS256",
            format!("{}.{c}.{s}", b64(br#"{"alg":"HS256","kid":"rsa"}"#)),
            Err(AuthFailure::AlgNotAllowed("HS256".to_owned())),
        ),
        // Tampering and wrong keys.
        (
            "tampered claims",
            tampered_claims,
            Err(AuthFailure::BadSignature),
        ),
        (
            "tampered header",
            tampered_header,
            Err(AuthFailure::BadSignature),
        ),
        (
            "signature of another token",
            format!(
                "{h}.{c}.{}",
                rs256(&with(ok.clone(), "sub", json!("bob")))
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
            ),
            Err(AuthFailure::BadSignature),
        ),
        (
            "wrong key, right kid",
            token(RS256, "rsa", &ok, &attacker),
            Err(AuthFailure::BadSignature),
        ),
        (
            "unknown kid",
            token(RS256, "nope", &ok, &rsa),
            Err(AuthFailure::UnknownKey("nope".to_owned())),
        ),
        (
            "kid of a key of another type",
            token(ES256, "rsa", &ok, &ec256),
            Err(AuthFailure::UnknownKey("rsa".to_owned())),
        ),
        (
            "no kid with several keys",
            signed(json!({ "alg": "RS256" }), &claims(TWO_KEYS), &rsa, RS256),
            Err(AuthFailure::UnknownKey("(none)".to_owned())),
        ),
        (
            "HS256 with the wrong secret",
            token(
                HS256,
                "s",
                &claims(HMAC),
                &EncodingKey::from_secret(b"guess"),
            ),
            Err(AuthFailure::BadSignature),
        ),
        // Keys named by the token itself are never used.
        (
            "jku to an attacker key set",
            attacker_header(("jku", json!("http://attacker.test/jwks.json"))),
            Err(AuthFailure::BadSignature),
        ),
        (
            "x5u to an attacker certificate",
            attacker_header(("x5u", json!("http://attacker.test/cert.pem"))),
            Err(AuthFailure::BadSignature),
        ),
        (
            "embedded attacker jwk",
            attacker_header(("jwk", attacker_jwk)),
            Err(AuthFailure::BadSignature),
        ),
        (
            "crit header",
            unsigned(
                json!({ "alg": "RS256", "kid": "rsa", "crit": ["exp"] }),
                &ok,
                b"x",
            ),
            Err(AuthFailure::Crit(r#"["exp"]"#.to_owned())),
        ),
        // CVE-2022-21449 shape: all-zero ECDSA signatures of the right length.
        (
            "ES256 r=0 s=0",
            zero_sig(ES256, "ec256", 64),
            Err(AuthFailure::BadSignature),
        ),
        (
            "ES384 r=0 s=0",
            zero_sig(ES384, "ec384", 96),
            Err(AuthFailure::BadSignature),
        ),
        (
            "EdDSA all-zero signature",
            zero_sig(EdDSA, "ed", 64),
            Err(AuthFailure::BadSignature),
        ),
        (
            "RS256 empty signature",
            zero_sig(RS256, "rsa", 0),
            Err(AuthFailure::BadSignature),
        ),
        // Time claims.
        (
            "expired",
            rs256(&with(ok.clone(), "exp", json!(NOW - 100))),
            Err(AuthFailure::Expired),
        ),
        (
            "expired at leeway's edge",
            rs256(&with(ok.clone(), "exp", json!(NOW - 30))),
            Err(AuthFailure::Expired),
        ),
        (
            "nbf in the future",
            rs256(&with(ok.clone(), "nbf", json!(NOW + 100))),
            Err(AuthFailure::NotYetValid),
        ),
        (
            "iat in the future",
            rs256(&with(ok.clone(), "iat", json!(NOW + 100))),
            Err(AuthFailure::IssuedInFuture),
        ),
        (
            "missing exp",
            rs256(&with(ok.clone(), "exp", Value::Null)),
            Err(AuthFailure::Claim("exp")),
        ),
        (
            "string exp",
            rs256(&with(ok.clone(), "exp", json!((NOW + 600).to_string()))),
            Err(AuthFailure::Claim("exp")),
        ),
        (
            "negative exp",
            rs256(&with(ok.clone(), "exp", json!(-1))),
            Err(AuthFailure::Claim("exp")),
        ),
        (
            "string nbf",
            rs256(&with(ok.clone(), "nbf", json!("soon"))),
            Err(AuthFailure::Claim("nbf")),
        ),
        // Audience and issuer.
        (
            "wrong audience",
            rs256(&with(ok.clone(), "aud", json!("other"))),
            Err(AuthFailure::WrongAudience),
        ),
        (
            "audience array without us",
            rs256(&with(ok.clone(), "aud", json!(["a", "b"]))),
            Err(AuthFailure::WrongAudience),
        ),
        (
            "missing audience",
            rs256(&with(ok.clone(), "aud", Value::Null)),
            Err(AuthFailure::WrongAudience),
        ),
        (
            "unknown issuer",
            rs256(&claims("https://evil.test")),
            Err(AuthFailure::UnknownIssuer),
        ),
        (
            "missing iss",
            rs256(&with(ok.clone(), "iss", Value::Null)),
            Err(AuthFailure::Claim("iss")),
        ),
        (
            "iss not a string",
            rs256(&with(ok.clone(), "iss", json!(["https://idp.test"]))),
            Err(AuthFailure::Claim("iss")),
        ),
        // Shape.
        (
            "oversized token",
            format!("{valid}{}", "A".repeat(MAX_TOKEN_BYTES)),
            Err(AuthFailure::TooLarge(MAX_TOKEN_BYTES)),
        ),
        ("2 parts", format!("{h}.{c}"), Err(malformed())),
        ("4 parts", format!("{valid}.{s}"), Err(malformed())),
        ("empty", String::new(), Err(malformed())),
        (
            "non-base64 header",
            format!("!!!.{c}.{s}"),
            Err(malformed()),
        ),
        (
            "non-JSON header",
            format!("{}.{c}.{s}", b64(b"not json")),
            Err(malformed()),
        ),
        (
            "header is an array",
            format!("{}.{c}.{s}", b64(b"[1,2]")),
            Err(malformed()),
        ),
        (
            "non-JSON claims",
            format!("{h}.{}.{s}", b64(b"{\"iss\":")),
            Err(malformed()),
        ),
        (
            "no alg",
            unsigned(json!({ "kid": "rsa" }), &ok, b"x"),
            Err(malformed()),
        ),
        (
            "non-base64 signature",
            format!("{h}.{c}.***"),
            Err(malformed()),
        ),
    ];
    let rejected = cases.iter().filter(|(_, _, want)| want.is_err()).count();
    assert!(rejected >= 40, "{rejected} rejected cases");
    for (name, token, want) in cases {
        let got = v.verify(&token).await.map(|_| ());
        match (&got, &want) {
            (Err(AuthFailure::Malformed(_)), Err(AuthFailure::Malformed(_))) => {}
            _ => assert_eq!(got, want, "{name}"),
        }
        if let Err(f) = &got {
            assert!(
                !f.to_string().contains(&token) || token.is_empty(),
                "{name}: the message holds the token"
            );
        }
    }
}

#[tokio::test]
async fn roles_grant_scopes_and_scp_arrays_count() {
    let (v, _) = verifier();
    let c = with(
        with(claims(IDP), "roles", json!(["teller", "unmapped"])),
        "scope",
        json!("profile email"),
    );
    let p = v.verify(&rs256(&c)).await.expect("valid");
    let scopes: Vec<&str> = p.scopes.iter().map(String::as_str).collect();
    assert_eq!(
        scopes,
        ["accounts:read", "accounts:write", "email", "profile"]
    );
    assert!(p.roles.contains("teller") && p.roles.contains("unmapped"));
    assert_eq!(p.subject.as_deref(), Some("alice"));
    assert_eq!(p.issuer, IDP);
    let c = with(claims(IDP), "scp", json!(["x", "y", 3]));
    let p = v.verify(&rs256(&c)).await.expect("valid");
    assert_eq!(
        p.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
        ["x", "y"]
    );
    let c = with(claims(IDP), "roles", json!("teller"));
    let p = v.verify(&rs256(&c)).await.expect("valid");
    assert!(
        p.scopes.contains("accounts:write"),
        "a space-separated roles string works too"
    );
}

#[tokio::test]
async fn the_cache_returns_the_same_principal_until_expiry() {
    let (v, now) = verifier();
    let t = rs256(&with(claims(IDP), "exp", json!(NOW + 60)));
    let a = v.verify(&t).await.expect("valid");
    let b = v.verify(&t).await.expect("cached");
    assert!(
        Arc::ptr_eq(&a, &b),
        "a cache hit returns the same principal"
    );
    now.store(NOW + 60 + 29, Ordering::SeqCst);
    assert!(v.verify(&t).await.is_ok(), "still within leeway");
    now.store(NOW + 60 + 30, Ordering::SeqCst);
    assert_eq!(v.verify(&t).await.map(|_| ()), Err(AuthFailure::Expired));
    assert_eq!(
        v.verify(&t).await.map(|_| ()),
        Err(AuthFailure::Expired),
        "and again"
    );
    let uncached = verifier().0.without_cache();
    let a = uncached.verify(&t).await.expect("valid");
    let b = uncached.verify(&t).await.expect("valid");
    assert!(
        !Arc::ptr_eq(&a, &b),
        "without the cache each call verifies anew"
    );
}

/// A key set's Ed25519 key that names its `alg` (`EdDSA`) verifies EdDSA tokens: the key's
/// algorithm was kept upper-cased (`EDDSA`) and never matched, so every such token was refused
/// and each refusal refetched the key set.
#[tokio::test]
async fn an_ed25519_key_from_a_key_set_with_its_alg_verifies_eddsa_tokens() {
    use base64::engine::general_purpose::STANDARD;
    let pem = std::str::from_utf8(ED_PUB).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    // SubjectPublicKeyInfo for Ed25519: the last 32 bytes are the public key.
    let x = b64(&der[der.len() - 32..]);
    let set = json!({ "keys": [
        { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed-set", "alg": "EdDSA", "use": "sig" }
    ]});
    let keys = super::super::jwks::parse("test", set.to_string().as_bytes()).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].alg.as_deref(), Some("EdDSA"));
    let now = Arc::new(AtomicU64::new(NOW));
    let clock_now = now.clone();
    let clock: Clock = Arc::new(move || clock_now.load(Ordering::SeqCst));
    let v = Verifier::new(
        vec![issuer(IDP, &[Algorithm::EdDSA], keys, false)],
        IndexMap::new(),
        clock,
    );
    let ed = EncodingKey::from_ed_pem(ED).unwrap();
    let p = v
        .verify(&token(Algorithm::EdDSA, "ed-set", &claims(IDP), &ed))
        .await
        .expect("an EdDSA token verifies against the key set's Ed25519 key");
    assert_eq!(p.subject.as_deref(), Some("alice"));
}
