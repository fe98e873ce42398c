//! `portcullis discover` through the real binary, over the demo bank's spec
//! (examples/demo/bank.yaml) and traffic written here in each of the three formats:
//! documented, deprecated, undocumented and unused endpoints classified; malformed lines
//! reported with their number; the learned OpenAPI document; and a rate-limit snippet that
//! `portcullis check` accepts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn bank() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/demo/bank.yaml"
    ))
}

/// (method, path, status, subject) of the traffic: getMe called by three users, the
/// deprecated /v1 route, two undocumented endpoints (one with ids), and no call to
/// adminListUsers or createTransfer.
fn traffic() -> Vec<(&'static str, String, u16, Option<&'static str>)> {
    let mut t = Vec::new();
    for (i, who) in ["alice", "bob", "carol", "alice", "bob"].iter().enumerate() {
        t.push(("GET", "/users/me".to_owned(), 200, Some(*who)));
        t.push(("GET", format!("/v1/accounts/{}", 1000 + i), 200, Some(*who)));
        t.push((
            "GET",
            format!("/internal/export/{}", 55_000 + i * 7),
            200,
            None,
        ));
    }
    t.push(("GET", "/debug/config".to_owned(), 200, None));
    t.push(("POST", "/auth/login".to_owned(), 401, None));
    t.push(("GET", "/users/42/accounts".to_owned(), 200, Some("alice")));
    t
}

fn decision_log() -> String {
    let mut out = String::new();
    for (i, (m, p, s, who)) in traffic().into_iter().enumerate() {
        let sub = who.map_or(Value::Null, Value::from);
        out.push_str(
            &serde_json::json!({
                "ts": format!("2026-12-07T01:00:{:02}.000Z", i % 60), "request_id": format!("r{i}"),
                "api": "bank", "operation": null, "method": m, "path": p,
                "client": {"ip": format!("10.0.0.{}", i % 3 + 1), "key_id": null, "sub": sub},
                "decision": "allow", "rule": null, "reason": null, "status": s,
                "upstream_status": s, "latency_us": 100
            })
            .to_string(),
        );
        out.push('\n');
        if i == 3 {
            out.push_str("{\"this line\": is not JSON\n");
        }
    }
    out
}

fn combined_log() -> String {
    let mut out = String::new();
    for (i, (m, p, s, who)) in traffic().into_iter().enumerate() {
        out.push_str(&format!(
            "10.0.0.{} - {} [07/Dec/2026:01:00:{:02} +0000] \"{m} {p} HTTP/1.1\" {s} 512 \"-\" \"test\"\n",
            i % 3 + 1,
            who.unwrap_or("-"),
            i % 60
        ));
        if i == 5 {
            out.push_str("garbage that is not a log line\n");
        }
    }
    out
}

fn har() -> String {
    let entries: Vec<Value> = traffic()
        .into_iter()
        .enumerate()
        .map(|(i, (m, p, s, who))| {
            let headers: Vec<Value> = who
                .map(|_| serde_json::json!({"name": "Authorization", "value": "Bearer x"}))
                .into_iter()
                .collect();
            serde_json::json!({
                "startedDateTime": format!("2026-12-07T01:00:{:02}.000Z", i % 60),
                "request": {"method": m, "url": format!("http://127.0.0.1:8080{p}"), "headers": headers},
                "response": {"status": s, "content": {"size": 300}},
            })
        })
        .collect();
    serde_json::json!({"log": {"version": "1.2", "entries": entries}}).to_string()
}

