//! A request head (`METHOD /path?query`, then `Name: value` lines) through the parameter
//! checks of `crates/gateway/tests/data/fuzz/spec.yaml`: path, query, header and cookie
//! parameters of every style, explode and type (`properties::check_params`).
//!
//! The property is written once, in `crates/gateway/tests/fuzz_props/properties.rs`, which
//! the proptest twins run in CI; a crash here is a failed assertion there.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/gateway/tests/fuzz_props/properties.rs"]
mod properties;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| properties::check_params(data));
