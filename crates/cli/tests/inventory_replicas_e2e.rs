//! Two `portcullis serve` replicas on one real redis-server (`state.backend: redis://`), in
//! front of the echo upstream: each counts its own traffic and pushes its deltas to Redis, and
//! `/api/inventory` (and `portcullis inventory --admin`) on either answers one merged
//! inventory: counts, status mix, distinct clients, the kinds of sensitive data the response
//! check saw, and the request and response schemas learned from sampled JSON bodies of an
//! undocumented endpoint (also in the learned OpenAPI document). A client scanning
//! undocumented paths on one replica raises an alert (in `/api/alerts`, in the decision log as
//! a `{"type":"alert"}` line, in `portcullis_alerts_total`, its webhook drop in
//! `portcullis_alert_webhook_dropped_total`) and a ban the other replica enforces
//! (`portcullis_bans_active` on both). When Redis stops, each answers its local view and
//! counts the failure.
//!
//! Skipped (saying so) without redis-server; a failure when CI=true.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::redis::Redis;
use support::{Gateway, PATIENCE, echo_upstream, endpoint, eventually};

const ADMIN_TOKEN: &str = "inventory-replicas-admin-token-0123456789";

const SPEC: &str = r#"openapi: 3.0.3
info: { title: shop, version: "1" }
paths:
  /items:
    get:
      operationId: listItems
      responses:
        "200": { description: ok }
"#;

/// Replica `name`'s config: its own storage file and decision log, the shared Redis, and an
/// alert webhook nothing listens on (its drops are counted).
fn write_config(dir: &Path, name: &str, redis: &str, upstream: std::net::SocketAddr) -> PathBuf {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(dir.join("shop.yaml"), SPEC).unwrap();
    let log = dir.join(format!("decisions-{name}.jsonl"));
    let config = format!(
        r#"
server:
  listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
  token: {ADMIN_TOKEN}
log:
  decisions: {log}
state:
  backend: {redis}
  replicas: 2
storage: {{ path: inventory-{name}.db, flush: 200ms }}
apis:
  - name: shop
    spec: shop.yaml
    upstream: http://{upstream}
    undocumented: log
    response: {{ sensitive_data: log }}
detect:
  ban: 10m
  ban_on: [scanning]
  webhook: http://{closed}/alerts
  thresholds: {{ scanning_undocumented: 6 }}
"#,
        log = log.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, config).unwrap();
    path
}

/// A GET whose `x-note` field the echo upstream answers back (in its JSON `headers`).
fn get(gw: &Gateway, path: &str, note: &str) -> u16 {
    gw.send(&format!(
        "GET {path} HTTP/1.1\r\nhost: shop\r\nx-note: {note}\r\nconnection: close\r\n\r\n"
    ))
    .status
}

