//! Any bytes as a request value, a JSON key, a URL and a response body through
//! portcullis-inspect: no panic, findings are short, masked JSON is JSON again (the property is
//! `crates/inspect/tests/fuzz_props/properties.rs`, which the proptests also run).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/inspect/tests/fuzz_props/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::inspect(data));
