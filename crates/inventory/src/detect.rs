//! Anomaly detectors over the same samples as the inventory. Each is statistical and
//! explainable: an [`Alert`] names the figure, its value and the threshold it crossed.
//! State is per client (and per endpoint, per account) in tumbling windows, bounded by
//! [`Thresholds::max_clients`]; distinct counts are sketches.
//!
//! - **spike**: a client's (or an endpoint's) requests in a window above both a floor and
//!   `spike_factor` times its own baseline (a moving average of its earlier windows);
//! - **stuffing**: failed logins (401/403/429 on a login operation, or a lockout refusal) from
//!   one client, or failed authentications of one account from many clients;
//! - **enumeration**: one client reading many distinct objects of one parameterized endpoint;
//! - **scanning**: a high 404/405 share, or many distinct undocumented paths, from one client;
//! - **exfiltration**: response bytes of a client in a window far above its baseline.

use std::collections::VecDeque;

/// The detectors' maps, looked up several times per request with the client's key: foldhash
/// (randomly seeded per process, as the gateway's own per-client maps) instead of SipHash,
/// which took about a fifth of the detectors' time; each map is bounded by `max_clients`.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::sample::Sample;
use crate::sketch::Distinct;

/// The detectors' thresholds (`detect:` in the gateway configuration).
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// The window length, ms.
    pub window_ms: u64,
    /// Requests per window a client (or endpoint) may always send.
    pub spike_min: u64,
    /// How many times its baseline a client's window must reach to be a spike.
    pub spike_factor: f64,
    /// Failed logins per client per window.
    pub stuffing_failures: u64,
    /// Distinct clients failing on one account per window.
    pub stuffing_clients: u64,
    /// Distinct objects of one endpoint read by one client per window.
    pub enumeration_ids: u64,
    /// Requests a client must send in a window before its 404/405 share counts.
    pub scanning_min: u64,
    /// The 404/405 share that is scanning.
    pub scanning_share: f64,
    /// Distinct undocumented paths per client per window.
    pub scanning_undocumented: u64,
    /// Response bytes per client per window that are always fine.
    pub exfiltration_min_bytes: u64,
    /// How many times its baseline a client's bytes must reach.
    pub exfiltration_factor: f64,
    /// Login operation ids (default: ids containing `login`, `signin`, `token`).
    pub logins: Vec<String>,
    /// Detectors whose alerts ban the client (when bans are on).
    pub ban_on: Vec<String>,
    /// Clients tracked at once.
    pub max_clients: usize,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            window_ms: 60_000,
            spike_min: 300,
            spike_factor: 10.0,
            stuffing_failures: 10,
            stuffing_clients: 5,
            enumeration_ids: 50,
            scanning_min: 20,
            scanning_share: 0.5,
            scanning_undocumented: 15,
            exfiltration_min_bytes: 50 * 1024 * 1024,
            exfiltration_factor: 10.0,
            logins: Vec::new(),
            ban_on: vec!["stuffing".into(), "enumeration".into(), "scanning".into()],
            max_clients: 10_000,
        }
    }
}

/// One alert (the JSON of `/api/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `a-17`.
    pub id: String,
    /// When, RFC 3339.
    pub ts: String,
    /// spike | stuffing | enumeration | scanning | exfiltration.
    pub detector: String,
    /// The client (address, or `key:`/`sub:` identity).
    pub client: String,
    /// The API.
    pub api: Option<String>,
    /// The operation, when one is concerned.
    pub operation: Option<String>,
    /// What was measured.
    pub figure: String,
    /// Its value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// One sentence for people.
    pub message: String,
    /// Whether the client was banned for it.
    pub banned: bool,
}

#[derive(Debug, Default)]
struct Window {
    start_ms: u64,
    requests: u64,
    bytes: u64,
    failed_logins: u64,
    not_found: u64,
    undocumented: Distinct,
    /// Distinct objects read per endpoint (bounded).
    objects: HashMap<String, Distinct>,
    /// Detectors that already alerted in this window.
    alerted: Vec<&'static str>,
}

