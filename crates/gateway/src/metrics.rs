//! Prometheus metrics, served on the admin listener at `/metrics`.

use std::sync::{Arc, LazyLock};

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
    /// `portcullis_ratelimit_degraded_decisions`.
    pub ratelimit_degraded: Gauge,
    /// `portcullis_ratelimit_storage_failures`: failed writes of quota state to `storage.path`.
    pub ratelimit_storage_failures: Gauge,
    /// `portcullis_ratelimit_storage_dropped`: quota updates lost with the writer behind.
    pub ratelimit_storage_dropped: Gauge,
    /// `portcullis_lockouts_total`: locks started here, by API and kind.
    pub lockouts: Family<LockoutLabels, Counter>,
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
        let ratelimit_degraded = Gauge::default();
        let ratelimit_storage_failures = Gauge::default();
        let ratelimit_storage_dropped = Gauge::default();
        let lockouts = Family::<LockoutLabels, Counter>::default();
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
            "Rate-limit decisions taken by the failure behaviour (Redis unavailable)",
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
