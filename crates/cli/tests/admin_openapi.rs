//! The admin API's own OpenAPI document passes `portcullis audit --profile strict` with
//! nothing at or above medium.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_admin_api_document_audits_clean() {
    let doc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gateway/src/admin/openapi.json"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "audit",
            "--profile",
            "strict",
            "--fail-on",
            "medium",
            "--format",
            "json",
            doc,
        ])
        .output()
        .expect("run portcullis audit");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let summary = &report["summary"];
    assert_eq!(
        out.status.code(),
        Some(0),
        "findings at or above medium: {summary}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for severity in ["critical", "high", "medium"] {
        assert_eq!(summary[severity], 0, "{severity}: {summary}");
    }
}
