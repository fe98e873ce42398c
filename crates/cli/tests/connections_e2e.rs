//! Client connections end to end: the real `portcullis serve` in front of a real upstream on
//! 127.0.0.1, spoken to over cleartext HTTP/2 (prior knowledge, as a load balancer or a
//! gRPC-style client does) and HTTP/1.1. Requests on one HTTP/2 connection are checked exactly
//! as HTTP/1.1 ones (status for status), forwarded as HTTP/1.1 with the forwarded headers,
//! concurrent streams included; an HTTP/2 connection left idle is closed after
//! `header_timeout`, as an idle HTTP/1.1 one is; a graceful shutdown lets requests in flight
//! finish on both protocols without waiting for idle connections; and connections beyond
//! `server.max_connections` wait until one closes, the open-file limit raised to match.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::h2::{connect, exchange, runtime, send_one};
use support::{Gateway, PATIENCE, echo_upstream, read_response};

const SPEC: &str = r#"
openapi: 3.1.0
info: { title: h2 store, version: "1" }
servers: [{ url: /api }]
security: []
paths:
  /items:
    get:
      parameters:
        - { name: limit, in: query, required: true, schema: { type: integer, minimum: 1, maximum: 100 } }
      responses: { "200": { description: ok } }
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: { type: string, maxLength: 20 }
      responses: { "201": { description: created } }
"#;

/// A gateway in `mode` with `header_timeout`, in front of an echo upstream (whose address is
/// returned too).
fn gateway(mode: &str, header_timeout: &str) -> (Gateway, tempfile::TempDir, SocketAddr) {
    let upstream = echo_upstream();
    let (gw, dir) = gateway_for(upstream, mode, header_timeout, "");
    (gw, dir, upstream)
}

/// The admin API's token in these tests.
const ADMIN_TOKEN: &str = "connections-admin-token-0123456789";

/// A gateway in `mode` with `header_timeout` and the `server:` lines `server_extra`, in front
/// of `upstream`.
fn gateway_for(
    upstream: SocketAddr,
    mode: &str,
    header_timeout: &str,
    server_extra: &str,
) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let path = dir.path().join("gateway.yaml");
    std::fs::write(
        &path,
        format!(
            r#"
server:
  listen: 127.0.0.1:0
  limits: {{ max_body: 2KiB, header_timeout: {header_timeout} }}
{server_extra}
admin:
  listen: 127.0.0.1:0
  token: {ADMIN_TOKEN}
log:
  decisions: "off"
apis:
  - name: store
    spec: store.yaml
    upstream: http://{upstream}
    mode: {mode}
    undocumented: block
    request: {{ validate: block, unknown_fields: block }}
"#
        ),
    )
    .unwrap();
    (Gateway::start(&path), dir)
}

