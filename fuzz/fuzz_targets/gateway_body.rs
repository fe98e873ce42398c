//! A request (`METHOD /path`, `Name: value` lines, an empty line, the body) through the body
//! check of its operation in `crates/gateway/tests/data/fuzz/spec.yaml` (JSON, `+json`, form,
//! multipart and other media types, any `Content-Type`), with the nesting limit of an
//! `X-Max-Depth` line (default 32). Never a panic or a stack overflow. Each violation is one
//! the pipeline knows, with a reason; a JSON body the strict reader refuses is exactly one
//! `request.json`; an empty required body is exactly one `request.body`. The strict reader
//! agrees with serde_json: what it accepts serde_json reads the same, nested no deeper than
//! the limit; what it refuses that serde_json reads is nested deeper or has a duplicate key.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_gateway::validate::{MediaKind, Policy, json};
use serde_json::Value;

fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

fn strict_json_agrees(body: &[u8], depth: usize) {
    let loose = serde_json::from_slice::<Value>(body);
    match (json::parse_strict(body, depth), loose) {
        (Ok(strict), Ok(loose)) => {
            assert!(nesting(&strict) <= depth, "{strict}");
            assert_eq!(strict, loose);
        }
        (Ok(strict), Err(e)) => panic!("{strict} accepted, serde_json: {e}"),
        (Err(e), Ok(loose)) => assert!(
            (e.contains("deeper than the limit") && nesting(&loose) > depth)
                || e.contains("duplicate key"),
            "{e} for {loose}"
        ),
        (Err(e), Err(_)) => assert!(!e.is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    let req = common::read_request(data);
    let depth = req
        .headers
        .get("x-max-depth")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(32);
    strict_json_agrees(&req.body, depth);
    let normalized = common::normalized(&req);
    let (check, _) = common::operation(&req, &normalized);
    let Some(check) = &check.body else {
        return;
    };
    let content_type = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let violations = common::block_on(check.check(content_type, &req.body, depth, true, true));
    for v in &violations {
        let known = matches!(
            (v.rule, v.status, v.policy),
            ("request.body" | "request.json", 400, Policy::Validate)
                | ("request.content-type", 415, Policy::Validate)
                | ("request.unknown-field", 400, Policy::UnknownFields)
        );
        assert!(known && !v.reason.is_empty(), "{v:?}");
    }
    if req.body.is_empty() {
        assert_eq!(
            violations.len(),
            usize::from(check.required),
            "{violations:?}"
        );
        return;
    }
    let kind = content_type
        .and_then(|ct| check.media_for(ct))
        .map(|m| m.kind);
    let refused_json = violations.iter().any(|v| v.rule == "request.json");
    if kind == Some(MediaKind::Json) {
        let parsed = json::parse_strict(&req.body, depth);
        assert_eq!(parsed.is_err(), refused_json, "{violations:?}");
        assert!(!refused_json || violations.len() == 1, "{violations:?}");
    } else {
        assert!(!refused_json, "{violations:?}");
    }
    let unknown = violations
        .iter()
        .filter(|v| v.rule == "request.unknown-field")
        .count();
    assert!(unknown <= 1, "{violations:?}");
    // Both checks off: nothing to say but a missing or wrong content type, or an unreadable body.
    for v in common::block_on(check.check(content_type, &req.body, depth, false, false)) {
        assert!(
            matches!(
                v.rule,
                "request.content-type" | "request.json" | "request.body"
            ),
            "{v:?}"
        );
    }
});
