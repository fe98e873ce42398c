//! JWT attacks on the first user's token, against a probe operation that really requires
//! authentication (its anonymous call is refused, so an endpoint that never needed a token
//! cannot give a false positive):
//!
//! * `alg: none` with the same claims and no signature (JWT-001);
//! * the token with its signature stripped (JWT-002);
//! * the token with its subject changed to the second user's, signature kept (JWT-003),
//!   confirmed when the answer is the second user's own answer;
//! * offline, without any request: an HMAC-signed token whose secret is on the built-in
//!   list of common secrets (JWT-004).

use jsonwebtoken::{Algorithm, DecodingKey};
use portcullis_spec::Method;
use serde_json::Value;

use super::{has_content, same_data};
use crate::http::Exchange;
use crate::scan::{Scan, Stop};
use crate::session::{Jwt, Who};

/// The secret of an HMAC-signed JWT, when it is on the built-in list.
pub fn crack(jwt: &Jwt) -> Option<String> {
    let alg = match jwt.alg() {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        _ => return None,
    };
    super::secrets::candidates().into_iter().find(|secret| {
        jsonwebtoken::crypto::verify(
            &jwt.signature,
            jwt.signing_input.as_bytes(),
            &DecodingKey::from_secret(secret.as_bytes()),
            alg,
        )
        .unwrap_or(false)
    })
}

/// The offline part: weak HMAC secrets of the identities' tokens.
pub fn offline(scan: &mut Scan<'_>) {
    let sessions: Vec<(Who, String, Jwt)> = (0..scan.users.len())
        .map(Who::User)
        .chain(scan.admin.iter().map(|_| Who::Admin))
        .filter_map(|w| {
            let s = scan.session(w)?;
            Some((w, s.name.clone(), s.jwt()?))
        })
        .collect();
    for (who, name, jwt) in sessions {
        let Some(secret) = crack(&jwt) else { continue };
        let Some(record) = scan.records.iter().find(|r| r.who == who) else {
            continue;
        };
        let (op, exchange) = (record.op, record.exchange.clone());
        let shown: String = secret.chars().take(2).collect();
        scan.report(
            "PC-SCAN-JWT-004",
            None,
            &exchange,
            format!(
                "{name}'s token is signed with {} and a secret from the list of common secrets ({shown}…, {} characters)",
                jwt.alg(),
                secret.chars().count()
            ),
            format!(
                "the token's signature verifies with that secret (checked offline, no request sent); the token was used for operation #{op}"
            ),
        );
        break;
    }
}

/// A probe: a secured GET answered with data for the first user and refused anonymously,
/// with the first user's answer to it now.
pub async fn probe(scan: &mut Scan<'_>) -> Result<Option<(usize, Exchange)>, Stop> {
    let me = crate::engine::me_operation(scan.catalog);
    let mut candidates: Vec<(usize, Exchange)> = scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && has_content(&r.exchange))
        .filter(|r| {
            scan.op(r.op)
                .is_some_and(|o| o.method == Method::Get && super::authn::secured(o))
        })
        .map(|r| (r.op, r.exchange.clone()))
        .collect();
    candidates.sort_by_key(|(op, _)| Some(*op) != me);
    for (op, exchange) in candidates.into_iter().take(3) {
        let anonymous = scan.as_who(exchange.request.clone(), Who::Anon);
        let Some(answer) = scan.send(anonymous, Some(op)).await? else {
            continue;
        };
        if matches!(answer.status, 401 | 403) {
            // What the real token gets now (the data may have changed since exploring).
            let again = scan.as_who(exchange.request.clone(), Who::User(0));
            return Ok(match scan.send(again, Some(op)).await? {
                Some(fresh) if has_content(&fresh) => Some((op, fresh)),
                _ => None,
            });
        }
    }
    Ok(None)
}

/// The active part: forged tokens against the probe.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let Some(session) = scan.users.first() else {
        return Ok(());
    };
    let (Some(jwt), Some(token)) = (session.jwt(), session.token.clone()) else {
        return Ok(());
    };
    let name = session.name.clone();
    let Some((op, mine)) = probe(scan).await? else {
        scan.notes
            .push("JWT checks: no secured operation that refuses anonymous calls to probe".into());
        return Ok(());
    };
    let mut none_header = jwt.header.clone();
    if let Some(h) = none_header.as_object_mut() {
        h.insert("alg".into(), Value::String("none".into()));
        h.remove("kid");
    }
    let mut attacks = vec![
        (
            "PC-SCAN-JWT-001",
            Jwt::encode(&none_header, &jwt.claims, ""),
            "an unsigned token (alg: none) with the same claims",
        ),
        (
            "PC-SCAN-JWT-002",
            format!("{}.", jwt.signing_input),
            "the token with its signature removed",
        ),
    ];
    // Impersonation: the second user's subject in the first user's signed token.
    let other = scan.users.get(1).and_then(|s| {
        let sub = s.jwt()?.claims.get("sub")?.as_str()?.to_owned();
        Some((s.name.clone(), sub))
    });
    let theirs = scan.record(op, Who::User(1)).map(|r| r.exchange.clone());
    if let (Some((_, sub)), Some(theirs)) = (&other, &theirs)
        && !same_data(theirs, &mine)
        && has_content(theirs)
    {
        let mut claims = jwt.claims.clone();
        if let Some(c) = claims.as_object_mut() {
            c.insert("sub".into(), Value::String(sub.clone()));
        }
        let header = jwt.signing_input.split('.').next().unwrap_or("");
        let forged = Jwt::encode(&Value::Null, &claims, &jwt.signature);
        let payload = forged.split('.').nth(1).unwrap_or("");
        attacks.push((
            "PC-SCAN-JWT-003",
            format!("{header}.{payload}.{}", jwt.signature),
            "the token with its subject changed to the second user's, signature unchanged",
        ));
    }
    for (rule, forged, what) in attacks {
        let mut request = scan.as_who(mine.request.clone(), Who::Anon);
        request.set_header(&token.header, format!("{}{forged}", token.prefix));
        let Some(answer) = scan.send(request, Some(op)).await? else {
            continue;
        };
        let (accepted, proof) = if rule == "PC-SCAN-JWT-003" {
            let other_name = other.as_ref().map(|o| o.0.clone()).unwrap_or_default();
            let ok = theirs.as_ref().is_some_and(|t| same_data(&answer, t));
            (
                ok,
                format!(
                    "the answer is {other_name}'s own data (identical to {other_name}'s read), not {name}'s; anonymous calls are refused"
                ),
            )
        } else {
            (
                same_data(&answer, &mine),
                format!(
                    "the answer is identical to {name}'s answer with the real token; the same request without a token is refused"
                ),
            )
        };
        if accepted {
            scan.report(
                rule,
                Some(op),
                &answer,
                format!(
                    "{} {} accepted {what}",
                    answer.request.method,
                    crate::plan::path_only(&answer.request.path)
                ),
                proof,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    #[test]
    fn weak_hmac_secrets_are_found_offline_and_strong_ones_are_not() {
        let claims = json!({"sub": "alice", "exp": 4_000_000_000u64});
        let weak = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"random"),
        )
        .unwrap();
        assert_eq!(
            crack(&Jwt::decode(&weak).unwrap()).as_deref(),
            Some("random")
        );
        let strong = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"8f1c2e9a7b6d5f4e3c2b1a0998877665"),
        )
        .unwrap();
        assert_eq!(crack(&Jwt::decode(&strong).unwrap()), None);
    }
}
