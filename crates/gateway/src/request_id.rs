//! The request id (DESIGN.md's `request_id`): kept from a trusted proxy's `X-Request-Id` or
//! generated, and made once per request as a header value that the upstream request, the
//! answer, the problem document and the decision log share without a copy.

use std::fmt;

use bytes::Bytes;
use http::HeaderValue;
use serde::{Serialize, Serializer};

/// The longest id kept from a trusted proxy.
pub const MAX_LEN: usize = 128;

/// One request's id: 1 to [`MAX_LEN`] visible ASCII characters.
#[derive(Debug, Clone)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id a trusted proxy sent, when it is 1 to [`MAX_LEN`] visible ASCII characters.
    /// Copied: the value hyper parsed lies in the connection's read buffer, which a decision
    /// kept in the admin API's history would otherwise hold on to.
    pub fn from_header(value: &HeaderValue) -> Option<RequestId> {
        let id = value.as_bytes();
        if id.is_empty() || id.len() > MAX_LEN || !id.iter().all(u8::is_ascii_graphic) {
            return None;
        }
        let owned = Bytes::from_owner(id.to_vec());
        HeaderValue::from_maybe_shared(owned).ok().map(RequestId)
    }

    /// A new id: a random UUID (version 4), lower case and hyphenated.
    pub fn generate() -> RequestId {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        // One allocation that every clone shares (a `Bytes` copied from a slice allocates
        // again at its first clone).
        let value = HeaderValue::from_maybe_shared(Bytes::from_owner(text));
        RequestId(value.unwrap_or_else(|_| HeaderValue::from_static("unknown")))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Visible ASCII by construction, so the conversion cannot fail.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as the `X-Request-Id` header's value.
    pub fn header(&self) -> &HeaderValue {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuids_and_differ() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a.as_str(), b.as_str());
        let parsed = uuid::Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(a.as_str(), parsed.hyphenated().to_string());
        assert_eq!(a.header().as_bytes(), a.as_str().as_bytes());
        assert_eq!(a.clone().as_str(), a.as_str());
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
    }

    #[test]
    fn a_proxy_id_is_kept_only_when_short_and_visible() {
        let kept = RequestId::from_header(&HeaderValue::from_static("lb-7f3a:42")).unwrap();
        assert_eq!(kept.as_str(), "lb-7f3a:42");
        let longest = "x".repeat(MAX_LEN);
        assert!(RequestId::from_header(&HeaderValue::from_str(&longest).unwrap()).is_some());
        for refused in [String::new(), "x".repeat(MAX_LEN + 1), "a b".to_owned()] {
            let value = HeaderValue::from_str(&refused).unwrap();
            assert!(RequestId::from_header(&value).is_none(), "{refused:?}");
        }
        let tab = HeaderValue::from_bytes(b"a\tb").unwrap();
        assert!(RequestId::from_header(&tab).is_none());
    }
}
