//! The in-memory rate-limit store: one replica, zero setup, bounded memory.
//!
//! State is one TAT (u64) per client key, in 64 shards each guarded by a mutex. Memory is
//! bounded by `capacity` keys: when a shard is full, entries whose TAT is past are swept
//! (losslessly: a past TAT means "idle", the same as no entry); if the shard is still full, a new
//! key shares the shard's one overflow bucket instead of getting its own, so a flood of distinct
//! clients is limited as a group and cannot exhaust memory.
//!
//! The bound, measured (`bench/src/bin/memory_limiter.rs`, BENCHMARKS.md "Rate limiter"): a
//! million distinct 17-byte keys (`api/0|10.7.161.32`, a limit on the client IP) take 81 MiB,
//! 85 bytes per key (the hash-map slot and its share of the table's spare buckets, the boxed
//! key, the TAT); longer keys cost their extra length. A further million distinct clients
//! sent into the full store add nothing (+0.2 MiB): they all share the overflow buckets. The
//! gateway builds its stores with a capacity of 1,000,000 keys, so limit state stays within
//! about 80-110 MiB (keys of 17-40 bytes) whatever the traffic; memory grows only with clients actually seen. Because
//! shards fill unevenly, a few new keys (0.3% at a million) share an overflow bucket slightly
//! before the store holds `capacity` keys.
//!
//! State is per process: it resets when the gateway restarts (a reload keeps it), except the
//! quotas that [`super::persist`] writes to `storage.path` and restores with [`MemoryStore::restore`].
//!
//! Several limits are checked all-or-nothing: the shards involved are locked in index order, a
//! request is admitted only if every limit admits it, and only then are the TATs updated.

use super::Few;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::gcra::{Gcra, Outcome};

const SHARDS: usize = 64;
/// The key under which overflowing clients share a bucket.
const OVERFLOW_KEY: &str = "\u{0}overflow";
/// At most one sweep of a full shard per this many microseconds.
const SWEEP_EVERY_US: u64 = 100_000;

struct Shard {
    tats: HashMap<Box<str>, u64>,
    last_sweep_us: u64,
}

