//! Where a request comes from and what it names: its id, the client's address (through
//! trusted proxies), and its host (and whether the target and `Host` agree on it).

use std::borrow::Cow;
use std::net::IpAddr;

use http::header;
use http::{HeaderValue, Request, Uri, Version};

use crate::problem::Denial;
use crate::request_id::RequestId;
use crate::runtime::Gateway;

/// The request id: the trusted peer's `X-Request-Id` (1 to 128 visible ASCII characters),
/// otherwise a new UUID v4.
pub(super) fn request_id<B>(req: &Request<B>, trusted_peer: bool) -> RequestId {
    trusted_peer
        .then(|| req.headers().get(crate::proxy::X_REQUEST_ID))
        .flatten()
        .and_then(RequestId::from_header)
        .unwrap_or_else(RequestId::generate)
}

/// The client address: the peer; or, when the peer is a trusted proxy, the address that
/// `X-Forwarded-For` names: every field's entries read from the right, trusted hops skipped,
/// the first untrusted one taken. An entry may carry a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`). An entry that is not an address stops the walk, and the last
/// trusted hop is taken (it is the one that wrote the garbage, or passed it on); when every
/// entry is trusted, the leftmost.
pub(super) fn client_ip<B>(
    req: &Request<B>,
    peer: IpAddr,
    trusted_peer: bool,
    gw: &Gateway,
) -> IpAddr {
    if !trusted_peer {
        return peer;
    }
    forwarded_client(
        req.headers().get_all(crate::proxy::X_FORWARDED_FOR),
        peer,
        |ip| gw.trusted.iter().any(|c| c.contains(ip)),
    )
}

/// The walk of [`client_ip`] over the `X-Forwarded-For` fields, from a trusted `peer`.
fn forwarded_client<'a>(
    fields: impl IntoIterator<Item = &'a HeaderValue, IntoIter: DoubleEndedIterator>,
    peer: IpAddr,
    trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    let mut last_trusted = peer;
    for field in fields.into_iter().rev() {
        let Ok(text) = field.to_str() else {
            return last_trusted;
        };
        for entry in text.rsplit(',') {
            let Some(ip) = hop_address(entry) else {
                return last_trusted;
            };
            if !trusted(ip) {
                return ip;
            }
            last_trusted = ip;
        }
    }
    last_trusted
}

/// One `X-Forwarded-For` entry's address: `ip`, `ip:port`, `[v6]` or `[v6]:port`.
fn hop_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// The request's `Host` field (none: it sent none), or what is wrong with it (400
/// `request.host`, refused in any mode): an HTTP/1.1 request without one, or any request with more than one (RFC 9112
/// §3.2 has a server answer both with 400, as nginx does: proxies and the upstream could each
/// take another); a value that is not a host with an optional port (RFC 3986's characters:
/// no space, `@`, `/`, `?`, `#` or non-ASCII); or, when the target names a host too (HTTP/2's
/// `:authority`, an HTTP/1.1 target in absolute form), another host than the target's: RFC
/// 9113 §8.3.1 calls it malformed, and RFC 9112 §3.2.2 has a server take the target's host
/// while an intermediary before or after this one may take the header's.
pub(super) fn checked_host<B>(req: &Request<B>) -> Result<Option<&HeaderValue>, Denial> {
    let refuse = |reason: String| Err(Denial::new(400, crate::rules::REQUEST_HOST, reason));
    let mut fields = req.headers().get_all(header::HOST).iter();
    let Some(host) = fields.next() else {
        if req.version() == Version::HTTP_11 {
            return refuse("an HTTP/1.1 request must carry a Host header".to_owned());
        }
        return Ok(None);
    };
    if fields.next().is_some() {
        return refuse("the request carries more than one Host header".to_owned());
    }
    if !host.as_bytes().iter().all(|&b| is_host_byte(b)) {
        return refuse(format!(
            "the Host header {:?} is not a host and optional port",
            String::from_utf8_lossy(host.as_bytes())
        ));
    }
    let Some(authority) = req.uri().authority() else {
        return Ok(Some(host));
    };
    if host
        .as_bytes()
        .eq_ignore_ascii_case(authority.as_str().as_bytes())
    {
        return Ok(Some(host));
    }
    refuse(format!(
        "the Host header {:?} names another host than the request target {:?}",
        String::from_utf8_lossy(host.as_bytes()),
        authority.as_str()
    ))
}

