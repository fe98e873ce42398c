//! Quotas that survive a restart on the memory backend (issue #7): `storage.path` keeps the
//! state of limits with a period of an hour or more in SQLite.
//!
//! The real `portcullis serve` with a quota of 5 per day per client IP: 3 requests are spent,
//! the gateway is stopped with SIGTERM (graceful: the last state is written on the way out)
//! and started again on the same file; exactly 2 more are admitted, then 429 with
//! `Retry-After` and `RateLimit-*`. A storage file that is not SQLite stops `serve` and
//! `check` at start with the file named; quotas in memory without `storage.path` make `check`
//! warn that a restart resets them.
// Test helpers: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{Gateway, Resp};

const ADMIN_TOKEN: &str = "quota-e2e-admin-token-0123456789abcdef";

const SPEC: &str = r#"openapi: 3.0.3
info: { title: quota, version: "1" }
paths:
  /items:
    get:
      operationId: listItems
      responses:
        "200": { description: ok }
"#;

/// Writes the spec and a config with a quota of 5 per day per client IP (and `storage`, when
/// given) into `dir`; returns the config's path.
fn write_config(dir: &Path, upstream: SocketAddr, storage: Option<&str>) -> PathBuf {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let storage = storage
        .map(|p| format!("storage:\n  path: {p}\n"))
        .unwrap_or_default();
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
  token: {ADMIN_TOKEN}
log:
  decisions: "off"
{storage}apis:
  - name: quota
    spec: spec.yaml
    upstream: http://{upstream}
    rate_limits:
      - {{ key: ip, limit: 5, per: 1d }}
"#
    );
    let path = dir.join("gw.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn get(gw: &Gateway) -> Resp {
    gw.send("GET /items HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
}

fn header_number(resp: &Resp, name: &str) -> u64 {
    resp.header(name)
        .unwrap_or_else(|| panic!("no {name} header: {resp:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number: {resp:?}"))
}

fn portcullis(command: &str, config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([command, "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run portcullis")
}

#[test]
fn a_quota_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), support::echo_upstream(), Some("state.db"));
    let db = dir.path().join("state.db");

    let mut gw = Gateway::start(&config);
    for i in 0..3 {
        let resp = get(&gw);
        assert_eq!(resp.status, 200, "request {i}: {resp:?}");
    }
    let status = gw.terminate();
    assert!(
        status.success(),
        "serve did not exit cleanly on SIGTERM ({status}); stderr:\n{}",
        gw.stderr.lock().unwrap()
    );
    assert!(db.is_file(), "SIGTERM left no storage file");

    // The same file, a new process: 2 of the 5 are left.
    let mut gw = Gateway::start(&config);
    for i in 0..2 {
        let resp = get(&gw);
        assert_eq!(
            resp.status,
            200,
            "request {} after the restart: {resp:?}",
            i + 4
        );
    }
    let refused = get(&gw);
    assert_eq!(refused.status, 429, "the 6th request: {refused:?}");
    assert_eq!(
        refused.json()["type"],
        "https://portcullis.dev/problems/ratelimit",
        "{refused:?}"
    );
    assert_eq!(header_number(&refused, "ratelimit-limit"), 5);
    assert_eq!(header_number(&refused, "ratelimit-remaining"), 0);
    // One request of 5 per day comes back every 4.8 hours: the wait is hours, not seconds.
    let retry = header_number(&refused, "retry-after");
    assert!((3600..=17_280).contains(&retry), "Retry-After {retry}");
    let reset = header_number(&refused, "ratelimit-reset");
    assert!((retry..=86_400).contains(&reset), "RateLimit-Reset {reset}");
    // A count that only grows, expected to be 0: one read (nothing to wait for).
    assert_eq!(
        gw.metric_now("portcullis_ratelimit_storage_failures", ADMIN_TOKEN),
        Ok(0.0)
    );
    gw.assert_alive();
}

#[test]
fn a_storage_file_that_is_not_sqlite_stops_serve_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), support::echo_upstream(), Some("state.db"));
    let db = dir.path().join("state.db");
    let garbage = "This is a text file that someone put where the quota state should be.\n";
    std::fs::write(&db, garbage).unwrap();
    for command in ["serve", "check"] {
        let out = portcullis(command, &config);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "/storage/path: cannot keep rate-limit quotas in {}: not a SQLite database",
                db.display()
            )),
            "{command}: {stderr}"
        );
    }
    // Refused, not repaired: the file is as it was.
    assert_eq!(std::fs::read_to_string(&db).unwrap(), garbage);
}

#[test]
fn check_warns_that_memory_quotas_without_storage_reset_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), support::echo_upstream(), None);
    let out = portcullis("check", &config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("warning: rate limits quota/0 are quotas")
            && stdout.contains("they reset when the gateway restarts"),
        "{stdout}"
    );

    // With storage, `check` says nothing of it and creates no file.
    let config = write_config(dir.path(), support::echo_upstream(), Some("state.db"));
    let out = portcullis("check", &config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("warning: rate limits"), "{stdout}");
    assert!(
        !dir.path().join("state.db").exists(),
        "check created the file"
    );
}
