//! The soak's clients: benign requests on kept-alive connections and the hostile ones, each
//! checked against the answer it must get.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::Counts;

/// Benign clients: documented requests on a kept-alive connection, each answered 200.
pub(crate) fn benign(addr: SocketAddr, worker: u64, counts: &Counts, stop: &AtomicBool) {
    let mut conn: Option<TcpStream> = None;
    let mut i = worker * 1_000_000;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let raw = if i.is_multiple_of(2) {
            format!(
                "GET /public?q=item{i}&limit={} HTTP/1.1\r\nhost: soak\r\n\r\n",
                i % 100
            )
        } else {
            let body = format!("{{\"a\":{i},\"data\":\"note {i}\"}}");
            format!(
                "POST /items HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let reused = conn.is_some();
        let mut answer = exchange(&mut conn, addr, raw.as_bytes());
        if answer.is_err() && reused {
            // A kept-alive connection may be closed by the server as the request is sent (as
            // any HTTP client, retry once on a fresh one).
            counts.retried.fetch_add(1, Ordering::Relaxed);
            conn = None;
            answer = exchange(&mut conn, addr, raw.as_bytes());
        }
        match answer {
            Ok((200, _)) => {
                counts.benign.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                conn = None;
                counts.error(format!("benign request {i} answered {other:?}"));
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One request on `conn` (opened when `None`); the status and body. The connection is kept
/// unless the answer said `connection: close`.
pub(crate) fn exchange(
    conn: &mut Option<TcpStream>,
    addr: SocketAddr,
    raw: &[u8],
) -> Result<(u16, String), String> {
    if conn.is_none() {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        *conn = Some(s);
    }
    let Some(stream) = conn.as_mut() else {
        return Err("no connection".to_owned());
    };
    let result = stream
        .write_all(raw)
        .map_err(|e| format!("write: {e}"))
        .and_then(|()| read_one(stream));
    match &result {
        Ok((_, close, _)) if !*close => {}
        _ => *conn = None,
    }
    result.map(|(status, _, body)| (status, body))
}

/// Reads one response (`content-length` or chunked body): status, whether the server closes,
/// body.
fn read_one(stream: &mut TcpStream) -> Result<(u16, bool, String), String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head =
                String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).to_ascii_lowercase();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("no status in {head:?}"))?;
            let close = head.contains("connection: close");
            let body_start = end + 4;
            if head.contains("transfer-encoding: chunked") {
                loop {
                    let body = buf.get(body_start..).unwrap_or_default();
                    if find(body, b"0\r\n\r\n").is_some() {
                        return Ok((status, close, String::from_utf8_lossy(body).into_owned()));
                    }
                    let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
                    if n == 0 {
                        return Err("closed inside a chunked body".to_owned());
                    }
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
            }
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < body_start + length {
                let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err("closed inside a body".to_owned());
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            let body = buf.get(body_start..body_start + length).unwrap_or_default();
            return Ok((status, close, String::from_utf8_lossy(body).into_owned()));
        }
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("closed after {} bytes", buf.len()));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The hostile requests and the status each must get (SECURITY.md's hostile-input table).
fn hostile_cases(i: u64) -> Vec<(&'static str, Vec<u8>, u16)> {
    let big_header = "a".repeat(16 * 1024);
    let bomb = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let xss = r#"{"a":1,"data":"<script>alert(document.cookie)</script>"}"#;
    vec![
        (
            "sqli",
            b"GET /public?q=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n".to_vec(),
            403,
        ),
        (
            "xss",
            format!("POST /items HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{xss}", xss.len()).into_bytes(),
            403,
        ),
        (
            "two content-lengths",
            b"POST /items HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: 7\r\ncontent-length: 8\r\n\r\n{\"a\":1}".to_vec(),
            400,
        ),
        (
            "oversized header",
            format!("GET /public HTTP/1.1\r\nhost: soak\r\nconnection: close\r\nx-big: {big_header}\r\n\r\n").into_bytes(),
            431,
        ),
        (
            "oversized body",
            b"POST /items HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 131072\r\n\r\n[1,2,3]".to_vec(),
            413,
        ),
        (
            "JSON bomb",
            format!("POST /items HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{bomb}", bomb.len()).into_bytes(),
            400,
        ),
        (
            "dot segments",
            b"GET /public/%2e%2e/admin HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n".to_vec(),
            404,
        ),
        (
            "above the root",
            b"GET /../admin HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n".to_vec(),
            400,
        ),
        (
            "undocumented",
            format!("GET /admin/{} HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n", i % 100_000).into_bytes(),
            404,
        ),
    ]
}

/// The hostile client: each case on a fresh connection, about 20 a second, plus a CL+TE
/// smuggling attempt whose hidden request must never be answered.
pub(crate) fn hostile(addr: SocketAddr, counts: &Counts, stop: &AtomicBool) {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let cases = hostile_cases(i);
        let pick = usize::try_from(i).unwrap_or(0) % (cases.len() + 1);
        match cases.get(pick) {
            Some((name, raw, want)) => {
                let mut conn = None;
                match exchange(&mut conn, addr, raw) {
                    Ok((status, _)) if status == *want => {
                        counts.hostile.fetch_add(1, Ordering::Relaxed);
                    }
                    other => counts.error(format!("hostile {name}: want {want}, got {other:?}")),
                }
            }
            None => match smuggle(addr) {
                Ok(()) => {
                    counts.hostile.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => counts.error(format!("hostile smuggling: {e}")),
            },
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `Content-Length` and `Transfer-Encoding: chunked` together with a request hidden after the
/// chunked body: one answer (200, the chunked body read), then the connection ends.
fn smuggle(addr: SocketAddr) -> Result<(), String> {
    let raw = b"POST /items HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nhost: soak\r\n\r\n";
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    s.write_all(raw).map_err(|e| format!("write: {e}"))?;
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    let answers = text.matches("HTTP/1.1 ").count();
    if answers == 1 && text.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{answers} answers: {text:?}"))
    }
}
