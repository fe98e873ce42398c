//! The bounded cache of introspection answers, keyed by the SHA-256 of the token (the token
//! itself is not kept).
//!
//! An active answer is fresh for `ttl` but never at or past its `exp`; with `allow_cached`
//! it is kept `max_stale` longer (never past `exp`) so it can stand in while the endpoint
//! fails. A refusal is remembered for `inactive_ttl`. The entries live in the gateway's one
//! bounded map ([`BoundedMap`]): at capacity, expired entries go first, then arbitrary ones (a
//! tenth of a shard at once), so a flood of distinct tokens cannot grow memory.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::Failure;
use crate::bounded::{BoundedMap, Expiring, WhenFull};
use crate::identity::Principal;

/// The key of a token.
pub(super) type TokenKey = [u8; 32];

/// The key of `token`.
pub(super) fn key_of(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// Cache bounds and lifetimes, in seconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lifetimes {
    /// Most entries (`0`: nothing is cached).
    pub capacity: usize,
    /// Active answers are fresh this long.
    pub ttl: u64,
    /// Refusals are remembered this long.
    pub inactive_ttl: u64,
    /// Active answers are kept this long past `ttl` for `allow_cached` (`0` with `deny`).
    pub max_stale: u64,
}

enum Held {
    Active(Arc<Principal>),
    Refused(Failure),
}

struct Entry {
    held: Held,
    fresh_until: u64,
    keep_until: u64,
}

impl Expiring for Entry {
    fn alive(&self, now: u64) -> bool {
        now < self.keep_until
    }
}

/// What the cache holds for a token now.
#[derive(Debug)]
pub(super) enum Lookup {
    /// A fresh answer: use it.
    Fresh(Result<Arc<Principal>, Failure>),
    /// An active answer past its `ttl` (but not its `exp`): only for when the endpoint fails.
    Stale(Arc<Principal>),
    /// Nothing usable.
    Miss,
}

/// The cache.
pub(super) struct Cache {
    lifetimes: Lifetimes,
    /// Seconds; a full shard is swept at most once a second.
    entries: BoundedMap<TokenKey, Entry>,
}

impl Cache {
    /// An empty cache.
    pub(super) fn new(lifetimes: Lifetimes) -> Cache {
        Cache {
            lifetimes,
            entries: BoundedMap::new(lifetimes.capacity, 1, WhenFull::Evict),
        }
    }

    /// What is held for `key` at `now`.
    pub(super) fn get(&self, key: &TokenKey, now: u64) -> Lookup {
        let found = self.entries.read(key, now, |entry| match &entry.held {
            Held::Active(p) if now < entry.fresh_until => Lookup::Fresh(Ok(p.clone())),
            Held::Active(p) => Lookup::Stale(p.clone()),
            Held::Refused(f) if now < entry.fresh_until => Lookup::Fresh(Err(f.clone())),
            Held::Refused(_) => Lookup::Miss,
        });
        found.unwrap_or(Lookup::Miss)
    }

    /// Remembers an active answer received at `now`, with its `exp`.
    pub(super) fn put_active(
        &self,
        key: TokenKey,
        principal: Arc<Principal>,
        exp: Option<u64>,
        now: u64,
    ) {
        let l = &self.lifetimes;
        let cap = |t: u64| exp.map_or(t, |exp| t.min(exp));
        let fresh_until = cap(now.saturating_add(l.ttl));
        let keep_until = cap(fresh_until.saturating_add(l.max_stale));
        self.put(key, Held::Active(principal), fresh_until, keep_until, now);
    }

