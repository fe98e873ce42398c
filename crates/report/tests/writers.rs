//! Snapshot tests of the three writers on a fixed report.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use portcullis_report::write::{self, TextOptions};

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_output() {
    let report = common::sample();
    let plain = render(|o| {
        write::text(
            &report,
            o,
            &TextOptions {
                color: false,
                remediation: true,
                max_per_rule: None,
            },
        )
    });
    insta::assert_snapshot!("text", plain);
    let colored = render(|o| {
        write::text(
            &report,
            o,
            &TextOptions {
                color: true,
                remediation: false,
                max_per_rule: None,
            },
        )
    });
    assert!(colored.contains("\x1b[1;35mCRITICAL (1)\x1b[0m"));
}

#[test]
fn json_output_round_trips() {
    let report = common::sample();
    let out = render(|o| write::json(&report, o, true));
    insta::assert_snapshot!("json", out);
    let back: portcullis_report::Report = serde_json::from_str(&out).unwrap();
    assert_eq!(back.findings, report.findings);
    assert_eq!(back.summary, report.summary);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["tool", "version", "findings", "summary", "score"] {
        assert!(v.get(key).is_some(), "JSON report lacks {key}");
    }
}

#[test]
fn sarif_output() {
    let report = common::sample();
    let out = render(|o| write::sarif(&report, o));
    insta::assert_snapshot!("sarif", out);
}
