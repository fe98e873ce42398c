//! HTTP/2 abuse against the real `portcullis serve` on 127.0.0.1, each test run twice: over
//! cleartext HTTP/2 with prior knowledge (`cleartext::`) and over TLS with `h2` chosen by ALPN
//! (`tls::`; `h2abuse/transport.rs`). The abuse: rapid reset (HEADERS then
//! RST_STREAM, over and over), a CONTINUATION flood, more concurrent streams than the gateway
//! allows, an HPACK bomb (one large entry in the dynamic table referenced many times) and a
//! dynamic table larger than allowed. Each is bounded: the connection is ended with GOAWAY or
//! closed, excess streams are refused, headers over the limit never reach the upstream; the
//! gateway's memory stays within [`RSS_BOUND_MIB`] of where it was, and a normal HTTP/1.1
//! client (over the same transport) is served all along (every one of its requests answered
//! 200) and an HTTP/2 one after.
//!
//! Well-formed abuse (rapid reset) uses the `h2` crate's client; malformed abuse is written as
//! raw frames (`h2abuse/frames.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

#[path = "h2abuse/frames.rs"]
mod frames;
#[path = "h2abuse/transport.rs"]
mod transport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use frames::{Conn, Ended, Frame, hpack};
use support::{Gateway, PATIENCE};
use transport::{Target, Transport};

/// The most the gateway's resident memory may grow during one abuse.
const RSS_BOUND_MIB: u64 = 64;

/// The limits of the gateway under test (SECURITY.md and docs/config.md).
const MAX_CONCURRENT_STREAMS: u32 = 200;

/// A gateway listening over `transport`, with an 8 KiB header limit, in front of an upstream
/// that counts its requests; the listener as the tests reach it.
fn start(transport: Transport) -> (Gateway, Target, Arc<AtomicU64>, tempfile::TempDir) {
    let (upstream, count) = counting_upstream();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "openapi: 3.0.3\ninfo: { title: h, version: '1' }\npaths:\n  /public:\n    get:\n      operationId: getPublic\n      responses: { '200': { description: ok } }\n    post:\n      operationId: postPublic\n      responses: { '200': { description: ok } }\n",
    )
    .unwrap();
    let config = dir.path().join("gw.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  listen: 127.0.0.1:0\n{}  limits: {{ max_header_bytes: 8KiB, header_timeout: 10s }}\nlog: {{ decisions: off }}\napis:\n  - {{ name: h, spec: spec.yaml, upstream: \"http://{upstream}\" }}\n",
            transport.server_keys()
        ),
    )
    .unwrap();
    let gw = Gateway::start(&config);
    let target = Target {
        addr: gw.addr,
        transport,
    };
    (gw, target, count, dir)
}

/// An upstream answering 200 to everything, counting the requests it got from the abuse.
fn counting_upstream() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // The bystander's requests (`?from=bystander`) are not counted.
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                if uri.query() != Some("from=bystander") {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                async { "ok" }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    (addr, count)
}

/// The gateway's resident memory in KiB.
fn rss_kib(gw: &Gateway) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", gw.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// A normal HTTP/1.1 client sending requests until stopped; every answer must be 200.
struct Bystander {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Bystander {
    fn start(target: Target) -> Bystander {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            // At least one request, however late the thread starts: on a loaded machine a
            // short abuse can end before this thread first runs.
            let mut served = 0;
            loop {
                let r = support::send_on(
                    target.http1(),
                    b"GET /public?from=bystander HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n",
                );
                assert_eq!(
                    r.status, 200,
                    "a normal client was refused meanwhile: {r:?}"
                );
                served += 1;
                if s.load(Ordering::SeqCst) {
                    break;
                }
            }
            served
        });
        Bystander { stop, thread }
    }

    /// Stops it; how many requests it had served (at least one is required).
    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let served = self.thread.join().expect("the normal client failed");
        assert!(served > 0, "the normal client was never served");
        served
    }
}

/// Ends a test: the gateway is alive, its memory grew less than the bound since `before`,
/// and a normal HTTP/2 request on a new connection is answered 200.
fn still_well(gw: &mut Gateway, target: Target, before: u64, what: &str) {
    gw.assert_alive();
    let transport = target.transport;
    let after = rss_kib(gw);
    eprintln!("{transport:?} {what}: RSS {before} KiB -> {after} KiB");
    assert!(
        after < before + RSS_BOUND_MIB * 1024,
        "{what}: RSS grew from {before} KiB to {after} KiB"
    );
    let mut conn = Conn::open(target.h2());
    conn.send(&Frame::headers(1, true, &hpack::get("/public")));
    let answer = conn.await_headers(1);
    assert_eq!(
        answer,
        Some(200),
        "{what}: a normal HTTP/2 request after it"
    );
}

