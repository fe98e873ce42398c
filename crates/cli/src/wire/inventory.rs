//! The inventory and the detectors as a subscriber of the gateway's observations, their
//! admin routes (`/api/inventory`, `/api/alerts`) and their storage.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use portcullis_gateway::config::{Config, DetectConfig, StorageConfig};
use portcullis_gateway::observe::{BodySample, BodySampler, Observation, Subscriber};
use portcullis_gateway::server::{Extensions, Hooks};
use portcullis_inventory::detect::{Detectors, Thresholds};
use portcullis_inventory::replicas::{self, Pusher, Replicas};
use portcullis_inventory::sample::Bodies;
use portcullis_inventory::sampling::{self, Sampler};
use portcullis_inventory::store::{Store, Writer};
use portcullis_inventory::webhook::Webhook;
use portcullis_inventory::{ApiSpec, Client, Inventory, Sample, Settings, clock, learned};
use serde::Deserialize;

use super::metrics::{Alerts, DetectorLabels, Gauges};

/// The gateway's observation as the inventory's sample.
pub fn sample(o: &Observation) -> Sample {
    let d = &o.decision;
    let (path, query) = match d.path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (d.path.as_str(), ""),
    };
    Sample {
        // When the request finished (the decision's time), not when it is observed.
        ts_ms: d.ts.unix_ms(),
        api: d.api.as_deref().map(str::to_owned),
        operation: d.operation.as_deref().map(str::to_owned),
        route_template: o.route_template.as_deref().map(str::to_owned),
        deprecated: o.deprecated,
        method: d.method.as_str().to_owned(),
        path: path.to_owned(),
        status: d.status,
        decision: d.decision.as_str().to_owned(),
        rule: d.rule.map(str::to_owned),
        client: Client {
            ip: Some(d.client.ip),
            key_id: d.client.key_id.clone(),
            sub: d.client.sub.clone(),
        },
        credentials_presented: o.credentials.presented,
        credentials_valid: o.credentials.valid,
        request_bytes: o.request_bytes,
        response_bytes: o.response_bytes,
        sensitive: o
            .flags
            .iter()
            .filter_map(|f| f.strip_prefix("sensitive:"))
            .map(str::to_owned)
            .collect(),
        query: query
            .split('&')
            .filter_map(|p| p.split('=').next())
            .filter(|n| !n.is_empty())
            .take(32)
            .map(str::to_owned)
            .collect(),
        bodies: None,
    }
}

/// The gateway's body sampling hook, answered by the inventory's sampler.
struct Learn(Arc<Sampler>);

impl BodySampler for Learn {
    fn wants(&self, api: &str, method: &http::Method, path: &str) -> Option<usize> {
        self.0.wants(api, method.as_str(), path)
    }

    fn deliver(&self, s: BodySample) {
        // The path as the decision log (and so the inventory) has it.
        let path = portcullis_spec::normalize_path(&s.path)
            .map_or_else(|_| s.path.clone(), |p| p.as_str().to_owned());
        self.0.deliver(sampling::Copy {
            api: s.api.to_string(),
            method: s.method.as_str().to_owned(),
            path,
            status: s.status,
            bodies: Bodies {
                request: s.request.map(|b| b.to_vec()),
                response: s.response.map(|b| b.to_vec()),
            },
        });
    }
}

/// What `serve` keeps to stop the inventory cleanly.
pub struct Wired {
    inventory: Arc<Mutex<Inventory>>,
    /// The storage writer, once attached.
    writer: Option<Writer>,
    /// The pusher of deltas to the shared inventory (Redis backend), once started.
    pusher: Arc<Mutex<Option<Pusher>>>,
    /// The body copies waiting to be learned (drained by the writer and the pusher too).
    sampler: Arc<Sampler>,
}

impl Wired {
    /// Restores the inventory from `storage.path` and starts writing it there. Called once the
    /// gateway has started, so that a bad storage file is first reported by the gateway's own
    /// located check.
    pub fn attach_storage(
        &mut self,
        storage: Option<&StorageConfig>,
        base_dir: &Path,
    ) -> anyhow::Result<()> {
        let Some(storage) = storage else {
            return Ok(());
        };
        let path = base_dir.join(&storage.path);
        let store = open_store(&path)?;
        let (documented, undocumented) = store
            .load()
            .with_context(|| format!("inventory: cannot read {}", path.display()))?;
        if let Ok(mut inv) = self.inventory.lock() {
            inv.restore(documented, undocumented);
        }
        self.writer = Some(
            Writer::start(
                store,
                self.inventory.clone(),
                Some(self.sampler.clone()),
                storage.flush.0,
                storage.retention.0,
            )
            .context("cannot start the inventory writer")?,
        );
        Ok(())
    }

