//! An upstream's answer (`STATUS OPERATION-ID`, header lines, an empty line, the body) through
//! the response filter of its operation in `crates/gateway/tests/data/fuzz/response.yaml`:
//! read within `max_inspect`, error sanitizing, the schema check, stripping of undeclared
//! properties, sensitive-data masking of JSON and text, the body put back. The property is
//! `check_response` in `crates/gateway/tests/fuzz_props/answers.rs`, which the proptests also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/gateway/tests/fuzz_props/answers.rs"]
mod answers;

fuzz_target!(|data: &[u8]| answers::check_response(data));
