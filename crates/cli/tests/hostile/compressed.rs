//! Compressed request bodies (`Content-Encoding` on a request, `server.limits.compressed_body`):
//! an upstream that inflates a body would read what no check saw, so a compressed body is
//! refused (the default) or inflated within `max_body` and checked as plain text; it never
//! reaches the upstream compressed.

use std::io::Write;

use super::support::{Gateway, Resp};
use super::{MAX_BODY, echoed, refused, setup, still_serves};

/// A SQL injection in a free JSON field, which the threat checks block.
const SQLI: &str = r#"{"a":1,"data":"1' OR '1'='1' -- "}"#;

fn gzip(plain: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(plain).unwrap();
    e.finish().unwrap()
}

fn deflate(plain: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(plain).unwrap();
    e.finish().unwrap()
}

/// A gateway from the suite's setup with `compressed_body` set to `policy` (`None`: the
/// default), the threat checks blocking injection, and the API's keys `extra` (lines).
fn start(policy: Option<&str>, extra: &str) -> (Gateway, tempfile::TempDir) {
    let upstream = super::support::echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let limits = match policy {
        Some(p) => format!("header_timeout: 2s, compressed_body: {p}"),
        None => "header_timeout: 2s".to_owned(),
    };
    let config = setup(dir.path(), upstream, &limits);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("    threats: { injection: block }\n");
    text.push_str(extra);
    std::fs::write(&config, text).unwrap();
    (Gateway::start(&config), dir)
}

