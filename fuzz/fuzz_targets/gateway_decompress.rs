//! An answer in a content coding (gzip, deflate, br, unknown ones), sent whole or compressed
//! here from the input (repeated: a bomb), read for inspection within a cap: never inflated
//! past the cap, a bomb refused, an answer not read sent on as it came. The property is
//! `check_decompress` in `crates/gateway/tests/fuzz_props/answers.rs`, which the proptests also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/gateway/tests/fuzz_props/answers.rs"]
mod answers;

fuzz_target!(|data: &[u8]| answers::check_decompress(data));
