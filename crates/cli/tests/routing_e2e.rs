//! Several APIs behind one gateway, end to end: the real `portcullis serve` picks the API by
//! host and path (`host`, the specs' `servers`, `base_path`), forwards to that API's upstream
//! with the path the docs promise (the base path removed, the upstream's prefix prepended),
//! and refuses what no API serves. The echo upstream answers with the URI it received, and
//! each API's upstream has its own prefix, so every answer says which API forwarded it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;

use support::{Gateway, Resp, echo_upstream};

const ADMIN_TOKEN: &str = "routing-admin-token-0123456789abcdef";

/// A spec with `GET` operations on `paths`, served under `server` when given.
fn spec(title: &str, server: Option<&str>, paths: &[&str]) -> String {
    let servers = server.map_or(String::new(), |s| format!("servers: [{{ url: {s} }}]\n"));
    let mut text = format!(
        "openapi: 3.1.0\ninfo: {{ title: {title}, version: \"1\" }}\n{servers}security: []\npaths:\n"
    );
    for path in paths {
        text.push_str(&format!(
            "  {path}:\n    get:\n      responses: {{ \"200\": {{ description: ok }} }}\n"
        ));
    }
    text
}

/// Starts a gateway whose `apis:` section is `apis` (with `{up}` standing for the upstream),
/// the specs written beside it.
fn gateway(apis: &str, upstream: SocketAddr) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in [
        ("store.yaml", spec("store", Some("/api"), &["/items"])),
        ("billing.yaml", spec("billing", Some("/v2"), &["/invoices"])),
        ("legacy.yaml", spec("legacy", None, &["/items", "/orders"])),
    ] {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let config = format!(
        "server:\n  listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n  token: {ADMIN_TOKEN}\n\
         log:\n  decisions: \"off\"\napis:\n{}",
        apis.replace("{up}", &upstream.to_string())
    );
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config).unwrap();
    (Gateway::start(&path), dir)
}

/// `GET target` with `Host: host`.
fn get(gw: &Gateway, host: &str, target: &str) -> Resp {
    gw.send(&format!(
        "GET {target} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
    ))
}

/// The URI the upstream received (empty when the gateway answered itself).
fn forwarded(resp: &Resp) -> String {
    resp.json()["uri"].as_str().unwrap_or_default().to_owned()
}

/// The rule of a refusal (the last segment of problem+json's `type`), or the body.
fn refused_by(resp: &Resp) -> String {
    match resp.json()["type"].as_str() {
        Some(kind) => kind.rsplit('/').next().unwrap_or_default().to_owned(),
        None => resp.body.clone(),
    }
}

#[test]
fn each_request_reaches_the_api_its_host_and_path_select() {
    let upstream = echo_upstream();
    let (gw, _dir) = gateway(
        "  - name: billing\n    spec: billing.yaml\n    upstream: http://{up}/billing-svc\n    host: billing.example\n\
         \x20 - name: store\n    spec: store.yaml\n    upstream: http://{up}/store-svc\n\
         \x20 - name: legacy\n    spec: legacy.yaml\n    upstream: http://{up}/legacy-svc\n    base_path: /legacy\n",
        upstream,
    );
    // (host, target, status, the URI the upstream saw or the rule that refused)
    let cases = [
        // No base_path: served under the spec's server URL, forwarded unchanged (plus the
        // upstream's own prefix).
        ("store.test", "/api/items", 200, "/store-svc/api/items"),
        (
            "store.test",
            "/api/items?limit=2",
            200,
            "/store-svc/api/items?limit=2",
        ),
        // base_path: served under it only, and removed before forwarding.
        ("store.test", "/legacy/items", 200, "/legacy-svc/items"),
        ("store.test", "/legacy/orders", 200, "/legacy-svc/orders"),
        ("store.test", "/orders", 404, "route.undocumented"),
        // A path no API of the host documents: the first of them refuses it.
        ("store.test", "/items", 404, "route.undocumented"),
        // An API with a host serves only that host (its port, case and a fully qualified
        // name's trailing dot aside)...
        (
            "billing.example",
            "/v2/invoices",
            200,
            "/billing-svc/v2/invoices",
        ),
        (
            "Billing.EXAMPLE:8443",
            "/v2/invoices",
            200,
            "/billing-svc/v2/invoices",
        ),
        (
            "billing.example.",
            "/v2/invoices",
            200,
            "/billing-svc/v2/invoices",
        ),
        (
            "billing.example.:80",
            "/v2/invoices",
            200,
            "/billing-svc/v2/invoices",
        ),
        (
            "billing.example..",
            "/v2/invoices",
            404,
            "route.undocumented",
        ),
        ("store.test", "/v2/invoices", 404, "route.undocumented"),
        (
            "billing.example.evil",
            "/v2/invoices",
            404,
            "route.undocumented",
        ),
        // ...and the APIs without one serve every host, after it in file order.
        ("billing.example", "/api/items", 200, "/store-svc/api/items"),
        (
            "billing.example",
            "/legacy/orders",
            200,
            "/legacy-svc/orders",
        ),
    ];
    for (host, target, status, want) in cases {
        let resp = get(&gw, host, target);
        let got = if resp.status == 200 {
            forwarded(&resp)
        } else {
            refused_by(&resp)
        };
        assert_eq!(
            (resp.status, got.as_str()),
            (status, want),
            "{host} {target}: {}",
            resp.body
        );
    }
    // A target in absolute form names its host; the Host header must agree with it.
    let absolute = |host: &str| {
        gw.send(&format!(
            "GET http://billing.example/v2/invoices HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n"
        ))
    };
    let resp = absolute("billing.example");
    assert_eq!(
        (resp.status, forwarded(&resp).as_str()),
        (200, "/billing-svc/v2/invoices"),
        "{}",
        resp.body
    );
    let resp = absolute("store.test");
    assert_eq!(
        (resp.status, refused_by(&resp).as_str()),
        (400, "request.host"),
        "{}",
        resp.body
    );
}

#[test]
fn a_host_no_api_serves_is_refused() {
    let upstream = echo_upstream();
    let (gw, _dir) = gateway(
        "  - name: billing\n    spec: billing.yaml\n    upstream: http://{up}/billing-svc\n    host: billing.example\n\
         \x20 - name: store\n    spec: store.yaml\n    upstream: http://{up}/store-svc\n    host: Store.Example.\n",
        upstream,
    );
    // The configured host is compared as requests' are (case, trailing dot).
    let resp = get(&gw, "store.example", "/api/items");
    assert_eq!(
        (resp.status, forwarded(&resp).as_str()),
        (200, "/store-svc/api/items")
    );
    for host in ["other.example", "127.0.0.1"] {
        let resp = get(&gw, host, "/api/items");
        assert_eq!(
            (resp.status, refused_by(&resp).as_str()),
            (404, "route.no-api"),
            "{host}: {}",
            resp.body
        );
        assert_eq!(
            resp.json()["detail"],
            format!("no API is served for host \"{host}\""),
            "the refusal names the host as sent"
        );
    }
}
