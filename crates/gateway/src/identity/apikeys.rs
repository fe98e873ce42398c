//! API keys: a YAML file of hashed keys (never the secrets) and their verification.
//!
//! Clients present `pc_<id>_<secret>`, the secret being 32 random bytes in base64url. The
//! file holds, per key, its `id`, `hash` (`sha256:<hex>` of the secret text), `owner`,
//! `scopes`, `roles`, optional `expires` (RFC 3339) and `disabled`:
//!
//! ```yaml
//! keys:
//!   - id: ci-bot
//!     hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//!     owner: alice
//!     scopes: [accounts:read]
//!     roles: []
//!     expires: "2027-01-01T00:00:00Z"
//! ```
//!
//! Verification compares digests in constant time, and only after the secret matched does
//! it tell a disabled or expired key apart (so the reasons leak nothing to a guesser).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indexmap::IndexMap;
use portcullis_spec::parse::{Format, Limits, parse};
use portcullis_spec::source::Positions;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Principal;
use crate::config::{Located, located};

/// Largest key file accepted.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// The parser's bounds for a key file.
const LIMITS: Limits = Limits {
    max_bytes: MAX_FILE_BYTES,
    max_depth: 16,
    max_nodes: 2_000_000,
    max_alias_expansion: 1_000,
};
/// Most keys in one file.
pub const MAX_KEYS: usize = 100_000;
/// Longest key id.
pub const MAX_ID_CHARS: usize = 64;
/// The `iss` of principals authenticated by an API key.
pub const ISSUER: &str = "api-key";
/// Prefix of every presented key.
pub const PREFIX: &str = "pc_";

/// Why the key file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The file could not be read.
    #[error("{path}: cannot read the API key file: {error}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// Not YAML (the error names the file and line).
    #[error(transparent)]
    Syntax(#[from] portcullis_spec::Error),
    /// A field is missing or wrong (file, line, column, the field's pointer such as
    /// `/keys/3/hash`, what is wrong).
    #[error(transparent)]
    Invalid(#[from] Located),
    /// Several fields are wrong: each on its own line, in the file's order.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<Located>),
}

impl ApiKeyError {
    /// Every located error in it (none for an unreadable or unparsable file).
    pub fn located(&self) -> &[Located] {
        match self {
            ApiKeyError::Invalid(one) => std::slice::from_ref(one),
            ApiKeyError::Several(all) => all,
            ApiKeyError::Io { .. } | ApiKeyError::Syntax(_) => &[],
        }
    }
}

/// Why a presented key was refused. The text never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyFailure {
    /// Not `pc_<id>_<secret>`.
    #[error("malformed API key")]
    Malformed,
    /// No key with this id.
    #[error("unknown API key id")]
    UnknownId,
    /// The id exists but the secret does not match its hash.
    #[error("API key {0}: wrong secret")]
    WrongSecret(String),
    /// The key's `expires` is past.
    #[error("API key {0}: expired")]
    Expired(String),
    /// The key is `disabled`.
    #[error("API key {0}: disabled")]
    Disabled(String),
}

impl ApiKeyFailure {
    /// The decision-log rule for this failure (`auth.key-expired`...).
    pub fn rule(&self) -> &'static str {
        match self {
            ApiKeyFailure::Malformed => crate::rules::AUTH_KEY_MALFORMED,
            ApiKeyFailure::UnknownId => crate::rules::AUTH_KEY_UNKNOWN,
            ApiKeyFailure::WrongSecret(_) => crate::rules::AUTH_KEY_INVALID,
            ApiKeyFailure::Expired(_) => crate::rules::AUTH_KEY_EXPIRED,
            ApiKeyFailure::Disabled(_) => crate::rules::AUTH_KEY_DISABLED,
        }
    }

    /// A stable short code for metrics (`key_expired`...).
    pub fn code(&self) -> &'static str {
        match self {
            ApiKeyFailure::Malformed => "key_malformed",
            ApiKeyFailure::UnknownId => "key_unknown",
            ApiKeyFailure::WrongSecret(_) => "key_invalid",
            ApiKeyFailure::Expired(_) => "key_expired",
            ApiKeyFailure::Disabled(_) => "key_disabled",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    keys: Vec<EntryDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    id: String,
    hash: String,
    owner: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    expires: Option<String>,
    #[serde(default)]
    disabled: bool,
}