fn rapid_reset_is_bounded_and_normal_clients_are_served(transport: Transport) {
    let (mut gw, target, upstream, _dir) = start(transport);
    let before = rss_kib(&gw);
    let bystander = Bystander::start(target);
    const STREAMS: u32 = 20_000;
    let rt = support::h2::runtime();
    let (sent, ended) = rt.block_on(async {
        let tcp = target.h2();
        tcp.set_nonblocking(true).unwrap();
        let tcp = tokio::net::TcpStream::from_std(tcp).unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        let driver = tokio::spawn(connection);
        let mut ready = Some(client.ready().await.unwrap());
        let mut sent = 0u32;
        for _ in 0..STREAMS {
            let Some(mut client) = ready.take() else {
                break;
            };
            let request = http::Request::get(format!("http://{}/public", gw.addr))
                .body(())
                .unwrap();
            let Ok((response, mut stream)) = client.send_request(request, true) else {
                break;
            };
            stream.send_reset(h2::Reason::CANCEL);
            drop(response);
            sent += 1;
            ready = client.ready().await.ok();
        }
        let client = ready;
        drop(client);
        // How the gateway ended (or left) the connection.
        let ended = tokio::time::timeout(PATIENCE, driver).await;
        (sent, format!("{ended:?}"))
    });
    let reached = upstream.load(Ordering::SeqCst);
    eprintln!(
        "{transport:?} rapid reset: {sent} of {STREAMS} streams opened and reset; {reached} reached the upstream; connection: {ended}"
    );
    // Either the gateway ended the connection (GOAWAY) before all were sent, or every reset
    // stream was cancelled before or while it was forwarded: never more upstream requests
    // than streams, and the work stays bounded (memory below, the bystander served).
    assert!(reached <= u64::from(sent));
    let served = bystander.finish();
    eprintln!("{transport:?} rapid reset: the normal client was served {served} times meanwhile");
    still_well(&mut gw, target, before, "rapid reset");
}

fn a_continuation_flood_is_cut_off(transport: Transport) {
    let (mut gw, target, upstream, _dir) = start(transport);
    let before = rss_kib(&gw);
    let bystander = Bystander::start(target);
    let mut conn = Conn::open(target.h2());
    // HEADERS without END_HEADERS, then CONTINUATION frames of new header fields without end.
    conn.send(&Frame::new(
        frames::HEADERS,
        frames::END_STREAM,
        1,
        hpack::get("/public"),
    ));
    let block = hpack::literal_fields(16 * 1024 - 64);
    const LIMIT: usize = 64 << 20;
    let mut sent = 0;
    while sent < LIMIT && conn.try_send(&Frame::new(frames::CONTINUATION, 0, 1, block.clone())) {
        sent += block.len();
    }
    let ended = conn.finish();
    eprintln!(
        "{transport:?} CONTINUATION flood: {} KiB sent; {ended:?}",
        sent / 1024
    );
    assert!(
        sent < LIMIT,
        "the gateway read {} MiB of one header block without ending the connection",
        LIMIT >> 20
    );
    assert!(
        matches!(ended, Ended::GoAway(_) | Ended::Closed),
        "the connection was not ended: {ended:?}"
    );
    assert_eq!(
        upstream.load(Ordering::SeqCst),
        0,
        "the flooded request reached the upstream"
    );
    bystander.finish();
    still_well(&mut gw, target, before, "CONTINUATION flood");
}

