//! `server.limits`: the bounds of one request (sizes, times, nesting), and what becomes of a
//! compressed request body.

use serde::Deserialize;

use super::{ByteSize, Dur};

/// `server.limits`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// Largest request head (request line and headers).
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: ByteSize,
    /// Longest a whole request may take, upstream included.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: Dur,
    /// Longest a client may take to send the request head (and, on a new connection, to
    /// start its first request); also how long a connection may sit idle between requests.
    #[serde(default = "default_header_timeout")]
    pub header_timeout: Dur,
    /// Longest the upstream may take to answer.
    #[serde(default = "default_request_timeout")]
    pub upstream_timeout: Dur,
    /// Longest an answer being sent may go without sending anything (a client that stops
    /// reading, an upstream that stops mid-body); then its connection is closed.
    #[serde(default = "default_send_timeout")]
    pub send_timeout: Dur,
    /// Deepest JSON nesting accepted in a body.
    #[serde(default = "default_max_json_depth")]
    pub max_json_depth: usize,
    /// Most header fields in an HTTP/1.1 head: a client's request (431 beyond) and an
    /// upstream's response (502 beyond).
    #[serde(default = "default_max_headers")]
    pub max_headers: usize,
    /// What becomes of a request body sent in a content coding (`Content-Encoding`).
    #[serde(default)]
    pub compressed_body: CompressedBody,
}

/// `server.limits.compressed_body`: a request body in a content coding is never checked as
/// compressed bytes, which an upstream would inflate into something no check saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressedBody {
    /// 415 `request.content-encoding` for any coding but `identity`.
    #[default]
    Refuse,
    /// gzip, deflate and br are inflated within `max_body` (413 past it) and the checks see,
    /// and the upstream gets, the plain body without `Content-Encoding`; other codings 415.
    Inflate,
}

fn default_max_body() -> ByteSize {
    ByteSize(1024 * 1024)
}
fn default_max_header_bytes() -> ByteSize {
    ByteSize(16 * 1024)
}
fn default_request_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(30))
}
fn default_send_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(60))
}
fn default_header_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}
fn default_max_json_depth() -> usize {
    32
}
/// hyper's own limit, kept as the default: above it hyper parses each head into a buffer on
/// the heap instead of the stack.
pub const DEFAULT_MAX_HEADERS: usize = 100;
fn default_max_headers() -> usize {
    DEFAULT_MAX_HEADERS
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body: default_max_body(),
            max_header_bytes: default_max_header_bytes(),
            request_timeout: default_request_timeout(),
            header_timeout: default_header_timeout(),
            upstream_timeout: default_request_timeout(),
            send_timeout: default_send_timeout(),
            max_json_depth: default_max_json_depth(),
            max_headers: default_max_headers(),
            compressed_body: CompressedBody::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Config;
    use super::CompressedBody;

    fn load(limits: &str) -> Result<Config, String> {
        let text = format!(
            "server: {{ limits: {{ {limits} }} }}\napis: [{{ name: a, spec: a.yaml, upstream: \"http://127.0.0.1:9\" }}]\n"
        );
        Config::from_str_in("gw.yaml", &text, Path::new("/etc/pc"), &|_| None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn compressed_body_is_refuse_by_default_inflate_on_request_and_nothing_else() {
        let policy = |c: Config| c.server.limits.compressed_body;
        assert_eq!(load("").map(policy), Ok(CompressedBody::Refuse));
        assert_eq!(
            load("compressed_body: refuse").map(policy),
            Ok(CompressedBody::Refuse)
        );
        assert_eq!(
            load("compressed_body: inflate").map(policy),
            Ok(CompressedBody::Inflate)
        );
        let error = load("compressed_body: pass").err().unwrap_or_default();
        assert!(
            error.contains("compressed_body") && error.contains("inflate"),
            "{error}"
        );
    }
}
