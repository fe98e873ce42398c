//! The inventory: every request, allowed or blocked, counted per endpoint (the operation for
//! documented traffic, an inferred template for the rest), bounded in memory, and turned into
//! a [`Snapshot`] of classified endpoints and findings on demand.

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_spec::{Catalog, Operation};
use serde::{Deserialize, Serialize};

use crate::classify;
use crate::clock::rfc3339;
use crate::sample::{Bodies, Sample};
use crate::stats::Stats;
use crate::template::Trie;

/// A documented API the inventory compares traffic with.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    /// The API's name (`apis[].name`; for `discover`, the spec's file stem).
    pub name: String,
    /// Its catalog.
    pub catalog: Arc<Catalog>,
}

/// Bounds and windows.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A documented operation not called within this window is `unused` (ms).
    pub unused_after_ms: u64,
    /// Endpoints not called within this window are forgotten (ms): the retention.
    pub retention_ms: u64,
    /// The most undocumented endpoints kept.
    pub max_undocumented: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            unused_after_ms: 7 * 86_400_000,
            retention_ms: 30 * 86_400_000,
            max_undocumented: 2048,
        }
    }
}

/// The most (API, method) pairs whose undocumented paths are learned: with
/// [`crate::template::MAX_NODES`] nodes of at most [`crate::template::MAX_LITERAL`] bytes
/// each, what the templates can hold is bounded.
pub const MAX_TRIES: usize = 64;

/// The key of a documented endpoint: API and operation id.
pub type OpKey = (String, String);
/// The key of an undocumented endpoint: API, method and path shape or template.
pub type ShapeKey = (String, String, String);

/// A documented endpoint's counters and what the spec says of it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpEntry {
    /// Method.
    pub method: String,
    /// The declared template.
    pub template: String,
    /// Deprecated in the spec.
    pub deprecated: bool,
    /// Counters.
    pub stats: Stats,
}

/// The inventory of all APIs, fed one [`Sample`] at a time.
#[derive(Debug, Default)]
pub struct Inventory {
    settings: Settings,
    apis: Vec<ApiSpec>,
    pub(crate) documented: HashMap<OpKey, OpEntry>,
    pub(crate) undocumented: HashMap<ShapeKey, Stats>,
    tries: HashMap<(String, String), Trie>,
    /// Samples not recorded because a bound was reached.
    pub overflow: u64,
    /// Changed since the last [`Inventory::take_dirty`].
    dirty: bool,
    /// What was counted since the last [`Inventory::take_deltas`], kept only for replicas
    /// that merge one inventory ([`Inventory::track_deltas`]).
    pub(crate) deltas: Option<Box<crate::deltas::Deltas>>,
}

impl Inventory {
    /// An empty inventory over these documented APIs.
    pub fn new(apis: Vec<ApiSpec>, settings: Settings) -> Inventory {
        Inventory {
            settings,
            apis,
            ..Inventory::default()
        }
    }

