//! Request validation end to end: the real `portcullis serve` in front of a real upstream on
//! 127.0.0.1, one request for each kind of check the spec drives (path, query, header and
//! cookie parameters; JSON bodies with their schema, unknown fields, depth and duplicate keys;
//! content types; form and multipart bodies), each sent in `enforce` and in `monitor` mode
//! and checked against the decision log; then chunked bodies, joined, checked and capped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::store::{Case, case, check_in_both_modes, decision_of, json, req, write_config};
use support::{Gateway, echo_upstream};

/// One request per validation kind, accepted and refused.
fn cases() -> Vec<Case> {
    let deep = format!(
        r#"{{"name":"x","meta":{}{}}}"#,
        "[".repeat(20),
        "]".repeat(20)
    );
    let multipart = |label: &str, with_file: bool| {
        let mut b = String::new();
        if with_file {
            b.push_str("--XyZ\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\ncontent-type: application/octet-stream\r\n\r\nabc\r\n");
        }
        b.push_str(&format!(
            "--XyZ\r\ncontent-disposition: form-data; name=\"label\"\r\n\r\n{label}\r\n--XyZ--\r\n"
        ));
        b
    };
    let mp_ok = multipart("cat", true);
    let mp_long = multipart("toolong", true);
    let mp_nofile = multipart("cat", false);
    let mp = "multipart/form-data; boundary=XyZ";
    let form = "application/x-www-form-urlencoded";
    let (r400, r_param, r_body) = (400, Some("request.parameter"), Some("request.body"));
    vec![
        // Path parameters.
        case(
            "path param not an integer",
            req("GET", "/api/items/abc", &[], None),
            r400,
            r_param,
        ),
        case(
            "path param below minimum",
            req("GET", "/api/items/0", &[], None),
            r400,
            r_param,
        ),
        case(
            "path param injection",
            req("GET", "/api/items/1%20OR%201=1", &[], None),
            r400,
            r_param,
        ),
        // Query parameters.
        case(
            "required query missing",
            req("GET", "/api/items", &[], None),
            r400,
            r_param,
        ),
        case(
            "query over maximum",
            req("GET", "/api/items?limit=1000", &[], None),
            r400,
            r_param,
        ),
        case(
            "query not a number",
            req("GET", "/api/items?limit=five", &[], None),
            r400,
            r_param,
        ),
        case(
            "form array ok",
            req("GET", "/api/items?limit=1&tags=red,blue", &[], None),
            200,
            None,
        ),
        case(
            "form array item not in enum",
            req("GET", "/api/items?limit=1&tags=red,pink", &[], None),
            r400,
            r_param,
        ),
        case(
            "form array over maxItems",
            req("GET", "/api/items?limit=1&tags=red,red,red,red", &[], None),
            r400,
            r_param,
        ),
        case(
            "query string too long",
            req("GET", "/api/items/search?q=abcdefghijklmnop", &[], None),
            r400,
            r_param,
        ),
        case(
            "query injection payload",
            req(
                "GET",
                "/api/items/search?q=%27%20OR%201%3D1--%20",
                &[],
                None,
            ),
            r400,
            r_param,
        ),
        // Header and cookie parameters.
        case(
            "header matches pattern",
            req("GET", "/api/items?limit=1", &["x-trace: 0a1b2c3d"], None),
            200,
            None,
        ),
        case(
            "header breaks pattern",
            req("GET", "/api/items?limit=1", &["x-trace: <script>"], None),
            r400,
            r_param,
        ),
        case(
            "cookie ok",
            req(
                "GET",
                "/api/items?limit=1",
                &["cookie: session=abc; other=1"],
                None,
            ),
            200,
            None,
        ),
        case(
            "cookie too long",
            req(
                "GET",
                "/api/items?limit=1",
                &["cookie: session=aaaaaaaaaaaaaaaaaaaaaaaa"],
                None,
            ),
            r400,
            r_param,
        ),
        // JSON bodies.
        case(
            "valid JSON body",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"lamp","price":3.5}"#),
            ),
            200,
            None,
        ),
        case(
            "JSON missing required",
            req("POST", "/api/items", &[], json(r#"{"price":3}"#)),
            r400,
            r_body,
        ),
        case(
            "JSON wrong type",
            req("POST", "/api/items", &[], json(r#"{"name":7}"#)),
            r400,
            r_body,
        ),
        case(
            "JSON string too long",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"aaaaaaaaaaaaaaaaaaaaaaaaa"}"#),
            ),
            r400,
            r_body,
        ),
        case(
            "JSON number below minimum",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","price":-1}"#),
            ),
            r400,
            r_body,
        ),
        case(
            "JSON array over maxItems",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","tags":["a","b","c"]}"#),
            ),
            r400,
            r_body,
        ),
        case(
            "JSON unknown field (mass assignment)",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","isAdmin":true}"#),
            ),
            r400,
            Some("request.unknown-field"),
        ),
        case(
            "JSON duplicate keys",
            req(
                "POST",
                "/api/items",
                &[],
                json(r#"{"name":"a","name":"b"}"#),
            ),
            r400,
            Some("request.json"),
        ),
        case(
            "JSON syntax error",
            req("POST", "/api/items", &[], json(r#"{"name":"a""#)),
            r400,
            Some("request.json"),
        ),
        case(
            "JSON nested deeper than max_json_depth",
            req("POST", "/api/items", &[], json(&deep)),
            r400,
            Some("request.json"),
        ),
        case(
            "JSON not an object",
            req("POST", "/api/items", &[], json("[1,2]")),
            r400,
            r_body,
        ),
        case(
            "required body missing",
            req("POST", "/api/items", &[], None),
            r400,
            r_body,
        ),
        case(
            "content type not documented",
            req("POST", "/api/items", &[], Some(("text/plain", "name=a"))),
            415,
            Some("request.content-type"),
        ),
        case(
            "content type missing",
            req("POST", "/api/items", &[], Some(("", r#"{"name":"a"}"#))),
            415,
            Some("request.content-type"),
        ),
        case(
            "target in absolute form naming the Host",
            req("GET", "http://store.test/api/items?limit=1", &[], None),
            200,
            None,
        ),
        case(
            "JSON with charset parameter",
            req(
                "POST",
                "/api/items",
                &[],
                Some(("application/json; charset=utf-8", r#"{"name":"a"}"#)),
            ),
            200,
            None,
        ),
        // Form and multipart bodies.
        case(
            "form body ok",
            req("POST", "/api/forms", &[], Some((form, "qty=2&note=hi"))),
            200,
            None,
        ),
        case(
            "form field wrong type",
            req("POST", "/api/forms", &[], Some((form, "qty=two"))),
            r400,
            r_body,
        ),
        case(
            "form required missing",
            req("POST", "/api/forms", &[], Some((form, "note=hi"))),
            r400,
            r_body,
        ),
        case(
            "form field too long",
            req(
                "POST",
                "/api/forms",
                &[],
                Some((form, "qty=1&note=far-too-long")),
            ),
            r400,
            r_body,
        ),
        case(
            "form unknown field",
            req("POST", "/api/forms", &[], Some((form, "qty=1&role=admin"))),
            r400,
            Some("request.unknown-field"),
        ),
        case(
            "multipart ok",
            req("POST", "/api/uploads", &[], Some((mp, &mp_ok))),
            200,
            None,
        ),
        case(
            "multipart field too long",
            req("POST", "/api/uploads", &[], Some((mp, &mp_long))),
            r400,
            r_body,
        ),
        case(
            "multipart required part missing",
            req("POST", "/api/uploads", &[], Some((mp, &mp_nofile))),
            r400,
            r_body,
        ),
    ]
}

#[test]
fn every_validation_kind_in_enforce_and_monitor_mode() {
    let sent = check_in_both_modes(cases);
    assert!(sent >= 2 * 39, "only {sent} requests");
}

/// `body` as a chunked POST to /api/items, in chunks of `size` bytes.
fn chunked_post(body: &str, size: usize) -> String {
    let mut raw = "POST /api/items HTTP/1.1\r\nhost: store.test\r\nconnection: close\r\n\
                   content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_owned();
    for chunk in body.as_bytes().chunks(size) {
        raw.push_str(&format!("{:x}\r\n", chunk.len()));
        raw.push_str(std::str::from_utf8(chunk).unwrap());
        raw.push_str("\r\n");
    }
    raw.push_str("0\r\n\r\n");
    raw
}

#[test]
fn chunked_bodies_are_joined_checked_and_capped() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&write_config(dir.path(), upstream, "enforce"));
    // Without a declared length the body is read chunk by chunk: joined, validated as a whole,
    // and forwarded whole.
    let body = r#"{"name":"lamp","price":3.5}"#;
    for size in [1, 5, body.len()] {
        let resp = gw.send(&chunked_post(body, size));
        assert_eq!(resp.status, 200, "chunks of {size}: {}", resp.body);
        assert_eq!(resp.json()["body"], body, "chunks of {size}");
    }
    let resp = gw.send(&chunked_post(r#"{"name":"lamp","price":-1}"#, 4));
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(decision_of(&gw, &resp)["rule"], "request.body");
    // Over max_body (2 KiB) with no length announced: refused once the chunks pass the limit.
    let big = format!(r#"{{"name":"x","meta":{{"pad":"{}"}}}}"#, "a".repeat(4096));
    for size in [100, 4096] {
        let resp = gw.send(&chunked_post(&big, size));
        assert_eq!(resp.status, 413, "chunks of {size}: {}", resp.body);
        assert_eq!(decision_of(&gw, &resp)["rule"], "request.too-large");
    }
}
