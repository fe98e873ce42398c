//! The property the `discover_logs` fuzz target checks (fuzz/fuzz_targets/discover_logs.rs
//! includes this file) and the proptests of `tests/fuzz_props.rs` call: any bytes as a traffic
//! file through `portcullis discover`'s reading (format told by content: decision log, HAR,
//! nginx/Apache combined), routing against `tests/data/discover.yaml`, the inventory and its
//! learned OpenAPI document, diff and rate limits.
//!
//! Self-contained on purpose (its own imports and fixtures, no `super`), so that both crates
//! can include it.

use std::sync::{Arc, LazyLock};

use portcullis_inventory::logs::{self, Format, LogError, MAX_LINE};
use portcullis_inventory::route::Routes;
use portcullis_inventory::{ApiSpec, Inventory, Settings, learned};
use portcullis_spec::{Catalog, load_str};

/// The API recorded traffic is routed against.
pub const SPEC: &str = include_str!("../data/discover.yaml");

/// Its catalog, loaded once.
pub static CATALOG: LazyLock<Arc<Catalog>> =
    LazyLock::new(|| match load_str("discover.yaml", SPEC) {
        Ok(c) => Arc::new(c),
        Err(e) => panic!("the discover fixture must load: {e}"),
    });

/// `data` as a traffic file, as `portcullis discover` reads it. Never panics; a summary's
/// counts agree with the requests handed over and the lines read (at most 50 reasons kept,
/// each with a line number of the file); a HAR file that is not HAR is an error naming the
/// file; a routed request names its operation and template; the inventory's snapshot,
/// learned document, diff and rate limits render.
pub fn check_logs(data: &[u8]) {
    let catalog = CATALOG.clone();
    let routes = Routes::new("bank", catalog.clone());
    let settings = Settings {
        unused_after_ms: u64::MAX / 4,
        retention_ms: u64::MAX / 4,
        ..Settings::default()
    };
    let mut inventory = Inventory::new(
        vec![ApiSpec {
            name: "bank".to_owned(),
            catalog,
        }],
        settings,
    );
    let mut handed = 0u64;
    let mut last = 0;
    let read = logs::read_from("traffic.log", data, |mut s| {
        handed += 1;
        routes.annotate(&mut s);
        assert_eq!(s.api.as_deref(), Some("bank"));
        if let Some(t) = &s.route_template {
            assert!(s.operation.is_some() && t.starts_with('/'), "{s:?}");
        }
        last = last.max(s.ts_ms);
        inventory.record(&s);
    });
    let summary = match read {
        Ok(summary) => summary,
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("traffic.log: "), "{message}");
            assert!(matches!(e, LogError::Har { .. }), "{message}");
            assert_eq!(handed, 0);
            return;
        }
    };
    assert_eq!(summary.samples, handed);
    assert_eq!(summary.errors.len() as u64, summary.malformed.min(50));
    let lines = data.split(|&b| b == b'\n').count() as u64;
    for (n, reason) in &summary.errors {
        assert!(!reason.is_empty());
        match summary.format {
            Some(Format::Har) => assert!(reason.starts_with(&format!("entry {n}: "))),
            _ => assert!(*n >= 1 && *n <= lines, "line {n} of {lines}: {reason}"),
        }
    }
    if summary.format != Some(Format::Har) {
        // Each line is a request, a reason, or blank: never more requests than lines.
        assert!(summary.samples + summary.malformed <= lines);
        let longest = data.split(|&b| b == b'\n').map(<[u8]>::len).max();
        if longest.is_some_and(|l| l > MAX_LINE + 1) {
            assert!(summary.malformed > 0);
        }
    }
    let snapshot = inventory.snapshot(last);
    assert!(snapshot.endpoints.len() as u64 <= summary.samples + 5);
    let _ = serde_json::to_string(&snapshot).unwrap_or_else(|e| panic!("{e}"));
    let document = learned::openapi(&snapshot);
    assert!(document.is_object());
    let _ = learned::diff(&snapshot, inventory.apis());
    let _ = learned::rate_limits(&snapshot);
}