fn discover(log: &Path, format: &str) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["discover", "--spec"])
        .arg(bank())
        .arg("--log")
        .arg(log)
        .args(["--format", format])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn class_of(inv: &Value, method: &str, path: &str) -> String {
    inv["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == method && e["path"] == path)
        .map(|e| e["class"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {method} {path} in {inv:#}"))
}

fn assert_classes(inv: &Value) {
    assert_eq!(class_of(inv, "GET", "/users/me"), "documented");
    assert_eq!(class_of(inv, "GET", "/v1/accounts/{accountId}"), "zombie");
    assert_eq!(class_of(inv, "GET", "/internal/export/{id}"), "shadow");
    assert_eq!(class_of(inv, "GET", "/debug/config"), "shadow");
    assert_eq!(class_of(inv, "GET", "/admin/users"), "unused");
    assert_eq!(class_of(inv, "POST", "/transfers"), "unused");
    let rules: Vec<&str> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for r in ["PC-INV-001", "PC-INV-002", "PC-INV-003"] {
        assert!(rules.contains(&r), "{r} missing: {rules:?}");
    }
}

#[test]
fn a_decision_log_is_classified_and_its_bad_line_reported() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.log");
    std::fs::write(&log, decision_log()).unwrap();
    let (inv, stderr) = discover(&log, "json");
    assert_classes(&inv);
    assert_eq!(inv["input"]["format"], "decision log");
    assert_eq!(inv["input"]["malformed"], 1);
    assert_eq!(inv["input"]["errors"][0]["line"], 5, "{:#}", inv["input"]);
    assert!(
        stderr.contains("decisions.log:5: skipped: not JSON"),
        "{stderr}"
    );
    // The three users of getMe, and its per-client peak.
    let me = inv["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operation"] == "getMe")
        .unwrap();
    assert_eq!(me["requests"], 5);
    assert!(
        inv["diff"]["missing_from_spec"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "GET /internal/export/{id} (bank)")
    );
}

#[test]
fn a_combined_log_and_a_har_file_give_the_same_classes() {
    let dir = tempfile::tempdir().unwrap();
    let combined = dir.path().join("access.log");
    std::fs::write(&combined, combined_log()).unwrap();
    let (inv, stderr) = discover(&combined, "json");
    assert_classes(&inv);
    assert_eq!(inv["input"]["format"], "combined access log");
    assert!(stderr.contains("access.log:7: skipped"), "{stderr}");
    let file = dir.path().join("traffic.har");
    std::fs::write(&file, har()).unwrap();
    let (inv, _) = discover(&file, "json");
    assert_classes(&inv);
    assert_eq!(inv["input"]["format"], "HAR");
}

#[test]
fn the_learned_openapi_document_holds_what_the_spec_misses() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.log");
    std::fs::write(&log, decision_log()).unwrap();
    let (doc, _) = discover(&log, "openapi");
    assert_eq!(doc["openapi"], "3.1.0");
    let op = &doc["paths"]["/internal/export/{id}"]["get"];
    assert_eq!(op["parameters"][0]["name"], "id");
    assert_eq!(op["parameters"][0]["schema"]["type"], "integer");
    assert!(op["responses"]["200"].is_object(), "{doc:#}");
    assert!(
        doc["paths"]["/users/me"].is_null(),
        "documented paths are not repeated"
    );
}

/// A HAR file's JSON bodies give the learned document's request and response schemas for
/// an undocumented endpoint (types and formats, never the values).
#[test]
fn har_bodies_give_the_learned_schemas() {
    let entries: Vec<Value> = (0..3)
        .map(|i| {
            serde_json::json!({
                "startedDateTime": format!("2026-12-07T01:00:0{i}.000Z"),
                "request": {
                    "method": "POST", "url": "http://127.0.0.1:8080/internal/notes", "headers": [],
                    "postData": {"mimeType": "application/json", "text": format!("{{\"text\":\"secret note {i}\",\"pinned\":true}}")},
                },
                "response": {"status": 201, "content": {
                    "size": 40, "mimeType": "application/json; charset=utf-8",
                    "text": format!("{{\"id\":\"3fa85f64-5717-4562-b3fc-2c963f66afa{i}\",\"owner\":\"a{i}@example.com\"}}"),
                }},
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.har");
    let har = serde_json::json!({"log": {"version": "1.2", "entries": entries}});
    std::fs::write(&file, har.to_string()).unwrap();
    let (doc, _) = discover(&file, "openapi");
    let op = &doc["paths"]["/internal/notes"]["post"];
    let request = &op["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(request["properties"]["text"]["type"], "string", "{doc:#}");
    assert_eq!(request["properties"]["pinned"]["type"], "boolean");
    assert_eq!(request["required"], serde_json::json!(["pinned", "text"]));
    let answer = &op["responses"]["201"]["content"]["application/json"]["schema"];
    assert_eq!(answer["properties"]["id"]["format"], "uuid");
    assert_eq!(answer["properties"]["owner"]["format"], "email");
    let text = doc.to_string();
    assert!(
        !text.contains("secret note") && !text.contains("example.com"),
        "{text}"
    );
}

#[test]
fn the_rate_limit_snippet_is_accepted_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.log");
    std::fs::write(&log, decision_log()).unwrap();
    let (inv, _) = discover(&log, "json");
    let snippet = inv["rate_limits"].as_str().unwrap();
    assert!(snippet.contains("operations: [getMe]"), "{snippet}");
    let indented: String = snippet.lines().map(|l| format!("    {l}\n")).collect();
    let config = format!(
        "server: {{ listen: 127.0.0.1:0 }}\nidentity:\n  jwt:\n    - {{ issuer: i, secret: \"{}\", algorithms: [HS256] }}\napis:\n  - name: bank\n    spec: {}\n    upstream: http://127.0.0.1:9\n{indented}detect: {{ ban: 10m, webhook: http://127.0.0.1:9/alerts }}\n",
        "s".repeat(40),
        bank().display()
    );
    let path = dir.path().join("gw.yaml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&path).unwrap()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("limit"), "{stdout}");
    assert!(
        stdout.contains("detect: on, window 60 s, bans 600s on stuffing/enumeration/scanning"),
        "{stdout}"
    );
}

#[test]
fn an_unreadable_log_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("empty.log");
    std::fs::write(&log, "nothing here\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["discover", "--spec"])
        .arg(bank())
        .arg("--log")
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("empty.log:1: skipped") && stderr.contains("no request could be read"),
        "{stderr}"
    );
}