    /// Writes what is left of the inventory (and pushes what is left to Redis).
    pub fn finish(self) {
        if let Some(w) = self.writer {
            w.finish();
        }
        if let Some(p) = self.pusher.lock().ok().and_then(|mut p| p.take()) {
            p.finish();
        }
    }
}

/// The state shared by the subscriber and the admin routes.
#[derive(Clone)]
struct Shared {
    inventory: Arc<Mutex<Inventory>>,
    detectors: Option<Arc<Mutex<Detectors>>>,
    /// The inventory all replicas merge, with the Redis state backend.
    replicas: Option<Arc<Replicas>>,
    /// Copies of undocumented requests' bodies, waiting to be learned.
    sampler: Arc<Sampler>,
}

/// The subscriber on the gateway's dispatcher thread.
struct Feed {
    shared: Shared,
    ban: Option<Duration>,
    hooks_bans: portcullis_gateway::bans::Bans,
    events: tokio::sync::broadcast::Sender<serde_json::Value>,
    webhook: Option<Webhook>,
    /// The decision log's lines of other kinds (none when the log is off).
    log: Option<portcullis_gateway::decision::LogLines>,
    alerts: Alerts,
}

impl Subscriber for Feed {
    fn observe(&mut self, o: &Observation) {
        // A banned client's requests are refused before routing: they say nothing about the
        // API (they would show a documented login as an undocumented path) and the client is
        // already dealt with.
        if o.decision.rule == Some(portcullis_gateway::rules::CLIENT_BANNED) {
            return;
        }
        let s = sample(o);
        if let Ok(mut inv) = self.shared.inventory.lock() {
            inv.record(&s);
        }
        let Some(detectors) = &self.shared.detectors else {
            return;
        };
        let alerts = match detectors.lock() {
            Ok(mut d) => d.observe(&s),
            Err(_) => return,
        };
        for mut alert in alerts {
            alert.banned &= self.ban.is_some();
            if let (true, Some(ttl), Some(ip)) = (alert.banned, self.ban, s.client.ip) {
                self.hooks_bans.add(
                    ip,
                    ttl,
                    &alert.message,
                    &format!("detector:{}", alert.detector),
                );
            }
            tracing::warn!(
                detector = %alert.detector, client = %alert.client, value = alert.value,
                threshold = alert.threshold, banned = alert.banned, "alert: {}", alert.message
            );
            let mut json = serde_json::to_value(&alert).unwrap_or_default();
            if let Some(d) = detectors.lock().ok().as_mut() {
                // The kept copy says whether the client was banned.
                if let Some(kept) = d.alerts.iter_mut().rev().find(|a| a.id == alert.id) {
                    kept.banned = alert.banned;
                }
            }
            if let Some(w) = &self.webhook {
                w.send(json.clone());
            }
            self.alerts
                .get_or_create(&DetectorLabels {
                    detector: alert.detector.clone(),
                })
                .inc();
            if let Some(o) = json.as_object_mut() {
                o.insert("type".into(), "alert".into());
            }
            if let Some(log) = &self.log {
                log.push(&json);
            }
            let _ = self.events.send(json);
        }
    }

    fn flush(&mut self) {
        // The body copies delivered since: learned here, off the request path.
        if let Ok(mut inv) = self.shared.inventory.lock() {
            self.shared.sampler.drain(&mut inv);
        }
    }
}