fn post_json(gw: &Gateway, path: &str, body: &str) -> u16 {
    gw.send(&format!(
        "POST {path} HTTP/1.1\r\nhost: shop\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
    .status
}

/// Waits until `gw`'s inventory shows exactly `n` requests on `method path` in the merged
/// view; returns the inventory.
fn await_merged(gw: &Gateway, method: &str, path: &str, n: u64) -> Value {
    eventually(
        &format!("{n} requests on {method} {path} in the merged view"),
        PATIENCE,
        || {
            let inv = gw.admin_json("/api/inventory", ADMIN_TOKEN);
            match endpoint(&inv, method, path) {
                Some(e) if inv["view"] == "merged" && e["requests"] == n => Ok(inv),
                e => Err(format!("view {} endpoint {e:?}", inv["view"])),
            }
        },
    )
}

#[test]
fn two_replicas_on_one_redis_merge_one_inventory_and_share_a_ban() {
    let Some(redis) = Redis::start_or_skip() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let up = echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    let a = Gateway::start(&write_config(dir.path(), "a", &url, up));
    let b = Gateway::start(&write_config(dir.path(), "b", &url, up));

    // Documented traffic on both replicas (one answer on a carries a card number, which the
    // response check sees); undocumented JSON traffic on b only.
    assert_eq!(get(&a, "/items", "card 4111 1111 1111 1111"), 200);
    for _ in 0..2 {
        assert_eq!(get(&a, "/items", "1"), 200);
    }
    for _ in 0..2 {
        assert_eq!(get(&b, "/items", "2"), 200);
    }
    for i in 0..4 {
        let body = format!(r#"{{"name":"widget-{i}","count":{i},"at":"2026-12-07T05:00:00Z"}}"#);
        assert_eq!(post_json(&b, "/debug/echo", &body), 200);
    }

    // Either replica answers the merged inventory.
    let inv = await_merged(&a, "GET", "/items", 5);
    let items = endpoint(&inv, "GET", "/items").unwrap();
    assert_eq!(items["class"], "documented");
    assert_eq!(items["status"]["2xx"], 5);
    // Both replicas saw 127.0.0.1: one distinct client once the sketches are merged.
    assert_eq!(items["clients"], 1);
    // The kinds of sensitive data the response check saw reach the endpoint (public, so its
    // posture is high, a PC-INV-005 finding).
    assert_eq!(items["sensitive"], serde_json::json!(["card"]), "{items:#}");
    assert_eq!(items["posture"], "high");
    assert!(
        inv["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "PC-INV-005"),
        "{:#}",
        inv["findings"]
    );
    let inv = await_merged(&a, "POST", "/debug/echo", 4);
    let echo = endpoint(&inv, "POST", "/debug/echo").unwrap();
    assert_eq!(echo["class"], "shadow");
    // The schemas learned on b from sampled bodies, seen through a.
    let schemas = eventually("the schemas learned on b, through a", PATIENCE, || {
        let inv = a.admin_json("/api/inventory", ADMIN_TOKEN);
        let e = endpoint(&inv, "POST", "/debug/echo")
            .cloned()
            .unwrap_or_default();
        match e["schemas"]["samples"].as_u64() {
            Some(4) => Ok(e["schemas"].clone()),
            _ => Err(format!("{e:#}")),
        }
    });
    let request = &schemas["request"];
    assert_eq!(
        request["properties"]["count"]["type"], "integer",
        "{schemas:#}"
    );
    assert_eq!(request["properties"]["at"]["format"], "date-time");
    assert_eq!(
        request["required"],
        serde_json::json!(["at", "count", "name"])
    );
    let response = &schemas["responses"]["200"];
    assert_eq!(response["properties"]["headers"]["type"], "object");
    assert_eq!(response["properties"]["body"]["type"], "string");
    assert!(
        !schemas.to_string().contains("widget"),
        "a value leaked: {schemas}"
    );

    // `portcullis inventory --admin` on b prints the same merged view, and the learned
    // OpenAPI document carries the schemas.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["inventory", "--admin"])
        .arg(format!("http://{}", b.admin.unwrap()))
        .env("PORTCULLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["view"], "merged");
    let items = endpoint(&printed, "GET", "/items").unwrap();
    assert_eq!(items["requests"], 5);
    assert_eq!(
        items["sensitive"],
        serde_json::json!(["card"]),
        "seen on a, read on b"
    );
    let doc = b.admin_json("/api/inventory?format=openapi", ADMIN_TOKEN);
    let op = &doc["paths"]["/debug/echo"]["post"];
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["properties"]["name"]["type"],
        "string",
        "{doc:#}"
    );
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["type"],
        "object"
    );

    // A client scanning undocumented paths on a: an alert, a ban, and b enforces it. (The
    // distinct paths are counted by a sketch: twice the threshold is surely over it.)
    for i in 0..12 {
        get(&a, &format!("/scan/probe-{i}.php"), "1");
    }
    let alert = eventually("a scanning alert on a", PATIENCE, || {
        let alerts = a.admin_json("/api/alerts", ADMIN_TOKEN);
        alerts["alerts"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["detector"] == "scanning").cloned())
            .ok_or_else(|| format!("{alerts:#}"))
    });
    assert_eq!(alert["banned"], true, "{alert:#}");
    eventually(
        "b to enforce the ban decided on a",
        PATIENCE,
        || match get(&b, "/items", "2") {
            403 => Ok(()),
            s => Err(format!("status {s}")),
        },
    );
    a.await_metric_eq(
        "portcullis_alerts_total{detector=\"scanning\"}",
        ADMIN_TOKEN,
        1.0,
    );
    a.await_metric_eq("portcullis_bans_active", ADMIN_TOKEN, 1.0);
    // The webhook refuses every attempt: the alert is dropped after its retries, and counted.
    a.await_metric_eq("portcullis_alert_webhook_dropped_total", ADMIN_TOKEN, 1.0);
    a.await_metric_eq("portcullis_alert_webhook_sent_total", ADMIN_TOKEN, 0.0);
    b.await_metric_eq("portcullis_bans_active", ADMIN_TOKEN, 1.0);
    // The alert has a line of its own kind in a's decision log.
    let line = eventually("the alert in a's decision log", PATIENCE, || {
        let log = std::fs::read_to_string(dir.path().join("decisions-a.jsonl")).unwrap_or_default();
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["type"] == "alert")
            .ok_or_else(|| format!("{} lines, no alert", log.lines().count()))
    });
    assert_eq!(line["detector"], "scanning");
    assert_eq!(line["client"], "127.0.0.1");
    assert!(
        line["ts"].is_string() && line["message"].is_string(),
        "{line}"
    );
    // discover reads that log, alert line included, without calling it malformed.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["discover", "--spec"])
        .arg(dir.path().join("shop.yaml"))
        .arg("--log")
        .arg(dir.path().join("decisions-a.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["input"]["malformed"], 0, "{:#}", found["input"]);

    // Redis gone: each replica answers its own view and counts the failure.
    drop(redis);
    let inv = eventually("a's local view once Redis is gone", PATIENCE, || {
        let inv = a.admin_json("/api/inventory", ADMIN_TOKEN);
        match inv["view"].as_str() {
            Some("local (Redis failed)") => Ok(inv),
            v => Err(format!("view {v:?}")),
        }
    });
    assert!(inv["view_error"].is_string(), "{:#}", inv["view_error"]);
    assert_eq!(endpoint(&inv, "GET", "/items").unwrap()["requests"], 3);
    a.await_metric(
        "portcullis_inventory_redis_failures_total",
        ADMIN_TOKEN,
        ">= 1",
        |v| v >= 1.0,
    );
}
