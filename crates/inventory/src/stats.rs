//! What the inventory keeps per endpoint: counts, status mix, credentials, clients, sizes,
//! sensitive kinds, first and last seen, and each client's peak request rate.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::sample::Sample;
use crate::schema::Bodies;
use crate::sketch::Distinct;

/// Clients whose current rate windows an endpoint tracks at once.
const RATE_CLIENTS: usize = 256;
/// Distinct status codes and query parameter names kept per endpoint.
const MAX_CODES: usize = 32;
/// Distinct sensitive kinds kept per endpoint.
const MAX_KINDS: usize = 16;

/// The counters of one endpoint (one operation, or one inferred template).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Requests seen.
    pub requests: u64,
    /// Answers by class: 2xx (with 1xx), 3xx, 4xx, 5xx.
    pub status: [u64; 4],
    /// Answers by exact status code (bounded).
    pub codes: BTreeMap<u16, u64>,
    /// Requests that presented a credential.
    pub presented: u64,
    /// Requests whose credential was valid.
    pub valid: u64,
    /// 2xx answers to requests without a valid credential.
    pub unauthenticated_2xx: u64,
    /// Requests the gateway refused.
    pub blocked: u64,
    /// Sum of the known response sizes.
    pub response_bytes_sum: u64,
    /// Responses whose size is known.
    pub response_bytes_n: u64,
    /// Largest response seen.
    pub response_bytes_max: u64,
    /// Sensitive data kinds seen in answers.
    pub sensitive: BTreeSet<String>,
    /// Query parameter names seen (bounded).
    pub query: BTreeSet<String>,
    /// First request, ms since the epoch.
    pub first_ms: u64,
    /// Last request, ms since the epoch.
    pub last_ms: u64,
    /// The most requests one client sent within one second.
    pub peak_per_second: u64,
    /// The most requests one client sent within one minute.
    pub peak_per_minute: u64,
    /// Schemas learned from sampled JSON bodies (undocumented endpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bodies: Option<Box<Bodies>>,
    /// Distinct clients (sketch).
    #[serde(skip)]
    pub clients: Distinct,
    /// Bodies were learned since the last [`Stats::split_delta`].
    #[serde(skip)]
    pub(crate) bodies_changed: bool,
    /// Current windows per client: (second, count in it, minute, count in it).
    #[serde(skip)]
    windows: HashMap<String, (u64, u64, u64, u64)>,
}

impl Stats {
    /// Counts one request.
    pub fn record(&mut self, s: &Sample) {
        if self.requests == 0 || s.ts_ms < self.first_ms {
            self.first_ms = s.ts_ms;
        }
        self.last_ms = self.last_ms.max(s.ts_ms);
        self.requests += 1;
        if let Some(slot) = self.status.get_mut(s.status_class()) {
            *slot += 1;
        }
        if self.codes.len() < MAX_CODES || self.codes.contains_key(&s.status) {
            *self.codes.entry(s.status).or_default() += 1;
        }
        self.presented += u64::from(s.credentials_presented);
        self.valid += u64::from(s.credentials_valid);
        if s.is_success() && !s.credentials_valid {
            self.unauthenticated_2xx += 1;
        }
        if s.decision == "block" {
            self.blocked += 1;
        }
        if let Some(n) = s.response_bytes {
            self.response_bytes_sum = self.response_bytes_sum.saturating_add(n);
            self.response_bytes_n += 1;
            self.response_bytes_max = self.response_bytes_max.max(n);
        }
        for k in &s.sensitive {
            if self.sensitive.len() < MAX_KINDS {
                self.sensitive.insert(k.clone());
            }
        }
        for q in &s.query {
            if self.query.len() < MAX_CODES {
                self.query.insert(q.clone());
            }
        }
        if let Some(client) = s.client.key() {
            self.clients.insert(&client);
            self.rate(client, s.ts_ms);
        }
    }