fn thresholds(d: &DetectConfig) -> Thresholds {
    let mut t = Thresholds::default();
    let c = &d.thresholds;
    if let Some(w) = d.window {
        t.window_ms = u64::try_from(w.0.as_millis()).unwrap_or(u64::MAX);
    }
    t.spike_min = c.spike_min.unwrap_or(t.spike_min);
    t.spike_factor = c.spike_factor.unwrap_or(t.spike_factor);
    t.stuffing_failures = c.stuffing_failures.unwrap_or(t.stuffing_failures);
    t.stuffing_clients = c.stuffing_clients.unwrap_or(t.stuffing_clients);
    t.enumeration_ids = c.enumeration_ids.unwrap_or(t.enumeration_ids);
    t.scanning_share = c.scanning_share.unwrap_or(t.scanning_share);
    t.scanning_min = c.scanning_min.unwrap_or(t.scanning_min);
    t.scanning_undocumented = c.scanning_undocumented.unwrap_or(t.scanning_undocumented);
    t.exfiltration_min_bytes = c
        .exfiltration_bytes
        .map_or(t.exfiltration_min_bytes, |b| b.0);
    t.exfiltration_factor = c.exfiltration_factor.unwrap_or(t.exfiltration_factor);
    t.max_clients = c.max_clients.unwrap_or(t.max_clients);
    if let Some(l) = &d.logins {
        t.logins.clone_from(l);
    }
    if let Some(b) = &d.ban_on {
        t.ban_on.clone_from(b);
    }
    t
}

/// The documented APIs of a config, loaded as the gateway loads them.
fn apis(config: &Config) -> anyhow::Result<Vec<ApiSpec>> {
    config
        .apis
        .iter()
        .map(|a| {
            let path = config.base_dir.join(&a.spec);
            let catalog = portcullis_spec::load(&path)
                .with_context(|| format!("inventory: cannot load {}", path.display()))?;
            Ok(ApiSpec {
                name: a.name.clone(),
                catalog: Arc::new(catalog),
            })
        })
        .collect()
}

/// Builds the inventory and the detectors for `config`; returns the `extend` function for
/// `start_extended` and what attaches the storage ([`Wired::attach_storage`]) and finishes it
/// at shutdown.
pub fn build(
    config: &Config,
) -> anyhow::Result<(impl FnOnce(&Hooks) -> Extensions + use<>, Wired)> {
    let detect = config.detect.clone().filter(|d| d.enabled);
    let mut settings = Settings::default();
    if let Some(u) = config.detect.as_ref().and_then(|d| d.unused_after) {
        settings.unused_after_ms = u64::try_from(u.0.as_millis()).unwrap_or(u64::MAX);
    }
    if let Some(s) = &config.storage {
        settings.retention_ms = u64::try_from(s.retention.0.as_millis()).unwrap_or(u64::MAX);
    }
    let inventory = Arc::new(Mutex::new(Inventory::new(apis(config)?, settings)));
    let webhook = match detect.as_ref().and_then(|d| d.webhook.as_deref()) {
        Some(url) => Some(Webhook::start(url).context("cannot start the alert webhook")?),
        None => None,
    };
    let pusher = Arc::new(Mutex::new(None));
    let sampler = Arc::new(Sampler::default());
    let wired = Wired {
        inventory: inventory.clone(),
        writer: None,
        pusher: pusher.clone(),
        sampler: sampler.clone(),
    };
    let mut shared = Shared {
        inventory,
        detectors: detect
            .as_ref()
            .map(|d| Arc::new(Mutex::new(Detectors::new(thresholds(d))))),
        replicas: None,
        sampler,
    };
    let ban = detect.as_ref().and_then(|d| d.ban).map(|b| b.0);
    // Deltas go to Redis every storage.flush (default 5 s), like the inventory to SQLite.
    let (flush, retention) = config.storage.as_ref().map_or(
        (Duration::from_secs(5), Duration::from_secs(30 * 86_400)),
        |s| (s.flush.0, s.retention.0),
    );
    let extend = move |hooks: &Hooks| {
        if let Some(client) = hooks.redis.clone() {
            let r = Arc::new(Replicas::new(client, retention));
            match Pusher::start(
                r.clone(),
                shared.inventory.clone(),
                Some(shared.sampler.clone()),
                flush,
            ) {
                Ok(p) => {
                    if let Ok(mut slot) = pusher.lock() {
                        *slot = Some(p);
                    }
                    shared.replicas = Some(r);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start the shared inventory's pusher; this replica's inventory stays its own")
                }
            }
        }
        let alerts = Alerts::default();
        let gauges = Gauges {
            webhook: webhook
                .as_ref()
                .map(|w| (w.sent.clone(), w.dropped.clone())),
            replicas: shared.replicas.clone(),
            sampler: Some(shared.sampler.clone()),
        };
        let metric_alerts = alerts.clone();
        Extensions {
            subscribers: vec![Box::new(Feed {
                shared: shared.clone(),
                ban,
                hooks_bans: hooks.bans.clone(),
                events: hooks.events.clone(),
                webhook,
                log: hooks.log.clone(),
                alerts,
            })],
            sampler: Some(Arc::new(Learn(shared.sampler.clone()))),
            metrics: Some(Box::new(
                move |registry: &mut prometheus_client::registry::Registry| {
                    super::metrics::register(registry, metric_alerts, gauges);
                },
            )),
            admin: Some(router(shared)),
        }
    };
    Ok((extend, wired))
}

