use super::*;
use proptest::prelude::*;

/// A value alive until its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Until(u64);

impl Expiring for Until {
    fn alive(&self, now: u64) -> bool {
        self.0 > now
    }
}

type Map = BoundedMap<Box<str>, Until>;

#[test]
fn small_maps_get_fewer_shards_and_never_more_than_their_capacity() {
    let map = Map::new(100, 1, WhenFull::Evict);
    assert_eq!(map.shards(), 4);
    assert_eq!(map.capacity(), 100);
    let map = Map::new(1_000_000, 1, WhenFull::Share);
    assert_eq!((map.shards(), map.capacity()), (64, 1_000_000));
    let map = Map::new(2, 1, WhenFull::Evict);
    assert_eq!((map.shards(), map.capacity()), (1, 2));
    let off = Map::new(0, 1, WhenFull::Evict);
    assert!(!off.insert("k", Until(10), 0));
    assert!(off.is_empty());
}

#[test]
fn reads_never_return_expired_values_and_drop_them() {
    let map = Map::new(10, 1, WhenFull::Evict);
    assert!(map.insert("a", Until(10), 0));
    assert_eq!(map.read("a", 9, |v| *v), Some(Until(10)));
    assert_eq!(map.read("a", 10, |v| *v), None);
    assert!(map.is_empty(), "read past its end, the entry is gone");
    // An already expired value is not stored.
    assert!(!map.insert("b", Until(5), 5));
    assert!(map.is_empty());
}

#[test]
fn a_full_cache_sweeps_expired_entries_before_evicting_live_ones() {
    let map = Map::new(2, 1, WhenFull::Evict);
    map.insert("old", Until(11), 0);
    map.insert("live", Until(100), 0);
    map.insert("new", Until(100), 20);
    assert_eq!(map.read("live", 20, |v| *v), Some(Until(100)));
    assert_eq!(map.read("new", 20, |v| *v), Some(Until(100)));
    assert_eq!(map.stats().evicted, 0);
    // Full of live entries: the newest still gets in, an older one is evicted.
    map.insert("newer", Until(100), 20);
    assert_eq!(map.read("newer", 20, |v| *v), Some(Until(100)));
    assert_eq!(map.len(), 2);
    assert_eq!(map.stats().evicted, 1);
}

#[test]
fn a_full_store_shares_its_overflow_slot() {
    let map = Map::new(2, 1_000, WhenFull::Share);
    let mut b = map.batch(&["a", "b", "c"], 0);
    assert!(b.own(0) && b.own(1) && !b.own(2));
    b.set(0, Until(100));
    b.set(1, Until(100));
    b.set(2, Until(50));
    drop(b);
    assert_eq!(map.len(), 2);
    assert_eq!(map.stats().overflowed, 1);
    // Another newcomer reads what the first one left in the overflow slot.
    let b = map.batch(&["d"], 1);
    assert!(!b.own(0));
    assert_eq!(b.get(0), Some(&Until(50)));
    drop(b);
    // Once the entries expire, a newcomer gets its own entry again (the sweep is due).
    let b = map.batch(&["d"], 2_000);
    assert!(b.own(0));
    assert_eq!(b.get(0), None, "the overflow value expired too");
}

#[test]
fn a_batch_reserves_room_for_its_new_keys() {
    let map = Map::new(2, 1, WhenFull::Share);
    let mut b = map.batch(&["a", "b", "c", "a"], 0);
    assert!(b.own(0) && b.own(1) && !b.own(2));
    for i in 0..4 {
        b.set(i, Until(10));
    }
    drop(b);
    assert_eq!(map.len(), 2);
}

#[test]
fn sweeps_are_rate_limited_per_shard() {
    let map = Map::new(2, 100, WhenFull::Share);
    map.insert("a", Until(1), 0);
    map.insert("b", Until(1), 0);
    for now in 1..50 {
        map.insert(format!("n{now}").as_str(), Until(1_000), now);
    }
    // The first full insert swept (nothing swept before); the others waited.
    assert_eq!(map.stats().sweeps, 1);
}

#[derive(Debug, Clone)]
enum Step {
    Insert(u8, u8),
    Read(u8),
    Batch(Vec<u8>, u8),
    Remove(u8),
    Tick(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<u8>(), 1u8..40).prop_map(|(k, ttl)| Step::Insert(k, ttl)),
        any::<u8>().prop_map(Step::Read),
        (prop::collection::vec(any::<u8>(), 1..5), 1u8..40).prop_map(|(k, t)| Step::Batch(k, t)),
        any::<u8>().prop_map(Step::Remove),
        (0u8..20).prop_map(Step::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the operations: the capacity is never exceeded, no expired value is ever
    /// returned, and sweeps are bounded (at most one per shard per `sweep_every`).
    #[test]
    fn capacity_expiry_and_sweep_hold(
        capacity in 0usize..80,
        sweep_every in 1u64..20,
        share in any::<bool>(),
        steps in prop::collection::vec(step(), 1..300),
    ) {
        let when_full = if share { WhenFull::Share } else { WhenFull::Evict };
        let map = Map::new(capacity, sweep_every, when_full);
        prop_assert!(map.capacity() <= capacity);
        let mut now = 0u64;
        for s in steps {
            match s {
                Step::Insert(k, ttl) => {
                    map.insert(k.to_string().as_str(), Until(now + u64::from(ttl)), now);
                }
                Step::Read(k) => {
                    if let Some(v) = map.read(k.to_string().as_str(), now, |v| *v) {
                        prop_assert!(v.alive(now), "{v:?} returned at {now}");
                    }
                }
                Step::Batch(keys, ttl) => {
                    let names: Vec<String> = keys.iter().map(u8::to_string).collect();
                    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                    let mut b = map.batch(&refs, now);
                    for i in 0..refs.len() {
                        if let Some(v) = b.get(i) {
                            prop_assert!(v.alive(now), "{v:?} returned at {now}");
                        }
                        b.set(i, Until(now + u64::from(ttl)));
                    }
                }
                Step::Remove(k) => {
                    let key = k.to_string();
                    map.batch(&[key.as_str()], now).remove(0);
                }
                Step::Tick(d) => now += u64::from(d),
            }
            prop_assert!(map.len() <= map.capacity(), "{} > {}", map.len(), map.capacity());
            let most_sweeps = map.shards() as u64 * (1 + now / sweep_every);
            prop_assert!(map.stats().sweeps <= most_sweeps);
        }
    }
}
