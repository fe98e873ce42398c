//! Any text as a whole OpenAPI document: parse, version detection, `$ref` resolution (cycles,
//! dangling and external references), 2.0/3.0 conversion, catalog. Every outcome is a catalog
//! or an error that renders; a catalog always builds a router.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_spec::{Router, RouterOptions, load_str};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match load_str("fuzz.yaml", text) {
        Ok(catalog) => {
            let (router, _warnings) = Router::new(&catalog, &RouterOptions::default());
            let _ = router.len();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
