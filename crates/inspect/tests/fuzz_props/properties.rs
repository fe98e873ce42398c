//! The property the `inspect` fuzz target checks (fuzz/fuzz_targets/inspect.rs includes this
//! file) and the proptests of `tests/fuzz_props.rs` call: any input, as a value, a key, a URL
//! and a JSON body, never panics, and what comes back is well formed.

use portcullis_inspect::injection::Detector;
use portcullis_inspect::sensitive::{self, Options};
use portcullis_inspect::ssrf;

/// Checks every entry point on `data`.
pub fn inspect(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for paranoia in 1..=3 {
        let detector = Detector::new(paranoia);
        if let Some(f) = detector.check(&text) {
            assert!(
                !f.fingerprint.is_empty() && f.fingerprint.len() <= 32,
                "{f:?}"
            );
        }
        if let Some(f) = detector.check_key(&text) {
            assert!(
                f.fingerprint.starts_with('$') && f.fingerprint.len() <= 32,
                "{f:?}"
            );
        }
    }
    if let Some(r) = ssrf::check_url(
        &text,
        &["example.com".to_owned(), "*.example.org".to_owned()],
    ) {
        assert!(!r.reason.is_empty());
    }
    let _ = ssrf::is_url_name(&text);
    let _ = sensitive::is_secret_name(&text);
    let options = Options {
        emails: true,
        phones: true,
    };
    let mut last = 0;
    for (_, range) in sensitive::find(&text, options) {
        assert!(
            range.start >= last && range.start < range.end && range.end <= text.len(),
            "{range:?}"
        );
        assert!(
            text.is_char_boundary(range.start) && text.is_char_boundary(range.end),
            "{range:?}"
        );
        last = range.end;
    }
    json(data, options);
}

/// `mask_json` and `scan_json` agree; a document serde_json reads is never refused, and its
/// masked form is JSON again, with the same shape when only in-place masks were made.
pub fn json(data: &[u8], options: Options) {
    let masked = sensitive::mask_json(data, options);
    let scanned = sensitive::scan_json(data, options);
    match (&masked, &scanned) {
        (Ok(m), Ok(k)) => assert_eq!(m.kinds, *k),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("mask_json {masked:?} and scan_json {scanned:?} disagree"),
    }
    let parsed = serde_json::from_slice::<serde_json::Value>(data);
    if parsed.is_ok() {
        let m = masked.unwrap_or_else(|e| panic!("serde_json reads it but mask_json refuses: {e}"));
        if let Some(body) = m.body {
            let again = serde_json::from_slice::<serde_json::Value>(&body);
            assert!(
                again.is_ok(),
                "masked output is not JSON: {}",
                String::from_utf8_lossy(&body)
            );
            let kinds: Vec<_> = m.kinds.iter().collect();
            let replaced = kinds.contains(&sensitive::Kind::SecretName)
                || kinds.contains(&sensitive::Kind::Card);
            if !replaced {
                assert_eq!(
                    body.len(),
                    data.len(),
                    "an in-place mask changed the length"
                );
            }
        }
    }
}
