//! The first line is a presented API key, the rest an API-key file, checked against the
//! fixture `crates/gateway/tests/data/fuzz/api-keys.yaml` and as a file of its own
//! (`properties::check_apikeys`).
//!
//! The property is written once, in `crates/gateway/tests/fuzz_props/properties.rs`, which
//! the proptest twins run in CI; a crash here is a failed assertion there.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/gateway/tests/fuzz_props/properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        properties::check_apikeys(text);
    }
});
