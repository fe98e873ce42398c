//! `gateway_jwt`: valid and nearly valid tokens, and texts the check signs.

use super::*;

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
