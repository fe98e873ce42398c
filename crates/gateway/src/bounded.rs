//! The one bounded concurrent map of the gateway: a capacity, entries that expire, and a
//! bounded sweep. It holds the limiter's memory store ([`crate::ratelimit::memory`]), the
//! lockout store ([`crate::ratelimit::lockout`]), the verified-JWT cache
//! ([`crate::identity::jwt`]) and the introspection cache ([`crate::identity::introspection`]).
//!
//! * **Shards.** Up to 64 shards, each a `HashMap` (foldhash) behind its own mutex; the shard
//!   is chosen by a second, independently seeded foldhash. A lookup locks one shard and
//!   allocates nothing; a write allocates only the key of a new entry.
//! * **Capacity.** At most [`BoundedMap::capacity`] entries, never more: the capacity asked for
//!   is split evenly over the shards (rounded down), and small maps get fewer shards (at least
//!   16 entries per shard) so that rounding does not inflate them.
//! * **Expiry.** A value says when it stops meaning anything ([`Expiring::alive`]). An expired
//!   value is never returned: a read treats it as absent (for the limiter and the lockout, an
//!   expired value and no value give the same answer, so dropping one is lossless).
//! * **Sweep.** Only when a new key meets a full shard, and at most once per `sweep_every` per
//!   shard (in the caller's time unit), expired entries of that one shard are removed. A sweep
//!   looks at one shard's entries, never the whole map.
//! * **When still full** ([`WhenFull`]): limits and lockouts make the new key share the
//!   shard's one overflow slot (a flood of distinct clients is limited, and locked, as a group:
//!   fail closed, bounded memory); caches evict arbitrary entries, a tenth of the shard at once.
//!
//! Several keys can be read and written under one lock set ([`BoundedMap::batch`]): the
//! shards involved are locked in index order, so concurrent batches cannot deadlock. The
//! limiter uses this to check several limits all-or-nothing.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use foldhash::fast::RandomState;
use smallvec::SmallVec;

/// Most shards of a map.
pub const MAX_SHARDS: usize = 64;
/// Fewest entries per shard before a map gets fewer shards.
const MIN_PER_SHARD: usize = 16;

/// A value that expires.
pub trait Expiring {
    /// True while the value still means something at `now` (the map's time unit).
    fn alive(&self, now: u64) -> bool;
}

/// What a new key gets when its shard is full of live entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// It shares the shard's one overflow slot (limits and lockouts).
    Share,
    /// Arbitrary entries are evicted to make room, a tenth of the shard at once (caches).
    Evict,
}

/// Counters of a map, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Times a new key had to use an overflow slot.
    pub overflowed: u64,
    /// Live entries evicted to make room.
    pub evicted: u64,
    /// Sweeps done (each over one shard).
    pub sweeps: u64,
}

/// One shard: its entries, its overflow slot and when it was last swept.
struct Shard<K, V> {
    map: HashMap<K, V, RandomState>,
    overflow: Option<V>,
    last_sweep: Option<u64>,
}

/// What every shard needs to know about the map.
#[derive(Debug, Clone, Copy)]
struct Rules {
    per_shard: usize,
    sweep_every: u64,
    when_full: WhenFull,
}

/// Counters, shared by the shards.
#[derive(Debug, Default)]
struct Counters {
    overflowed: AtomicU64,
    evicted: AtomicU64,
    sweeps: AtomicU64,
}

