//! JSON Web Key Sets: parsed into verification keys (symmetric `oct` keys are never taken
//! from a key set), loaded from a file, or fetched from an `http://` or `https://` URL (the
//! certificate verified, see [`crate::client_tls`]) and kept fresh.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};

use crate::client_tls::{self, ClientTls};
use crate::config::{ClientTlsConfig, Located, redact_url};

/// The client key sets and discovery documents are fetched with.
type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Largest key set accepted.
const MAX_JWKS_BYTES: usize = 512 * 1024;
/// Longest a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// One verification key.
#[derive(Clone)]
pub struct Key {
    /// `kid`.
    pub kid: Option<String>,
    /// `alg` when the key set pins one.
    pub alg: Option<String>,
    /// `kty` family: `RSA`, `EC`, `OKP`.
    pub kty: &'static str,
    /// The key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kty", &self.kty)
            .finish_non_exhaustive()
    }
}

/// Why a key set could not be had.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// Reading the file failed.
    #[error("{path}: cannot read the key set: {error}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// The URL could not be fetched.
    #[error("{url}: cannot fetch the key set: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// TLS for the URL could not be set up (a `ca` or client certificate file is unusable).
    #[error("{url}: cannot set up TLS: {error}")]
    Tls {
        /// The URL.
        url: String,
        /// The file at fault and why.
        error: crate::tls::TlsError,
    },
    /// Not a key set, or not the provider metadata asked for: the file or URL, the line,
    /// column and field when the document has them, and what is wrong.
    #[error(transparent)]
    Invalid(#[from] Located),
}

/// Parses a key set document into keys, skipping symmetric and unusable keys.
pub fn parse(origin: &str, bytes: &[u8]) -> Result<Vec<Key>, JwksError> {
    let set: JwkSet = Located::json(&redact_url(origin), bytes).map_err(|mut e| {
        e.message = format!("not a JSON Web Key Set: {}", e.message);
        JwksError::Invalid(e)
    })?;
    Ok(set.keys.iter().filter_map(key_of).collect())
}

fn key_of(jwk: &Jwk) -> Option<Key> {
    let kty = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => "RSA",
        AlgorithmParameters::EllipticCurve(_) => "EC",
        AlgorithmParameters::OctetKeyPair(_) => "OKP",
        // Never: a symmetric key in a public key set is how HMAC confusion starts.
        _ => return None,
    };
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| !matches!(u, jsonwebtoken::jwk::PublicKeyUse::Signature))
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        // As the JWA names it (`RS256`, `EdDSA`): compared with a token's `alg` ignoring case.
        alg: jwk.common.key_algorithm.map(|a| format!("{a:?}")),
        kty,
        key,
    })
}

/// Where keys come from.
pub enum KeySource {
    /// Fixed keys (a file, read at load).
    Static(Arc<Vec<Key>>),
    /// A URL, refreshed.
    Remote(Box<RemoteJwks>),
}

impl KeySource {
    /// The current keys.
    pub fn keys(&self) -> Arc<Vec<Key>> {
        match self {
            KeySource::Static(k) => k.clone(),
            KeySource::Remote(r) => r.keys(),
        }
    }
}

struct RemoteState {
    keys: Arc<Vec<Key>>,
    last_attempt: Option<Instant>,
    /// A fetch has succeeded (the keys are the endpoint's, not none for want of an answer).
    fetched: bool,
}

/// A key set behind a URL.
pub struct RemoteJwks {
    url: String,
    min_refetch: Duration,
    state: RwLock<RemoteState>,
    client: HttpClient,
}

impl RemoteJwks {
    /// A key set at `url`, refetched at most once per `min_refetch`; an `https://` URL is
    /// verified with `tls` (without it, only `http://` works).
    pub fn new(
        url: &str,
        min_refetch: Duration,
        tls: Option<&ClientTls>,
    ) -> Result<RemoteJwks, JwksError> {
        Ok(RemoteJwks {
            url: redact_url(url),
            min_refetch,
            state: RwLock::new(RemoteState {
                keys: Arc::new(Vec::new()),
                last_attempt: None,
                fetched: false,
            }),
            client: client_tls::http_client(tls).map_err(|error| JwksError::Tls {
                url: redact_url(url),
                error: error.into(),
            })?,
        })
    }

    /// The keys held now (stale ones stay while the endpoint fails).
    pub fn keys(&self) -> Arc<Vec<Key>> {
        self.state
            .read()
            .map_or_else(|p| p.into_inner().keys.clone(), |s| s.keys.clone())
    }

    /// Fetches the key set now, unless a fetch happened within `min_refetch` (then `Ok(false)`).
    pub async fn refresh(&self) -> Result<bool, JwksError> {
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            if state
                .last_attempt
                .is_some_and(|t| t.elapsed() < self.min_refetch)
            {
                return Ok(false);
            }
            state.last_attempt = Some(Instant::now());
        }
        let keys = self.fetch().await?;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.keys = Arc::new(keys);
        state.fetched = true;
        Ok(true)
    }

    /// Its URL (a password in it shown as `***`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Takes `held` (the keys the running configuration holds for the same URL) when no fetch
    /// has succeeded yet: a reload while the endpoint fails keeps the keys, as the running
    /// configuration does (never keys a successful fetch removed). True when it took them.
    pub fn adopt(&self, held: Arc<Vec<Key>>) -> bool {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if state.fetched || held.is_empty() {
            return false;
        }
        state.keys = held;
        true
    }

    async fn fetch(&self) -> Result<Vec<Key>, JwksError> {
        let body = fetch_bytes(&self.client, &self.url).await?;
        parse(&self.url, &body)
    }
}

