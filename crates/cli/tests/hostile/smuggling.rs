//! Request smuggling shapes (framing that two HTTP parsers could read differently), each
//! followed by a hidden `GET /admin`: refused, or re-framed so that the upstream receives one
//! unambiguous request and nothing hidden.

use serde_json::Value;

use super::{echoed, exchange, refused, start, still_serves, support};

/// A request smuggled behind an ambiguous one: if the gateway ever framed the first request
/// differently from the way it forwards it, this `GET /admin` would reach the upstream.
const SMUGGLED: &str = "GET /admin HTTP/1.1\r\nhost: t\r\n\r\n";

#[test]
fn smuggling_shapes_are_refused_or_reframed_and_nothing_hidden_reaches_the_upstream() {
    let (mut gw, _dir) = start("header_timeout: 1s");
    let head = "POST /items HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n";
    // Each case: the framing headers, the body bytes (a smuggled request may follow), and the
    // statuses expected on the connection.
    let chunked_body = "7\r\n{\"a\":1}\r\n0\r\n\r\n";
    let cases: Vec<(&str, String, String, Vec<u16>)> = vec![
        (
            "two different Content-Length",
            "content-length: 7\r\ncontent-length: 40\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "Transfer-Encoding: xchunked",
            "transfer-encoding: xchunked\r\n".to_owned(),
            format!("{chunked_body}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a space before the colon (`Transfer-Encoding : chunked`)",
            "transfer-encoding : chunked\r\n".to_owned(),
            format!("{chunked_body}{SMUGGLED}"),
            vec![400],
        ),
        (
            "Transfer-Encoding: chunked, identity",
            "transfer-encoding: chunked, identity\r\n".to_owned(),
            format!("{chunked_body}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a chunk size that is not hex",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!("zz\r\n{{\"a\":1}}\r\n0\r\n\r\n{SMUGGLED}"),
            vec![400],
        ),
        (
            "a chunk size that overflows 64 bits",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!("1ffffffffffffffff\r\n{{\"a\":1}}\r\n0\r\n\r\n{SMUGGLED}"),
            vec![400],
        ),
        (
            "a negative chunk size",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!("-7\r\n{{\"a\":1}}\r\n0\r\n\r\n{SMUGGLED}"),
            vec![400],
        ),
        (
            "a chunk shorter than its size",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!("20\r\n{{\"a\":1}}\r\n0\r\n\r\n{SMUGGLED}"),
            vec![400],
        ),
        (
            "a chunk extension of 20 KiB",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!(
                "7;{}\r\n{{\"a\":1}}\r\n0\r\n\r\n{SMUGGLED}",
                "x".repeat(20 * 1024)
            ),
            vec![400],
        ),
        (
            "Transfer-Encoding: identity with a Content-Length",
            "transfer-encoding: identity\r\ncontent-length: 7\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a Content-Length with a sign (`+7`)",
            "content-length: +7\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a Content-Length list (`7, 7`)",
            "content-length: 7, 7\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a chunk size with a 0x prefix",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!("0x7\r\n{{\"a\":1}}\r\n0\r\n\r\n{SMUGGLED}"),
            vec![400],
        ),
        (
            "bare LF inside a chunked body",
            "transfer-encoding: chunked\r\n".to_owned(),
            format!("7\n{{\"a\":1}}\n0\n\n{SMUGGLED}"),
            vec![400],
        ),
        (
            "a NUL in a header value",
            "content-length: 7\r\nx-other: a\0b\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a bare CR in a header value",
            "content-length: 7\r\nx-other: a\rb\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "a space inside a header name",
            "content-length: 7\r\nx other: a\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
        (
            "obs-fold continuation of a header",
            "content-length: 7\r\nx-folded: a\r\n b\r\n".to_owned(),
            format!("{{\"a\":1}}{SMUGGLED}"),
            vec![400],
        ),
    ];
    for (case, framing, body, want) in &cases {
        let raw = format!("{head}{framing}\r\n{body}");
        let (statuses, text) = exchange(gw.addr, raw.as_bytes());
        assert!(
            !text.contains("\"/admin\""),
            "{case}: the smuggled request reached the upstream:\n{text}"
        );
        assert_eq!(&statuses, want, "{case}:\n{text}");
    }

    // Content-Length with Transfer-Encoding, in either order: the body is read as chunked
    // (RFC 9112 §6.3: Transfer-Encoding overrides), forwarded with a Content-Length of its
    // own, and the connection is closed after the answer, so whatever followed the chunked
    // body (the smuggled `GET /admin`) is never read as a request.
    for (case, framing) in [
        (
            "Content-Length before Transfer-Encoding",
            "content-length: 3\r\ntransfer-encoding: chunked\r\n".to_owned(),
        ),
        (
            "Transfer-Encoding before Content-Length",
            format!(
                "transfer-encoding: chunked\r\ncontent-length: {}\r\n",
                chunked_body.len() + SMUGGLED.len()
            ),
        ),
    ] {
        let raw = format!("{head}{framing}\r\n{chunked_body}{SMUGGLED}");
        let (statuses, text) = exchange(gw.addr, raw.as_bytes());
        assert_eq!(statuses, [200], "{case}: one answer, then closed:\n{text}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{case}:\n{text}"
        );
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        let seen: Value = serde_json::from_str(body).unwrap();
        assert_eq!(seen["uri"], "/items", "{case}: {seen}");
        assert_eq!(seen["body"], "{\"a\":1}", "{case}: {seen}");
        assert_eq!(seen["headers"]["content-length"], "7", "{case}: {seen}");
        assert!(
            seen["headers"].get("transfer-encoding").is_none(),
            "{case}: {seen}"
        );
    }

    // Well-formed but unusual framing is normalized: the upstream gets one framing only.
    for (case, framing, body) in [
        (
            "a valid chunk extension",
            "transfer-encoding: chunked\r\n",
            "7;name=value\r\n{\"a\":1}\r\n0\r\n\r\n",
        ),
        (
            "the same Content-Length twice",
            "content-length: 7\r\ncontent-length: 7\r\n",
            "{\"a\":1}",
        ),
        (
            "Transfer-Encoding with a tab before its value",
            "transfer-encoding:\tchunked\r\n",
            "7\r\n{\"a\":1}\r\n0\r\n\r\n",
        ),
        (
            "Transfer-Encoding: CHUNKED",
            "transfer-encoding: CHUNKED\r\n",
            "7\r\n{\"a\":1}\r\n0\r\n\r\n",
        ),
        (
            "Transfer-Encoding: chunked twice",
            "transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n",
            "7\r\n{\"a\":1}\r\n0\r\n\r\n",
        ),
        (
            "a chunk size followed by a space",
            "transfer-encoding: chunked\r\n",
            "7 \r\n{\"a\":1}\r\n0\r\n\r\n",
        ),
        (
            "trailer fields after the last chunk (dropped)",
            "transfer-encoding: chunked\r\n",
            "7\r\n{\"a\":1}\r\n0\r\nx-forwarded-for: 1.2.3.4\r\nauthorization: Bearer forged\r\n\r\n",
        ),
    ] {
        let raw = format!("{head}connection: close\r\n{framing}\r\n{body}");
        let resp = support::send(gw.addr, raw.as_bytes());
        let seen = echoed(case, &resp);
        assert_eq!(seen["body"], "{\"a\":1}", "{case}: {seen}");
        let headers = &seen["headers"];
        assert!(
            headers.get("transfer-encoding").is_none() || headers.get("content-length").is_none(),
            "{case}: both framings forwarded: {headers}"
        );
        assert!(headers.get("authorization").is_none(), "{case}: {headers}");
        assert_eq!(headers["x-forwarded-for"], "127.0.0.1", "{case}: {headers}");
    }

    // HTTP/1.0 has no chunked coding: a Transfer-Encoding there is refused.
    let (statuses, text) = exchange(
        gw.addr,
        format!("POST /items HTTP/1.0\r\nhost: t\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{chunked_body}{SMUGGLED}").as_bytes(),
    );
    assert_eq!(statuses, [400], "HTTP/1.0 with Transfer-Encoding:\n{text}");

    // The Host: missing, sent twice, or another than an absolute-form target's.
    for (case, raw) in [
        (
            "no Host",
            "GET /public HTTP/1.1\r\nconnection: close\r\n\r\n",
        ),
        (
            "two Host fields",
            "GET /public HTTP/1.1\r\nhost: t\r\nhost: evil\r\nconnection: close\r\n\r\n",
        ),
        (
            "an absolute-form target naming another host",
            "GET http://evil/admin HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
        ),
    ] {
        refused(case, &gw.send(raw), 400, Some("request.host"));
    }

    // Bare LF line endings: RFC 9112 §2.2 lets a recipient accept them; the gateway
    // forwards the request re-framed with CRLF (the upstream parses it normally).
    let resp = support::send(
        gw.addr,
        b"GET /public?q=lf HTTP/1.1\nhost: t\nconnection: close\n\n",
    );
    let seen = echoed("bare LF line endings", &resp);
    assert_eq!(seen["uri"], "/public?q=lf");
    still_serves(&mut gw);
}
