//! Any bytes as a traffic file through `portcullis discover`: the format told by content
//! (decision log, HAR, nginx/Apache combined), each request routed against
//! `crates/inventory/tests/data/discover.yaml` and counted in the inventory, whose snapshot,
//! learned OpenAPI document, diff and rate limits are made. The property is
//! `crates/inventory/tests/fuzz_props/properties.rs`, which the proptests also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/inventory/tests/fuzz_props/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::check_logs(data));