    /// Remembers a refusal received at `now`.
    pub(super) fn put_refused(&self, key: TokenKey, failure: Failure, now: u64) {
        let until = now.saturating_add(self.lifetimes.inactive_ttl);
        self.put(key, Held::Refused(failure), until, until, now);
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    fn put(&self, key: TokenKey, held: Held, fresh_until: u64, keep_until: u64, now: u64) {
        let entry = Entry {
            held,
            fresh_until,
            keep_until,
        };
        // Nothing is stored with a capacity of 0 or an entry already past its end.
        self.entries.insert(&key, entry, now);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn principal(sub: &str) -> Arc<Principal> {
        Arc::new(Principal {
            subject: Some(sub.to_owned()),
            issuer: "introspection".to_owned(),
            scopes: BTreeSet::new(),
            roles: BTreeSet::new(),
            claims: Arc::new(serde_json::json!({ "sub": sub })),
        })
    }

    fn cache(capacity: usize, max_stale: u64) -> Cache {
        Cache::new(Lifetimes {
            capacity,
            ttl: 60,
            inactive_ttl: 10,
            max_stale,
        })
    }

    fn is_fresh_ok(l: &Lookup) -> bool {
        matches!(l, Lookup::Fresh(Ok(_)))
    }

    #[test]
    fn an_active_answer_is_fresh_for_its_ttl_and_never_at_or_past_exp() {
        let c = cache(10, 0);
        let k = key_of("t1");
        c.put_active(k, principal("a"), None, 1000);
        assert!(is_fresh_ok(&c.get(&k, 1059)));
        assert!(matches!(c.get(&k, 1060), Lookup::Miss));

        // exp before the ttl ends bounds the entry: fresh up to exp - 1, gone at exp.
        let k = key_of("t2");
        c.put_active(k, principal("a"), Some(1030), 1000);
        assert!(is_fresh_ok(&c.get(&k, 1029)));
        assert!(matches!(c.get(&k, 1030), Lookup::Miss));
        // An answer already at its exp is not stored.
        let k = key_of("t3");
        c.put_active(k, principal("a"), Some(1000), 1000);
        assert_eq!(c.len(), 0, "t1 and t2 are dropped when read past their end");
        assert!(matches!(c.get(&k, 1000), Lookup::Miss));
    }

    #[test]
    fn stale_answers_are_kept_for_max_stale_but_never_past_exp() {
        let c = cache(10, 300);
        let k = key_of("t");
        c.put_active(k, principal("a"), None, 1000);
        assert!(is_fresh_ok(&c.get(&k, 1059)));
        assert!(matches!(c.get(&k, 1060), Lookup::Stale(_)));
        assert!(matches!(c.get(&k, 1359), Lookup::Stale(_)));
        assert!(matches!(c.get(&k, 1360), Lookup::Miss));

        let k = key_of("with exp");
        c.put_active(k, principal("a"), Some(1100), 1000);
        assert!(matches!(c.get(&k, 1060), Lookup::Stale(_)));
        assert!(matches!(c.get(&k, 1099), Lookup::Stale(_)));
        assert!(matches!(c.get(&k, 1100), Lookup::Miss));
    }

    #[test]
    fn refusals_are_remembered_briefly_and_never_stand_in() {
        let c = cache(10, 300);
        let k = key_of("bad");
        c.put_refused(k, Failure::Inactive, 1000);
        assert!(matches!(
            c.get(&k, 1009),
            Lookup::Fresh(Err(Failure::Inactive))
        ));
        assert!(matches!(c.get(&k, 1010), Lookup::Miss));
        let none = Cache::new(Lifetimes {
            capacity: 10,
            ttl: 60,
            inactive_ttl: 0,
            max_stale: 0,
        });
        none.put_refused(k, Failure::Inactive, 1000);
        assert!(matches!(none.get(&k, 1000), Lookup::Miss));
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let c = cache(100, 0);
        for i in 0..10_000 {
            c.put_active(key_of(&format!("token-{i}")), principal("a"), None, 1000);
            assert!(c.len() <= 100, "{} entries after {i}", c.len());
        }
        // The newest is always held.
        assert!(is_fresh_ok(&c.get(&key_of("token-9999"), 1001)));
        // Expired entries are swept before live ones are evicted.
        let c = cache(2, 0);
        c.put_active(key_of("old"), principal("a"), Some(1001), 1000);
        c.put_active(key_of("live"), principal("b"), None, 1000);
        c.put_active(key_of("new"), principal("c"), None, 1005);
        assert!(is_fresh_ok(&c.get(&key_of("live"), 1005)));
        assert!(is_fresh_ok(&c.get(&key_of("new"), 1005)));
        let off = cache(0, 0);
        off.put_active(key_of("t"), principal("a"), None, 1000);
        assert_eq!(off.len(), 0);
    }
}