struct Entry {
    digest: [u8; 32],
    expires: Option<u64>,
    disabled: bool,
    principal: Arc<Principal>,
}

/// The loaded key set.
pub struct ApiKeys {
    keys: HashMap<String, Entry>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// True for a valid key id: 1 to 64 of `A-Z a-z 0-9 -` (no `_`, which separates the parts).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Parses an RFC 3339 date-time into seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        let pair = text.get(i * 2..i * 2 + 2)?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl ApiKeys {
    /// Reads the key file at `path`; `roles` maps role names to the scopes they grant.
    pub fn load(
        path: &Path,
        roles: &IndexMap<String, Vec<String>>,
    ) -> Result<ApiKeys, ApiKeyError> {
        let file = located::read(path, &LIMITS).map_err(|e| match e {
            portcullis_spec::Error::Io { path, error } => ApiKeyError::Io {
                path: path.display().to_string(),
                error,
            },
            other => ApiKeyError::Syntax(other),
        })?;
        ApiKeys::from_parsed(&file.name, &file.value, &file.positions, roles)
    }

    /// Parses key-file text named `file` (for errors).
    pub fn from_str_named(
        file: &str,
        text: &str,
        roles: &IndexMap<String, Vec<String>>,
    ) -> Result<ApiKeys, ApiKeyError> {
        let (value, positions) = parse(&Arc::from(file), text, Format::Yaml, &LIMITS)?;
        ApiKeys::from_parsed(file, &value, &positions, roles)
    }

    fn from_parsed(
        file: &str,
        value: &Value,
        positions: &Positions,
        roles: &IndexMap<String, Vec<String>>,
    ) -> Result<ApiKeys, ApiKeyError> {
        let at =
            |pointer: &str, message: String| Located::at(file, positions, value, pointer, message);
        let doc: FileDoc = located::deserialize(value).map_err(|(p, m)| at(&p, m))?;
        if doc.keys.len() > MAX_KEYS {
            return Err(at(
                "/keys",
                format!("{} keys, over the limit of {MAX_KEYS}", doc.keys.len()),
            )
            .into());
        }
        // Every problem of the file is reported at once, each at its line.
        let mut errors = Vec::new();
        let mut seen = HashSet::with_capacity(doc.keys.len());
        let mut keys = HashMap::with_capacity(doc.keys.len());
        for (i, e) in doc.keys.into_iter().enumerate() {
            let id = if valid_id(&e.id) {
                Ok(())
            } else {
                Err(at(
                    &format!("/keys/{i}/id"),
                    format!(
                        "{:?} is not a key id (1 to {MAX_ID_CHARS} of A-Z a-z 0-9 -)",
                        e.id
                    ),
                ))
            };
            let digest = e
                .hash
                .strip_prefix("sha256:")
                .and_then(|h| unhex(&h.to_ascii_lowercase()))
                .ok_or_else(|| {
                    at(
                        &format!("/keys/{i}/hash"),
                        "expected sha256:<64 hex digits> (the hash of the secret, never the secret)"
                            .to_owned(),
                    )
                });
            let expires = match &e.expires {
                None => Ok(None),
                Some(t) => parse_rfc3339(t).map(Some).ok_or_else(|| {
                    at(
                        &format!("/keys/{i}/expires"),
                        format!("{t:?} is not an RFC 3339 date-time (e.g. 2027-01-31T00:00:00Z)"),
                    )
                }),
            };
            let id = id.and_then(|()| {
                if seen.insert(e.id.clone()) {
                    Ok(())
                } else {
                    Err(at(
                        &format!("/keys/{i}/id"),
                        format!("duplicate key id {:?}", e.id),
                    ))
                }
            });
            let (digest, expires) = match (id, digest, expires) {
                (Ok(()), Ok(digest), Ok(expires)) => (digest, expires),
                (id, digest, expires) => {
                    errors.extend(id.err());
                    errors.extend(digest.err());
                    errors.extend(expires.err());
                    continue;
                }
            };
            let mut scopes: BTreeSet<String> = e.scopes.iter().cloned().collect();
            for role in &e.roles {
                if let Some(granted) = roles.get(role) {
                    scopes.extend(granted.iter().cloned());
                }
            }
            let claims = json!({
                "sub": e.owner,
                "iss": ISSUER,
                "key_id": e.id,
                "scope": e.scopes.join(" "),
                "roles": e.roles,
            });
            let principal = Arc::new(Principal {
                subject: Some(e.owner.clone()),
                issuer: ISSUER.to_owned(),
                scopes,
                roles: e.roles.iter().cloned().collect(),
                claims: Arc::new(claims),
            });
            let entry = Entry {
                digest,
                expires,
                disabled: e.disabled,
                principal,
            };
            keys.insert(e.id.clone(), entry);
        }
        if errors.len() > 1 {
            return Err(ApiKeyError::Several(errors));
        }
        if let Some(one) = errors.pop() {
            return Err(ApiKeyError::Invalid(one));
        }
        Ok(ApiKeys { keys })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the file holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies a presented `pc_<id>_<secret>` at `now` (seconds since the epoch).
    pub fn verify(&self, presented: &str, now: u64) -> Result<Arc<Principal>, ApiKeyFailure> {
        let (id, secret) = presented
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .filter(|(id, secret)| valid_id(id) && !secret.is_empty() && secret.len() <= 256)
            .ok_or(ApiKeyFailure::Malformed)?;
        let entry = self.keys.get(id).ok_or(ApiKeyFailure::UnknownId)?;
        if !bool::from(digest(secret).ct_eq(&entry.digest)) {
            return Err(ApiKeyFailure::WrongSecret(id.to_owned()));
        }
        if entry.disabled {
            return Err(ApiKeyFailure::Disabled(id.to_owned()));
        }
        if entry.expires.is_some_and(|t| t <= now) {
            return Err(ApiKeyFailure::Expired(id.to_owned()));
        }
        Ok(entry.principal.clone())
    }
}

/// What a new key is for (`portcullis keys new`).
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    /// Key id.
    pub id: String,
    /// Owner (becomes the principal's subject).
    pub owner: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Roles granted.
    pub roles: Vec<String>,
    /// Expiry, RFC 3339.
    pub expires: Option<String>,
}

