//! A bearer token through the JWT verifier, over the local key set
//! `crates/gateway/tests/data/fuzz/jwks.json` (RSA, EC and Ed25519 keys; its symmetric and
//! encryption keys are dropped) and an HMAC issuer, at a fixed clock; nothing is fetched.
//! One line is the token; `header\nclaims` (any text) is signed with the HMAC secret first,
//! so the checks after the signature (times, audience, roles) are reached too.
//!
//! Never a panic. A principal only for a token whose signature verifies with its issuer's own
//! key (checked with jsonwebtoken directly), not expired, for the audience, with the token's
//! claims. A refusal never quotes the token. The same token again gets the same answer.
#![no_main]

mod common;

use std::sync::{Arc, LazyLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indexmap::IndexMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use libfuzzer_sys::fuzz_target;
use portcullis_gateway::identity::jwks::{self, KeySource};
use portcullis_gateway::identity::jwt::{Issuer, Verifier};
use serde_json::{Value, json};

const JWKS: &str = include_str!("../../crates/gateway/tests/data/fuzz/jwks.json");
const IDP: &str = "https://idp.test";
const HMAC_ISSUER: &str = "https://hmac.test";
const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-fuzz";
const LEEWAY: u64 = 30;
/// 2027-01-15.
const NOW: u64 = 1_800_000_000;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let keys = match jwks::parse("jwks.json", JWKS.as_bytes()) {
        Ok(keys) => keys,
        Err(e) => panic!("the fuzz target's own key set must load: {e}"),
    };
    assert_eq!(keys.len(), 3, "{keys:?}");
    let roles = IndexMap::from([("teller".to_owned(), vec!["accounts:read".to_owned()])]);
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
    Verifier::new(issuers, roles, Arc::new(|| NOW))
});

/// The key a token of `issuer` signed with `alg` verifies with, independently of the
/// verifier: the HMAC secret or the key set's public key of that type.
fn key_of(issuer: &str, alg: Algorithm) -> Option<DecodingKey> {
    let kid = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return (issuer == HMAC_ISSUER).then(|| DecodingKey::from_secret(HMAC_SECRET));
        }
        Algorithm::ES256 => "ec1",
        Algorithm::EdDSA => "ed1",
        _ => "k1",
    };
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(JWKS).ok()?;
    let key = DecodingKey::from_jwk(set.find(kid)?).ok()?;
    (issuer == IDP).then_some(key)
}

/// One line is the token; `header\nclaims` is signed with the HMAC secret (HS384 or HS512
/// when the header names it, else HS256).
fn token_of(text: &str) -> String {
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
    let key = EncodingKey::from_secret(HMAC_SECRET);
    match jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg) {
        Ok(signature) => format!("{message}.{signature}"),
        Err(e) => panic!("HMAC signing cannot fail: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let token = token_of(text);
    let first = common::block_on(VERIFIER.verify(&token));
    match &first {
        Ok(principal) => {
            let alg = match jsonwebtoken::decode_header(&token) {
                Ok(header) => header.alg,
                Err(e) => panic!("accepted, but jsonwebtoken cannot read the header: {e}"),
            };
            let Some(key) = key_of(&principal.issuer, alg) else {
                panic!(
                    "accepted {alg:?} from {}, which has no such key",
                    principal.issuer
                );
            };
            let mut validation = Validation::new(alg);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            let claims = match jsonwebtoken::decode::<Value>(&token, &key, &validation) {
                Ok(decoded) => decoded.claims,
                Err(e) => panic!("accepted, but the signature does not verify: {e}"),
            };
            assert_eq!(&claims, principal.claims.as_ref());
            assert_eq!(
                claims.get("iss").and_then(Value::as_str),
                Some(principal.issuer.as_str())
            );
            let exp = claims.get("exp").and_then(Value::as_f64).unwrap_or(-1.0);
            assert!(exp + LEEWAY as f64 > NOW as f64, "{claims}");
            if principal.issuer == IDP {
                let aud = claims.get("aud").cloned().unwrap_or_default();
                assert!(
                    aud == "api" || aud.as_array().is_some_and(|a| a.contains(&json!("api"))),
                    "{claims}"
                );
            }
        }
        Err(f) => {
            let message = f.to_string();
            assert!(!message.is_empty() && !f.code().is_empty());
            assert_eq!(f.status(), 401);
            if token.matches('.').count() >= 2 {
                assert!(!message.contains(&token), "{message}");
            }
        }
    }
    let again = common::block_on(VERIFIER.verify(&token));
    assert_eq!(
        first.as_ref().map_err(ToString::to_string),
        again.as_ref().map_err(ToString::to_string)
    );
});
