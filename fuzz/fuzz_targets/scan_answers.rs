//! Any answer of a scanned target (`STATUS /template`, header lines, an empty line, the body)
//! through what `portcullis scan` reads in answers: JSON, harvested ids, error signatures,
//! JWTs, and the evidence of a finding with the session's secrets redacted. The property is
//! `crates/scan/tests/fuzz_props/properties.rs`, which the proptests also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/scan/tests/fuzz_props/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::check_answer(data));
