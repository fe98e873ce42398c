//! What the inventory and the detectors learn from one request: [`Sample`], built by `cli`
//! from the gateway's observations or by [`crate::logs`] from recorded traffic.

use std::net::IpAddr;

/// One request as the inventory sees it. Holds no credential, and bodies only when sampled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// When the request finished, milliseconds since the Unix epoch.
    pub ts_ms: u64,
    /// The API it went to (`None` when no API matched).
    pub api: Option<String>,
    /// The documented operation, when routed to one.
    pub operation: Option<String>,
    /// The operation's path template as declared (`/accounts/{id}`), when documented.
    pub route_template: Option<String>,
    /// The operation is marked deprecated in the spec.
    pub deprecated: bool,
    /// The method token (`GET`).
    pub method: String,
    /// The normalized request path, without the query.
    pub path: String,
    /// The status sent to the client.
    pub status: u16,
    /// The gateway's decision (`allow`, `block`, `monitor`); `allow` for recorded traffic.
    pub decision: String,
    /// The rule that decided, if any (`lockout.ip`, `ratelimit.ip`...).
    pub rule: Option<String>,
    /// Who called.
    pub client: Client,
    /// A credential was presented.
    pub credentials_presented: bool,
    /// The credential was verified.
    pub credentials_valid: bool,
    /// The request body's size, when known.
    pub request_bytes: Option<u64>,
    /// The answer's body size, when known.
    pub response_bytes: Option<u64>,
    /// Kinds of sensitive data seen in the answer (`card`, `iban`...).
    pub sensitive: Vec<String>,
    /// Names of the query parameters sent (never their values).
    pub query: Vec<String>,
    /// Copies of the JSON bodies, for the learned spec's schemas (a HAR file's; the gateway
    /// hands its samples over separately, see [`crate::inventory::Inventory::learn`]).
    pub bodies: Option<Box<Bodies>>,
}

/// A request's bodies as sent and answered (whole, or not at all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bodies {
    /// The request's body.
    pub request: Option<Vec<u8>>,
    /// The answer's body.
    pub response: Option<Vec<u8>>,
}

/// The caller of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Client {
    /// Its address, when known.
    pub ip: Option<IpAddr>,
    /// The API key id, when one was used.
    pub key_id: Option<String>,
    /// The token's subject.
    pub sub: Option<String>,
}

impl Client {
    /// The identity the detectors count a client by: the address, or else the key id or
    /// subject; `None` when nothing identifies the caller.
    pub fn key(&self) -> Option<String> {
        match self.ip {
            // As `Display` writes it, without the formatter: this runs for every request.
            Some(IpAddr::V4(v4)) => return Some(ipv4_text(v4)),
            Some(ip) => return Some(ip.to_string()),
            None => {}
        }
        self.key_id
            .as_ref()
            .map(|k| format!("key:{k}"))
            .or_else(|| self.sub.as_ref().map(|s| format!("sub:{s}")))
    }

    /// The account a request acted as (key id or subject), when known.
    pub fn account(&self) -> Option<&str> {
        self.sub.as_deref().or(self.key_id.as_deref())
    }
}

/// An IPv4 address in dotted decimal, as `Display` writes it.
fn ipv4_text(ip: std::net::Ipv4Addr) -> String {
    let mut out = String::with_capacity(15);
    for (i, octet) in ip.octets().into_iter().enumerate() {
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

impl Sample {
    /// The status class index: 0 for 1xx/2xx... see [`status_class`].
    pub fn status_class(&self) -> usize {
        status_class(self.status)
    }

    /// True for a 2xx answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// 0 for 2xx (and 1xx), 1 for 3xx, 2 for 4xx, 3 for 5xx and anything else.
pub fn status_class(status: u16) -> usize {
    match status {
        0..=299 => 0,
        300..=399 => 1,
        400..=499 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_key_is_the_address_as_display_writes_it() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "9.99.100.255",
            "255.255.255.255",
            "192.168.1.9",
            "::1",
            "2001:db8::7",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let client = Client {
                ip: Some(ip),
                ..Client::default()
            };
            assert_eq!(client.key(), Some(ip.to_string()));
        }
        let by_key = Client {
            key_id: Some("k1".into()),
            ..Client::default()
        };
        assert_eq!(by_key.key().as_deref(), Some("key:k1"));
    }
}
