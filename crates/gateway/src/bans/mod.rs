//! The ban list: clients refused before any other work on their requests (403 `client.banned`),
//! each for a while, decided by the anomaly detectors (wired in by `cli`) or by an operator
//! through the admin API.
//!
//! The list is bounded ([`CAPACITY`]): when it is full, the ban closest to its end makes room.
//! The request path pays one atomic load while no ban is in force, and a read lock otherwise.
//! With several replicas sharing a Redis state backend, [`mirror`] shares the list through
//! Redis.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub mod mirror;

/// The most bans held at once.
pub const CAPACITY: usize = 100_000;

/// One ban in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Ban {
    /// The client's address.
    pub client: IpAddr,
    /// When it ends, in milliseconds since the Unix epoch.
    pub until_unix_ms: u64,
    /// Why (shown to operators, never to the client).
    pub reason: String,
    /// Who decided: `admin`, `detector:<name>`.
    pub source: String,
}

/// A change to mirror to the other replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A ban was added or replaced.
    Added(Ban),
    /// A ban was lifted.
    Removed(IpAddr),
}

#[derive(Default)]
struct Inner {
    bans: RwLock<HashMap<IpAddr, Ban>>,
    /// How many bans are held (expired ones included until pruned): zero skips the lock.
    held: AtomicUsize,
    /// Changes not yet mirrored (only kept when a mirror asked for them).
    changes: std::sync::Mutex<Vec<Change>>,
    mirrored: std::sync::atomic::AtomicBool,
}

/// The ban list (a cheap handle: clones share it).
#[derive(Clone, Default)]
pub struct Bans {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Bans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bans")
            .field("held", &self.inner.held.load(Ordering::Relaxed))
            .finish()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Bans {
    /// Bans `client` for `ttl` (replacing an earlier ban of it). `source` is who decided
    /// (`admin`, `detector:stuffing`).
    pub fn add(&self, client: IpAddr, ttl: Duration, reason: &str, source: &str) {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let ban = Ban {
            client,
            until_unix_ms: now_ms().saturating_add(ttl_ms),
            reason: reason.chars().take(500).collect(),
            source: source.chars().take(100).collect(),
        };
        tracing::warn!(client = %client, ttl_s = ttl.as_secs(), reason = %ban.reason, source = %ban.source, "client banned");
        self.insert(ban.clone());
        self.record(Change::Added(ban));
    }

    fn insert(&self, ban: Ban) {
        let Ok(mut bans) = self.inner.bans.write() else {
            return;
        };
        if bans.len() >= CAPACITY && !bans.contains_key(&ban.client) {
            let now = now_ms();
            bans.retain(|_, b| b.until_unix_ms > now);
            if bans.len() >= CAPACITY {
                let soonest = bans
                    .values()
                    .min_by_key(|b| b.until_unix_ms)
                    .map(|b| b.client);
                if let Some(c) = soonest {
                    bans.remove(&c);
                }
            }
        }
        bans.insert(ban.client, ban);
        self.inner.held.store(bans.len(), Ordering::Release);
    }

    /// Lifts a ban; false when there was none in force.
    pub fn remove(&self, client: IpAddr) -> bool {
        let removed = self.forget(client);
        if removed {
            tracing::info!(client = %client, "ban lifted");
            self.record(Change::Removed(client));
        }
        removed
    }

    fn forget(&self, client: IpAddr) -> bool {
        let Ok(mut bans) = self.inner.bans.write() else {
            return false;
        };
        let removed = bans
            .remove(&client)
            .is_some_and(|b| b.until_unix_ms > now_ms());
        self.inner.held.store(bans.len(), Ordering::Release);
        removed
    }

    /// The bans in force, soonest to end first.
    pub fn list(&self) -> Vec<Ban> {
        let now = now_ms();
        let mut list: Vec<Ban> = self.inner.bans.read().map_or_else(
            |_| Vec::new(),
            |bans| {
                bans.values()
                    .filter(|b| b.until_unix_ms > now)
                    .cloned()
                    .collect()
            },
        );
        list.sort_by_key(|b| (b.until_unix_ms, b.client));
        list
    }

    /// How many bans are in force now.
    pub fn active(&self) -> usize {
        let now = now_ms();
        self.inner.bans.read().map_or(0, |bans| {
            bans.values().filter(|b| b.until_unix_ms > now).count()
        })
    }

    /// Whether `client` is banned now.
    pub fn is_banned(&self, client: IpAddr) -> bool {
        if self.inner.held.load(Ordering::Acquire) == 0 {
            return false;
        }
        self.inner.bans.read().is_ok_and(|bans| {
            bans.get(&client)
                .is_some_and(|b| b.until_unix_ms > now_ms())
        })
    }

    /// Drops the bans that have ended.
    pub fn prune(&self) {
        if self.inner.held.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Ok(mut bans) = self.inner.bans.write() {
            let now = now_ms();
            bans.retain(|_, b| b.until_unix_ms > now);
            self.inner.held.store(bans.len(), Ordering::Release);
        }
    }

    /// Starts keeping the changes for a mirror (the Redis state backend).
    pub(crate) fn mirror(&self) {
        self.inner.mirrored.store(true, Ordering::Release);
    }

    pub(crate) fn record(&self, change: Change) {
        if !self.inner.mirrored.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut changes) = self.inner.changes.lock() {
            // Bounded: a mirror that cannot keep up loses the oldest changes, not memory.
            if changes.len() >= CAPACITY {
                changes.remove(0);
            }
            changes.push(change);
        }
    }

