//! Upstream faults: an upstream that refuses, sends half a head, resets mid-body or closes
//! mid-body. What the client must see: a 502 when nothing was sent yet; once an answer is under
//! way, an answer that is visibly cut (fewer bytes than its `content-length`, or a chunked body
//! without its last chunk) and a closed connection, never a truncated answer that looks whole.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::support::{Gateway, PATIENCE, echo_upstream};

/// What the fake upstream does after reading a request head.
#[derive(Clone, Copy, Debug)]
enum Script {
    /// Half a status line, then FIN.
    HalfHeadThenClose,
    /// A status line and some fields, then RST.
    HalfHeadThenReset,
    /// `content-length: 1000`, 100 bytes of body, then RST.
    LengthThenReset,
    /// `content-length: 1000`, 100 bytes of body, then FIN.
    LengthThenClose,
    /// A chunked body: one 100-byte chunk, then RST (no last chunk).
    ChunkedThenReset,
    /// A chunked body: one 100-byte chunk, then FIN (no last chunk).
    ChunkedThenClose,
}

/// A fake upstream on 127.0.0.1 running `script` on every connection.
fn faulty_upstream(script: Script) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = vec![b'x'; 100];
                    let (bytes, reset): (Vec<u8>, bool) = match script {
                        Script::HalfHeadThenClose => (b"HTTP/1.1 200 O".to_vec(), false),
                        Script::HalfHeadThenReset => (
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n".to_vec(),
                            true,
                        ),
                        Script::LengthThenReset | Script::LengthThenClose => {
                            let mut b = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n".to_vec();
                            b.extend_from_slice(&body);
                            (b, matches!(script, Script::LengthThenReset))
                        }
                        Script::ChunkedThenReset | Script::ChunkedThenClose => {
                            let mut b = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n64\r\n".to_vec();
                            b.extend_from_slice(&body);
                            b.extend_from_slice(b"\r\n");
                            (b, matches!(script, Script::ChunkedThenReset))
                        }
                    };
                    let _ = s.write_all(&bytes).await;
                    let _ = s.flush().await;
                    if reset {
                        // SO_LINGER 0: the close sends RST, not FIN.
                        let _ = s.set_zero_linger();
                    } else {
                        let _ = s.shutdown().await;
                        // Wait for the gateway to close its side (it has the whole answer).
                        let _ = s.read(&mut buf).await;
                    }
                    drop(s);
                });
            }
        });
    });
    addr
}

fn config(dir: &std::path::Path, upstream: SocketAddr) -> std::path::PathBuf {
    std::fs::write(
        dir.join("spec.yaml"),
        "openapi: 3.0.3\ninfo: { title: f, version: '1' }\npaths:\n  /data:\n    get:\n      operationId: getData\n      responses: { '200': { description: ok } }\n",
    )
    .unwrap();
    let path = dir.join("gw.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  listen: 127.0.0.1:0\nlog: {{ decisions: off }}\napis:\n  - name: f\n    spec: spec.yaml\n    upstream: http://{upstream}\n"
        ),
    )
    .unwrap();
    path
}

/// `GET /data` on a new connection; every byte until the gateway closes it.
fn get_raw(addr: SocketAddr, keep_alive: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let connection = if keep_alive { "keep-alive" } else { "close" };
    s.write_all(
        format!("GET /data HTTP/1.1\r\nhost: f\r\nconnection: {connection}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut all = Vec::new();
    // The gateway must close the connection: a read timeout here fails the test below.
    let result = s.read_to_end(&mut all);
    assert!(
        result.is_ok() || !all.is_empty(),
        "no answer and no close within {PATIENCE:?}: {result:?}"
    );
    assert!(
        result.is_ok()
            || matches!(result, Err(ref e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "the connection was not closed within {PATIENCE:?} ({result:?}); got {:?}",
        String::from_utf8_lossy(&all)
    );
    all
}

/// How a cut answer reached the client.
#[derive(Debug, PartialEq)]
enum Seen {
    /// The gateway's 502 (nothing had been sent yet).
    BadGateway,
    /// A 200 head, then fewer body bytes than announced, or a chunked body without its
    /// last chunk, then the connection closed.
    VisiblyCut,
}

/// Classifies what the client got; fails the test on an answer that looks complete.
fn seen(bytes: &[u8], script: Script) -> Seen {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        panic!("{script:?}: no whole head: {text:?}");
    };
    let head = head.to_ascii_lowercase();
    if head.starts_with("http/1.1 502") {
        assert!(
            body.contains("upstream.unavailable"),
            "{script:?}: a 502 of another rule: {text:?}"
        );
        return Seen::BadGateway;
    }
    assert!(head.starts_with("http/1.1 200"), "{script:?}: {text:?}");
    if let Some(length) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        let length: usize = length.trim().parse().unwrap();
        assert!(
            body.len() < length,
            "{script:?}: a cut answer reached the client looking whole: {text:?}"
        );
    } else {
        assert!(
            head.contains("transfer-encoding: chunked"),
            "{script:?}: {text:?}"
        );
        assert!(
            !body.ends_with("0\r\n\r\n"),
            "{script:?}: a cut chunked answer reached the client with a last chunk (it looks whole): {text:?}"
        );
    }
    Seen::VisiblyCut
}

#[test]
fn an_upstream_that_fails_mid_answer_never_yields_an_answer_that_looks_whole() {
    // After a reset, the bytes the upstream sent before it may or may not be read by the
    // gateway (the kernel may drop them): a 502 or a visibly cut answer, never a whole one.
    let cut_or_502: &[Seen] = &[Seen::BadGateway, Seen::VisiblyCut];
    let expected: [(Script, &[Seen]); 6] = [
        (Script::HalfHeadThenClose, &[Seen::BadGateway]),
        (Script::HalfHeadThenReset, &[Seen::BadGateway]),
        (Script::LengthThenReset, cut_or_502),
        (Script::LengthThenClose, &[Seen::VisiblyCut]),
        (Script::ChunkedThenReset, cut_or_502),
        (Script::ChunkedThenClose, &[Seen::VisiblyCut]),
    ];
    for (script, want) in expected {
        let dir = tempfile::tempdir().unwrap();
        let mut gw = Gateway::start(&config(dir.path(), faulty_upstream(script)));
        // Twice: with `connection: close` and kept alive (the gateway must close it).
        for keep_alive in [false, true] {
            let got = seen(&get_raw(gw.addr, keep_alive), script);
            eprintln!("{script:?} (keep-alive {keep_alive}): {got:?}");
            assert!(
                want.contains(&got),
                "{script:?} (keep-alive {keep_alive}): {got:?}, want one of {want:?}"
            );
        }
        gw.assert_alive();
    }
}

#[test]
fn an_upstream_that_refuses_is_a_502_and_the_next_good_one_is_served() {
    // A port that was just free: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start(&config(dir.path(), closed));
    for _ in 0..3 {
        let r = gw.send("GET /data HTTP/1.1\r\nhost: f\r\nconnection: close\r\n\r\n");
        assert_eq!(r.status, 502, "{r:?}");
        assert!(r.body.contains("upstream.unavailable"), "{r:?}");
    }
    gw.assert_alive();
    // The same gateway in front of a working upstream (a reload) serves again.
    config(dir.path(), echo_upstream());
    gw.hangup();
    super::support::eventually("the reloaded upstream to answer", PATIENCE, || {
        let r = gw.send("GET /data HTTP/1.1\r\nhost: f\r\nconnection: close\r\n\r\n");
        if r.status == 200 {
            Ok(())
        } else {
            Err(format!("{r:?}"))
        }
    });
}
