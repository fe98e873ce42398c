//! Timeouts end to end: the real `portcullis serve` in front of an upstream on 127.0.0.1 that
//! never answers, and clients that stop mid-request: which deadline a slow upstream or client
//! meets and what the answer and the decision log call it; a request head that stalls is cut
//! off after `header_timeout`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::store::{ADMIN_TOKEN, SPEC, config, decision_of, req};
use support::{Gateway, PATIENCE, Resp, echo_upstream, read_response};

/// An upstream on 127.0.0.1 that accepts connections and never answers (held until the test
/// process ends).
fn silent_upstream() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

/// Sends `raw` (which may stop mid-body) and reads one response: its status and body.
fn send_partial(addr: std::net::SocketAddr, raw: &str) -> Resp {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let text = read_response(&mut stream);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no response to {raw:?}: {text:?}"));
    Resp {
        status,
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

#[test]
fn timeouts_name_what_was_slow() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let silent = silent_upstream();
    // (limits, request, status, decision, rule): a silent upstream is the upstream's timeout
    // whichever deadline passes first; a client that stops sending is the request's. The
    // deadline that must not be the one to fire is 60 s, far above the answer's bound below.
    let get = req("GET", "/api/items/1", &[], None);
    let stalled = "POST /api/items HTTP/1.1\r\nhost: e2e\r\ncontent-type: application/json\r\n\
                   content-length: 40\r\n\r\n{\"name\":";
    let cases = [
        (
            "request_timeout: 60s, upstream_timeout: 300ms",
            get.as_str(),
            504,
            "allow",
            "upstream.timeout",
        ),
        (
            "request_timeout: 300ms, upstream_timeout: 60s",
            get.as_str(),
            504,
            "allow",
            "upstream.timeout",
        ),
        (
            "request_timeout: 300ms, upstream_timeout: 300ms",
            get.as_str(),
            504,
            "allow",
            "upstream.timeout",
        ),
        (
            "request_timeout: 300ms",
            stalled,
            504,
            "block",
            "request.timeout",
        ),
    ];
    for (i, (limits, raw, status, decision, rule)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("timeouts-{i}.yaml"));
        let text = config(silent, "enforce").replace(
            "max_body: 2KiB, max_json_depth: 8",
            &format!("max_body: 2KiB, max_json_depth: 8, {limits}"),
        );
        std::fs::write(&path, text).unwrap();
        let gw = Gateway::start(&path);
        let started = std::time::Instant::now();
        let resp = send_partial(gw.addr, raw);
        assert_eq!(resp.status, status, "{limits}: {}", resp.body);
        assert!(resp.body.contains(rule), "{limits}: {}", resp.body);
        // Bounds which deadline fired: the 300 ms one (slow by seconds on a loaded machine),
        // not the 60 s one.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{limits}: answered after {:?}",
            started.elapsed()
        );
        let d = decision_of(&gw, &resp);
        assert_eq!(d["decision"], decision, "{limits}: {d}");
        assert_eq!(d["rule"], rule, "{limits}: {d}");
        if rule == "upstream.timeout" {
            gw.await_metric_eq(
                "portcullis_upstream_errors_total{api=\"store\"}",
                ADMIN_TOKEN,
                1.0,
            );
        }
    }
}

