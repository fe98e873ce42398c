//! Forwarding to the upstream: a pooled HTTP/1.1 client, hop-by-hop headers removed both
//! ways (RFC 9110 §7.6.1; a request's by `pipeline::handle`, before the checks, with
//! [`strip_hop_by_hop`]), `X-Forwarded-*` and `X-Request-Id` set, the normalized path sent
//! (what was checked is what is forwarded).

mod pool;

pub use pool::Endpoint;
#[cfg(test)]
pub(crate) use pool::Pool;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use smallvec::SmallVec;

/// Errors inside bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type both ways.
pub type Body = BoxBody<Bytes, BoxError>;

/// Why the upstream did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Connection refused, reset...
    #[error("upstream unreachable: {0}")]
    Connect(String),
    /// No response head in time.
    #[error("upstream timed out")]
    Timeout,
    /// The request could not be built.
    #[error("bad upstream request: {0}")]
    Build(String),
}

/// The upstream client of one worker thread (each worker has its own, see `pool`, held in
/// the worker's `pipeline::Worker`), kept across reloads.
pub struct Proxy {
    pool: Arc<pool::Pool>,
}

/// Boxes a body into [`Body`].
pub(crate) fn boxed<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    body.map_err(|e| Box::new(e) as BoxError).boxed()
}