impl<K: Hash + Eq, V: Expiring> Shard<K, V> {
    /// Removes the expired entries if a sweep is due; true when it swept.
    fn sweep_if_due(&mut self, now: u64, rules: Rules, counters: &Counters) -> bool {
        let due = self
            .last_sweep
            .is_none_or(|last| now.saturating_sub(last) >= rules.sweep_every);
        if !due {
            return false;
        }
        self.map.retain(|_, v| v.alive(now));
        if self.overflow.as_ref().is_some_and(|v| !v.alive(now)) {
            self.overflow = None;
        }
        self.last_sweep = Some(now);
        counters.sweeps.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Makes room for `extra` new entries if it can (sweeping, then evicting when the rules
    /// say so); true when there is room.
    fn make_room(&mut self, extra: usize, now: u64, rules: Rules, counters: &Counters) -> bool {
        let fits = |s: &Self| s.map.len().saturating_add(extra) <= rules.per_shard;
        if fits(self) {
            return true;
        }
        if self.sweep_if_due(now, rules, counters) && fits(self) {
            return true;
        }
        if rules.when_full == WhenFull::Share || extra > rules.per_shard {
            return false;
        }
        let need = self.map.len().saturating_add(extra) - rules.per_shard;
        let mut left = need.max(rules.per_shard / 10);
        let before = self.map.len();
        self.map.retain(|_, _| {
            if left == 0 {
                return true;
            }
            left -= 1;
            false
        });
        let gone = (before - self.map.len()) as u64;
        counters.evicted.fetch_add(gone, Ordering::Relaxed);
        fits(self)
    }
}

/// A bounded, sharded, expiring map (see the module documentation).
pub struct BoundedMap<K, V> {
    shards: Box<[Mutex<Shard<K, V>>]>,
    rules: Rules,
    selector: RandomState,
    counters: Counters,
}

impl<K, V> std::fmt::Debug for BoundedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedMap")
            .field("shards", &self.shards.len())
            .field("per_shard", &self.rules.per_shard)
            .field("when_full", &self.rules.when_full)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V: Expiring> BoundedMap<K, V> {
    /// A map of at most `capacity` entries (rounded down to a multiple of its shards; `0`: it
    /// holds nothing of its own), swept at most once per `sweep_every` per shard.
    pub fn new(capacity: usize, sweep_every: u64, when_full: WhenFull) -> BoundedMap<K, V> {
        let mut shards = MAX_SHARDS;
        while shards > 1 && capacity / shards < MIN_PER_SHARD {
            shards /= 2;
        }
        BoundedMap {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::with_hasher(RandomState::default()),
                        overflow: None,
                        last_sweep: None,
                    })
                })
                .collect(),
            rules: Rules {
                per_shard: capacity / shards,
                sweep_every,
                when_full,
            },
            selector: RandomState::default(),
            counters: Counters::default(),
        }
    }

    /// Most entries held (overflow slots aside).
    pub fn capacity(&self) -> usize {
        self.rules.per_shard * self.shards.len()
    }

    /// Number of shards (and so of overflow slots).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Entries held now, expired ones not yet swept included (overflow slots aside).
    pub fn len(&self) -> usize {
        (0..self.shards.len())
            .filter_map(|i| self.lock(i).map(|s| s.map.len()))
            .sum()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            overflowed: self.counters.overflowed.load(Ordering::Relaxed),
            evicted: self.counters.evicted.load(Ordering::Relaxed),
            sweeps: self.counters.sweeps.load(Ordering::Relaxed),
        }
    }

    fn shard_of<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        // The shard count is a power of two.
        (self.selector.hash_one(key) as usize) & (self.shards.len() - 1)
    }

    fn lock(&self, index: usize) -> Option<MutexGuard<'_, Shard<K, V>>> {
        // A poisoned shard only means a panic elsewhere mid-update; its entries are still valid.
        self.shards
            .get(index)
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Calls `f` on the live value of `key` at `now`; `None` when there is none (an expired
    /// value is removed). Overflow slots are not read: see [`BoundedMap::batch`].
    pub fn read<Q, R>(&self, key: &Q, now: u64, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut shard = self.lock(self.shard_of(key))?;
        match shard.map.get(key) {
            Some(v) if v.alive(now) => Some(f(v)),
            Some(_) => {
                shard.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` under `key` at `now` (an expired value is not stored). Returns true when
    /// the key has an entry of its own; false when it went to the overflow slot (or nowhere).
    pub fn insert<Q>(&self, key: &Q, value: V, now: u64) -> bool
    where
        K: Borrow<Q> + From<Q::Owned>,
        Q: Hash + Eq + ToOwned + ?Sized,
    {
        if !value.alive(now) {
            return false;
        }
        let Some(mut shard) = self.lock(self.shard_of(key)) else {
            return false;
        };
        if let Some(slot) = shard.map.get_mut(key) {
            *slot = value;
            return true;
        }
        if shard.make_room(1, now, self.rules, &self.counters) {
            shard.map.insert(K::from(key.to_owned()), value);
            return true;
        }
        if self.rules.when_full == WhenFull::Share {
            self.counters.overflowed.fetch_add(1, Ordering::Relaxed);
            shard.overflow = Some(value);
        }
        false
    }

    /// Locks the shards of `keys` (in index order) and decides, for each key, whether it has
    /// an entry of its own or (its shard being full, swept when due) shares the overflow slot.
    /// Reads and writes then go through the returned [`Batch`].
    pub fn batch<'a, 'q, Q>(&'a self, keys: &[&'q Q], now: u64) -> Batch<'a, 'q, K, V, Q>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let indices: SmallVec<[usize; 4]> = keys.iter().map(|k| self.shard_of(*k)).collect();
        let mut order = indices.clone();
        order.sort_unstable();
        order.dedup();
        let mut guards: SmallVec<[Locked<'a, K, V>; 4]> = order
            .iter()
            .filter_map(|i| {
                self.lock(*i).map(|shard| Locked {
                    index: *i,
                    shard,
                    reserved: 0,
                })
            })
            .collect();
        let mut slots = SmallVec::with_capacity(keys.len());
        for (key, index) in keys.iter().zip(indices) {
            let Some(guard) = guards.iter().position(|g| g.index == index) else {
                continue;
            };
            let Some(locked) = guards.get_mut(guard) else {
                continue;
            };
            let own = locked.shard.map.contains_key(*key)
                || locked
                    .shard
                    .make_room(locked.reserved + 1, now, self.rules, &self.counters);
            if own {
                if !locked.shard.map.contains_key(*key) {
                    locked.reserved += 1;
                }
            } else {
                self.counters.overflowed.fetch_add(1, Ordering::Relaxed);
            }
            slots.push(Slot {
                guard,
                key: *key,
                own,
            });
        }
        Batch {
            map: self,
            guards,
            slots,
            now,
        }
    }
}

struct Locked<'a, K, V> {
    index: usize,
    shard: MutexGuard<'a, Shard<K, V>>,
    /// New keys given an entry of their own by this batch, not yet written.
    reserved: usize,
}

struct Slot<'q, Q: ?Sized> {
    guard: usize,
    key: &'q Q,
    own: bool,
}

/// Keys of one map read and written under their shards' locks, held until it is dropped.
/// Key `i` is the `i`-th key given to [`BoundedMap::batch`].
pub struct Batch<'a, 'q, K, V, Q: ?Sized> {
    map: &'a BoundedMap<K, V>,
    guards: SmallVec<[Locked<'a, K, V>; 4]>,
    slots: SmallVec<[Slot<'q, Q>; 4]>,
    now: u64,
}

impl<K, V, Q> Batch<'_, '_, K, V, Q>
where
    K: Hash + Eq + Borrow<Q> + From<Q::Owned>,
    V: Expiring,
    Q: Hash + Eq + ToOwned + ?Sized,
{
    /// True when key `i` has an entry of its own (false: it shares its shard's overflow slot).
    pub fn own(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(|s| s.own)
    }

    /// The live value of key `i` (its own entry, or the overflow slot it shares).
    pub fn get(&self, i: usize) -> Option<&V> {
        let slot = self.slots.get(i)?;
        let shard = &self.guards.get(slot.guard)?.shard;
        let value = if slot.own {
            shard.map.get(slot.key)
        } else {
            shard.overflow.as_ref()
        };
        value.filter(|v| v.alive(self.now))
    }

    /// Writes the value of key `i`.
    pub fn set(&mut self, i: usize, value: V) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let (own, key) = (slot.own, slot.key);
        let rules = self.map.rules;
        let Some(locked) = self.guards.get_mut(slot.guard) else {
            return;
        };
        if !own {
            locked.shard.overflow = Some(value);
            return;
        }
        if let Some(v) = locked.shard.map.get_mut(key) {
            *v = value;
            return;
        }
        locked.reserved = locked.reserved.saturating_sub(1);
        if locked.shard.map.len() < rules.per_shard {
            locked.shard.map.insert(K::from(key.to_owned()), value);
        } else {
            // Only when the batch named one new key twice: never past the capacity.
            locked.shard.overflow = Some(value);
        }
    }

    /// Removes the value of key `i` (its own entry, or the overflow slot's value).
    pub fn remove(&mut self, i: usize) {
        let Some(slot) = self.slots.get(i) else {
            return;
        };
        let (own, key) = (slot.own, slot.key);
        let Some(locked) = self.guards.get_mut(slot.guard) else {
            return;
        };
        if own {
            locked.shard.map.remove(key);
        } else {
            locked.shard.overflow = None;
        }
    }
}

#[cfg(test)]
mod tests;