/// What `check` prints about the inventory and the detectors.
pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    if config.admin.is_some() || config.storage.is_some() || config.detect.is_some() {
        out.push_str("\ninventory: on");
        if let Some(s) = &config.storage {
            out.push_str(&format!(
                " (stored in {}, every {:?}, kept {:?})",
                s.path.display(),
                s.flush.0,
                s.retention.0
            ));
        }
        out.push('\n');
    }
    match config.detect.as_ref().filter(|d| d.enabled) {
        Some(d) => {
            let t = thresholds(d);
            out.push_str(&format!(
                "detect: on, window {} s, bans {}, webhook {}\n",
                t.window_ms / 1000,
                d.ban.map_or("off".to_owned(), |b| format!(
                    "{:?} on {}",
                    b.0,
                    t.ban_on.join("/")
                )),
                d.webhook
                    .as_deref()
                    .map_or("off".to_owned(), portcullis_gateway::config::redact_url)
            ));
        }
        None if config.detect.is_some() => out.push_str("detect: off (enabled: false)\n"),
        None => {}
    }
    out
}

fn open_store(path: &Path) -> anyhow::Result<Store> {
    Store::open(path).with_context(|| "inventory: cannot open storage.path".to_owned())
}

#[derive(Deserialize)]
struct InventoryQuery {
    format: Option<String>,
}

#[derive(Deserialize)]
struct AlertsQuery {
    limit: Option<usize>,
}

fn router(shared: Shared) -> axum::Router {
    axum::Router::new()
        .route("/api/inventory", get(inventory_route))
        .route("/api/alerts", get(alerts_route))
        .with_state(shared)
}

async fn inventory_route(
    State(shared): State<Shared>,
    Query(q): Query<InventoryQuery>,
) -> Json<serde_json::Value> {
    let now = clock::now_ms();
    // With Redis, the inventory every replica pushed (read before the local lock is taken);
    // this replica's own when Redis fails (counted and logged by `Replicas`).
    let (rows, view_error) = match &shared.replicas {
        Some(r) => match r.read().await {
            Ok(rows) => (Some(rows), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (None, None),
    };
    let view = match (&rows, &view_error) {
        (Some(_), _) => "merged",
        (None, Some(_)) => "local (Redis failed)",
        (None, None) => "local",
    };
    let (snapshot, apis) = match shared.inventory.lock() {
        Ok(mut inv) => {
            shared.sampler.drain(&mut inv);
            match rows {
                Some(rows) => {
                    let pending = inv.pending_deltas();
                    let mut merged = replicas::merged(&inv, rows, pending);
                    (merged.snapshot(now), inv.apis().to_vec())
                }
                None => (inv.snapshot(now), inv.apis().to_vec()),
            }
        }
        Err(_) => return Json(serde_json::json!({"error": "inventory unavailable"})),
    };
    if q.format.as_deref() == Some("openapi") {
        return Json(learned::openapi(&snapshot));
    }
    let mut json = serde_json::to_value(&snapshot).unwrap_or_default();
    if let Some(o) = json.as_object_mut() {
        o.insert("diff".into(), learned::diff(&snapshot, &apis));
        o.insert("rate_limits".into(), learned::rate_limits(&snapshot).into());
        o.insert("view".into(), view.into());
        if let Some(e) = view_error {
            o.insert("view_error".into(), e.into());
        }
    }
    Json(json)
}

async fn alerts_route(
    State(shared): State<Shared>,
    Query(q): Query<AlertsQuery>,
) -> Json<serde_json::Value> {
    let limit = q
        .limit
        .unwrap_or(100)
        .min(portcullis_inventory::detect::KEPT_ALERTS);
    let alerts: Vec<_> = match &shared.detectors {
        Some(d) => d
            .lock()
            .map(|d| d.alerts.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Json(serde_json::json!({ "alerts": alerts }))
}
