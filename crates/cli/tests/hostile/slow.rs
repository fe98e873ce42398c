//! Slow clients: slowloris (a head a byte a second) and slow POST (a body a byte a second),
//! each while a normal client is served.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::support::{Gateway, PATIENCE};
use super::{echoed, get, start, still_serves};

/// Writes `prefix` at once, then `bytes` a byte a second, on a new connection (a read with a one-second timeout
/// paces it and notices the gateway closing or answering): how many bytes were written and
/// what the gateway answered, when it closed the connection before all were sent.
fn dribble(addr: SocketAddr, prefix: Vec<u8>, bytes: Vec<u8>) -> (usize, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(&prefix).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for (sent, byte) in bytes.iter().enumerate() {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            return (sent, answer);
        }
        match stream.read(&mut buf) {
            Ok(0) => return (sent + 1, answer),
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                // Read the rest of the answer, up to the close.
                let _ = stream.set_read_timeout(Some(PATIENCE));
                let _ = stream.read_to_end(&mut answer);
                return (sent + 1, answer);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (sent + 1, answer),
        }
    }
    panic!(
        "all {} bytes were sent a byte a second and the gateway never closed the connection",
        bytes.len()
    );
}

/// Runs `dribble` on a thread while a normal client is served again and again on this
/// one; the dribble's result and how many normal requests were served meanwhile.
fn dribble_while_served(
    gw: &Gateway,
    prefix: Vec<u8>,
    bytes: Vec<u8>,
) -> ((usize, Vec<u8>), usize) {
    let addr = gw.addr;
    let slow = std::thread::spawn(move || dribble(addr, prefix, bytes));
    let mut served = 0;
    while !slow.is_finished() {
        echoed(
            "a normal client during a slow one",
            &get(gw, "/public?q=ok", &[]),
        );
        served += 1;
        // Pacing of the normal client, not a wait for anything.
        std::thread::sleep(Duration::from_millis(200));
    }
    (slow.join().unwrap(), served)
}

/// Slowloris: a client sends a request head a byte a second. The gateway drops the
/// connection, unanswered, by `header_timeout` (2 s here; its watchdog closes it after one to
/// two periods without a whole head), long before the head is complete, while a normal
/// client is served meanwhile.
#[test]
fn a_slowloris_client_is_dropped_while_a_normal_client_is_served() {
    let (mut gw, _dir) = start("header_timeout: 2s, request_timeout: 5s");
    let head = format!(
        "GET /public HTTP/1.1\r\nhost: t\r\n{}\r\n\r\n",
        (0..20)
            .map(|i| format!("x-slow-{i}: dribbling"))
            .collect::<Vec<_>>()
            .join("\r\n")
    );
    let total = head.len();
    let ((sent, answer), served) = dribble_while_served(&gw, Vec::new(), head.into_bytes());
    eprintln!(
        "slowloris: dropped after {sent} of {total} bytes; {served} normal requests served meanwhile"
    );
    assert!(
        answer.is_empty(),
        "the slow connection got an answer after {sent} bytes: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        sent < total / 2,
        "dropped only after {sent} of {total} bytes"
    );
    assert!(served > 0, "no normal request was served meanwhile");
    still_serves(&mut gw);
}

/// Slow POST: a whole head, then the body a byte a second. A request is in flight, so the
/// header watchdog leaves it; `request_timeout` (5 s) ends it with 504 `request.timeout`
/// before the body is complete, and it never reaches the upstream.
#[test]
fn a_slow_post_is_cut_by_request_timeout_while_a_normal_client_is_served() {
    let (mut gw, _dir) = start("header_timeout: 2s, request_timeout: 5s");
    let body = format!("{{\"a\":1{}}}", " ".repeat(200));
    let raw = format!(
        "POST /items HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let total = body.len();
    let ((sent, answer), served) = dribble_while_served(&gw, raw.into_bytes(), body.into_bytes());
    let text = String::from_utf8_lossy(&answer);
    eprintln!(
        "slow POST: answered after {sent} of {total} body bytes; {served} normal requests served meanwhile"
    );
    assert!(
        text.starts_with("HTTP/1.1 504"),
        "after {sent} of {total} bytes: {text:?}"
    );
    assert!(text.contains("request.timeout"), "{text}");
    assert!(!text.contains("\"uri\""), "reached the upstream: {text}");
    assert!(
        sent < total,
        "answered only after the whole body: {sent} bytes"
    );
    assert!(served > 0, "no normal request was served meanwhile");
    still_serves(&mut gw);
}