/// GETs `url` (bounded in size and time).
async fn fetch_bytes(client: &HttpClient, url: &str) -> Result<Bytes, JwksError> {
    let fail = |message: String| JwksError::Fetch {
        url: redact_url(url),
        message,
    };
    let uri: hyper::Uri = url.parse().map_err(|e| fail(format!("{e}")))?;
    let response = tokio::time::timeout(FETCH_TIMEOUT, client.get(uri))
        .await
        .map_err(|_| fail("timed out".to_owned()))?
        .map_err(|e| fail(client_tls::describe(&e)))?;
    if !response.status().is_success() {
        return Err(fail(format!("status {}", response.status())));
    }
    Ok(tokio::time::timeout(
        FETCH_TIMEOUT,
        Limited::new(response.into_body(), MAX_JWKS_BYTES).collect(),
    )
    .await
    .map_err(|_| fail("timed out".to_owned()))?
    .map_err(|e| fail(e.to_string()))?
    .to_bytes())
}

/// How a key source's URLs are reached: the issuer's `tls` block and the directory its
/// paths are relative to.
#[derive(Clone, Copy)]
pub struct Reach<'a> {
    /// `identity.jwt[].tls`.
    pub tls: Option<&'a ClientTlsConfig>,
    /// The config file's directory.
    pub base_dir: &'a std::path::Path,
}

impl Reach<'_> {
    /// The TLS settings for `url`: built only for `https://` (so an `http://` key set never
    /// needs a trust store).
    fn tls_for(&self, url: &str) -> Result<Option<ClientTls>, JwksError> {
        if !url.starts_with("https://") {
            return Ok(None);
        }
        client_tls::client_config(self.tls, self.base_dir)
            .map(Some)
            .map_err(|error| JwksError::Tls {
                url: redact_url(url),
                error,
            })
    }
}

/// OpenID Connect discovery: fetches the provider metadata at `url` (`http://` or
/// `https://`), checks that its `issuer` is exactly `issuer` (OpenID Connect Discovery 1.0
/// §4.3), and returns its `jwks_uri`.
pub async fn discover(url: &str, issuer: &str, reach: Reach<'_>) -> Result<String, JwksError> {
    let invalid =
        |message: String| JwksError::Invalid(Located::whole(redact_url(url), "", message));
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(JwksError::Fetch {
            url: redact_url(url),
            message: "a discovery URL is http:// or https://".to_owned(),
        });
    }
    let tls = reach.tls_for(url)?;
    let client: HttpClient =
        client_tls::http_client(tls.as_ref()).map_err(|error| JwksError::Tls {
            url: redact_url(url),
            error: error.into(),
        })?;
    let body = fetch_bytes(&client, url).await?;
    let doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("provider metadata is not JSON: {e}")))?;
    match doc.get("issuer").and_then(serde_json::Value::as_str) {
        Some(i) if i == issuer => {}
        Some(i) => {
            return Err(invalid(format!(
                "provider metadata names issuer {i:?}, the configuration {issuer:?}"
            )));
        }
        None => return Err(invalid("provider metadata has no issuer".to_owned())),
    }
    let uri = doc
        .get("jwks_uri")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| invalid("provider metadata has no jwks_uri".to_owned()))?;
    // The provider's answer names where keys come from: only an https URL (plain http only
    // on this machine), never a file of the gateway's, which `load` would otherwise read.
    if !(uri.starts_with("https://") || crate::client_tls::is_loopback_http(uri)) {
        return Err(invalid(format!(
            "provider metadata's jwks_uri {:?} is not an https:// URL (plain http is accepted \
             only to localhost or a loopback address)",
            redact_url(uri)
        )));
    }
    Ok(uri.to_owned())
}

/// Loads keys from `source`: an `http://` or `https://` URL (fetched now) or a file path.
pub async fn load(source: &str, reach: Reach<'_>) -> Result<KeySource, JwksError> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let tls = reach.tls_for(source)?;
        let remote = RemoteJwks::new(source, Duration::from_secs(10), tls.as_ref())?;
        if let Err(e) = remote.refresh().await {
            // Degrade: start without keys; requests get `keys_unavailable` until it answers.
            tracing::warn!(error = %e, "JWKS endpoint unavailable at load; will retry on demand");
        }
        return Ok(KeySource::Remote(Box::new(remote)));
    }
    let path = reach.base_dir.join(source);
    let bytes = read_bounded(&path)?;
    Ok(KeySource::Static(Arc::new(parse(
        &path.display().to_string(),
        &bytes,
    )?)))
}

/// Reads a key-set file, at most [`MAX_JWKS_BYTES`] like a fetched one (a pipe or special
/// file has no size up front, so the read itself is bounded).
fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, JwksError> {
    use std::io::Read;
    let io = |error| JwksError::Io {
        path: path.display().to_string(),
        error,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_JWKS_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(JwksError::Invalid(Located::whole(
            path.display().to_string(),
            "",
            format!("not a JSON Web Key Set: the file is over the limit of {MAX_JWKS_BYTES} bytes"),
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests;