    fn rate(&mut self, client: String, ts_ms: u64) {
        let (second, minute) = (ts_ms / 1000, ts_ms / 60_000);
        if self.windows.len() >= RATE_CLIENTS && !self.windows.contains_key(&client) {
            // Forget windows that are over; all of them if none is.
            self.windows.retain(|_, w| w.2 == minute);
            if self.windows.len() >= RATE_CLIENTS {
                self.windows.clear();
            }
        }
        let w = self.windows.entry(client).or_insert((second, 0, minute, 0));
        if w.0 != second {
            *w = (second, 0, w.2, w.3);
        }
        if w.2 != minute {
            w.2 = minute;
            w.3 = 0;
        }
        w.1 += 1;
        w.3 += 1;
        self.peak_per_second = self.peak_per_second.max(w.1);
        self.peak_per_minute = self.peak_per_minute.max(w.3);
    }

    /// Adds another endpoint's counters (two shapes found to be one template).
    pub fn merge(&mut self, o: &Stats) {
        if let Some(b) = &o.bodies {
            self.bodies.get_or_insert_with(Box::default).merge(b);
        }
        if o.requests == 0 {
            return;
        }
        self.first_ms = if self.requests == 0 {
            o.first_ms
        } else {
            self.first_ms.min(o.first_ms)
        };
        self.last_ms = self.last_ms.max(o.last_ms);
        self.requests += o.requests;
        for (a, b) in self.status.iter_mut().zip(o.status) {
            *a += b;
        }
        for (code, n) in &o.codes {
            if self.codes.len() < MAX_CODES || self.codes.contains_key(code) {
                *self.codes.entry(*code).or_default() += n;
            }
        }
        self.presented += o.presented;
        self.valid += o.valid;
        self.unauthenticated_2xx += o.unauthenticated_2xx;
        self.blocked += o.blocked;
        self.response_bytes_sum = self.response_bytes_sum.saturating_add(o.response_bytes_sum);
        self.response_bytes_n += o.response_bytes_n;
        self.response_bytes_max = self.response_bytes_max.max(o.response_bytes_max);
        for k in &o.sensitive {
            if self.sensitive.len() < MAX_KINDS {
                self.sensitive.insert(k.clone());
            }
        }
        for q in &o.query {
            if self.query.len() < MAX_CODES {
                self.query.insert(q.clone());
            }
        }
        self.peak_per_second = self.peak_per_second.max(o.peak_per_second);
        self.peak_per_minute = self.peak_per_minute.max(o.peak_per_minute);
        self.clients.merge(&o.clients);
    }

    /// What was counted since the last call, for replicas that add up their counts (see
    /// [`crate::replicas`]): a copy of these counters, after which the additive ones (requests,
    /// status mix, codes, credentials, blocked, byte sums) start again from zero. The others
    /// (first and last seen, peaks, the largest answer, sensitive kinds, query names, the
    /// clients' sketch) are kept: merging them again changes nothing. `None` when nothing was
    /// counted since the last call.
    pub fn split_delta(&mut self) -> Option<Stats> {
        // Bodies are learned after their request was counted (maybe after its push).
        if self.requests == 0 && !std::mem::take(&mut self.bodies_changed) {
            return None;
        }
        self.bodies_changed = false;
        let delta = Stats {
            windows: HashMap::new(),
            ..self.clone()
        };
        self.requests = 0;
        self.status = [0; 4];
        self.codes.clear();
        self.presented = 0;
        self.valid = 0;
        self.unauthenticated_2xx = 0;
        self.blocked = 0;
        self.response_bytes_sum = 0;
        self.response_bytes_n = 0;
        Some(delta)
    }

    /// The average response size.
    pub fn response_bytes_avg(&self) -> u64 {
        self.response_bytes_sum
            .checked_div(self.response_bytes_n)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Client;

    #[test]
    fn counts_and_peaks() {
        let mut st = Stats::default();
        for i in 0..10u64 {
            let s = Sample {
                ts_ms: 1_000_000 + i * 100,
                method: "GET".into(),
                status: if i < 8 { 200 } else { 404 },
                client: Client {
                    ip: Some([127, 0, 0, u8::try_from(i % 2).unwrap_or(0)].into()),
                    ..Client::default()
                },
                response_bytes: Some(100),
                ..Sample::default()
            };
            st.record(&s);
        }
        assert_eq!(st.requests, 10);
        assert_eq!(st.status, [8, 0, 2, 0]);
        assert_eq!(st.unauthenticated_2xx, 8);
        assert_eq!(st.clients.count(), 2);
        assert_eq!(st.peak_per_second, 5);
        assert_eq!(st.response_bytes_avg(), 100);
    }
}
