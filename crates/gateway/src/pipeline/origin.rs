//! Where a request comes from and what it names: its id, the client's address (through
//! trusted proxies), and its host (and whether the target and `Host` agree on it).

use std::borrow::Cow;
use std::net::IpAddr;

use http::Request;
use http::header;
use hyper::body::Incoming;

use crate::problem::Denial;
use crate::runtime::Gateway;

/// The request id: the trusted peer's `X-Request-Id` (1 to 128 visible ASCII characters),
/// otherwise a new UUID v4.
pub(super) fn request_id(req: &Request<Incoming>, trusted_peer: bool) -> String {
    if trusted_peer
        && let Some(id) = req
            .headers()
            .get(crate::proxy::X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
        && !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_graphic())
    {
        return id.to_owned();
    }
    let mut text = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

/// The client address: the peer, or (peer trusted) the rightmost untrusted X-Forwarded-For hop.
pub(super) fn client_ip(
    req: &Request<Incoming>,
    peer: IpAddr,
    trusted_peer: bool,
    gw: &Gateway,
) -> IpAddr {
    if !trusted_peer {
        return peer;
    }
    let hops: Vec<IpAddr> = req
        .headers()
        .get_all(crate::proxy::X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !gw.trusted.iter().any(|c| c.contains(**ip)))
        .copied()
        .unwrap_or(peer)
}

/// A request whose target names a host (HTTP/2's `:authority`, or an HTTP/1.1 target in
/// absolute form) and whose `Host` header names another: RFC 9113 §8.3.1 calls it malformed,
/// and RFC 9112 §3.2.2 has a server take the target's host while an intermediary before or
/// after this one may take the header's; refused rather than routed by one and seen by
/// another as the other.
pub(super) fn host_mismatch(req: &Request<Incoming>) -> Option<Denial> {
    let authority = req.uri().authority()?;
    let host = req.headers().get(header::HOST)?;
    if host
        .as_bytes()
        .eq_ignore_ascii_case(authority.as_str().as_bytes())
    {
        return None;
    }
    Some(Denial::new(
        400,
        "request.host",
        format!(
            "the Host header {:?} names another host than the request target {:?}",
            String::from_utf8_lossy(host.as_bytes()),
            authority.as_str()
        ),
    ))
}

/// The host a request names (`Host`, else the target's authority), without its port and
/// the trailing dot of a fully qualified name (`api.example.` is `api.example`, as nginx
/// takes it), in lower case.
pub(super) fn host_of(req: &Request<Incoming>) -> Option<Cow<'_, str>> {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    let host = match raw.rsplit_once(':') {
        Some((h, port))
            if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(']')
                || raw.starts_with('[') =>
        {
            h.trim_start_matches('[').trim_end_matches(']')
        }
        _ => raw,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    // Hosts arrive in lower case almost always: copied only when they are not.
    Some(if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    })
}
