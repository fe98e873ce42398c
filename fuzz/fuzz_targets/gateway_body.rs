//! A request (`METHOD /path`, `Name: value` lines, an empty line, the body) through the body
//! check of its operation in `crates/gateway/tests/data/fuzz/spec.yaml` and the strict JSON
//! reader, with the nesting limit of an `X-Max-Depth` line (`properties::check_body`).
//!
//! The property is written once, in `crates/gateway/tests/fuzz_props/properties.rs`, which
//! the proptest twins run in CI; a crash here is a failed assertion there.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/gateway/tests/fuzz_props/properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::check_body(data));