    /// The documented APIs.
    pub fn apis(&self) -> &[ApiSpec] {
        &self.apis
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Counts one request. Never fails: past a bound the sample is counted in `overflow`.
    pub fn record(&mut self, s: &Sample) {
        self.dirty = true;
        let api = s.api.clone().unwrap_or_default();
        if let Some(op) = &s.operation {
            let key = (api, op.clone());
            let entry = self.documented.entry(key).or_insert_with(|| OpEntry {
                method: s.method.to_ascii_uppercase(),
                template: s.route_template.clone().unwrap_or_else(|| s.path.clone()),
                deprecated: s.deprecated,
                stats: Stats::default(),
            });
            entry.deprecated |= s.deprecated;
            entry.stats.record(s);
            if let Some(d) = self.deltas.as_deref_mut() {
                let (method, template, deprecated) = (
                    entry.method.clone(),
                    entry.template.clone(),
                    entry.deprecated,
                );
                let key = (s.api.clone().unwrap_or_default(), op.clone());
                let delta = d.documented.entry(key).or_insert_with(|| OpEntry {
                    method,
                    template,
                    deprecated,
                    stats: Stats::default(),
                });
                delta.deprecated |= deprecated;
                delta.stats.record(s);
            }
            return;
        }
        let method = s.method.to_ascii_uppercase();
        let trie_key = (api.clone(), method.clone());
        if !self.tries.contains_key(&trie_key) && self.tries.len() >= MAX_TRIES {
            self.overflow += 1;
            return;
        }
        let trie = self.tries.entry(trie_key).or_default();
        if !trie.insert(&s.path) {
            self.overflow += 1;
            return;
        }
        let key = (api, method, shape(&s.path));
        if !self.undocumented.contains_key(&key)
            && self.undocumented.len() >= self.settings.max_undocumented
        {
            self.fold();
            if self.undocumented.len() >= self.settings.max_undocumented {
                self.overflow += 1;
                return;
            }
        }
        let key = match self.undocumented.contains_key(&key) {
            true => key,
            false => {
                let resolved = self
                    .tries
                    .get(&(key.0.clone(), key.1.clone()))
                    .and_then(|t| t.resolve(&key.2))
                    .map_or(key.2.clone(), |r| r.template);
                (key.0, key.1, resolved)
            }
        };
        if let Some(d) = self.deltas.as_deref_mut()
            && (d.undocumented.len() < self.settings.max_undocumented
                || d.undocumented.contains_key(&key))
        {
            d.undocumented.entry(key.clone()).or_default().record(s);
        }
        self.undocumented.entry(key).or_default().record(s);
    }

    /// An empty inventory over the same APIs and settings (to build a merged view in).
    pub fn empty_like(&self) -> Inventory {
        Inventory::new(self.apis.clone(), self.settings)
    }

    /// Learns the schemas of one undocumented request's JSON bodies, on the endpoint its path
    /// was counted under (nothing once [`crate::schema::MAX_SAMPLES`] were learned there).
    /// False when no endpoint counted that path (yet).
    pub fn learn(
        &mut self,
        api: &str,
        method: &str,
        path: &str,
        status: u16,
        bodies: &Bodies,
    ) -> bool {
        let method = method.to_ascii_uppercase();
        let mut key = (api.to_owned(), method, shape(path));
        if !self.undocumented.contains_key(&key) {
            let Some(r) = self
                .tries
                .get(&(key.0.clone(), key.1.clone()))
                .and_then(|t| t.resolve(&key.2))
            else {
                return false;
            };
            key.2 = r.template;
        }
        let (req, resp) = (bodies.request.as_deref(), bodies.response.as_deref());
        let Some(stats) = self.undocumented.get_mut(&key) else {
            return false;
        };
        let learned = stats
            .bodies
            .get_or_insert_with(Box::default)
            .learn(status, req, resp);
        if learned
            && let Some(d) = self.deltas.as_deref_mut()
            && let Some(delta) = d.undocumented.get_mut(&key)
        {
            delta
                .bodies
                .get_or_insert_with(Box::default)
                .learn(status, req, resp);
            delta.bodies_changed = true;
        }
        self.dirty |= learned;
        true
    }

    /// Compacts the templates and merges the counters of shapes that became one template;
    /// forgets what is older than the retention.
    pub fn fold(&mut self) {
        for trie in self.tries.values_mut() {
            trie.compact();
        }
        let old = std::mem::take(&mut self.undocumented);
        for ((api, method, path), stats) in old {
            let template = self
                .tries
                .get(&(api.clone(), method.clone()))
                .and_then(|t| t.resolve(&path))
                .map_or(path, |r| r.template);
            self.undocumented
                .entry((api, method, template))
                .or_default()
                .merge(&stats);
        }
    }

    /// Forgets endpoints not called since `now_ms - retention`.
    pub fn expire(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(self.settings.retention_ms);
        self.documented.retain(|_, e| e.stats.last_ms >= horizon);
        self.undocumented.retain(|_, s| s.last_ms >= horizon);
    }

    /// Whether anything was recorded since the last call (and clears the mark).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The documented endpoints' counters.
    pub fn documented(&self) -> &HashMap<OpKey, OpEntry> {
        &self.documented
    }

    /// The undocumented endpoints' counters (by shape or template).
    pub fn undocumented(&self) -> &HashMap<ShapeKey, Stats> {
        &self.undocumented
    }

    /// Puts back counters read from storage (merged with what is there).
    pub fn restore(
        &mut self,
        documented: Vec<(OpKey, OpEntry)>,
        undocumented: Vec<(ShapeKey, Stats)>,
    ) {
        for (k, e) in documented {
            match self.documented.get_mut(&k) {
                Some(mine) => mine.stats.merge(&e.stats),
                None => {
                    self.documented.insert(k, e);
                }
            }
        }
        for ((api, method, path), stats) in undocumented {
            if self.undocumented.len() >= self.settings.max_undocumented {
                self.overflow += 1;
                continue;
            }
            let key = (api.clone(), method.clone());
            if self.tries.contains_key(&key) || self.tries.len() < MAX_TRIES {
                self.tries.entry(key).or_default().insert(&path);
            }
            self.undocumented
                .entry((api, method, path))
                .or_default()
                .merge(&stats);
        }
    }

    /// The classified endpoints and findings as of `now_ms`.
    pub fn snapshot(&mut self, now_ms: u64) -> Snapshot {
        self.fold();
        let mut endpoints = Vec::new();
        for api in &self.apis {
            for op in &api.catalog.operations {
                let entry = self.documented.get(&(api.name.clone(), op.id.clone()));
                endpoints.push(documented_endpoint(
                    &api.name,
                    op,
                    entry,
                    now_ms,
                    &self.settings,
                ));
            }
        }
        // Operations the gateway named that no known catalog holds (another spec version).
        for ((api, op), entry) in &self.documented {
            let known = self
                .apis
                .iter()
                .any(|a| &a.name == api && a.catalog.operations.iter().any(|o| &o.id == op));
            if !known {
                let mut e = Endpoint::from_stats(api, &entry.method, &entry.template, &entry.stats);
                e.operation = Some(op.clone());
                e.deprecated = entry.deprecated;
                e.class = if entry.deprecated {
                    Class::Zombie
                } else {
                    Class::Documented
                };
                endpoints.push(e);
            }
        }
        for ((api, method, path), stats) in &self.undocumented {
            let resolved = self
                .tries
                .get(&(api.clone(), method.clone()))
                .and_then(|t| t.resolve(path));
            let mut e = Endpoint::from_stats(api, method, path, stats);
            e.class = Class::Shadow;
            e.confident = resolved.is_some_and(|r| r.confident);
            e.posture = if stats.sensitive.is_empty() {
                Posture::Ok
            } else {
                Posture::High
            };
            endpoints.push(e);
        }
        endpoints.sort_by(|a, b| (&a.api, &a.path, &a.method).cmp(&(&b.api, &b.path, &b.method)));
        let findings = classify::findings(&endpoints, &self.apis);
        Snapshot {
            generated_at: rfc3339(now_ms),
            endpoints,
            findings,
            overflow: self.overflow,
        }
    }
}

pub use crate::template::shape;

fn documented_endpoint(
    api: &str,
    op: &Operation,
    entry: Option<&OpEntry>,
    now_ms: u64,
    settings: &Settings,
) -> Endpoint {
    let empty = Stats::default();
    let stats = entry.map_or(&empty, |e| &e.stats);
    let mut e = Endpoint::from_stats(api, op.method.as_str(), &op.path, stats);
    e.operation = Some(op.id.clone());
    e.deprecated = op.deprecated || entry.is_some_and(|e| e.deprecated);
    let required = requires_auth(op);
    e.auth.required = Some(required);
    let recent =
        stats.requests > 0 && stats.last_ms.saturating_add(settings.unused_after_ms) >= now_ms;
    e.class = match (recent, e.deprecated) {
        (false, _) => Class::Unused,
        (true, true) => Class::Zombie,
        (true, false) => Class::Documented,
    };
    e.posture = if required && stats.unauthenticated_2xx > 0 {
        Posture::Critical
    } else if !required && !stats.sensitive.is_empty() {
        Posture::High
    } else {
        Posture::Ok
    };
    e
}

/// The spec requires credentials: some security requirement, none of them `{}`.
pub fn requires_auth(op: &Operation) -> bool {
    !op.security.is_empty() && !op.security.iter().any(|r| r.is_anonymous())
}

/// What the inventory says at one moment (the JSON of `/api/inventory`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// When, RFC 3339.
    pub generated_at: String,
    /// Every endpoint: documented operations (called or not) and undocumented templates.
    pub endpoints: Vec<Endpoint>,
    /// Shadow, zombie, unused and auth-posture findings.
    pub findings: Vec<portcullis_report::Finding>,
    /// Requests not counted because a bound was reached.
    #[serde(default)]
    pub overflow: u64,
}