/// A byte a `Host` value may hold: RFC 3986's unreserved characters, sub-delimiters, `%`
/// (percent-encoding), `:` (the port) and the brackets of an IPv6 literal. A table: every
/// request's `Host` goes through it.
fn is_host_byte(b: u8) -> bool {
    // Never out of range (a byte indexes 256 entries); `get` keeps clippy's rule.
    HOST_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// [`is_host_byte`]'s answers, by byte.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an index out of range fails the build"
)]
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let others = b"-._~%!$&'()*+,;=:[]";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// The host a request names (its `Host` field as [`checked_host`] found it, else the target's
/// authority), without its port and the trailing dot of a fully qualified name
/// (`api.example.` is `api.example`, as nginx takes it), in lower case.
pub(super) fn host_of<'r>(host: Option<&'r HeaderValue>, target: &'r Uri) -> Option<Cow<'r, str>> {
    let raw = host
        .and_then(|v| v.to_str().ok())
        .or_else(|| target.authority().map(|a| a.as_str()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The client address behind a trusted proxy (10.0.0.0/8 and 192.168.0.0/16 trusted).
    fn client(fields: &[&str]) -> String {
        let values: Vec<HeaderValue> = fields
            .iter()
            .map(|f| HeaderValue::from_str(f).unwrap())
            .collect();
        let trusted = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => v4.octets()[0] == 10 || v4.octets()[..2] == [192, 168],
            IpAddr::V6(_) => false,
        };
        forwarded_client(&values, "10.0.0.1".parse().unwrap(), trusted).to_string()
    }

    #[test]
    fn the_client_behind_trusted_proxies_is_the_first_untrusted_hop_from_the_right() {
        assert_eq!(client(&[]), "10.0.0.1", "no field: the peer");
        assert_eq!(client(&["203.0.113.9"]), "203.0.113.9");
        // Forged entries to the left of the real client are ignored.
        assert_eq!(client(&["6.6.6.6, 203.0.113.9, 10.1.1.1"]), "203.0.113.9");
        // Several fields are one list, in order.
        assert_eq!(client(&["6.6.6.6, 203.0.113.9", "10.1.1.1"]), "203.0.113.9");
        assert_eq!(
            client(&["6.6.6.6", "203.0.113.9, 192.168.1.1"]),
            "203.0.113.9"
        );
        // Ports, bracketed IPv6 with and without a port.
        assert_eq!(client(&["203.0.113.9:4711, 10.1.1.1"]), "203.0.113.9");
        assert_eq!(client(&["[2001:db8::7]:4711"]), "2001:db8::7");
        assert_eq!(client(&["[2001:db8::7]"]), "2001:db8::7");
        assert_eq!(client(&["2001:db8::7"]), "2001:db8::7");
        // Garbage stops the walk at the last trusted hop, never skipped to reach a forged one.
        assert_eq!(client(&["6.6.6.6, unknown, 10.1.1.1"]), "10.1.1.1");
        assert_eq!(client(&["6.6.6.6, not-an-ip"]), "10.0.0.1");
        // Every hop trusted: the leftmost.
        assert_eq!(client(&["192.168.5.5, 10.1.1.1"]), "192.168.5.5");
    }

    #[test]
    fn the_host_byte_table_is_rfc_3986s_host_and_port_characters() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b);
            assert_eq!(is_host_byte(b), expected, "byte {b:#04x}");
        }
        for host in [
            "api.example",
            "API.example:8443",
            "[::1]:80",
            "10.0.0.1",
            "xn--bcher-kva.example",
            "",
        ] {
            assert!(host.bytes().all(is_host_byte), "{host}");
        }
        for host in [
            "a b",
            "a@b",
            "a/b",
            "a?b",
            "a#b",
            "a\"b",
            "é.example",
            "a\\b",
        ] {
            assert!(!host.bytes().all(is_host_byte), "{host}");
        }
    }
}