fn streams_beyond_the_limit_are_refused(transport: Transport) {
    let (mut gw, target, _upstream, _dir) = start(transport);
    let before = rss_kib(&gw);
    let bystander = Bystander::start(target);
    let mut conn = Conn::open(target.h2());
    let advertised = conn.server_setting(frames::SETTINGS_MAX_CONCURRENT_STREAMS);
    assert_eq!(
        advertised,
        Some(MAX_CONCURRENT_STREAMS),
        "the gateway's SETTINGS_MAX_CONCURRENT_STREAMS"
    );
    // Streams that stay open (a POST whose body never comes), 100 more than allowed.
    const EXTRA: u32 = 100;
    for i in 0..MAX_CONCURRENT_STREAMS + EXTRA {
        conn.send(&Frame::new(
            frames::HEADERS,
            frames::END_HEADERS,
            2 * i + 1,
            hpack::request("POST", "/public"),
        ));
    }
    let refused = conn.await_resets(EXTRA, frames::REFUSED_STREAM);
    eprintln!("{transport:?} many streams: {refused} refused with REFUSED_STREAM");
    assert!(refused >= EXTRA);
    drop(conn);
    bystander.finish();
    still_well(&mut gw, target, before, "many streams");
}

fn an_hpack_bomb_never_reaches_the_upstream(transport: Transport) {
    let (mut gw, target, upstream, _dir) = start(transport);
    let before = rss_kib(&gw);
    let bystander = Bystander::start(target);
    let mut conn = Conn::open(target.h2());
    // One 4 000-byte field added to the dynamic table, then referenced 3 000 times in the
    // next request (12 MB decoded from 3 KB), far past the 8 KiB header limit.
    conn.send(&Frame::headers(
        1,
        true,
        &hpack::with_big_entry("/public", 4000),
    ));
    assert_eq!(
        conn.await_headers(1),
        Some(200),
        "the request adding the entry"
    );
    let reached = upstream.load(Ordering::SeqCst);
    conn.send(&Frame::headers(
        3,
        true,
        &hpack::referencing_entry("/public", 3000),
    ));
    let outcome = conn.await_outcome(3);
    eprintln!("{transport:?} HPACK bomb: {outcome:?}");
    assert!(
        !matches!(outcome, frames::Outcome::Status(200)),
        "a 12 MB header list was answered 200"
    );
    assert_eq!(
        upstream.load(Ordering::SeqCst),
        reached,
        "the bomb reached the upstream"
    );
    drop(conn);
    bystander.finish();
    still_well(&mut gw, target, before, "HPACK bomb");
}

fn a_dynamic_table_larger_than_allowed_ends_the_connection(transport: Transport) {
    let (mut gw, target, upstream, _dir) = start(transport);
    let before = rss_kib(&gw);
    let mut conn = Conn::open(target.h2());
    // A dynamic table size update to 1 GiB, past the 4 096 bytes SETTINGS_HEADER_TABLE_SIZE
    // allows: a decoding error of the connection (RFC 7541, section 4.2; h2 reports it as
    // PROTOCOL_ERROR).
    let mut block = hpack::table_size_update(1 << 30);
    block.extend(hpack::get("/public"));
    conn.send(&Frame::headers(1, true, &block));
    let ended = conn.finish();
    eprintln!("{transport:?} table size update: {ended:?}");
    assert!(
        matches!(
            ended,
            Ended::GoAway(frames::COMPRESSION_ERROR | frames::PROTOCOL_ERROR) | Ended::Closed
        ),
        "{ended:?}"
    );
    assert_eq!(upstream.load(Ordering::SeqCst), 0);
    // A client asking the gateway's encoder for a 4 GiB table is served within bounds.
    let mut conn = Conn::open_with_settings(
        target.h2(),
        &[(frames::SETTINGS_HEADER_TABLE_SIZE, u32::MAX)],
    );
    conn.send(&Frame::headers(1, true, &hpack::get("/public")));
    assert_eq!(conn.await_headers(1), Some(200));
    still_well(&mut gw, target, before, "huge header tables");
}

/// Each abuse as a test over both transports: `cleartext::NAME` and `tls::NAME`.
macro_rules! over_both {
    ($($name:ident),* $(,)?) => {
        /// Cleartext HTTP/2 with prior knowledge.
        mod cleartext {
            $(#[test]
            fn $name() {
                super::$name(super::Transport::Clear);
            })*
        }
        /// TLS, HTTP/2 chosen by ALPN.
        mod tls {
            $(#[test]
            fn $name() {
                super::$name(super::Transport::Tls);
            })*
        }
    };
}

over_both!(
    rapid_reset_is_bounded_and_normal_clients_are_served,
    a_continuation_flood_is_cut_off,
    streams_beyond_the_limit_are_refused,
    an_hpack_bomb_never_reaches_the_upstream,
    a_dynamic_table_larger_than_allowed_ends_the_connection,
);
