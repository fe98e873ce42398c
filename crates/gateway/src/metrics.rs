//! Prometheus metrics, served on the admin listener at `/metrics`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A label value shared with the running configuration (an API name, an operation id): the
/// per-request metrics clone a pointer, not the text.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Label(pub Arc<str>);

impl Label {
    /// `-`: no API matched, or the operation is undocumented.
    pub fn none() -> Label {
        static NONE: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("-"));
        Label(NONE.clone())
    }

    /// The value, or [`Label::none`].
    pub fn or_none(value: Option<&Arc<str>>) -> Label {
        value.map_or_else(Label::none, |v| Label(v.clone()))
    }
}

impl EncodeLabelValue for Label {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

/// Labels of a finished request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// API name (`-` when none matched).
    pub api: Label,
    /// Operation id (`-` when undocumented).
    pub operation: Label,
    /// `allow`, `block`, `monitor`.
    pub decision: &'static str,
    /// Status sent.
    pub status: u16,
}

/// Request labels compared and hashed by the addresses of their texts, not the texts: equal
/// addresses mean equal texts (each [`Label`] in a key keeps its text alive, so an address is
/// never reused while the key exists); equal texts at other addresses are only another key
/// for the same series.
#[derive(Debug, Clone)]
struct ByAddress(RequestLabels);

impl PartialEq for ByAddress {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        Arc::ptr_eq(&a.api.0, &b.api.0)
            && Arc::ptr_eq(&a.operation.0, &b.operation.0)
            && std::ptr::eq(a.decision, b.decision)
            && a.status == b.status
    }
}

impl Eq for ByAddress {}

impl Hash for ByAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.0.api.0).cast::<u8>().hash(state);
        Arc::as_ptr(&self.0.operation.0).cast::<u8>().hash(state);
        self.0.decision.as_ptr().hash(state);
        self.0.status.hash(state);
    }
}

/// The series one finished request updates.
struct Series {
    requests: Counter,
    latency: Histogram,
}

/// Most label sets a worker keeps handles for; past it the map starts again (handles are
/// only shortcuts to the registry's series, which keep their counts).
const WORKER_SERIES_MAX: usize = 4096;

/// One worker's handles to the series every request updates (`requests` and the latency
/// histogram). Finding a series in its `Family` hashes the label texts with SipHash under a
/// lock all workers share, twice per request (~900 instructions per request under
/// callgrind); here the key is four words, hashed with foldhash under the worker's own lock.
#[derive(Default)]
pub struct WorkerSeries {
    handles: Mutex<HashMap<ByAddress, Series, foldhash::fast::RandomState>>,
}

impl WorkerSeries {
    /// Counts a finished request in `requests` and its latency in `request_duration_seconds`.
    pub fn record(&self, metrics: &Metrics, labels: RequestLabels, latency: Duration) {
        // A poisoned map is still a map of valid handles.
        let mut handles = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        let key = ByAddress(labels);
        if handles.len() >= WORKER_SERIES_MAX && !handles.contains_key(&key) {
            handles.clear();
        }
        let series = handles.entry(key).or_insert_with_key(|key| Series {
            requests: metrics.requests.get_or_create(&key.0).clone(),
            latency: metrics
                .latency
                .get_or_create(&ApiLabels {
                    api: key.0.api.clone(),
                })
                .clone(),
        });
        series.requests.inc();
        series.latency.observe(latency.as_secs_f64());
    }
}

/// Labels of latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    /// API name.
    pub api: Label,
}

/// Labels of a rule hit.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// API name.
    pub api: Label,
    /// Rule id.
    pub rule: &'static str,
}

/// Labels of a lockout.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LockoutLabels {
    /// API name.
    pub api: String,
    /// `ip` or `account`.
    pub kind: String,
}

/// Labels of an authentication failure.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// Reason code (`expired`, `bad_signature`...).
    pub reason: String,
}

/// Labels of a call to the token introspection endpoint.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntrospectionLabels {
    /// `active`, `inactive` or `error`.
    pub result: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
        2.5, 5.0, 10.0,
    ])
}

