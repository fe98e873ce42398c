//! Any text as the gateway's configuration (`Config::from_str_in`, which reads no file: the
//! specs, keys and certificates it names are only read when the gateway is built). A
//! configuration whose documented checks hold, or an error that names the file (and, for a
//! bad value, its line and column). Every line read as a size or a duration prints and reads
//! back the same.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use portcullis_gateway::config::{ByteSize, Config, ConfigError, Dur};

fn env(name: &str) -> Option<String> {
    match name {
        "GW_TOKEN" => Some("0123456789abcdef-admin".to_owned()),
        "GW_PORT" => Some("8080".to_owned()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = Path::new("/nonexistent/portcullis-fuzz");
    match Config::from_str_in("fuzz.yaml", text, dir, &env) {
        Ok(c) => {
            assert!(!c.apis.is_empty());
            assert_eq!(c.base_dir.as_path(), dir);
            for (i, api) in c.apis.iter().enumerate() {
                assert!(
                    c.apis.iter().take(i).all(|a| a.name != api.name),
                    "{}",
                    api.name
                );
                assert!(
                    api.upstream.starts_with("http://") || api.upstream.starts_with("https://"),
                    "{}",
                    api.upstream
                );
                assert!(api.rate_limits.iter().all(|r| r.limit > 0));
            }
            if let Some(admin) = &c.admin {
                assert!(admin.token.len() >= 16);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.yaml"), "{message}");
            if let ConfigError::Invalid { line, column, .. } = &e {
                assert!(*line >= 1 && *column >= 1, "{message}");
            }
        }
    }
    for line in text.lines().take(64) {
        if let Some(size) = ByteSize::parse(line) {
            assert_eq!(ByteSize::parse(&size.0.to_string()), Some(size), "{line:?}");
        }
        if let Some(d) = Dur::parse(line) {
            assert_eq!(Dur::parse(&d.to_string()), Some(d), "{line:?}");
        }
    }
});