#[derive(Debug, Default)]
struct Track {
    window: Window,
    /// Moving averages of the earlier windows.
    base_requests: f64,
    base_bytes: f64,
    windows: u64,
}

impl Track {
    /// Starts a new window when `ts_ms` is past the current one.
    fn roll(&mut self, ts_ms: u64, window_ms: u64) {
        if ts_ms >= self.window.start_ms.saturating_add(window_ms) || self.windows == 0 {
            if self.windows > 0 {
                let a = 0.3;
                self.base_requests =
                    (1.0 - a) * self.base_requests + a * self.window.requests as f64;
                self.base_bytes = (1.0 - a) * self.base_bytes + a * self.window.bytes as f64;
            }
            self.windows += 1;
            self.window = Window {
                start_ms: ts_ms,
                ..Window::default()
            };
        }
    }

    fn once(&mut self, detector: &'static str) -> bool {
        if self.window.alerted.contains(&detector) {
            return false;
        }
        self.window.alerted.push(detector);
        true
    }
}

/// Whether `word` (ASCII, lower case) occurs in `text`, ignoring ASCII case.
fn contains_ignore_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// Endpoints whose objects one client window tracks.
const OBJECT_ENDPOINTS: usize = 8;
/// Alerts kept in memory.
pub const KEPT_ALERTS: usize = 1000;

/// The detectors' state.
#[derive(Debug, Default)]
pub struct Detectors {
    t: Thresholds,
    clients: HashMap<String, Track>,
    endpoints: HashMap<String, Track>,
    accounts: HashMap<String, (u64, Distinct, bool)>,
    next: u64,
    /// Alerts raised, newest last (bounded).
    pub alerts: VecDeque<Alert>,
    /// Samples not tracked because [`Thresholds::max_clients`] was reached.
    pub overflow: u64,
}

impl Detectors {
    /// Detectors with these thresholds.
    pub fn new(t: Thresholds) -> Detectors {
        Detectors {
            t,
            ..Detectors::default()
        }
    }

    fn is_login(&self, op: Option<&str>) -> bool {
        let Some(op) = op else { return false };
        if self.t.logins.is_empty() {
            ["login", "signin", "token"]
                .iter()
                .any(|word| contains_ignore_case(op, word))
        } else {
            self.t.logins.iter().any(|x| x == op)
        }
    }

