//! docs/rules.md is generated from the rule table; this test fails when the committed file
//! differs from what the code generates. Regenerate with
//! `UPDATE_DOCS=1 cargo test -p portcullis-audit --test docs`.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

#[test]
fn rules_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let generated = portcullis_audit::docs::markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/rules.md is out of date with the rule table; regenerate it with\n  UPDATE_DOCS=1 cargo test -p portcullis-audit --test docs\nand commit the result"
    );
}
