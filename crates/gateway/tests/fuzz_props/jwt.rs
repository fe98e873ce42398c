//! `gateway_jwt`: bearer tokens through a verifier over a local key set.

use super::*;

pub(crate) const IDP: &str = "https://idp.test";
pub(crate) const HMAC_ISSUER: &str = "https://hmac.test";
pub(crate) const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-fuzz";
pub(crate) const LEEWAY: u64 = 30;

/// A verifier over a local key set (RSA, EC and Ed25519 keys; its symmetric and encryption
/// keys are dropped) and an HMAC issuer, at the fixed clock.
pub(crate) fn verifier() -> Verifier {
    let keys = jwks::parse("jwks.json", JWKS.as_bytes()).unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let issuers = vec![
        Issuer {
            issuer: IDP.to_owned(),
            audiences: vec!["api".to_owned()],
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA,
                // Allowed, but never with a key from the key set.
                Algorithm::HS256,
            ],
            leeway: LEEWAY,
            keys: KeySource::Static(Arc::new(keys)),
            secret: None,
            roles_claim: "roles".to_owned(),
        },
        Issuer {
            issuer: HMAC_ISSUER.to_owned(),
            audiences: Vec::new(),
            algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
            leeway: LEEWAY,
            keys: KeySource::Static(Arc::new(Vec::new())),
            secret: Some(DecodingKey::from_secret(HMAC_SECRET)),
            roles_claim: "roles".to_owned(),
        },
    ];
    Verifier::new(issuers, ROLES.clone(), Arc::new(|| NOW))
}

pub(crate) static VERIFIER: LazyLock<Verifier> = LazyLock::new(verifier);

/// The key a token of `issuer` signed with `alg` verifies with, independently of the
/// verifier: the HMAC secret or the key set's public key of that type.
pub(crate) fn key_of(issuer: &str, alg: Algorithm) -> Option<DecodingKey> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(JWKS).unwrap();
    let kid = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return (issuer == HMAC_ISSUER).then(|| DecodingKey::from_secret(HMAC_SECRET));
        }
        Algorithm::ES256 => "ec1",
        Algorithm::EdDSA => "ed1",
        _ => "k1",
    };
    let jwk = set.find(kid)?;
    (issuer == IDP).then(|| DecodingKey::from_jwk(jwk).unwrap())
}

/// The JWT target's input: a line is a token; `header\nclaims` (raw JSON text) is signed
/// with the HMAC secret (HS384 or HS512 when the header names it, else HS256).
pub(crate) fn token_of(text: &str) -> String {
    let Some((header, claims)) = text.split_once('\n') else {
        return text.to_owned();
    };
    let alg = if header.contains("HS512") {
        Algorithm::HS512
    } else if header.contains("HS384") {
        Algorithm::HS384
    } else {
        Algorithm::HS256
    };
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(HMAC_SECRET),
        alg,
    )
    .unwrap();
    format!("{message}.{signature}")
}

/// The JWT target: never a panic. A principal only for a token whose signature verifies
/// with its issuer's own key (checked with jsonwebtoken directly), not expired, for the
/// audience; its claims are the token's. A refusal never quotes the token. The same token
/// again gets the same answer (the second one from the cache).
pub(crate) fn check_jwt(text: &str) -> Result<(), TestCaseError> {
    let token = token_of(text);
    let first = block_on(VERIFIER.verify(&token));
    match &first {
        Ok(principal) => {
            let header = jsonwebtoken::decode_header(&token).unwrap();
            let key = key_of(&principal.issuer, header.alg);
            prop_assert!(key.is_some(), "{} {:?}", principal.issuer, header.alg);
            let mut validation = Validation::new(header.alg);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            let decoded = jsonwebtoken::decode::<Value>(&token, &key.unwrap(), &validation);
            prop_assert!(decoded.is_ok(), "{decoded:?}");
            let claims = decoded.unwrap().claims;
            prop_assert_eq!(&claims, principal.claims.as_ref());
            prop_assert_eq!(claims["iss"].as_str(), Some(principal.issuer.as_str()));
            let exp = claims["exp"].as_f64().unwrap_or(-1.0);
            prop_assert!(exp + LEEWAY as f64 > NOW as f64, "{claims}");
            if principal.issuer == IDP {
                let aud = &claims["aud"];
                prop_assert!(
                    aud == "api" || aud.as_array().is_some_and(|a| a.contains(&json!("api"))),
                    "{claims}"
                );
            }
        }
        Err(f) => {
            let message = f.to_string();
            prop_assert!(!message.is_empty() && !f.code().is_empty());
            prop_assert_eq!(f.status(), 401);
            if token.matches('.').count() >= 2 {
                prop_assert!(!message.contains(&token), "{message}");
            }
        }
    }
    let again = block_on(VERIFIER.verify(&token));
    prop_assert_eq!(
        first.as_ref().map_err(ToString::to_string),
        again.as_ref().map_err(ToString::to_string)
    );
    Ok(())
}

