//! Which protocol a client connection speaks, and serving it with hyper's connection for
//! that protocol.
//!
//! hyper-util's `auto` connection tells HTTP/1 from HTTP/2 by reading the first bytes itself
//! and replaying them to the chosen protocol. That replay costs every HTTP/1 connection a
//! second read buffer size (the first read returns only the replayed bytes, so hyper grows
//! its 8 KiB buffer to 16 KiB before the next read: 8 KiB more per idle connection) and a
//! wrapper on every read. Here the choice is made before hyper starts: over TLS by ALPN,
//! in cleartext by peeking at the first bytes (left in the socket for hyper to read), and
//! the connection is served by hyper's HTTP/1 or HTTP/2 connection directly. Only a client
//! whose first bytes are still a part of the HTTP/2 preface (a slow sender) goes to `auto`,
//! which waits for the rest.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use prometheus_client::metrics::counter::Counter;

use super::idle::{self, Activity, ShutdownSignal};
use super::log_end;
use crate::config::DEFAULT_MAX_HEADERS;
use crate::proxy::Body;

/// The client connection preface of HTTP/2 with prior knowledge (RFC 9113, section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol of a client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2.
    Http2,
    /// Not known yet: `auto` reads on and decides.
    Unknown,
}

impl Protocol {
    /// The protocol the first bytes of a cleartext connection show: HTTP/2 once the whole
    /// preface is there, HTTP/1 as soon as a byte differs from it (and when the client closed
    /// before sending anything: hyper then sees the end), unknown while every byte so far
    /// matches the preface.
    pub(super) fn of_first_bytes(first: &[u8]) -> Protocol {
        let seen = first.len().min(PREFACE.len());
        if first.is_empty() || first.get(..seen) != PREFACE.get(..seen) {
            Protocol::Http1
        } else if seen == PREFACE.len() {
            Protocol::Http2
        } else {
            Protocol::Unknown
        }
    }

    /// The protocol TLS's ALPN agreed on; unknown without ALPN.
    pub(super) fn of_alpn(alpn: Option<&[u8]>) -> Protocol {
        match alpn {
            Some(b"h2") => Protocol::Http2,
            Some(_) => Protocol::Http1,
            None => Protocol::Unknown,
        }
    }

    /// Waits for a cleartext connection's first bytes and tells its protocol, leaving the
    /// bytes in the socket. `None` when the client sent nothing within `limit`, the worker is
    /// stopping, or the socket failed: the connection is then dropped unanswered.
    pub(super) async fn sniff(
        stream: &tokio::net::TcpStream,
        limit: Duration,
        signal: &mut ShutdownSignal,
    ) -> Option<Protocol> {
        let mut first = [0u8; PREFACE.len()];
        tokio::select! {
            peeked = tokio::time::timeout(limit, stream.peek(&mut first)) => match peeked {
                Ok(Ok(n)) => Some(Protocol::of_first_bytes(first.get(..n).unwrap_or_default())),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "connection failed before its first request");
                    None
                }
                Err(_) => None,
            },
            _ = signal => None,
        }
    }
}

/// hyper's settings for the worker's client connections.
#[derive(Clone)]
pub(super) struct Settings {
    /// `server.limits.header_timeout`: the first bytes' and the watchdog's period
    /// ([`idle::watch`], which bounds request heads and idle time for every protocol).
    pub header_timeout: Duration,
    /// `server.limits.send_timeout`: how long an answer under way may send nothing.
    pub send_timeout: Duration,
    /// `portcullis_connections_stalled_total`, counted when `send_timeout` cuts a connection.
    pub stalled: Counter,
    /// The most an HTTP/1 request head may take in the read buffer.
    pub max_buf_size: usize,
    /// The most an HTTP/2 header list may take.
    pub max_header_list_size: u32,
    /// The most header fields an HTTP/1 request head may have (`server.limits.max_headers`).
    pub max_headers: usize,
}

impl Settings {
    fn http1(&self) -> http1::Builder {
        // No timer: hyper's header-read timeout armed a sleep per request; the connection's
        // watchdog bounds a stalled head and an idle connection instead.
        let mut builder = http1::Builder::new();
        builder.max_buf_size(self.max_buf_size);
        // Set only when not hyper's default, which parses each head in a buffer on the stack.
        if self.max_headers != DEFAULT_MAX_HEADERS {
            builder.max_headers(self.max_headers);
        }
        builder
    }

    fn http2(&self) -> http2::Builder<TokioExecutor> {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_header_list_size(self.max_header_list_size);
        builder
    }

    fn auto(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().max_buf_size(self.max_buf_size);
        if self.max_headers != DEFAULT_MAX_HEADERS {
            builder.http1().max_headers(self.max_headers);
        }
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(self.max_header_list_size);
        builder
    }
}

/// Serves one client connection with `protocol` until it ends, watched for idleness and the
/// worker's shutdown ([`idle::watch`]).
pub(super) async fn serve<I, S>(
    io: I,
    protocol: Protocol,
    service: S,
    settings: &Settings,
    activity: Arc<Activity>,
    signal: ShutdownSignal,
    peer: SocketAddr,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<Body>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let limits = idle::Limits {
        idle: settings.header_timeout,
        send: settings.send_timeout,
    };
    match protocol {
        Protocol::Http1 => {
            let conn = settings.http1().serve_connection(io, service);
            let shutdown = http1::Connection::graceful_shutdown;
            log_end(
                idle::watch(conn, shutdown, activity, limits, signal).await,
                peer,
                &settings.stalled,
            );
        }
        Protocol::Http2 => {
            let conn = settings.http2().serve_connection(io, service);
            let shutdown = http2::Connection::graceful_shutdown;
            log_end(
                idle::watch(conn, shutdown, activity, limits, signal).await,
                peer,
                &settings.stalled,
            );
        }
        Protocol::Unknown => {
            let conn = settings.auto().serve_connection(io, service).into_owned();
            let shutdown = auto::Connection::graceful_shutdown;
            log_end(
                idle::watch(conn, shutdown, activity, limits, signal).await,
                peer,
                &settings.stalled,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_tell_http2_only_with_the_whole_preface() {
        assert_eq!(Protocol::of_first_bytes(PREFACE), Protocol::Http2);
        let mut more = PREFACE.to_vec();
        more.extend_from_slice(b"\0\0\x12\x04");
        assert_eq!(Protocol::of_first_bytes(&more), Protocol::Http2);
        assert_eq!(
            Protocol::of_first_bytes(b"PRI * HTTP/2.0\r\n"),
            Protocol::Unknown
        );
        assert_eq!(Protocol::of_first_bytes(b"P"), Protocol::Unknown);
    }

    #[test]
    fn the_first_bytes_tell_http1_at_the_first_difference() {
        for first in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /items HTTP/1.1\r\n",
            b"PUT",
            b"PATCH /x HTTP/1.1\r\n",
            b"PRIVATE / HTTP/1.1\r\n",
            b"\x16\x03\x01",
            b"",
        ] {
            assert_eq!(
                Protocol::of_first_bytes(first),
                Protocol::Http1,
                "{first:?}"
            );
        }
    }

    #[test]
    fn alpn_decides_over_tls() {
        assert_eq!(Protocol::of_alpn(Some(b"h2")), Protocol::Http2);
        assert_eq!(Protocol::of_alpn(Some(b"http/1.1")), Protocol::Http1);
        assert_eq!(Protocol::of_alpn(None), Protocol::Unknown);
    }
}
