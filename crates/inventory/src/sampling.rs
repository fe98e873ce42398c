//! Which undocumented requests' bodies are copied for the learned spec, and the hand-over of
//! the copies: the first [`FIRST`] requests of each endpoint (by path shape), then one in
//! [`EVERY`]; at most [`CAP`] bytes of each body. The decision never waits (a lock tried, not
//! taken: when busy, the request is not sampled) and the copies go through a bounded queue
//! (full: dropped and counted) to whoever drains it into the inventory (the observation
//! dispatcher, or the admin API before it answers). Bodies are parsed there, never on the
//! request path.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use crate::inventory::Inventory;
use crate::sample::Bodies;
use crate::template::shape;

/// Requests of each endpoint sampled first.
pub const FIRST: u32 = 5;
/// Then one in this many.
pub const EVERY: u32 = 100;
/// The most bytes copied of each body.
pub const CAP: usize = 64 * 1024;
/// Endpoints (API, method, path shape) counted; past it only one request in [`EVERY`] of
/// new ones is sampled.
const MAX_KEYS: usize = 4096;
/// Copies waiting to be learned.
const QUEUE: usize = 64;

/// One sampled request's bodies, waiting to be learned.
#[derive(Debug)]
pub struct Copy {
    /// The API.
    pub api: String,
    /// The method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// The answer's status.
    pub status: u16,
    /// The bodies.
    pub bodies: Bodies,
}

/// The sampling decision and the queue of copies.
pub struct Sampler {
    seen: Mutex<HashMap<(String, String, String), u32>>,
    others: AtomicU64,
    sender: SyncSender<Copy>,
    receiver: Mutex<Receiver<Copy>>,
    /// Copies whose request was not counted yet when they were drained (its observation still
    /// on its way): tried once more at the next drain.
    retry: Mutex<Vec<Copy>>,
    /// Copies dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Copies learned from.
    pub learned: AtomicU64,
}

impl Default for Sampler {
    fn default() -> Sampler {
        let (sender, receiver) = sync_channel(QUEUE);
        Sampler {
            seen: Mutex::new(HashMap::new()),
            others: AtomicU64::new(0),
            sender,
            receiver: Mutex::new(receiver),
            retry: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            learned: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("learned", &self.learned)
            .finish()
    }
}

impl Sampler {
    /// Whether to copy this undocumented request's bodies, and at most how many bytes of
    /// each. Never waits.
    pub fn wants(&self, api: &str, method: &str, path: &str) -> Option<usize> {
        let Ok(mut seen) = self.seen.try_lock() else {
            return None;
        };
        let key = (api.to_owned(), method.to_owned(), shape(path));
        if !seen.contains_key(&key) && seen.len() >= MAX_KEYS {
            let n = self.others.fetch_add(1, Ordering::Relaxed);
            return n.is_multiple_of(u64::from(EVERY)).then_some(CAP);
        }
        let n = seen.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        (*n <= FIRST || n.is_multiple_of(EVERY)).then_some(CAP)
    }

    /// Queues a copy for learning; never waits (a full queue drops it, counted).
    pub fn deliver(&self, copy: Copy) {
        match self.sender.try_send(copy) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Learns the queued copies into `inventory` (the caller holds its lock). A copy can
    /// come before its request is counted (the copy is handed over when the answer is sent,
    /// the observation travels on its own): it is tried again at the next drain, then dropped.
    pub fn drain(&self, inventory: &mut Inventory) {
        let (Ok(receiver), Ok(mut retry)) = (self.receiver.try_lock(), self.retry.try_lock())
        else {
            return;
        };
        let mut learn = |c: &Copy| {
            let found = inventory.learn(&c.api, &c.method, &c.path, c.status, &c.bodies);
            if found {
                self.learned.fetch_add(1, Ordering::Relaxed);
            }
            found
        };
        for c in std::mem::take(&mut *retry) {
            if !learn(&c) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        while let Ok(c) = receiver.try_recv() {
            if !learn(&c) {
                if retry.len() < QUEUE {
                    retry.push(c);
                } else {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Sample;

    fn copy(path: &str) -> Copy {
        Copy {
            api: "bank".into(),
            method: "POST".into(),
            path: path.into(),
            status: 200,
            bodies: Bodies {
                request: Some(br#"{"q":"x"}"#.to_vec()),
                response: None,
            },
        }
    }

    #[test]
    fn a_copy_before_its_request_is_counted_is_tried_once_more() {
        let s = Sampler::default();
        let mut inv = Inventory::default();
        s.deliver(copy("/early"));
        s.deliver(copy("/never"));
        s.drain(&mut inv);
        assert_eq!(s.learned.load(Ordering::Relaxed), 0);
        inv.record(&Sample {
            api: Some("bank".into()),
            method: "POST".into(),
            path: "/early".into(),
            status: 200,
            ..Sample::default()
        });
        s.drain(&mut inv);
        assert_eq!(s.learned.load(Ordering::Relaxed), 1);
        assert_eq!(
            s.dropped.load(Ordering::Relaxed),
            1,
            "/never was never counted"
        );
    }

    #[test]
    fn first_few_then_rarely_and_learned_on_drain() {
        let s = Sampler::default();
        let wanted = (0..1000)
            .filter(|i| {
                s.wants("bank", "POST", &format!("/debug/{}", 10_000 + i))
                    .is_some()
            })
            .count();
        // `/debug/{id}` is one shape: 5 first, then the 100th, 200th... 1000th.
        assert_eq!(wanted, 5 + 10);
        let mut inv = Inventory::default();
        inv.record(&Sample {
            api: Some("bank".into()),
            method: "POST".into(),
            path: "/debug/echo".into(),
            status: 200,
            ..Sample::default()
        });
        for _ in 0..(QUEUE + 3) {
            s.deliver(Copy {
                api: "bank".into(),
                method: "POST".into(),
                path: "/debug/echo".into(),
                status: 200,
                bodies: Bodies {
                    request: Some(br#"{"q":"x"}"#.to_vec()),
                    response: Some(br#"{"ok":true}"#.to_vec()),
                },
            });
        }
        assert_eq!(s.dropped.load(Ordering::Relaxed), 3);
        s.drain(&mut inv);
        let snap = inv.snapshot(crate::clock::now_ms());
        let schemas = snap.endpoints[0].schemas.clone().unwrap_or_default();
        assert_eq!(schemas["samples"], QUEUE);
        assert_eq!(schemas["request"]["properties"]["q"]["type"], "string");
        assert_eq!(
            schemas["responses"]["200"]["properties"]["ok"]["type"],
            "boolean"
        );
    }
}