/// A bounded, sharded map of client key -> TAT.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    hasher: RandomState,
    overflowed: AtomicU64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &(self.per_shard * SHARDS))
            .field("keys", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` keys rounded up to a multiple of the 64 shards (at
    /// least two per shard), plus one overflow bucket per shard.
    pub fn new(capacity: usize) -> MemoryStore {
        let per_shard = capacity.div_ceil(SHARDS).max(2);
        MemoryStore {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        tats: HashMap::new(),
                        last_sweep_us: 0,
                    })
                })
                .collect(),
            per_shard,
            hasher: RandomState::new(),
            overflowed: AtomicU64::new(0),
        }
    }

    fn shard_of(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    fn lock(&self, index: usize) -> Option<MutexGuard<'_, Shard>> {
        // A poisoned shard only means a panic elsewhere mid-update; its TATs are still valid.
        self.shards
            .get(index)
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Number of keys held now.
    pub fn len(&self) -> usize {
        (0..SHARDS)
            .filter_map(|i| self.lock(i).map(|s| s.tats.len()))
            .sum()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times a new key had to share the overflow bucket.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Puts back the TAT of `key` (a restart restoring saved quotas), unless its shard is
    /// full. Returns true when it was stored.
    pub fn restore(&self, key: &str, tat_us: u64) -> bool {
        let Some(mut shard) = self.lock(self.shard_of(key)) else {
            return false;
        };
        if let Some(slot) = shard.tats.get_mut(key) {
            *slot = (*slot).max(tat_us);
            return true;
        }
        if shard.tats.len() >= self.per_shard {
            return false;
        }
        shard.tats.insert(Box::from(key), tat_us);
        true
    }

    /// Checks one request against every `(key, limit)` at `now_us`: admitted only if all
    /// admit; the returned outcomes are in the order of `checks`.
    pub fn check(&self, checks: &[(&str, Gcra)], now_us: u64) -> (bool, Vec<Outcome>) {
        let (allowed, outcomes, _) = self.check_slots(checks, now_us);
        (allowed, outcomes)
    }

    /// [`MemoryStore::check`], also saying for each check whether its key has a bucket of its
    /// own (false: it shared the shard's overflow bucket).
    pub fn check_slots(
        &self,
        checks: &[(&str, Gcra)],
        now_us: u64,
    ) -> (bool, Vec<Outcome>, Vec<bool>) {
        let mut indices: Few<usize> = checks.iter().map(|(k, _)| self.shard_of(k)).collect();
        let order = {
            let mut o = indices.clone();
            o.sort_unstable();
            o.dedup();
            o
        };
        let mut guards: Few<(usize, MutexGuard<'_, Shard>)> = order
            .iter()
            .filter_map(|i| self.lock(*i).map(|g| (*i, g)))
            .collect();

        // Decide which key each check uses (its own, or the shard's overflow bucket).
        let mut keys: Few<&str> = Few::with_capacity(checks.len());
        let mut own: Vec<bool> = Vec::with_capacity(checks.len());
        for ((key, _), shard_index) in checks.iter().zip(indices.iter_mut()) {
            let Some((_, shard)) = guards.iter_mut().find(|(i, _)| i == shard_index) else {
                keys.push(OVERFLOW_KEY);
                own.push(false);
                continue;
            };
            if shard.tats.contains_key(*key) || shard.tats.len() < self.per_shard {
                keys.push(key);
                own.push(true);
                continue;
            }
            if now_us.saturating_sub(shard.last_sweep_us) >= SWEEP_EVERY_US {
                shard.tats.retain(|_, tat| *tat > now_us);
                shard.last_sweep_us = now_us;
            }
            if shard.tats.len() < self.per_shard {
                keys.push(key);
                own.push(true);
            } else {
                self.overflowed.fetch_add(1, Ordering::Relaxed);
                keys.push(OVERFLOW_KEY);
                own.push(false);
            }
        }

        let mut outcomes = Vec::with_capacity(checks.len());
        let mut updates: Few<Option<u64>> = Few::with_capacity(checks.len());
        for (((_, gcra), key), shard_index) in checks.iter().zip(&keys).zip(&indices) {
            let tat = guards
                .iter()
                .find(|(i, _)| i == shard_index)
                .and_then(|(_, s)| s.tats.get(*key).copied());
            let (outcome, new_tat) = gcra.check(tat, now_us);
            outcomes.push(outcome);
            updates.push(new_tat);
        }
        let allowed = outcomes.iter().all(|o| o.allowed);
        if allowed {
            for ((key, shard_index), new_tat) in keys.iter().zip(&indices).zip(updates) {
                if let (Some((_, shard)), Some(tat)) =
                    (guards.iter_mut().find(|(i, _)| i == shard_index), new_tat)
                {
                    match shard.tats.get_mut(*key) {
                        Some(slot) => *slot = tat,
                        None => {
                            shard.tats.insert(Box::from(*key), tat);
                        }
                    }
                }
            }
        }
        (allowed, outcomes, own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000;

    #[test]
    fn limits_are_all_or_nothing() {
        let store = MemoryStore::new(1000);
        let per_ip = Gcra::new(10, SEC, 10);
        let login = Gcra::new(2, 60 * SEC, 2);
        let both = [("ip:1", per_ip), ("login:1", login)];
        assert!(store.check(&both, 0).0);
        assert!(store.check(&both, 0).0);
        let (allowed, outcomes) = store.check(&both, 0);
        assert!(!allowed);
        assert!(outcomes[0].allowed && !outcomes[1].allowed);
        // The denied request consumed nothing from the per-ip limit: 8 remain.
        let (allowed, outcomes) = store.check(&[("ip:1", per_ip)], 0);
        assert!(allowed);
        assert_eq!(outcomes[0].remaining, 7);
    }

    #[test]
    fn a_million_distinct_clients_stay_within_capacity() {
        let capacity = 10_000;
        let store = MemoryStore::new(capacity);
        let g = Gcra::new(1, 60 * SEC, 1);
        let mut admitted = 0u64;
        for i in 0..1_000_000u64 {
            let key = format!("ip:{i}");
            if store.check(&[(&key, g)], i).0 {
                admitted += 1;
            }
        }
        // Each shard holds its capacity plus its one overflow bucket.
        let bound = (capacity.div_ceil(SHARDS).max(2) + 1) * SHARDS;
        assert!(store.len() <= bound, "{} keys held", store.len());
        assert!(store.overflowed() > 0);
        // Overflowing clients share buckets: far fewer than a million got through.
        assert!(admitted < 20_000, "{admitted} admitted");
    }

    #[test]
    fn restored_state_is_used_and_bounded() {
        let store = MemoryStore::new(SHARDS * 2);
        let quota = Gcra::new(5, 86_400 * SEC, 5);
        // Three of five spent: the TAT is three intervals ahead.
        assert!(store.restore("q|a", 3 * quota.interval_us));
        let (allowed, outcomes, own) = store.check_slots(&[("q|a", quota)], 0);
        assert!(allowed && own[0]);
        assert_eq!(outcomes[0].remaining, 1);
        assert!(store.check(&[("q|a", quota)], 0).0);
        assert!(!store.check(&[("q|a", quota)], 0).0);
        // A full shard takes no more restored keys.
        let restored = (0..10_000)
            .filter(|i| store.restore(&format!("k{i}"), u64::MAX))
            .count();
        assert!(restored <= SHARDS * 2, "{restored} restored");
    }

    #[test]
    fn idle_entries_are_swept_so_new_clients_get_their_own_bucket() {
        let store = MemoryStore::new(SHARDS * 2);
        let g = Gcra::new(1, SEC, 1);
        for i in 0..10_000u64 {
            let key = format!("k{i}");
            assert!(store.check(&[(&key, g)], i * SEC).0, "client {i}");
        }
        assert_eq!(store.overflowed(), 0);
    }
}
