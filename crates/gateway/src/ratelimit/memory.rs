//! The in-memory rate-limit store: one replica, zero setup, bounded memory.
//!
//! State is one TAT (u64) per client key, in the gateway's one bounded map
//! ([`crate::bounded::BoundedMap`]: 64 shards each guarded by a mutex). Memory is
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
use crate::bounded::{BoundedMap, Expiring, WhenFull};

use super::gcra::{Gcra, Outcome};

/// At most one sweep of a full shard per this many microseconds.
const SWEEP_EVERY_US: u64 = 100_000;

/// A theoretical arrival time (µs since the limiter's epoch): idle, the same as no entry, once past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tat(u64);

impl Expiring for Tat {
    fn alive(&self, now_us: u64) -> bool {
        self.0 > now_us
    }
}

/// A bounded map of client key -> TAT ([`BoundedMap`], new keys sharing an overflow bucket
/// when a shard is full).
pub struct MemoryStore {
    tats: BoundedMap<Box<str>, Tat>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.tats.capacity())
            .field("keys", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` keys (rounded down to a multiple of its shards),
    /// plus one overflow bucket per shard.
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            tats: BoundedMap::new(capacity, SWEEP_EVERY_US, WhenFull::Share),
        }
    }

    /// Most keys held (overflow buckets aside).
    pub fn capacity(&self) -> usize {
        self.tats.capacity()
    }

    /// Number of overflow buckets (one per shard).
    pub fn overflow_buckets(&self) -> usize {
        self.tats.shards()
    }

    /// Number of keys held now.
    pub fn len(&self) -> usize {
        self.tats.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times a new key had to share the overflow bucket.
    pub fn overflowed(&self) -> u64 {
        self.tats.stats().overflowed
    }

    /// Puts back the TAT of `key` (a restart restoring saved quotas), unless its shard is
    /// full. Returns true when it was stored.
    pub fn restore(&self, key: &str, tat_us: u64) -> bool {
        let mut batch = self.tats.batch(&[key], 0);
        if !batch.own(0) {
            return false;
        }
        let tat = batch.get(0).map_or(tat_us, |t| t.0.max(tat_us));
        batch.set(0, Tat(tat));
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
        let keys: Few<&str> = checks.iter().map(|(k, _)| *k).collect();
        let mut batch = self.tats.batch(&keys, now_us);
        let mut outcomes = Vec::with_capacity(checks.len());
        let mut updates: Few<Option<u64>> = Few::with_capacity(checks.len());
        for (i, (_, gcra)) in checks.iter().enumerate() {
            let (outcome, new_tat) = gcra.check(batch.get(i).map(|t| t.0), now_us);
            outcomes.push(outcome);
            updates.push(new_tat);
        }
        let own = (0..checks.len()).map(|i| batch.own(i)).collect();
        let allowed = outcomes.iter().all(|o| o.allowed);
        if allowed {
            for (i, new_tat) in updates.into_iter().enumerate() {
                if let Some(tat) = new_tat {
                    batch.set(i, Tat(tat));
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
        // Never more than the capacity; the overflowing clients share the overflow buckets.
        assert!(store.len() <= store.capacity(), "{} keys held", store.len());
        assert_eq!(
            store.capacity(),
            capacity - capacity % store.overflow_buckets()
        );
        assert!(store.overflowed() > 0);
        // Overflowing clients share buckets: far fewer than a million got through.
        assert!(admitted < 20_000, "{admitted} admitted");
    }

    #[test]
    fn restored_state_is_used_and_bounded() {
        let store = MemoryStore::new(128);
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
        assert!(restored < 128, "{restored} restored");
    }

    #[test]
    fn idle_entries_are_swept_so_new_clients_get_their_own_bucket() {
        let store = MemoryStore::new(128);
        let g = Gcra::new(1, SEC, 1);
        for i in 0..10_000u64 {
            let key = format!("k{i}");
            assert!(store.check(&[(&key, g)], i * SEC).0, "client {i}");
        }
        assert_eq!(store.overflowed(), 0);
    }
}
