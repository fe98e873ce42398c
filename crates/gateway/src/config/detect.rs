//! `storage:` and `detect:` as written in the file (docs/config.md, "Storage" and
//! "Detection"). The gateway only reads them; `cli` wires the inventory and the detectors
//! (crates/inventory) that use them.

use std::path::PathBuf;

use serde::Deserialize;

use super::Dur;

/// `storage:` a SQLite file for state that outlives the process: the memory backend's
/// quotas and the inventory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The SQLite file, relative to the config file's directory.
    pub path: PathBuf,
    /// How often the inventory is written (default 5s): at most this much is lost on a crash.
    #[serde(default = "default_flush")]
    pub flush: Dur,
    /// Inventory entries not seen for this long are deleted (default 30d).
    #[serde(default = "default_retention")]
    pub retention: Dur,
}

fn default_flush() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}

fn default_retention() -> Dur {
    Dur(std::time::Duration::from_secs(30 * 86_400))
}

/// `detect:` anomaly detectors, alerts and temporary bans.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    /// Detectors on (default true when the block is present).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Ban the client of an alert for this long (no bans when absent).
    pub ban: Option<Dur>,
    /// Detectors whose alerts ban (default: stuffing, enumeration, scanning).
    pub ban_on: Option<Vec<String>>,
    /// A URL alerts are POSTed to as JSON (http:// only).
    pub webhook: Option<String>,
    /// The detectors' window (default 1m).
    pub window: Option<Dur>,
    /// A documented operation not called within this long is `unused` (default 7d).
    pub unused_after: Option<Dur>,
    /// Login operation ids for the stuffing detector (default: ids with login/signin/token).
    pub logins: Option<Vec<String>>,
    /// Thresholds (defaults in docs/config.md).
    #[serde(default)]
    pub thresholds: ThresholdsConfig,
}

/// `detect.thresholds`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsConfig {
    /// Requests per window a client may always send (default 300).
    pub spike_min: Option<u64>,
    /// Times its baseline that is a spike (default 10).
    pub spike_factor: Option<f64>,
    /// Failed logins per client per window (default 10).
    pub stuffing_failures: Option<u64>,
    /// Distinct clients failing on one account per window (default 5).
    pub stuffing_clients: Option<u64>,
    /// Distinct objects of one endpoint read by one client per window (default 50).
    pub enumeration_ids: Option<u64>,
    /// The 404/405 share that is scanning (default 0.5).
    pub scanning_share: Option<f64>,
    /// Requests before the share counts (default 20).
    pub scanning_min: Option<u64>,
    /// Distinct undocumented paths per client per window (default 15).
    pub scanning_undocumented: Option<u64>,
    /// Response bytes per client per window always fine (default 50 MiB).
    pub exfiltration_bytes: Option<super::ByteSize>,
    /// Times its baseline that is exfiltration (default 10).
    pub exfiltration_factor: Option<f64>,
    /// Clients tracked at once (default 10000).
    pub max_clients: Option<usize>,
}

fn yes() -> bool {
    true
}

/// The detectors an alert can come from.
pub const DETECTORS: [&str; 5] = [
    "spike",
    "stuffing",
    "enumeration",
    "scanning",
    "exfiltration",
];

impl DetectConfig {
    /// Problems as (JSON pointer under `/detect`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(url) = &self.webhook
            && !url.starts_with("http://")
        {
            out.push((
                "/detect/webhook".to_owned(),
                format!("{:?} is not an http:// URL", super::redact_url(url)),
            ));
        }
        if self.ban.is_some_and(|b| b.0.is_zero()) {
            out.push(("/detect/ban".to_owned(), "must be more than 0".to_owned()));
        }
        if self.window.is_some_and(|w| w.0.as_millis() < 1000) {
            out.push((
                "/detect/window".to_owned(),
                "must be at least 1s".to_owned(),
            ));
        }
        for (i, d) in self.ban_on.iter().flatten().enumerate() {
            if !DETECTORS.contains(&d.as_str()) {
                out.push((
                    format!("/detect/ban_on/{i}"),
                    format!("unknown detector {d:?}: one of {}", DETECTORS.join(", ")),
                ));
            }
        }
        let t = &self.thresholds;
        for (key, v) in [
            ("spike_factor", t.spike_factor),
            ("exfiltration_factor", t.exfiltration_factor),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v < 1.0) {
                out.push((
                    format!("/detect/thresholds/{key}"),
                    "must be a number of at least 1".to_owned(),
                ));
            }
        }
        if t.scanning_share.is_some_and(|v| !(v > 0.0 && v <= 1.0)) {
            out.push((
                "/detect/thresholds/scanning_share".to_owned(),
                "must be more than 0 and at most 1".to_owned(),
            ));
        }
        for (key, v) in [
            ("spike_min", t.spike_min),
            ("stuffing_failures", t.stuffing_failures),
            ("stuffing_clients", t.stuffing_clients),
            ("enumeration_ids", t.enumeration_ids),
            ("scanning_min", t.scanning_min),
            ("scanning_undocumented", t.scanning_undocumented),
        ] {
            if v == Some(0) {
                out.push((
                    format!("/detect/thresholds/{key}"),
                    "must be more than 0".to_owned(),
                ));
            }
        }
        if t.max_clients
            .is_some_and(|n| !(1..=10_000_000).contains(&n))
        {
            out.push((
                "/detect/thresholds/max_clients".to_owned(),
                "give between 1 and 10000000".to_owned(),
            ));
        }
        out
    }
}

impl StorageConfig {
    /// Problems as (JSON pointer under `/storage`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.flush.0.as_millis() < 100 {
            out.push((
                "/storage/flush".to_owned(),
                "must be at least 100ms".to_owned(),
            ));
        }
        if self.retention.0.as_secs() < 60 {
            out.push((
                "/storage/retention".to_owned(),
                "must be at least 1m".to_owned(),
            ));
        }
        out
    }
}