pub(crate) fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// Valid and nearly valid tokens of every kind, mutated by the tests and written as seeds.
pub(crate) static TOKENS_SIGNED: LazyLock<Vec<String>> = LazyLock::new(|| {
    let idp = json!({"iss": IDP, "sub": "alice", "aud": ["api", "x"], "exp": NOW + 3600,
        "nbf": NOW - 10, "iat": NOW - 10, "scope": "accounts:read", "roles": ["teller"]});
    let hmac = json!({"iss": HMAC_ISSUER, "sub": 42, "exp": NOW + 60, "scp": ["a", "b"],
        "roles": "auditor teller"});
    let expired = json!({"iss": IDP, "aud": "api", "exp": NOW - 3600});
    let rsa = EncodingKey::from_rsa_pem(RSA_PEM).unwrap();
    vec![
        sign(Algorithm::RS256, Some("k1"), &rsa, &idp),
        sign(Algorithm::RS256, None, &rsa, &idp),
        sign(
            Algorithm::ES256,
            Some("ec1"),
            &EncodingKey::from_ec_pem(EC256_PEM).unwrap(),
            &idp,
        ),
        sign(
            Algorithm::EdDSA,
            Some("ed1"),
            &EncodingKey::from_ed_pem(ED_PEM).unwrap(),
            &idp,
        ),
        sign(
            Algorithm::HS256,
            None,
            &EncodingKey::from_secret(HMAC_SECRET),
            &hmac,
        ),
        sign(
            Algorithm::HS512,
            None,
            &EncodingKey::from_secret(HMAC_SECRET),
            &hmac,
        ),
        // Refused: expired, forged with another key, PS256 with the key the set pins to RS256,
        // HMAC with a key-set key, alg none.
        sign(Algorithm::RS256, Some("k1"), &rsa, &expired),
        sign(
            Algorithm::RS256,
            Some("k1"),
            &EncodingKey::from_rsa_pem(ATTACKER_PEM).unwrap(),
            &idp,
        ),
        sign(Algorithm::PS256, Some("k1"), &rsa, &idp),
        sign(
            Algorithm::HS256,
            Some("hmac-in-jwks"),
            &EncodingKey::from_secret(b"secret"),
            &idp,
        ),
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(idp.to_string())
        ),
    ]
});

/// Header and claims texts the JWT target signs with the HMAC secret.
pub(crate) const TO_SIGN: [&str; 4] = [
    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}\n{\"iss\":\"https://hmac.test\",\"exp\":1800000100,\"nbf\":1799999990,\"iat\":1799999990,\"sub\":\"a\",\"scope\":\"x y\",\"roles\":[\"teller\"]}",
    "{\"alg\":\"HS384\"}\n{\"iss\":\"https://hmac.test\",\"exp\":1800000000.5,\"nbf\":1900000000}",
    "{\"alg\":\"HS512\",\"crit\":[\"b64\"]}\n{\"iss\":\"https://hmac.test\",\"exp\":1800000100}",
    "{\"alg\":\"HS256\"}\n{\"iss\":\"https://idp.test\",\"aud\":\"api\",\"exp\":1800000100}",
];
