//! The demo identity provider: a fresh RSA key each run, RS256 access tokens, and the JWKS and
//! OpenID discovery documents a gateway needs to verify them for real.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{Value, json};

use crate::bank::TokenIssuer;

/// The audience of every token the demo IdP issues.
pub const AUDIENCE: &str = "bank";

/// Why the identity provider could not start or sign.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// RSA key generation or encoding failed.
    #[error("cannot create the demo signing key: {0}")]
    Key(String),
    /// Signing a token failed.
    #[error("cannot sign a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// An identity provider with one RSA signing key.
pub struct Idp {
    issuer: String,
    kid: String,
    key: EncodingKey,
    public: DecodingKey,
    jwk: Value,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("Idp")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    scope: String,
    roles: Vec<&'static str>,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Idp {
    /// Generates a 2048-bit RSA key for tokens whose `iss` is `issuer`
    /// (e.g. `http://127.0.0.1:8082/`).
    pub fn generate(issuer: impl Into<String>) -> Result<Idp, IdpError> {
        let mut rng = rand::thread_rng();
        let private =
            rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| IdpError::Key(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| IdpError::Key(e.to_string()))?;
        let n = private.n().to_bytes_be();
        let e = private.e().to_bytes_be();
        let kid = format!("demo-{}", b64(n.get(..9).unwrap_or(&n)));
        let public = DecodingKey::from_rsa_raw_components(&n, &e);
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(&n), "e": b64(&e)
        });
        Ok(Idp {
            issuer: issuer.into(),
            kid,
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            public,
            jwk,
        })
    }

    /// The `iss` of issued tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key id of the signing key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public keys, as a JWKS document.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// The OpenID discovery document.
    pub fn discovery(&self) -> Value {
        let base = self.issuer.trim_end_matches('/');
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/token"),
            "authorization_endpoint": format!("{base}/authorize"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"]
        })
    }

    /// Signs an RS256 access token.
    pub fn sign(&self, subject: &str, scopes: &[&str], ttl_secs: u64) -> Result<String, IdpError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let iat = now();
        let claims = Claims {
            iss: &self.issuer,
            aud: AUDIENCE,
            sub: subject,
            scope: scopes.join(" "),
            // The role the gateway's function-level guard checks: `admin` for holders of the
            // admin scope, `user` for everyone else.
            roles: if scopes.contains(&"admin") {
                vec!["admin"]
            } else {
                vec!["user"]
            },
            iat,
            nbf: iat,
            exp: iat + ttl_secs,
            jti: format!("{:x}", rand::random::<u64>()),
        };
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }

    /// The IdP's HTTP routes: `/.well-known/jwks.json` and `/.well-known/openid-configuration`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/.well-known/jwks.json",
                get(|State(idp): State<Arc<Idp>>| async move { Json(idp.jwks()) }),
            )
            .route(
                "/.well-known/openid-configuration",
                get(|State(idp): State<Arc<Idp>>| async move { Json(idp.discovery()) }),
            )
            .with_state(self)
    }
}

impl TokenIssuer for Idp {
    fn jwks(&self) -> Option<Value> {
        Some(Idp::jwks(self))
    }

    fn issue(&self, subject: &str, scopes: &[&str], ttl_secs: u64) -> Result<String, String> {
        self.sign(subject, scopes, ttl_secs)
            .map_err(|e| e.to_string())
    }

    fn verify(&self, token: &str) -> Option<Value> {
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[AUDIENCE]);
        v.set_issuer(&[self.issuer.as_str()]);
        jsonwebtoken::decode::<Value>(token, &self.public, &v)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_the_published_jwks() {
        let idp = Idp::generate("http://127.0.0.1:1/").unwrap();
        let token = idp.sign("alice", &["accounts:read"], 60).unwrap();
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(idp.jwks()).unwrap();
        let jwk = jwks.find(idp.kid()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[AUDIENCE]);
        v.set_issuer(&["http://127.0.0.1:1/"]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap();
        assert_eq!(data.claims["sub"], "alice");
        assert_eq!(data.claims["scope"], "accounts:read");
        assert!(!format!("{idp:?}").contains("PRIVATE"));
        assert_eq!(idp.verify(&token).unwrap()["sub"], "alice");
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[2] = "";
        assert!(idp.verify(&parts.join(".")).is_none());
    }
}