    fn bounded<'m>(
        map: &'m mut HashMap<String, Track>,
        key: &str,
        max: usize,
        now: u64,
        window: u64,
    ) -> Option<&'m mut Track> {
        if !map.contains_key(key) && map.len() >= max {
            map.retain(|_, t| now < t.window.start_ms.saturating_add(2 * window));
            if map.len() >= max {
                return None;
            }
        }
        // Looked up first: the entry API would copy the key on every request.
        if map.contains_key(key) {
            return map.get_mut(key);
        }
        Some(map.entry(key.to_owned()).or_default())
    }

    /// Feeds one sample; returns the alerts it raised (also kept in [`Detectors::alerts`]).
    pub fn observe(&mut self, s: &Sample) -> Vec<Alert> {
        let mut raised = Vec::new();
        let Some(client) = s.client.key() else {
            return raised;
        };
        let (w, max) = (self.t.window_ms, self.t.max_clients);
        let login = self.is_login(s.operation.as_deref());
        // A login refused for its password, or refused because it came too often.
        let failed_login = (login && matches!(s.status, 401 | 403 | 429))
            || s.rule.as_deref().is_some_and(|r| r.starts_with("lockout"));
        // The undocumented path's shape, made once (documented requests have their template).
        let shape = match &s.route_template {
            Some(_) => None,
            None => Some(crate::template::shape(&s.path)),
        };
        let template = s
            .route_template
            .as_deref()
            .or(shape.as_deref())
            .unwrap_or("");
        let mut endpoint = String::with_capacity(s.method.len() + 1 + template.len());
        endpoint.push_str(&s.method);
        endpoint.push(' ');
        endpoint.push_str(template);
        let t = &self.t;
        let mut found: Vec<(&'static str, String, f64, f64)> = Vec::new();
        let Some(track) = Self::bounded(&mut self.clients, &client, max, s.ts_ms, w) else {
            self.overflow += 1;
            return raised;
        };
        track.roll(s.ts_ms, w);
        let win = &mut track.window;
        win.requests += 1;
        win.bytes = win.bytes.saturating_add(s.response_bytes.unwrap_or(0));
        win.failed_logins += u64::from(failed_login);
        win.not_found += u64::from(matches!(s.status, 404 | 405));
        if s.operation.is_none() {
            win.undocumented.insert(&s.path);
        }
        let templated = s.route_template.as_deref().is_some_and(|r| r.contains('{'))
            || (s.operation.is_none() && template.contains('{'));
        let read_objects = if templated && s.method == "GET" {
            let key = template.to_owned();
            if win.objects.len() < OBJECT_ENDPOINTS || win.objects.contains_key(&key) {
                let d = win.objects.entry(key).or_default();
                d.insert(&s.path);
                d.count()
            } else {
                0
            }
        } else {
            0
        };
        let spike_at = (t.spike_factor * track.base_requests).max(t.spike_min as f64);
        if track.window.requests as f64 > spike_at && track.once("spike") {
            found.push((
                "spike",
                format!("requests from this client in {} s", w / 1000),
                track.window.requests as f64,
                spike_at,
            ));
        }
        if track.window.failed_logins >= t.stuffing_failures && track.once("stuffing") {
            found.push((
                "stuffing",
                format!(
                    "failed or refused logins from this client in {} s",
                    w / 1000
                ),
                track.window.failed_logins as f64,
                t.stuffing_failures as f64,
            ));
        }
        if read_objects >= t.enumeration_ids && track.once("enumeration") {
            found.push((
                "enumeration",
                format!(
                    "distinct objects of {endpoint} read by this client in {} s",
                    w / 1000
                ),
                read_objects as f64,
                t.enumeration_ids as f64,
            ));
        }
        let win = &track.window;
        let share = win.not_found as f64 / win.requests.max(1) as f64;
        if win.requests >= t.scanning_min && share >= t.scanning_share && track.once("scanning") {
            found.push((
                "scanning",
                format!(
                    "share of 404/405 answers over {} requests",
                    track.window.requests
                ),
                share,
                t.scanning_share,
            ));
        }
        // The estimate only moves when this request added to it.
        let undocumented = if s.operation.is_none() {
            track.window.undocumented.count()
        } else {
            0
        };
        if undocumented >= t.scanning_undocumented && track.once("scanning") {
            found.push((
                "scanning",
                format!("distinct undocumented paths requested in {} s", w / 1000),
                undocumented as f64,
                t.scanning_undocumented as f64,
            ));
        }
        let exfil_at =
            (t.exfiltration_factor * track.base_bytes).max(t.exfiltration_min_bytes as f64);
        if track.window.bytes as f64 > exfil_at && track.once("exfiltration") {
            found.push((
                "exfiltration",
                format!("response bytes to this client in {} s", w / 1000),
                track.window.bytes as f64,
                exfil_at,
            ));
        }
        // Many clients failing on one account.
        if let Some(account) = s.client.account()
            && matches!(s.status, 401 | 403)
        {
            if self.accounts.len() >= max && !self.accounts.contains_key(account) {
                self.accounts.clear();
            }
            let a = self.accounts.entry(account.to_owned()).or_insert((
                s.ts_ms,
                Distinct::default(),
                false,
            ));
            if s.ts_ms >= a.0.saturating_add(w) {
                *a = (s.ts_ms, Distinct::default(), false);
            }
            a.1.insert(&client);
            let n = a.1.count();
            if n >= t.stuffing_clients && !a.2 {
                a.2 = true;
                found.push((
                    "stuffing",
                    format!(
                        "distinct clients failing on account {account} in {} s",
                        w / 1000
                    ),
                    n as f64,
                    t.stuffing_clients as f64,
                ));
            }
        }
        // The endpoint's own rate against its baseline.
        if let Some(ep) = Self::bounded(&mut self.endpoints, &endpoint, max, s.ts_ms, w) {
            ep.roll(s.ts_ms, w);
            ep.window.requests += 1;
            let at = (t.spike_factor * ep.base_requests).max((t.spike_min * 10) as f64);
            if ep.window.requests as f64 > at && ep.windows > 1 && ep.once("spike") {
                found.push((
                    "spike",
                    format!("requests to {endpoint} in {} s", w / 1000),
                    ep.window.requests as f64,
                    at,
                ));
            }
        }
        for (detector, figure, value, threshold) in found {
            self.next += 1;
            let banned = t.ban_on.iter().any(|d| d == detector) && s.client.ip.is_some();
            let alert = Alert {
                id: format!("a-{}", self.next),
                ts: rfc3339(s.ts_ms),
                detector: detector.to_owned(),
                client: client.clone(),
                api: s.api.clone(),
                operation: s.operation.clone(),
                message: format!(
                    "{detector}: {figure} is {value:.2}, above the threshold {threshold:.2}"
                ),
                figure,
                value,
                threshold,
                banned,
            };
            if self.alerts.len() >= KEPT_ALERTS {
                self.alerts.pop_front();
            }
            self.alerts.push_back(alert.clone());
            raised.push(alert);
        }
        raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Client;

    fn sample(i: u64, op: Option<&str>, path: &str, status: u16) -> Sample {
        Sample {
            ts_ms: 1_000_000 + i,
            api: Some("bank".into()),
            operation: op.map(str::to_owned),
            route_template: op.map(|_| path.to_owned()),
            method: "GET".into(),
            path: path.into(),
            status,
            client: Client {
                ip: Some([10, 0, 0, 9].into()),
                ..Client::default()
            },
            ..Sample::default()
        }
    }

    #[test]
    fn stuffing_alerts_after_the_threshold_and_once() {
        let mut d = Detectors::new(Thresholds::default());
        let mut alerts = Vec::new();
        for i in 0..30 {
            alerts.extend(d.observe(&sample(i, Some("login"), "/auth/login", 401)));
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].detector, "stuffing");
        assert_eq!(alerts[0].value, 10.0);
        assert!(alerts[0].banned);
    }

    #[test]
    fn scanning_and_enumeration() {
        let mut d = Detectors::new(Thresholds::default());
        let mut kinds = Vec::new();
        for i in 0..40 {
            for a in d.observe(&sample(i, None, &format!("/admin{i}.php"), 404)) {
                kinds.push(a.detector);
            }
        }
        assert_eq!(kinds, ["scanning"]);
        let mut d = Detectors::new(Thresholds::default());
        let mut n = 0;
        for i in 0..200u64 {
            let mut s = sample(
                i,
                Some("getAccount"),
                &format!("/accounts/{}", 1000 + i),
                200,
            );
            s.route_template = Some("/accounts/{id}".into());
            if !d.observe(&s).is_empty() {
                n = i + 1;
                break;
            }
        }
        assert!((40..=60).contains(&n), "alerted after {n}");
    }

    #[test]
    fn benign_traffic_stays_quiet() {
        let mut d = Detectors::new(Thresholds::default());
        for i in 0..2000u64 {
            let path = ["/users/me", "/accounts/search", "/transfers"]
                [usize::try_from(i % 3).unwrap_or(0)];
            let s = sample(
                i * 300,
                Some("op"),
                path,
                if i % 50 == 0 { 404 } else { 200 },
            );
            assert!(d.observe(&s).is_empty(), "{i}");
        }
    }
}
