//! The gateway end to end: the real `portcullis serve` in front of a real upstream on
//! 127.0.0.1. Routing (undocumented paths and methods, base path, deprecated operations),
//! hop-by-hop fields named by the client, authentication and scopes, and the requests refused
//! whatever the mode (framing, size, paths that cannot be normalized), each sent in `enforce`
//! and in `monitor` mode and checked against the decision log (the validation kinds are in
//! validation_e2e.rs, the timeouts in timeouts_e2e.rs); then reloads (SIGHUP and the admin
//! API, a bad config keeps the old one running) and the admin API's token and metrics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use support::store::{
    ADMIN_TOKEN, Case, JWT_SECRET, SPEC, case, check_in_both_modes, config, decision_of, json, req,
    token, write_config,
};
use support::{Gateway, echo_upstream};

/// Routing, hop-by-hop fields, authentication, and what is refused in any mode.
fn cases() -> Vec<Case> {
    let good = token("items:read items:write", 300);
    let read_only = token("items:read", 300);
    let expired = token("items:write", -120);
    let bearer = |t: &str| format!("authorization: Bearer {t}");
    let big = format!(r#"{{"name":"x","meta":{{"pad":"{}"}}}}"#, "a".repeat(4096));
    let mut blocked_anyway = vec![
        Case {
            monitor_status: 413,
            ..case(
                "body over max_body (declared)",
                req("POST", "/api/items", &[], json(&big)),
                413,
                Some("request.too-large"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "target in absolute form naming another host than Host",
                req("GET", "http://evil.test/api/items?limit=1", &[], None),
                400,
                Some("request.host"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "HTTP/1.1 without Host",
                "GET /api/items?limit=1 HTTP/1.1\r\nconnection: close\r\n\r\n".to_owned(),
                400,
                Some("request.host"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "two Host headers",
                req("GET", "/api/items?limit=1", &["host: other.test"], None),
                400,
                Some("request.host"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "Host that is not a host",
                "GET /api/items?limit=1 HTTP/1.1\r\nhost: store.test/x@evil\r\nconnection: close\r\n\r\n"
                    .to_owned(),
                400,
                Some("request.host"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "NUL in the path",
                req("GET", "/api/items/%00", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "invalid UTF-8 in the path",
                req("GET", "/api/items/%C0%AF", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "encoded slash",
                req("GET", "/api/items/1%2F2", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "encoded backslash",
                req("GET", "/api/items%5C42", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "invalid percent escape",
                req("GET", "/api/items/%G1", &[], None),
                400,
                Some("request.path"),
            )
        },
        Case {
            monitor_status: 400,
            ..case(
                "dot segment with parameters",
                req("GET", "/api/x/..;y/items/42", &[], None),
                400,
                Some("request.path"),
            )
        },
    ];
    let mut all = vec![
        // Routing.
        case(
            "HTTP/1.0 without Host",
            "GET /api/items?limit=1 HTTP/1.0\r\n\r\n".to_owned(),
            200,
            None,
        ),
        case(
            "Host with a port and in upper case",
            "GET /api/items?limit=1 HTTP/1.1\r\nhost: Store.Test:8080\r\nconnection: close\r\n\r\n"
                .to_owned(),
            200,
            None,
        ),
        case(
            "documented GET",
            req("GET", "/api/items?limit=5", &[], None),
            200,
            None,
        ),
        case(
            "concrete segment wins over template",
            req("GET", "/api/items/search?q=lamp", &[], None),
            200,
            None,
        ),
        case(
            "templated path",
            req("GET", "/api/items/42", &[], None),
            200,
            None,
        ),
        case(
            "dot segments normalized then routed",
            req("GET", "/api/x/../items/42", &[], None),
            200,
            None,
        ),
        case(
            "duplicate slashes normalized",
            req("GET", "/api//items//42", &[], None),
            200,
            None,
        ),
        case(
            "trailing slash normalized",
            req("GET", "/api/items/42/", &[], None),
            200,
            None,
        ),
        case(
            "paths are case-sensitive",
            req("GET", "/api/ITEMS/42", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "undocumented path",
            req("GET", "/api/admin/dump", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "outside the base path",
            req("GET", "/items/42", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "traversal out of the base path",
            req("GET", "/api/../debug", &[], None),
            404,
            Some("route.undocumented"),
        ),
        case(
            "undocumented method",
            req("PUT", "/api/items/42", &[], json("{}")),
            405,
            Some("route.method"),
        ),
        case(
            "deprecated operation",
            req("GET", "/api/old", &[], None),
            410,
            Some("route.deprecated"),
        ),
        // Hop-by-hop by the client's say-so (`Connection` names it): gone before the checks,
        // so what is checked is what the upstream receives.
        case(
            "content type named in Connection",
            req(
                "POST",
                "/api/items",
                &["connection: content-type"],
                json(r#"{"name":"a"}"#),
            ),
            415,
            Some("request.content-type"),
        ),
        case(
            "bad header named in Connection",
            req(
                "GET",
                "/api/items?limit=1",
                &["x-trace: <script>", "connection: x-trace"],
                None,
            ),
            200,
            None,
        ),
        // Authentication and scopes.
        case(
            "public operation needs no token",
            req("GET", "/api/items/7", &[], None),
            200,
            None,
        ),
        case(
            "secured without a token",
            req("DELETE", "/api/items/7", &[], None),
            401,
            Some("auth.invalid"),
        ),
        case(
            "secured with a valid token",
            req("DELETE", "/api/items/7", &[&bearer(&good)], None),
            200,
            None,
        ),
        case(
            "token without the scope",
            req("DELETE", "/api/items/7", &[&bearer(&read_only)], None),
            403,
            Some("authz.scope"),
        ),
        case(
            "expired token",
            req("DELETE", "/api/items/7", &[&bearer(&expired)], None),
            401,
            Some("auth.invalid"),
        ),
        case(
            "garbage token",
            req("DELETE", "/api/items/7", &[&bearer("not.a.jwt")], None),
            401,
            Some("auth.invalid"),
        ),
        case(
            "tampered token",
            req(
                "DELETE",
                "/api/items/7",
                &[&bearer(&format!("{good}x"))],
                None,
            ),
            401,
            Some("auth.invalid"),
        ),
    ];
    all.append(&mut blocked_anyway);
    all
}

#[test]
fn routing_hop_by_hop_auth_and_framing_in_enforce_and_monitor_mode() {
    let sent = check_in_both_modes(cases);
    assert!(sent >= 2 * 34, "only {sent} requests");
}

#[test]
fn reload_keeps_the_old_config_on_error_and_applies_a_good_one() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), upstream, "enforce");
    let mut gw = Gateway::start(&path);
    let probe = req("GET", "/api/items/abc", &[], None);
    assert_eq!(gw.send(&probe).status, 400);

    // A broken config: SIGHUP and the admin API both refuse it; the old one keeps serving.
    std::fs::write(&path, "server: [not, a, map\n").unwrap();
    gw.hangup();
    // SIGHUP's reload runs on its own: waited for until it has been refused.
    gw.await_metric_eq("portcullis_reload_failures_total", ADMIN_TOKEN, 1.0);
    gw.await_stderr("saying the reload was rejected", |l| {
        l.contains("reload rejected") && l.contains("enforce.yaml")
    });
    let reload = gw.admin("POST", "/api/reload", Some(ADMIN_TOKEN));
    assert_eq!(reload.status, 422, "{}", reload.body);
    assert!(
        reload.body.contains("enforce.yaml"),
        "the error names the file: {}",
        reload.body
    );
    assert!(gw.alive());
    assert_eq!(gw.send(&probe).status, 400, "old config still enforced");
    assert_eq!(gw.send(&req("GET", "/api/items/1", &[], None)).status, 200);

    // A config naming a spec that does not load is refused too.
    std::fs::write(
        &path,
        config(upstream, "enforce").replace("store.yaml", "missing.yaml"),
    )
    .unwrap();
    let reload = gw.admin("POST", "/api/reload", Some(ADMIN_TOKEN));
    assert_eq!(reload.status, 422, "{}", reload.body);
    assert!(reload.body.contains("missing.yaml"), "{}", reload.body);
    assert_eq!(gw.send(&probe).status, 400);

    // A good config switching to monitor mode: applied by SIGHUP, without a restart.
    assert_eq!(
        gw.metric_now("portcullis_reloads_total", ADMIN_TOKEN),
        Ok(0.0)
    );
    std::fs::write(&path, config(upstream, "monitor")).unwrap();
    gw.hangup();
    // Counted once the new configuration is in place: from then on, requests see it.
    gw.await_metric_eq("portcullis_reloads_total", ADMIN_TOKEN, 1.0);
    assert_eq!(gw.send(&probe).status, 200, "SIGHUP applied monitor mode");
    assert!(gw.alive());
}

#[test]
fn admin_api_requires_its_token_and_exports_metrics() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start(&write_config(dir.path(), upstream, "enforce"));
    assert!(gw.admin.unwrap().ip().is_loopback());
    assert_eq!(gw.admin("GET", "/healthz", None).status, 200);
    for path in ["/metrics", "/api/config", "/api/decisions", "/readyz"] {
        let none = gw.admin("GET", path, None);
        assert_eq!(none.status, 401, "{path} without a token");
        assert!(none.header("www-authenticate").is_some());
        assert_eq!(
            gw.admin("GET", path, Some("wrong-token")).status,
            401,
            "{path}"
        );
    }
    assert_eq!(gw.admin("POST", "/api/reload", None).status, 401);

    gw.send(&req("GET", "/api/items/1", &[], None));
    gw.send(&req("GET", "/api/items/abc", &[], None));
    let needles = [
        "portcullis_requests_total",
        "decision=\"allow\"",
        "decision=\"block\"",
        "rule=\"request.parameter\"",
        "portcullis_request_duration_seconds",
    ];
    support::eventually(
        &format!("/metrics to show {needles:?}"),
        support::PATIENCE,
        || {
            let metrics = gw.admin("GET", "/metrics", Some(ADMIN_TOKEN));
            assert_eq!(metrics.status, 200);
            match needles.iter().find(|n| !metrics.body.contains(*n)) {
                None => Ok(()),
                Some(missing) => Err(format!("no {missing} in:\n{}", metrics.body)),
            }
        },
    );
    // The summary never shows secrets.
    let summary = gw.admin("GET", "/api/config", Some(ADMIN_TOKEN));
    assert_eq!(summary.status, 200);
    assert!(!summary.body.contains(ADMIN_TOKEN));
    assert!(!summary.body.contains(JWT_SECRET));
}

#[test]
fn deprecated_operations_follow_their_policy() {
    let upstream = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    // (policy, status, decision, rule) for GET /api/old in enforce mode.
    let expected = [
        ("block", 410, "block", Some("route.deprecated")),
        ("log", 200, "monitor", Some("route.deprecated")),
        ("allow", 200, "allow", None),
    ];
    for (policy, status, decision, rule) in expected {
        let path = dir.path().join(format!("deprecated-{policy}.yaml"));
        let text = config(upstream, "enforce")
            .replace("deprecated: block", &format!("deprecated: {policy}"));
        std::fs::write(&path, text).unwrap();
        let gw = Gateway::start(&path);
        let resp = gw.send(&req("GET", "/api/old", &[], None));
        assert_eq!(resp.status, status, "deprecated: {policy}: {}", resp.body);
        let d = decision_of(&gw, &resp);
        assert_eq!(d["decision"], decision, "deprecated: {policy}: {d}");
        assert_eq!(d["rule"].as_str(), rule, "deprecated: {policy}: {d}");
    }
}

/// An upstream on 127.0.0.1 answering each request (one per connection) with `fields` header
/// fields of its own and, as its body, how many fields the request head had.
fn many_fields_upstream(fields: usize) -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut received = 0;
            let mut line = String::new();
            // The request line, then fields up to the empty line (the tests send no body).
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                received += 1;
            }
            let body = received.to_string();
            let mut head = "HTTP/1.1 200 OK\r\nconnection: close\r\n".to_owned();
            for i in 0..fields {
                head.push_str(&format!("x-up-{i}: v\r\n"));
            }
            head.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
            let _ = stream.write_all(head.as_bytes());
        }
    });
    addr
}

#[test]
fn max_headers_bounds_request_and_response_heads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.yaml"), SPEC).unwrap();
    let fields = |n: usize| -> Vec<String> { (0..n).map(|i| format!("x-client-{i}: v")).collect() };
    let get = |n: usize| {
        let fields = fields(n);
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        req("GET", "/api/items/1", &fields, None)
    };
    // (max_headers, fields the client sends, fields the upstream answers with, status).
    let cases = [
        (None, 90, 10, 200),
        (None, 120, 10, 431),
        (None, 10, 150, 502),
        (Some(300), 250, 10, 200),
        (Some(300), 10, 250, 200),
        (Some(300), 320, 10, 431),
        (Some(50), 60, 10, 431),
    ];
    for (i, (max, sent, answered, status)) in cases.into_iter().enumerate() {
        let upstream = many_fields_upstream(answered);
        let mut text = config(upstream, "enforce");
        if let Some(max) = max {
            text = text.replace(
                "max_body: 2KiB, max_json_depth: 8",
                &format!(
                    "max_body: 2KiB, max_json_depth: 8, max_headers: {max}, max_header_bytes: 64KiB"
                ),
            );
        } else {
            text = text.replace(
                "max_body: 2KiB, max_json_depth: 8",
                "max_body: 2KiB, max_json_depth: 8, max_header_bytes: 64KiB",
            );
        }
        let path = dir.path().join(format!("max-headers-{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        let gw = Gateway::start(&path);
        let resp = gw.send(&get(sent));
        let case = format!("max_headers {max:?}, {sent} sent, {answered} answered");
        assert_eq!(resp.status, status, "{case}: {}", resp.body);
        if status == 200 {
            // Everything the client sent reached the upstream, with the forwarded fields.
            let received: usize = resp.body.trim().parse().unwrap();
            assert!(
                received > sent,
                "{case}: the upstream got {received} fields"
            );
            let passed = resp
                .headers
                .iter()
                .filter(|(n, _)| n.starts_with("x-up-"))
                .count();
            assert_eq!(passed, answered, "{case}");
        }
        if status == 502 {
            assert_eq!(
                decision_of(&gw, &resp)["rule"],
                "upstream.unavailable",
                "{case}"
            );
        }
    }
}