#[test]
fn http2_requests_are_checked_and_forwarded_like_http1_ones() {
    for mode in ["enforce", "monitor"] {
        let (gw, _dir, upstream) = gateway(mode, "10s");
        let addr = gw.addr;
        runtime().block_on(async move {
            let (mut send, _conn) = connect(addr).await;
            let blocked = |status: u16| if mode == "enforce" { status } else { 200 };
            // (method, path, body, status in enforce; in monitor everything reaches the upstream)
            let cases: [(&str, &str, Option<&str>, u16); 7] = [
                ("GET", "/api/items?limit=5", None, 200),
                ("GET", "/api/items?limit=500", None, blocked(400)),
                ("GET", "/api/items", None, blocked(400)),
                ("GET", "/api/nowhere", None, blocked(404)),
                ("DELETE", "/api/items?limit=5", None, blocked(405)),
                ("POST", "/api/items", Some(r#"{"name":"bolt"}"#), 200),
                (
                    "POST",
                    "/api/items",
                    Some(r#"{"name":"bolt","admin":true}"#),
                    blocked(400),
                ),
            ];
            for (method, path, body, want) in cases {
                let (status, headers, text) = exchange(&mut send, addr, method, path, body).await;
                assert_eq!(status, want, "{mode} {method} {path}: {text}");
                assert!(
                    headers.contains_key("x-request-id"),
                    "{mode} {method} {path}"
                );
                if status != 200 {
                    assert_eq!(
                        headers["content-type"], "application/problem+json",
                        "{mode} {method} {path}"
                    );
                    continue;
                }
                // What the upstream received: the upstream's own Host (as for HTTP/1.1), the
                // client's authority (HTTP/2 has no Host header) as X-Forwarded-Host.
                let echo: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(echo["method"], method, "{text}");
                assert_eq!(echo["uri"], path, "{text}");
                let sent = &echo["headers"];
                assert_eq!(sent["host"], upstream.to_string(), "{text}");
                assert_eq!(sent["x-forwarded-host"], addr.to_string(), "{text}");
                assert_eq!(sent["x-forwarded-for"], "127.0.0.1", "{text}");
                assert_eq!(sent["x-forwarded-proto"], "http", "{text}");
                assert_eq!(
                    sent["x-request-id"],
                    headers["x-request-id"].to_str().unwrap()
                );
                if let Some(body) = body {
                    assert_eq!(echo["body"], body, "{text}");
                }
            }
            // A Host header naming another host than :authority (RFC 9113 §8.3.1: malformed)
            // is refused in every mode; the same host is served.
            for (host, want) in [("elsewhere.test".to_owned(), 400), (addr.to_string(), 200)] {
                let request = hyper::Request::get(format!("http://{addr}/api/items?limit=1"))
                    .header("host", &host)
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let (status, _, body) = send_one(&mut send, request).await;
                assert_eq!(status, want, "{mode} host {host}: {body}");
                if want == 400 {
                    assert!(body.contains("request.host"), "{body}");
                }
            }
            // Concurrent streams on the same connection, each answered for itself.
            let streams = (1..=20).map(|i| {
                let mut send = send.clone();
                async move {
                    let path = format!("/api/items?limit={i}");
                    let (status, _, text) = exchange(&mut send, addr, "GET", &path, None).await;
                    let echo: serde_json::Value = serde_json::from_str(&text).unwrap();
                    (status, echo["uri"].as_str().unwrap().to_owned(), path)
                }
            });
            let handles: Vec<_> = streams.map(tokio::spawn).collect();
            for handle in handles {
                let (status, uri, path) = handle.await.unwrap();
                assert_eq!((status, uri), (200, path));
            }
        });
    }
}

/// A request body that does not tell its length, so hyper's HTTP/2 client sends no
/// `content-length` (HTTP/2 needs none): the body is told only by the DATA frames.
struct Unsized(Option<Bytes>);

impl hyper::body::Body for Unsized {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(
            self.get_mut()
                .0
                .take()
                .map(|b| Ok(hyper::body::Frame::data(b))),
        )
    }
}

#[test]
fn an_http2_body_without_content_length_is_seen() {
    let (gw, _dir, _) = gateway("enforce", "10s");
    let addr = gw.addr;
    runtime().block_on(async move {
        let (mut send, _conn) = connect::<Unsized>(addr).await;
        // (method, path, body, status): a body on an operation that takes none is refused
        // whether or not its length was declared; an empty one (a DATA frame that only ends
        // the stream) is no body; a JSON body without a length is still validated.
        let cases = [
            (
                "GET",
                "/api/items?limit=1",
                Some("sneaked"),
                415,
                "request.content-type",
            ),
            ("GET", "/api/items?limit=1", Some(""), 200, ""),
            ("GET", "/api/items?limit=1", None, 200, ""),
            ("POST", "/api/items", Some(r#"{"name":"bolt"}"#), 200, ""),
            (
                "POST",
                "/api/items",
                Some(r#"{"name":"bolt","admin":1}"#),
                400,
                "request.unknown-field",
            ),
        ];
        for (method, path, body, want, rule) in cases {
            let mut request = hyper::Request::builder()
                .method(method)
                .uri(format!("http://{addr}{path}"));
            if method == "POST" {
                request = request.header("content-type", "application/json");
            }
            let request = request
                .body(Unsized(body.map(|b| Bytes::from(b.to_owned()))))
                .unwrap();
            assert!(request.headers().get("content-length").is_none());
            let (status, _, text) = send_one(&mut send, request).await;
            assert_eq!(status, want, "{method} {path} {body:?}: {text}");
            assert!(text.contains(rule), "{method} {path} {body:?}: {text}");
        }
    });
}

#[test]
fn an_idle_http2_connection_is_closed_after_header_timeout() {
    // A header timeout of 1 s: the watchdog closes after one to two periods without a
    // request, so the busy connection below (a request every 200 ms) has 800 ms of margin
    // for a loaded machine's late wake-ups.
    let (gw, _dir, _) = gateway("enforce", "1s");
    let addr = gw.addr;
    runtime().block_on(async move {
        // Kept busy for three header timeouts (a request every 200 ms): stays open.
        let (mut send, conn) = connect(addr).await;
        let started = Instant::now();
        let mut last_request = started;
        while started.elapsed() < Duration::from_secs(3) {
            // Noted before the request is sent: the gateway's quiet can only start later.
            last_request = Instant::now();
            let (status, _, _) = exchange(&mut send, addr, "GET", "/api/items?limit=1", None).await;
            assert_eq!(status, 200);
            // The pause between requests is what the test does (a busy client), not a wait.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(!conn.is_finished(), "a busy connection was closed");
        // Then left idle: closed (with a GOAWAY, so the client's connection ends cleanly)
        // one to two header timeouts after the last answer, not at once and not never.
        let ended = tokio::time::timeout(PATIENCE, conn).await;
        let after = last_request.elapsed();
        let ended = ended.expect("an idle HTTP/2 connection was still open after PATIENCE");
        assert!(
            ended.unwrap().is_ok(),
            "the connection did not end with a GOAWAY"
        );
        // At least one header timeout (less 50 ms of timer granularity): not closed early;
        // at most 20 s: closed at all (two periods, slow by seconds on a loaded machine).
        assert!(
            after >= Duration::from_millis(950) && after < Duration::from_secs(20),
            "idle connection closed {after:?} after its last request"
        );
        // A connection that never sends a request after the preface is closed too.
        let (_send, conn) = connect::<Full<Bytes>>(addr).await;
        let ended = tokio::time::timeout(PATIENCE, conn).await;
        assert!(
            ended.is_ok(),
            "an HTTP/2 connection without requests stayed open"
        );
        // And a new connection is served.
        let (mut send, _conn) = connect(addr).await;
        let (status, _, _) = exchange(&mut send, addr, "GET", "/api/items?limit=1", None).await;
        assert_eq!(status, 200);
    });
}

/// A client stream whose first `skip` written bytes are dropped: the test sent them by hand,
/// slowly, before handing the stream to hyper's client.
struct Skipping {
    inner: tokio::net::TcpStream,
    skip: usize,
}

impl tokio::io::AsyncRead for Skipping {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Skipping {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.skip > 0 {
            let n = self.skip.min(buf.len());
            self.skip -= n;
            return std::task::Poll::Ready(Ok(n));
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[test]
fn the_protocol_is_told_from_the_first_bytes_however_slowly_they_come() {
    let (gw, _dir, _) = gateway("enforce", "1s");
    let addr = gw.addr;
    // HTTP/1.1 whose first byte comes alone ("P" could still be HTTP/2's preface): served.
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(b"P").unwrap();
    // The pause is what the test does (a first byte alone), not a wait for something.
    std::thread::sleep(Duration::from_millis(150));
    let body = r#"{"name":"bolt"}"#;
    write!(
        stream,
        "OST /api/items HTTP/1.1\r\nhost: store\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let answer = read_response(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The same connection goes on as HTTP/1.1.
    stream
        .write_all(b"GET /api/items?limit=500 HTTP/1.1\r\nhost: store\r\n\r\n")
        .unwrap();
    let answer = read_response(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    runtime().block_on(async move {
        // HTTP/2 whose preface comes in two parts, the first alone for a while: served.
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let first = b"PRI * HTTP/2.0\r\n";
        tokio::io::AsyncWriteExt::write_all(&mut stream, first)
            .await
            .unwrap();
        // The pause is what the test does (a preface in two parts), not a wait.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let stream = Skipping {
            inner: stream,
            skip: first.len(),
        };
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let (status, _, _) = exchange(&mut send, addr, "GET", "/api/items?limit=1", None).await;
        assert_eq!(status, 200);
        let (status, _, _) = exchange(&mut send, addr, "GET", "/api/items", None).await;
        assert_eq!(status, 400);
    });

    // A connection that sends nothing is closed after header_timeout, unanswered. The clock
    // starts before the connection opens, so before the gateway's timer can.
    let started = Instant::now();
    let mut silent = std::net::TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut byte = [0u8; 1];
    let read = silent.read(&mut byte);
    let after = started.elapsed();
    assert!(
        matches!(read, Ok(0))
            || read.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "a silent connection was answered or left open"
    );
    // At least header_timeout (1 s, less 100 ms of timer granularity): not closed early;
    // at most 20 s: closed at all (two periods, slow by seconds on a loaded machine).
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(20),
        "a silent connection was closed {after:?} after it opened"
    );
}

/// What a [`dribbling_upstream`] tells the test: how many request heads it has received, and
/// when it last wrote a byte of an answer.
#[derive(Clone, Default)]
struct UpstreamSeen {
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    last_byte: std::sync::Arc<std::sync::Mutex<Option<Instant>>>,
}

impl UpstreamSeen {
    fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn last_byte(&self) -> Instant {
        self.last_byte
            .lock()
            .unwrap()
            .expect("the upstream answered")
    }
}

/// An HTTP/1.1 upstream that answers each request (a head without a body) `delay` late with
/// `slow`, keeping connections alive.
fn slow_upstream(delay: Duration) -> (SocketAddr, UpstreamSeen) {
    dribbling_upstream(delay, Duration::ZERO)
}

/// [`slow_upstream`], sending its answer's body a byte at a time, `dribble` apart.
fn dribbling_upstream(delay: Duration, dribble: Duration) -> (SocketAddr, UpstreamSeen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = UpstreamSeen::default();
    let told = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = told.clone();
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let end = loop {
                        if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&chunk[..n]),
                        }
                    };
                    pending.drain(..end);
                    seen.requests
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // The upstream's slowness is what the tests are about, not a wait.
                    std::thread::sleep(delay);
                    let head =
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\n";
                    if stream.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    for byte in b"slow".chunks(if dribble.is_zero() { 4 } else { 1 }) {
                        std::thread::sleep(dribble);
                        if stream.write_all(byte).is_err() {
                            return;
                        }
                    }
                    *seen.last_byte.lock().unwrap() = Some(Instant::now());
                }
            });
        }
    });
    (addr, seen)
}

#[test]
fn a_slow_answer_keeps_its_http1_connection_past_header_timeout_and_quiet_closes_it() {
    // header_timeout 300 ms; the upstream answers 800 ms late, then sends its body over
    // another 800 ms: each longer than the watchdog's two periods of quiet.
    let (upstream, seen) =
        dribbling_upstream(Duration::from_millis(800), Duration::from_millis(200));
    let (gw, _dir) = gateway_for(upstream, "enforce", "300ms", "");
    let mut stream = std::net::TcpStream::connect(gw.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let get = "GET /api/items?limit=1 HTTP/1.1\r\nhost: e2e\r\n\r\n";
    for _ in 0..2 {
        stream.write_all(get.as_bytes()).unwrap();
        let answer = read_response(&mut stream);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"),
            "{answer}"
        );
    }
    // Then quiet: closed within one to two periods. The quiet is timed from the upstream's
    // last byte, before the gateway could forward it: timed from when the test read it, a
    // descheduled test would see the close early. At least one period (300 ms, less 50 ms of
    // timer granularity): not closed at once; at most 20 s: closed at all (two periods, slow
    // by seconds on a loaded machine).
    assert_eq!(read_response(&mut stream), "");
    let after = seen.last_byte().elapsed();
    assert!(
        after >= Duration::from_millis(250) && after < Duration::from_secs(20),
        "closed after {after:?}"
    );
}

#[test]
fn shutdown_lets_requests_in_flight_finish_and_does_not_wait_for_idle_connections() {
    let (upstream, seen) = slow_upstream(Duration::from_millis(1500));
    let (mut gw, _dir) = gateway_for(upstream, "enforce", "10s", "");
    let addr = gw.addr;
    let open = || {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    };
    let get = "GET /api/items?limit=1 HTTP/1.1\r\nhost: e2e\r\n\r\n";
    let rt = runtime();
    // Idle connections of both protocols, each after one answer.
    let mut idle_http1 = open();
    idle_http1.write_all(get.as_bytes()).unwrap();
    assert!(read_response(&mut idle_http1).starts_with("HTTP/1.1 200"));
    let idle_http2 = rt.block_on(async {
        let (mut send, conn) = connect(addr).await;
        let (status, _, body) = exchange(&mut send, addr, "GET", "/api/items?limit=1", None).await;
        assert_eq!((status, body.as_str()), (200, "slow"));
        (send, conn)
    });
    // Requests in flight on both protocols when SIGTERM comes.
    let mut busy_http1 = open();
    busy_http1.write_all(get.as_bytes()).unwrap();
    let busy_http1 = std::thread::spawn(move || read_response(&mut busy_http1));
    let busy_http2 = rt.spawn(async move {
        let (mut send, _conn) = connect(addr).await;
        exchange(&mut send, addr, "GET", "/api/items?limit=2", None).await
    });
    // In flight means forwarded: the upstream has both (after the two idle connections' two).
    support::eventually(
        "both busy requests to reach the upstream",
        PATIENCE,
        || match seen.requests() {
            4 => Ok(()),
            n => Err(format!("{n} requests at the upstream")),
        },
    );
    let told = std::time::Instant::now();
    gw.signal_terminate();
    // Both finish, with their answers.
    let (status, _, body) = rt.block_on(busy_http2).unwrap();
    assert_eq!((status, body.as_str()), (200, "slow"));
    let answer = busy_http1.join().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"),
        "{answer}"
    );
    // The idle connections are closed (HTTP/2 with a GOAWAY), and the process exits cleanly
    // soon after the last answer, not after the 30 s the drain may take at most: at most
    // 15 s (the answers' 1.5 s, slow by seconds on a loaded machine, well under 30 s).
    let status = gw.await_exit();
    assert!(status.success(), "serve exited with {status}");
    assert!(
        told.elapsed() < Duration::from_secs(15),
        "exit took {:?}",
        told.elapsed()
    );
    assert_eq!(read_response(&mut idle_http1), "");
    let (_send, conn) = idle_http2;
    let ended = rt.block_on(async { tokio::time::timeout(PATIENCE, conn).await });
    assert!(
        ended
            .expect("idle HTTP/2 connection still open")
            .unwrap()
            .is_ok()
    );
}