/// A freshly generated key.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `pc_<id>_<secret>`: shown once, stored nowhere.
    pub presented: String,
    /// The list item to add under `keys:` in the key file (hash only).
    pub yaml: String,
}

/// Why a key cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewKeyError {
    /// The id is not 1 to 64 of `A-Z a-z 0-9 -`.
    #[error("--id {0:?}: a key id is 1 to 64 of A-Z a-z 0-9 - (no underscore)")]
    Id(String),
    /// `expires` is not RFC 3339.
    #[error("--expires {0:?}: not an RFC 3339 date-time (e.g. 2027-01-31T00:00:00Z)")]
    Expires(String),
}

/// Generates a key: 32 random bytes from the OS, the presented form and the file entry.
pub fn generate(new: &NewKey) -> Result<Generated, NewKeyError> {
    if !valid_id(&new.id) {
        return Err(NewKeyError::Id(new.id.clone()));
    }
    if let Some(e) = &new.expires
        && parse_rfc3339(e).is_none()
    {
        return Err(NewKeyError::Expires(e.clone()));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let quote = |s: &str| Value::String(s.to_owned()).to_string();
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut yaml = format!(
        "  - id: {}\n    hash: \"sha256:{}\"\n    owner: {}\n    scopes: {}\n    roles: {}\n",
        quote(&new.id),
        hex(&digest(&secret)),
        quote(&new.owner),
        list(&new.scopes),
        list(&new.roles),
    );
    if let Some(e) = &new.expires {
        yaml.push_str(&format!("    expires: {}\n", quote(e)));
    }
    Ok(Generated {
        presented: format!("{PREFIX}{}_{secret}", new.id),
        yaml,
    })
}

#[cfg(test)]
mod tests;