/// An endpoint's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Documented and called.
    #[default]
    Documented,
    /// Called but not documented.
    Shadow,
    /// Deprecated but called.
    Zombie,
    /// Documented but not called within the window.
    Unused,
}

/// An endpoint's auth posture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Posture {
    /// Nothing wrong seen.
    #[default]
    Ok,
    /// Public, yet answering with sensitive data.
    High,
    /// Answered 2xx without credentials where the spec requires them.
    Critical,
}

/// Credentials seen on an endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Auth {
    /// The spec requires credentials (`null` when undocumented).
    pub required: Option<bool>,
    /// Requests that presented one.
    pub presented: u64,
    /// Requests whose credential was valid.
    pub valid: u64,
    /// 2xx answers without a valid credential.
    pub unauthenticated_2xx: u64,
}

/// Answers by status class.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StatusMix {
    /// 1xx and 2xx.
    #[serde(rename = "2xx")]
    pub s2xx: u64,
    /// 3xx.
    #[serde(rename = "3xx")]
    pub s3xx: u64,
    /// 4xx.
    #[serde(rename = "4xx")]
    pub s4xx: u64,
    /// 5xx.
    #[serde(rename = "5xx")]
    pub s5xx: u64,
}

/// One endpoint of the inventory (INTERFACES.md's shape, plus a few more fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// The API.
    pub api: String,
    /// Method.
    pub method: String,
    /// The declared or inferred template.
    pub path: String,
    /// The operation id, when documented.
    pub operation: Option<String>,
    /// documented | shadow | zombie | unused.
    pub class: Class,
    /// Credentials seen.
    pub auth: Auth,
    /// ok | high | critical.
    pub posture: Posture,
    /// Sensitive data kinds seen in answers.
    pub sensitive: Vec<String>,
    /// Answers by class.
    pub status: StatusMix,
    /// Answers by exact code.
    #[serde(default)]
    pub codes: std::collections::BTreeMap<u16, u64>,
    /// Query parameter names seen.
    #[serde(default)]
    pub query: Vec<String>,
    /// Requests.
    pub requests: u64,
    /// Requests refused by the gateway.
    #[serde(default)]
    pub blocked: u64,
    /// Distinct clients (estimated).
    pub clients: u64,
    /// First request (RFC 3339), when called.
    pub first_seen: Option<String>,
    /// Last request (RFC 3339), when called.
    pub last_seen: Option<String>,
    /// Average response size.
    pub response_bytes_avg: u64,
    /// The most requests one client sent within one second.
    pub peak_rps_per_client: f64,
    /// The most requests one client sent within one minute.
    #[serde(default)]
    pub peak_per_minute_per_client: u64,
    /// Deprecated in the spec.
    #[serde(default)]
    pub deprecated: bool,
    /// For an inferred template: every parameter has seen 3 distinct values.
    #[serde(default)]
    pub confident: bool,
    /// Schemas inferred from sampled JSON bodies: `{samples, request, responses: {status:
    /// schema}}` (undocumented endpoints only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<serde_json::Value>,
}

