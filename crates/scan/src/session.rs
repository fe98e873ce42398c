//! Who a request is sent as: nobody, one of the ordinary users, or the administrator, and
//! what each of them is (credentials, token, their own ids).

use base64::Engine;
use serde_json::Value;

use crate::config::Role;
use crate::evidence::Secret;

/// Who a request is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// No credentials.
    Anon,
    /// The n-th ordinary user of the configuration.
    User(usize),
    /// The administrator.
    Admin,
}

/// An identity, logged in.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its name in the configuration.
    pub name: String,
    /// Ordinary user or administrator.
    pub role: Role,
    /// The headers that carry its credentials.
    pub credentials: Vec<(String, String)>,
    /// The bearer token, when its credentials are one (from a login or an
    /// `Authorization: Bearer` header).
    pub token: Option<Token>,
    /// Its own ids (token `sub`, and `id`/`username` read back from a `/me`-like operation).
    pub self_ids: Vec<String>,
    /// The body of its login (user name and password), when it logs in.
    pub login_body: Option<Value>,
}

/// A bearer token and where it is carried.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token.
    pub value: String,
    /// The header (`Authorization`).
    pub header: String,
    /// What precedes it (`Bearer `).
    pub prefix: String,
}

impl Session {
    /// A session with these credential headers (a bearer token among them is recognized).
    pub fn new(name: &str, role: Role, credentials: Vec<(String, String)>) -> Session {
        let token = credentials.iter().find_map(|(k, v)| {
            let value = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))?;
            k.eq_ignore_ascii_case("authorization").then(|| Token {
                value: value.to_owned(),
                header: k.clone(),
                prefix: "Bearer ".to_owned(),
            })
        });
        let mut session = Session {
            name: name.to_owned(),
            role,
            credentials,
            token,
            self_ids: Vec::new(),
            login_body: None,
        };
        if let Some(sub) = session.jwt().and_then(|j| {
            j.claims
                .get("sub")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) {
            session.add_self_id(&sub);
        }
        session
    }

    /// A session from a login's token.
    pub fn from_token(name: &str, role: Role, token: Token) -> Session {
        let credentials = vec![(
            token.header.clone(),
            format!("{}{}", token.prefix, token.value),
        )];
        Session::new(name, role, credentials).with_token(token)
    }

    fn with_token(mut self, token: Token) -> Session {
        self.token = Some(token);
        self
    }

    /// Remembers one of its own ids.
    pub fn add_self_id(&mut self, id: &str) {
        if !id.is_empty() && !self.self_ids.iter().any(|s| s == id) {
            self.self_ids.push(id.to_owned());
        }
    }

    /// Its token decoded as a JWT, when it is one.
    pub fn jwt(&self) -> Option<Jwt> {
        Jwt::decode(&self.token.as_ref()?.value)
    }

    /// The evidence placeholders for its credentials (`$ALICE_TOKEN`...).
    pub fn secrets(&self) -> Vec<Secret> {
        let upper: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        let mut out = Vec::new();
        if let Some(t) = &self.token {
            out.push(Secret {
                value: t.value.clone(),
                placeholder: format!("${upper}_TOKEN"),
            });
            if let Some(sig) = t.value.rsplit('.').next().filter(|_| t.value.contains('.')) {
                out.push(Secret {
                    value: sig.to_owned(),
                    placeholder: format!("${upper}_TOKEN_SIGNATURE"),
                });
            }
        }
        let carried = self
            .token
            .as_ref()
            .map(|t| format!("{}{}", t.prefix, t.value));
        for (i, (_, v)) in self.credentials.iter().enumerate() {
            if carried.as_deref() == Some(v.as_str()) {
                // Shown as `Bearer $NAME_TOKEN` through the token's own placeholder.
                continue;
            }
            out.push(Secret {
                value: v.clone(),
                placeholder: format!("${upper}_CREDENTIAL_{i}"),
            });
        }
        out
    }
}

/// A JSON Web Token split into its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    /// The decoded header.
    pub header: Value,
    /// The decoded claims.
    pub claims: Value,
    /// `header.payload` as sent (what the signature covers).
    pub signing_input: String,
    /// The signature part as sent.
    pub signature: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

impl Jwt {
    /// Splits and decodes a compact JWS; `None` when it is not one.
    pub fn decode(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&unb64(h)?).ok()?;
        let claims: Value = serde_json::from_slice(&unb64(p)?).ok()?;
        header.get("alg")?;
        Some(Jwt {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature: s.to_owned(),
        })
    }

    /// The `alg` of the header.
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// Encodes a header and claims with the given signature part (compact form).
    pub fn encode(header: &Value, claims: &Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_jwts_are_decoded_and_their_subject_kept() {
        let t = Jwt::encode(&json!({"alg": "HS256"}), &json!({"sub": "alice"}), "sig");
        let s = Session::new(
            "alice",
            Role::User,
            vec![("Authorization".into(), format!("Bearer {t}"))],
        );
        assert_eq!(s.self_ids, vec!["alice".to_string()]);
        assert_eq!(s.jwt().unwrap().alg(), "HS256");
        assert!(s.secrets().iter().any(|x| x.placeholder == "$ALICE_TOKEN"));
        assert!(Jwt::decode("not.a.jwt").is_none());
        assert!(Jwt::decode("opaque-token").is_none());
    }
}