/// Every metric the gateway exports.
pub struct Metrics {
    /// The registry (encoded on scrape).
    pub registry: Registry,
    /// `portcullis_requests_total`.
    pub requests: Family<RequestLabels, Counter>,
    /// `portcullis_request_duration_seconds`.
    pub latency: Family<ApiLabels, Histogram, fn() -> Histogram>,
    /// `portcullis_upstream_errors_total`.
    pub upstream_errors: Family<ApiLabels, Counter>,
    /// `portcullis_rule_hits_total`.
    pub rule_hits: Family<RuleLabels, Counter>,
    /// `portcullis_auth_failures_total`.
    pub auth_failures: Family<AuthLabels, Counter>,
    /// `portcullis_introspection_calls_total`.
    pub introspection_calls: Family<IntrospectionLabels, Counter>,
    /// `portcullis_introspection_cache_hits_total`.
    pub introspection_cache_hits: Counter,
    /// `portcullis_introspection_stale_total`.
    pub introspection_stale: Counter,
    /// `portcullis_reloads_total`.
    pub reloads: Counter,
    /// `portcullis_reload_failures_total`.
    pub reload_failures: Counter,
    /// `portcullis_decision_log_dropped`.
    pub log_dropped: Gauge,
    /// `portcullis_ratelimit_degraded_decisions_total`: rate-limit and lockout decisions taken
    /// by `state.on_failure` (Redis unavailable).
    pub ratelimit_degraded: Counter,
    /// `portcullis_ratelimit_storage_failures`: failed writes of quota state to `storage.path`.
    pub ratelimit_storage_failures: Gauge,
    /// `portcullis_ratelimit_storage_dropped`: quota updates lost with the writer behind.
    pub ratelimit_storage_dropped: Gauge,
    /// `portcullis_lockouts_total`: locks started here, by API and kind.
    pub lockouts: Family<LockoutLabels, Counter>,
    /// `portcullis_connections_open`: client connections open on the public listener.
    pub connections_open: Gauge,
    /// `portcullis_connection_limit_waits_total`: times the public listener stopped accepting
    /// because `server.max_connections` were open.
    pub connection_limit_waits: Counter,
    /// `portcullis_connections_stalled_total`: connections dropped because an answer under way
    /// sent nothing for `server.limits.send_timeout`.
    pub connections_stalled: Counter,
    /// `portcullis_bans_active`: clients banned now (set on scrape).
    pub bans_active: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<ApiLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let upstream_errors = Family::<ApiLabels, Counter>::default();
        let rule_hits = Family::<RuleLabels, Counter>::default();
        let auth_failures = Family::<AuthLabels, Counter>::default();
        let introspection_calls = Family::<IntrospectionLabels, Counter>::default();
        let introspection_cache_hits = Counter::default();
        let introspection_stale = Counter::default();
        let reloads = Counter::default();
        let reload_failures = Counter::default();
        let log_dropped = Gauge::default();
        let ratelimit_degraded = Counter::default();
        let ratelimit_storage_failures = Gauge::default();
        let ratelimit_storage_dropped = Gauge::default();
        let lockouts = Family::<LockoutLabels, Counter>::default();
        let connections_open = Gauge::default();
        let connection_limit_waits = Counter::default();
        let connections_stalled = Counter::default();
        let bans_active = Gauge::default();
        registry.register(
            "bans_active",
            "Clients banned now (by the anomaly detectors or an operator)",
            bans_active.clone(),
        );
        registry.register(
            "connections_stalled",
            "Connections dropped because an answer under way sent nothing for server.limits.send_timeout",
            connections_stalled.clone(),
        );
        registry.register(
            "connections_open",
            "Client connections open on the public listener",
            connections_open.clone(),
        );
        registry.register(
            "connection_limit_waits",
            "Times the public listener stopped accepting because server.max_connections were open",
            connection_limit_waits.clone(),
        );
        registry.register(
            "lockouts",
            "Client IPs and accounts locked out after repeated authentication failures",
            lockouts.clone(),
        );
        registry.register(
            "requests",
            "Requests by API, operation, decision and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from request to response head",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream connection errors and timeouts",
            upstream_errors.clone(),
        );
        registry.register(
            "rule_hits",
            "Denials (enforced or monitored) by rule",
            rule_hits.clone(),
        );
        registry.register(
            "auth_failures",
            "Refused credentials by reason",
            auth_failures.clone(),
        );
        registry.register(
            "introspection_calls",
            "Calls to the token introspection endpoint by result (active, inactive, error)",
            introspection_calls.clone(),
        );
        registry.register(
            "introspection_cache_hits",
            "Opaque tokens judged from the introspection cache without a call",
            introspection_cache_hits.clone(),
        );
        registry.register(
            "introspection_stale",
            "Opaque tokens let through on a stale cached answer while the endpoint failed",
            introspection_stale.clone(),
        );
        registry.register(
            "reloads",
            "Successful configuration reloads",
            reloads.clone(),
        );
        registry.register(
            "reload_failures",
            "Rejected configuration reloads",
            reload_failures.clone(),
        );
        registry.register(
            "decision_log_dropped",
            "Decision log lines dropped (writer behind)",
            log_dropped.clone(),
        );
        registry.register(
            "ratelimit_degraded_decisions",
            "Rate-limit and lockout decisions taken by state.on_failure (Redis unavailable)",
            ratelimit_degraded.clone(),
        );
        registry.register(
            "ratelimit_storage_failures",
            "Failed writes of rate-limit quota state to storage.path (retried with the next write)",
            ratelimit_storage_failures.clone(),
        );
        registry.register(
            "ratelimit_storage_dropped",
            "Rate-limit quota updates lost because the storage writer was behind",
            ratelimit_storage_dropped.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            upstream_errors,
            rule_hits,
            auth_failures,
            introspection_calls,
            introspection_cache_hits,
            introspection_stale,
            reloads,
            reload_failures,
            log_dropped,
            ratelimit_degraded,
            ratelimit_storage_failures,
            ratelimit_storage_dropped,
            lockouts,
            connections_open,
            connections_stalled,
            connection_limit_waits,
            bans_active,
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(api: &Arc<str>, operation: &Arc<str>, status: u16) -> RequestLabels {
        RequestLabels {
            api: Label(api.clone()),
            operation: Label(operation.clone()),
            decision: "allow",
            status,
        }
    }

    fn requests_line(metrics: &Metrics, status: u16) -> Option<String> {
        let needle = format!("status=\"{status}\"");
        metrics
            .encode()
            .lines()
            .find(|l| l.starts_with("portcullis_requests_total{") && l.contains(&needle))
            .map(str::to_owned)
    }

    #[test]
    fn worker_series_count_into_the_registry_by_label_text() {
        let metrics = Metrics::new();
        let series = WorkerSeries::default();
        let (api, op) = (Arc::from("bank"), Arc::from("getAccount"));
        let ms = Duration::from_millis(1);
        series.record(&metrics, labels(&api, &op, 200), ms);
        series.record(&metrics, labels(&api, &op, 200), ms);
        // The same texts at other addresses (a reloaded configuration): the same series.
        let (api2, op2) = (Arc::from("bank"), Arc::from("getAccount"));
        series.record(&metrics, labels(&api2, &op2, 200), ms);
        // A second worker's handles reach the same series too.
        WorkerSeries::default().record(&metrics, labels(&api, &op, 200), ms);
        series.record(&metrics, labels(&api, &op, 404), ms);
        let line = requests_line(&metrics, 200).unwrap_or_default();
        assert!(line.contains("api=\"bank\""), "{line}");
        assert!(line.contains("operation=\"getAccount\""), "{line}");
        assert!(line.ends_with(" 4"), "{line}");
        let line = requests_line(&metrics, 404).unwrap_or_default();
        assert!(line.ends_with(" 1"), "{line}");
        let text = metrics.encode();
        assert!(
            text.lines()
                .any(|l| l == "portcullis_request_duration_seconds_count{api=\"bank\"} 5"),
            "{text}"
        );
    }

    #[test]
    fn worker_series_past_their_bound_keep_the_counts() {
        let metrics = Metrics::new();
        let series = WorkerSeries::default();
        let (api, op) = (Arc::from("a"), Arc::from("o"));
        let max = u16::try_from(WORKER_SERIES_MAX).unwrap_or(u16::MAX);
        for status in 0..=max {
            series.record(&metrics, labels(&api, &op, status), Duration::ZERO);
        }
        series.record(&metrics, labels(&api, &op, 0), Duration::ZERO);
        let held = series.handles.lock().map(|h| h.len()).unwrap_or_default();
        assert!(held <= WORKER_SERIES_MAX, "{held}");
        let line = requests_line(&metrics, 0).unwrap_or_default();
        assert!(line.ends_with(" 2"), "{line}");
        let line = requests_line(&metrics, max).unwrap_or_default();
        assert!(line.ends_with(" 1"), "{line}");
    }
}