impl Endpoint {
    fn from_stats(api: &str, method: &str, path: &str, s: &Stats) -> Endpoint {
        let called = s.requests > 0;
        Endpoint {
            api: api.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            auth: Auth {
                required: None,
                presented: s.presented,
                valid: s.valid,
                unauthenticated_2xx: s.unauthenticated_2xx,
            },
            sensitive: s.sensitive.iter().cloned().collect(),
            status: StatusMix {
                s2xx: s.status[0],
                s3xx: s.status[1],
                s4xx: s.status[2],
                s5xx: s.status[3],
            },
            codes: s.codes.clone(),
            query: s.query.iter().cloned().collect(),
            requests: s.requests,
            blocked: s.blocked,
            clients: s.clients.count(),
            first_seen: called.then(|| rfc3339(s.first_ms)),
            last_seen: called.then(|| rfc3339(s.last_ms)),
            response_bytes_avg: s.response_bytes_avg(),
            peak_rps_per_client: s.peak_per_second as f64,
            peak_per_minute_per_client: s.peak_per_minute,
            confident: true,
            schemas: s.bodies.as_deref().map(|b| {
                serde_json::json!({
                    "samples": b.samples,
                    "request": b.request.as_ref().map(crate::schema::Schema::to_json),
                    "responses": b.responses.iter()
                        .map(|(code, s)| (code.to_string(), s.to_json()))
                        .collect::<serde_json::Map<String, serde_json::Value>>(),
                })
            }),
            ..Endpoint::default()
        }
    }
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