/// An empty body.
#[cfg(test)]
pub(crate) fn empty() -> Body {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

impl Default for Proxy {
    fn default() -> Self {
        Proxy::new()
    }
}

/// `X-Forwarded-For`: a constant, so lookups skip parsing and validating the name.
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-Request-Id`.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The hop-by-hop fields of RFC 9110 §7.6.1 (and the obsolete `Keep-Alive`,
/// `Proxy-Connection`): compared by name, standard ones without touching their text.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    *name == header::CONNECTION
        || *name == header::PROXY_AUTHENTICATE
        || *name == header::PROXY_AUTHORIZATION
        || *name == header::TE
        || *name == header::TRAILER
        || *name == header::TRANSFER_ENCODING
        || *name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// The names of the fields `picked` selects, or none when it selects no field. A message
/// carries a handful of fields, so a walk over the names costs less than looking up each name
/// sought; and the common message has none of them, which a first walk that collects nothing
/// finds without building a list (one collecting walk, or an empty list returned, measured
/// +100 instructions per routed request).
#[inline]
fn names_picked(
    headers: &HeaderMap,
    picked: impl Fn(&HeaderName) -> bool,
) -> Option<SmallVec<[HeaderName; 2]>> {
    if !headers.keys().any(&picked) {
        return None;
    }
    Some(
        headers
            .keys()
            .filter(|name| picked(name))
            .cloned()
            .collect(),
    )
}

/// Removes hop-by-hop headers, including those `Connection` names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let Some(present) = names_picked(headers, is_hop_by_hop) else {
        return;
    };
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named.into_iter().chain(present) {
        headers.remove(name);
    }
}

/// Removes the fields that would have the upstream (or a framework in front of it) act on
/// another request than the one checked: method and URL overrides (`X-HTTP-Method-Override`,
/// `X-HTTP-Method`, `X-Method-Override`, `X-Original-URL`, `X-Rewrite-URL`), always; and the
/// client-address fields `Forwarded` and `X-Real-IP` unless the peer is a trusted proxy (the
/// gateway sets `X-Forwarded-For` itself).
pub fn strip_overrides(headers: &mut HeaderMap, trusted_peer: bool) {
    let Some(present) = names_picked(headers, |name| {
        matches!(
            name.as_str(),
            "x-http-method-override"
                | "x-http-method"
                | "x-method-override"
                | "x-original-url"
                | "x-rewrite-url"
        ) || (!trusted_peer && (*name == header::FORWARDED || name.as_str() == "x-real-ip"))
    }) else {
        return;
    };
    for name in present {
        headers.remove(name);
    }
}

/// An address as `Display` writes it (for `X-Forwarded-For` and limit keys); IPv4, the common
/// case, is written octet by octet: `to_string` through the formatter showed in profiles of
/// the request path (a third of the rate limiter's cost).
pub(crate) fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut out = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
            out
        }
        IpAddr::V6(_) => ip.to_string(),
    }
}

/// The text that identifies a client for rate limits, lockout and concurrency: an IPv4
/// address itself; an IPv6 address cut to its first `v6_prefix` bits (`2001:db8:1:2::/64`),
/// since one host usually holds a whole /64 and could otherwise take a fresh key per request.
pub(crate) fn client_key(ip: IpAddr, v6_prefix: u8) -> String {
    match ip {
        IpAddr::V4(_) => ip_text(ip),
        IpAddr::V6(v6) if v6_prefix >= 128 => v6.to_string(),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX
                .checked_shl(128 - u32::from(v6_prefix))
                .unwrap_or(0);
            format!("{}/{v6_prefix}", std::net::Ipv6Addr::from(bits & mask))
        }
    }
}

/// Where an API's requests go.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `http` or `https`.
    pub scheme: http::uri::Scheme,
    /// `host:port` as written.
    pub authority: http::uri::Authority,
    /// The `Host` header sent: the authority, made once.
    pub host_header: Option<http::HeaderValue>,
    /// What the pool connects to: address, TLS settings, pool key.
    pub endpoint: Endpoint,
    /// Path prefix prepended to forwarded paths (no trailing slash).
    pub prefix: String,
}

/// What the proxy adds about the client.
pub struct Forwarded<'a> {
    /// The connection's peer, appended to `X-Forwarded-For` (the client itself unless the
    /// peer is a trusted proxy).
    pub peer: IpAddr,
    /// Whether the peer is a trusted proxy (its `X-Forwarded-*` are kept and extended).
    pub trusted_peer: bool,
    /// `http` or `https` as received.
    pub proto: &'static str,
    /// The request id, as the `X-Request-Id` header value (made once for both ways).
    pub request_id: &'a HeaderValue,
}

impl Proxy {
    /// A client with an empty pool.
    pub fn new() -> Proxy {
        Proxy {
            pool: Arc::new(pool::Pool::default()),
        }
    }

    /// Sends `parts`+`body` (hop-by-hop headers already removed) to `upstream` at
    /// `path_and_query` (none: the request's own), setting the forwarded headers; returns the
    /// upstream's response with hop-by-hop headers removed. `timeout` bounds the wait for the
    /// response head (none: the caller's own deadline does).
    pub async fn forward(
        &self,
        mut parts: http::request::Parts,
        body: Body,
        upstream: &Upstream,
        path_and_query: Option<&str>,
        forwarded: &Forwarded<'_>,
        timeout: Option<Duration>,
    ) -> Result<Response<Body>, ProxyError> {
        // Origin form (`/path?query`): the connection is already the upstream's. A request
        // in that form, whose target the checks left as sent, keeps its own.
        let keep = path_and_query.is_none()
            && upstream.prefix.is_empty()
            && parts.uri.scheme().is_none()
            && parts.uri.authority().is_none();
        let uri = if keep {
            None
        } else {
            let target = path_and_query
                .or_else(|| parts.uri.path_and_query().map(|p| p.as_str()))
                .unwrap_or("/");
            let uri = if upstream.prefix.is_empty() {
                Uri::try_from(target)
            } else {
                Uri::try_from(format!("{}{target}", upstream.prefix))
            };
            Some(uri.map_err(|e| ProxyError::Build(e.to_string()))?)
        };
        let original_host = parts.headers.get(header::HOST).cloned().or_else(|| {
            parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        });
        // The request's hop-by-hop fields went before the checks (`pipeline::handle`).
        let headers = &mut parts.headers;
        // Room for the five fields set below at once, not one growth at a time (a request's
        // map holds at most a few hundred fields, far below the map's limit).
        let _ = headers.try_reserve(5);
        // A prior value is only kept from a trusted peer (and only looked up for one); all
        // of its fields are joined into the one sent on, in order.
        let mut xff = String::new();
        if forwarded.trusted_peer {
            for prior in headers.get_all(X_FORWARDED_FOR) {
                if let Ok(text) = prior.to_str() {
                    xff.push_str(text);
                    xff.push_str(", ");
                }
            }
        }
        let xff = if xff.is_empty() {
            ip_text(forwarded.peer)
        } else {
            xff.push_str(&ip_text(forwarded.peer));
            xff
        };
        // The text's buffer becomes the value's (no copy).
        if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(xff)) {
            headers.insert(X_FORWARDED_FOR, v);
        }
        if !(forwarded.trusted_peer && headers.contains_key(X_FORWARDED_PROTO)) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(forwarded.proto));
        }
        if let Some(host) = original_host
            && !(forwarded.trusted_peer && headers.contains_key(X_FORWARDED_HOST))
        {
            headers.insert(X_FORWARDED_HOST, host);
        }
        headers.insert(X_REQUEST_ID, forwarded.request_id.clone());
        if let Some(v) = &upstream.host_header {
            headers.insert(header::HOST, v.clone());
        }
        if let Some(uri) = uri {
            parts.uri = uri;
        }
        parts.version = http::Version::HTTP_11;
        let request = Request::from_parts(parts, body);
        let sent = self.pool.send(&upstream.endpoint, request);
        let mut response = match timeout {
            Some(t) => tokio::time::timeout(t, sent)
                .await
                .map_err(|_| ProxyError::Timeout)??,
            None => sent.await?,
        };
        strip_hop_by_hop(response.headers_mut());
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_reads_as_display_writes_it() {
        for octets in [
            [0, 0, 0, 0],
            [127, 0, 0, 1],
            [10, 7, 161, 32],
            [255, 255, 255, 255],
            [9, 99, 100, 199],
        ] {
            let ip = IpAddr::from(octets);
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for n in 0..=255u8 {
            let ip = IpAddr::from([n, 255 - n, n / 2, 1]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
        let v6 = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
        assert_eq!(ip_text(v6), "2001:db8::1");
        // IPv6 clients are one client per prefix; IPv4 ones per address.
        let v6: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        assert_eq!(client_key(v6, 64), "2001:db8:1:2::/64");
        assert_eq!(client_key(v6, 48), "2001:db8:1::/48");
        assert_eq!(client_key(v6, 128), "2001:db8:1:2:aaaa:bbbb:cccc:dddd");
        assert_eq!(client_key(v6, 1), "::/1");
        assert_eq!(client_key("192.0.2.7".parse().unwrap(), 64), "192.0.2.7");
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("close, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        for name in [
            "te",
            "trailer",
            "proxy-connection",
            "proxy-authenticate",
            "proxy-authorization",
        ] {
            h.append(name, HeaderValue::from_static("a"));
            h.append(name, HeaderValue::from_static("b"));
        }
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