/// `POST target` with `body` in the content coding `coding`, `connection: close`.
fn post(gw: &Gateway, target: &str, content_type: &str, coding: &str, body: &[u8]) -> Resp {
    let mut raw = format!(
        "POST {target} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-encoding: {coding}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    super::support::send(gw.addr, &raw)
}

/// A bomb: 10 MiB of JSON whitespace, a few KiB gzipped (under `max_body`).
fn bomb() -> Vec<u8> {
    let mut plain = b"{\"a\":1".to_vec();
    plain.extend(std::iter::repeat_n(b' ', 10 << 20));
    plain.push(b'}');
    let gz = gzip(&plain);
    assert!(gz.len() < MAX_BODY, "the bomb is {} bytes", gz.len());
    gz
}

#[test]
fn compressed_request_bodies_are_refused_by_default() {
    let (mut gw, _dir) = start(None, "");
    let json = "application/json";
    // The check cannot see into compressed bytes; whatever they hold, refused in every coding.
    for (case, coding, body) in [
        ("a gzip'd SQL injection", "gzip", gzip(SQLI.as_bytes())),
        ("a gzip'd plain body", "gzip", gzip(br#"{"a":1}"#)),
        ("a deflate'd body", "deflate", deflate(br#"{"a":1}"#)),
        (
            "a br body (the bytes need not be valid)",
            "br",
            b"\x0b\x02\x80{}\x03".to_vec(),
        ),
        ("an unknown coding", "zstd", b"whatever".to_vec()),
        ("two codings", "gzip, gzip", gzip(&gzip(b"{}"))),
        ("a bomb", "gzip", bomb()),
    ] {
        let resp = post(&gw, "/items", json, coding, &body);
        refused(case, &resp, 415, Some("request.content-encoding"));
        assert!(
            resp.json()["detail"]
                .as_str()
                .is_some_and(|d| d.contains("compressed_body: refuse")),
            "{case}: {resp:?}"
        );
    }
    // Also where no check reads the body (a form to an operation with a JSON body is 415
    // anyway; here the coding is refused before the content type is looked at).
    refused(
        "a gzip'd form",
        &post(
            &gw,
            "/items",
            "application/x-www-form-urlencoded",
            "gzip",
            &gzip(b"a=1"),
        ),
        415,
        Some("request.content-encoding"),
    );
    // `identity` is no coding; a field without a body changes nothing.
    let seen = echoed(
        "identity",
        &post(&gw, "/items", json, "identity", br#"{"a":1}"#),
    );
    assert_eq!(seen["body"], r#"{"a":1}"#);
    let seen = echoed(
        "a GET with a Content-Encoding field",
        &super::get(&gw, "/public", &["content-encoding: gzip"]),
    );
    assert_eq!(seen["uri"], "/public");
    still_serves(&mut gw);
}

#[test]
fn compressed_request_bodies_are_inflated_within_max_body_and_checked_when_configured() {
    let (mut gw, _dir) = start(Some("inflate"), "");
    let json = "application/json";
    // The SQL injection inside gzip or deflate is seen and blocked.
    for (coding, body) in [
        ("gzip", gzip(SQLI.as_bytes())),
        ("x-gzip", gzip(SQLI.as_bytes())),
        ("deflate", deflate(SQLI.as_bytes())),
    ] {
        refused(
            &format!("a {coding} SQL injection"),
            &post(&gw, "/items", json, coding, &body),
            403,
            Some("threat.sqli"),
        );
    }
    // Validation sees the plain body: a wrong type inside gzip is a schema violation, and a
    // gzip'd text that is not JSON is invalid JSON.
    refused(
        "a gzip'd body breaking the schema",
        &post(&gw, "/items", json, "gzip", &gzip(br#"{"a":"one"}"#)),
        400,
        Some("request.body"),
    );
    refused(
        "gzip'd text that is not JSON",
        &post(&gw, "/items", json, "gzip", &gzip(b"a=1&b=2")),
        400,
        Some("request.json"),
    );
    // A plain body in gzip reaches the upstream inflated, without Content-Encoding and with
    // its own Content-Length.
    let plain = r#"{"a":1,"data":"hello","list":[1,2,3]}"#;
    for (coding, body) in [
        ("gzip", gzip(plain.as_bytes())),
        ("deflate", deflate(plain.as_bytes())),
    ] {
        let seen = echoed(coding, &post(&gw, "/items", json, coding, &body));
        assert_eq!(seen["body"], plain, "{coding}");
        assert!(seen["headers"].get("content-encoding").is_none(), "{seen}");
        assert_eq!(
            seen["headers"]["content-length"],
            plain.len().to_string().as_str(),
            "{coding}"
        );
    }
    // A bomb is refused with the reason, never inflated past max_body.
    let resp = post(&gw, "/items", json, "gzip", &bomb());
    refused("a gzip bomb", &resp, 413, Some("request.too-large"));
    let detail = resp.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("inflates past the limit of 65536 bytes")
            && detail.contains("decompression bomb"),
        "{detail}"
    );
    // Within max_body once inflated, but not a bomb: 64 KiB + 1 of varied text.
    let big: String = (0..MAX_BODY / 8 + 1)
        .map(|i| format!("{:07}-", i * 7919 % 10_000_000))
        .collect();
    let big = format!("{{\"data\":\"{big}\"}}");
    let resp = post(&gw, "/items", json, "gzip", &gzip(big.as_bytes()));
    refused(
        "a body inflating past max_body",
        &resp,
        413,
        Some("request.too-large"),
    );
    // Broken compressed bytes; unknown and stacked codings.
    refused(
        "bytes that are not gzip",
        &post(&gw, "/items", json, "gzip", b"{\"a\":1}"),
        400,
        Some("request.body"),
    );
    refused(
        "an unknown coding",
        &post(&gw, "/items", json, "zstd", b"whatever"),
        415,
        Some("request.content-encoding"),
    );
    refused(
        "two codings",
        &post(&gw, "/items", json, "gzip, gzip", &gzip(&gzip(b"{}"))),
        415,
        Some("request.content-encoding"),
    );
    still_serves(&mut gw);
}

#[test]
fn a_compressed_body_on_an_undocumented_path_is_refused_or_inflated_too() {
    // `undocumented: log` forwards requests no operation checks: their bodies must not pass
    // compressed either.
    for (policy, want) in [(None, 415), (Some("inflate"), 200)] {
        let (mut gw, _dir) = start(policy, "    undocumented: log\n");
        let resp = post(&gw, "/admin", "text/plain", "gzip", &gzip(b"rm -rf /"));
        assert_eq!(resp.status, want, "{policy:?}: {resp:?}");
        if want == 200 {
            let seen = resp.json();
            assert_eq!(seen["body"], "rm -rf /", "{policy:?}");
            assert!(seen["headers"].get("content-encoding").is_none(), "{seen}");
        }
        still_serves(&mut gw);
    }
}