    /// The changes since the last call (for the mirror to write).
    pub(crate) fn take_changes(&self) -> Vec<Change> {
        self.inner
            .changes
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    /// Makes the local list what the shared one holds (the mirror's read): bans in `shared`
    /// are added, local bans absent from it are lifted, without recording changes.
    pub(crate) fn merge(&self, shared: Vec<Ban>) {
        let now = now_ms();
        let Ok(mut bans) = self.inner.bans.write() else {
            return;
        };
        bans.clear();
        for b in shared
            .into_iter()
            .filter(|b| b.until_unix_ms > now)
            .take(CAPACITY)
        {
            bans.insert(b.client, b);
        }
        self.inner.held.store(bans.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_ban_holds_until_removed_and_lists_once() {
        let bans = Bans::default();
        assert!(!bans.is_banned(ip("10.0.0.1")));
        bans.add(
            ip("10.0.0.1"),
            Duration::from_secs(60),
            "stuffing",
            "detector:stuffing",
        );
        bans.add(ip("10.0.0.1"), Duration::from_secs(120), "again", "admin");
        assert!(bans.is_banned(ip("10.0.0.1")));
        assert!(!bans.is_banned(ip("10.0.0.2")));
        let list = bans.list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].source, "admin");
        assert!(bans.remove(ip("10.0.0.1")));
        assert!(!bans.remove(ip("10.0.0.1")));
        assert!(!bans.is_banned(ip("10.0.0.1")));
    }

    #[test]
    fn an_ended_ban_no_longer_refuses() {
        let bans = Bans::default();
        bans.add(ip("::1"), Duration::ZERO, "r", "admin");
        assert!(!bans.is_banned(ip("::1")));
        assert!(bans.list().is_empty());
        bans.prune();
        assert_eq!(bans.inner.held.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_list_is_bounded() {
        let bans = Bans::default();
        for i in 0..(CAPACITY as u32 + 10) {
            bans.add(
                IpAddr::from(i.to_be_bytes()),
                Duration::from_secs(60 + u64::from(i)),
                "r",
                "admin",
            );
        }
        assert_eq!(bans.list().len(), CAPACITY);
        // The newest (longest) bans stayed.
        assert!(bans.is_banned(IpAddr::from((CAPACITY as u32 + 9).to_be_bytes())));
    }

    #[test]
    fn changes_are_kept_only_for_a_mirror_and_merge_replaces() {
        let bans = Bans::default();
        bans.add(ip("10.0.0.1"), Duration::from_secs(60), "r", "admin");
        assert!(bans.take_changes().is_empty());
        bans.mirror();
        bans.add(ip("10.0.0.2"), Duration::from_secs(60), "r", "admin");
        bans.remove(ip("10.0.0.1"));
        let changes = bans.take_changes();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[1], Change::Removed(ip("10.0.0.1")));
        let other = Ban {
            client: ip("10.0.0.9"),
            until_unix_ms: now_ms() + 60_000,
            reason: "r".into(),
            source: "admin".into(),
        };
        bans.merge(vec![other]);
        assert!(bans.is_banned(ip("10.0.0.9")));
        assert!(!bans.is_banned(ip("10.0.0.2")));
        assert!(bans.take_changes().is_empty());
    }
}
