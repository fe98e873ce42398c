//! Any text as a request path: `normalize_path` accepts it or says why not, and what it
//! accepts is canonical: normalizing it again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_spec::normalize_path;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    match normalize_path(path) {
        Ok(out) => {
            let out = out.as_str();
            assert!(out.starts_with('/'), "{path:?} -> {out:?}");
            assert!(!out.contains("//"), "{path:?} -> {out:?}");
            match normalize_path(out) {
                Ok(again) => assert!(again.is_unchanged(), "{path:?} -> {out:?} -> {again:?}"),
                Err(e) => panic!("{path:?} -> {out:?}, which is refused: {e}"),
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
