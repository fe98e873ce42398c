//! The inventory's and the detectors' metrics on the gateway's `/metrics`:
//! `portcullis_alerts_total{detector}` (counted as alerts are raised), and, read on each
//! scrape from the counters the inventory keeps, the alert webhook's sent and dropped alerts,
//! the shared inventory's Redis failures and refused endpoints, and the body samples learned
//! and dropped. (`portcullis_bans_active` is the gateway's own.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_inventory::replicas::Replicas;
use portcullis_inventory::sampling::Sampler;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The label of `portcullis_alerts_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DetectorLabels {
    /// spike | stuffing | enumeration | scanning | exfiltration.
    pub detector: String,
}

/// Alerts raised, by detector.
pub type Alerts = Family<DetectorLabels, Counter>;

/// The counters read on each scrape.
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    /// The webhook's (sent, dropped), when there is one.
    pub webhook: Option<(Arc<AtomicU64>, Arc<AtomicU64>)>,
    /// The shared inventory, with the Redis backend.
    pub replicas: Option<Arc<Replicas>>,
    /// The body sampler.
    pub sampler: Option<Arc<Sampler>>,
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: &AtomicU64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value.load(Ordering::Relaxed));
    let metric = encoder.encode_descriptor(name, help, None, c.metric_type())?;
    c.encode(metric)
}

impl Collector for Gauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some((sent, dropped)) = &self.webhook {
            counter(
                &mut encoder,
                "alert_webhook_sent",
                "Alerts the webhook delivered",
                sent,
            )?;
            counter(
                &mut encoder,
                "alert_webhook_dropped",
                "Alerts the webhook dropped (queue full, or every attempt failed)",
                dropped,
            )?;
        }
        if let Some(r) = &self.replicas {
            counter(
                &mut encoder,
                "inventory_redis_failures",
                "Failed pushes to and reads of the inventory shared through Redis (the local view answers meanwhile)",
                &r.failures,
            )?;
            counter(
                &mut encoder,
                "inventory_redis_overflow",
                "Endpoint deltas Redis refused because the shared inventory was full",
                &r.overflow,
            )?;
        }
        if let Some(s) = &self.sampler {
            counter(
                &mut encoder,
                "inventory_body_samples",
                "Sampled request and response bodies learned for the learned spec's schemas",
                &s.learned,
            )?;
            counter(
                &mut encoder,
                "inventory_body_samples_dropped",
                "Sampled bodies dropped because the learning queue was full",
                &s.dropped,
            )?;
        }
        Ok(())
    }
}

/// Registers the alerts and the gauges in the gateway's registry.
pub fn register(registry: &mut Registry, alerts: Alerts, gauges: Gauges) {
    registry.register(
        "alerts",
        "Alerts raised by the anomaly detectors, by detector",
        alerts,
    );
    registry.register_collector(Box::new(gauges));
}