/// Reads until the gateway closes the connection; returns what came.
fn until_closed(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Asserts that a connection whose head stalled closed `after` a header_timeout of 400 ms,
/// measured from a moment before the gateway could start its timer: at least 300 ms (it did
/// not fire early; 100 ms for the timer's granularity), and at most 20 s (it fired at all; a
/// loaded machine is slow by seconds, and the read timeout is longer still).
fn assert_header_timeout(after: std::time::Duration, what: &str) {
    assert!(
        after >= std::time::Duration::from_millis(300)
            && after < std::time::Duration::from_secs(20),
        "{what}: closed after {after:?}"
    );
}

#[test]
fn a_request_head_that_stalls_is_cut_off_after_header_timeout() {
    use std::io::Write;
    use std::time::Instant;
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let path = dir.path().join("header-timeout.yaml");
    let text = config(upstream, "enforce").replace(
        "max_body: 2KiB, max_json_depth: 8",
        "max_body: 2KiB, max_json_depth: 8, header_timeout: 400ms",
    );
    std::fs::write(&path, text).unwrap();
    let gw = Gateway::start(&path);
    let open = |gw: &Gateway| {
        let stream = std::net::TcpStream::connect(gw.addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
    };
    let head = "GET /api/items/1 HTTP/1.1\r\nhost: e2e\r\n";
    // A connection that sends nothing, one that stops mid-head, and one that stops mid-head
    // after a few whole requests on it (each request re-arms the timer the worker recycles).
    for requests_before in [None, Some(0), Some(3)] {
        // The clock starts before the gateway can start its timer: before the connection
        // opens, then again before the last whole request (the gateway re-arms its timer
        // after receiving it). Started later, a descheduled test would see the close early.
        let mut started = Instant::now();
        let mut stream = open(&gw);
        if let Some(n) = requests_before {
            for _ in 0..n {
                started = Instant::now();
                stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
                let response = read_response(&mut stream);
                assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            }
            stream.write_all(head.as_bytes()).unwrap();
        }
        let got = until_closed(&mut stream);
        assert!(
            got.is_empty() || got.starts_with("HTTP/1.1 408"),
            "{requests_before:?}: {got}"
        );
        assert_header_timeout(started.elapsed(), &format!("{requests_before:?}"));
    }
    // Part of the HTTP/2 preface, then nothing: the version is never known.
    let started = Instant::now();
    let mut stream = open(&gw);
    stream.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    let got = until_closed(&mut stream);
    assert!(got.is_empty(), "{got}");
    assert_header_timeout(started.elapsed(), "partial preface");
    // A whole request still goes through on a fresh connection.
    let mut stream = open(&gw);
    stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
    assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
}

/// An upstream on 127.0.0.1 that answers each request with a `length`-byte body, of which it
/// sends `sent` bytes and then nothing more (holding the connection open until the gateway
/// closes it).
fn answering_upstream(length: usize, sent: usize) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let mut stream = stream;
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {length}\r\n\r\n");
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = sent;
                while left > 0 {
                    let n = left.min(chunk.len());
                    // Blocks while the gateway does not read; fails once it has closed.
                    if stream.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
                // Then silence, until the gateway hangs up.
                let mut rest = Vec::new();
                let _ = std::io::Read::read_to_end(&mut stream, &mut rest);
            });
        }
    });
    addr
}

/// A gateway with `header_timeout: 300ms, send_timeout: 1s` in front of `upstream`.
fn impatient_gateway(dir: &std::path::Path, upstream: std::net::SocketAddr) -> Gateway {
    std::fs::write(dir.join("store.yaml"), SPEC).unwrap();
    let path = dir.join("send-timeout.yaml");
    let text = config(upstream, "enforce").replace(
        "max_body: 2KiB, max_json_depth: 8",
        "max_body: 2KiB, max_json_depth: 8, header_timeout: 300ms, send_timeout: 1s",
    );
    std::fs::write(&path, text).unwrap();
    Gateway::start(&path)
}

/// Reads `stream` to its end (EOF or reset); returns the bytes read.
fn read_all(stream: &mut std::net::TcpStream) -> usize {
    use std::io::Read;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return total,
            Err(e) => panic!("still open after {total} bytes: {e}"),
        }
    }
}

#[test]
fn an_answer_that_stops_moving_is_cut_off_after_send_timeout() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    const LENGTH: usize = 256 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let get = "GET /api/items/1 HTTP/1.1\r\nhost: e2e\r\n\r\n";

    // An upstream that stops mid-body: the client reads on, the answer stops coming, and the
    // gateway hangs up about send_timeout later (not header_timeout: an answer is under way).
    let gw = impatient_gateway(dir.path(), answering_upstream(LENGTH, 100_000));
    let mut stream = std::net::TcpStream::connect(gw.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(get.as_bytes()).unwrap();
    // Started before the answer does, so before the gateway's send_timeout can count.
    let started = Instant::now();
    let got = read_all(&mut stream);
    let after = started.elapsed();
    assert!(got > 100_000 && got < 101_000, "received {got} bytes");
    // At least send_timeout (1 s, less 100 ms for the timer's granularity): not cut early;
    // at most 20 s: cut at all (a loaded machine is slow by seconds; header_timeout, 300 ms,
    // is ruled out by the lower bound).
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(20),
        "closed after {after:?}"
    );
    // Counted once the connection's task has ended, which may be after the client saw it.
    gw.await_metric_eq("portcullis_connections_stalled_total", ADMIN_TOKEN, 1.0);

    // A client that stops reading a long answer ("slow read"): the upstream would send it
    // all, the gateway stops forwarding once the client's buffers are full, and hangs up.
    let gw = impatient_gateway(dir.path(), answering_upstream(LENGTH, LENGTH));
    let mut stream = std::net::TcpStream::connect(gw.addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(get.as_bytes()).unwrap();
    // The client reads nothing until the gateway has cut the connection (and counted it).
    gw.await_metric_eq("portcullis_connections_stalled_total", ADMIN_TOKEN, 1.0);
    let got = read_all(&mut stream);
    assert!(got < LENGTH / 4, "received {got} of {LENGTH} bytes");
    // The gateway still serves: a new answer starts.
    let mut fresh = std::net::TcpStream::connect(gw.addr).unwrap();
    fresh.set_read_timeout(Some(PATIENCE)).unwrap();
    fresh.write_all(get.as_bytes()).unwrap();
    let mut first = [0u8; 12];
    std::io::Read::read_exact(&mut fresh, &mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
}