#[test]
fn connections_beyond_max_connections_wait_until_one_closes() {
    let (gw, _dir) = gateway_for(echo_upstream(), "enforce", "10s", "  max_connections: 2");
    let get = "GET /api/items?limit=1 HTTP/1.1\r\nhost: e2e\r\n\r\n";
    let open = || {
        let stream = std::net::TcpStream::connect(gw.addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    };
    let answered = |stream: &mut std::net::TcpStream| {
        stream.write_all(get.as_bytes()).unwrap();
        let text = read_response(stream);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    };
    // Two kept-alive connections take both places.
    let mut first = open();
    answered(&mut first);
    let mut second = open();
    answered(&mut second);
    gw.await_metric_eq("portcullis_connections_open", ADMIN_TOKEN, 2.0);
    // A third connects (the kernel's backlog) but is not served while both stay open.
    let mut third = open();
    third.write_all(get.as_bytes()).unwrap();
    // Not served within 0.7 s: a wait that proves something does not happen (a loaded
    // machine can only make it likelier to hold), not a wait for something.
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut byte = [0u8; 1];
    let waiting = third.read(&mut byte);
    assert!(
        matches!(&waiting, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "the third connection was served beyond max_connections: {waiting:?}"
    );
    gw.await_metric(
        "portcullis_connection_limit_waits_total",
        ADMIN_TOKEN,
        ">= 1",
        |v| v >= 1.0,
    );
    // The first closes: the third is served, and the second still is.
    drop(first);
    third.set_read_timeout(Some(PATIENCE)).unwrap();
    let text = read_response(&mut third);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    answered(&mut second);
    // The first's place is given back when its task ends, which may be after the third's.
    gw.await_metric_eq("portcullis_connections_open", ADMIN_TOKEN, 2.0);
}

#[test]
fn the_open_file_limit_is_raised_for_max_connections() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "prlimit is not installed and CI=true: the test cannot be skipped in CI"
        );
        eprintln!("SKIPPED: prlimit (util-linux) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let open_files = |max_connections: usize, soft_hard: &str| {
        let path = dir.path().join(format!("gateway-{max_connections}.yaml"));
        std::fs::write(
            &path,
            format!(
                "server:\n  listen: 127.0.0.1:0\n  max_connections: {max_connections}\n\
                 apis:\n  - name: store\n    spec: store.yaml\n    upstream: http://127.0.0.1:9\n"
            ),
        )
        .unwrap();
        let nofile = format!("--nofile={soft_hard}");
        let gw = Gateway::start_through(&["prlimit", &nofile, "--"], &path, &[]);
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", gw.pid())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap()
            .to_owned();
        let soft: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
        // The warning comes before the "serving on" line, which start() has read: all here.
        (soft, gw.stderr.lock().unwrap().clone())
    };
    // A soft limit of 512 under a hard one of 8192: raised to max_connections + 1024.
    let (soft, log) = open_files(2000, "512:8192");
    assert_eq!(soft, 3024, "{log}");
    assert!(!log.contains("below server.max_connections"), "{log}");
    // Up to the hard limit only, with a warning that says what to do.
    let (soft, log) = open_files(10_000, "512:4096");
    assert_eq!(soft, 4096, "{log}");
    assert!(
        log.contains("below server.max_connections") && log.contains("LimitNOFILE"),
        "{log}"
    );
}
