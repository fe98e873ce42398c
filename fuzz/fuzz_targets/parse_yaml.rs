//! Any text through the YAML parser: a value with positions or a located syntax error, never
//! a panic, a hang or unbounded memory (the limits are the loader's defaults, the node count
//! lowered so a stray alias bomb fails fast).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use portcullis_spec::parse::{Format, Limits, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let name: Arc<str> = Arc::from("fuzz.yaml");
    let limits = Limits {
        max_nodes: 200_000,
        max_alias_expansion: 100_000,
        ..Limits::default()
    };
    if let Err(e) = parse(&name, text, Format::Yaml, &limits) {
        // The message must render (it quotes the text around the error position).
        let _ = e.to_string();
    }
});
