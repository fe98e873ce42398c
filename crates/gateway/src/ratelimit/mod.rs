//! Rate limits, spike arrest and concurrency limits (OWASP API4).
//!
//! * [`gcra`]: the arithmetic (GCRA: burst, then an evenly spaced sustained rate; `burst: 1` is
//!   spike arrest: requests evenly spaced, none bunched).
//! * [`memory::MemoryStore`]: per-replica state, bounded memory (the default).
//! * [`redis::RedisStore`]: state shared by every replica through Redis, one round trip per
//!   request however many limits apply.
//! * [`Limiter`]: picks the store, applies the configured behaviour when Redis fails
//!   ([`OnFailure`]), and turns outcomes into a [`Decision`] with the `RateLimit-*` and
//!   `Retry-After` values.
//! * [`ConcurrencyLimiter`]: at most N requests in flight per client key.
//! * [`lockout`]: brute-force lockout counts and locks, on the same backend as the limits.
//!
//! Quotas over long windows are limits with a long period (`limit: 10000, per: 30d`): the
//! burst (default: the whole limit) is the quota, and it refills evenly over the period rather
//! than all at once at a calendar boundary. In Redis they survive gateway restarts (the TAT
//! lives there, with an expiry). In memory a reload keeps them, and a restart too when
//! `storage.path` is set: [`persist`] writes the state of limits with a period of at least an
//! hour to SQLite behind the request path and restores it at start; without it they reset.

pub mod gcra;
pub mod lockout;
pub mod memory;
pub mod persist;
pub mod quiet;
pub mod redis;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use gcra::{Gcra, Outcome};

/// What identifies a client for one limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The client IP (the TCP peer, or the forwarded address from a trusted proxy).
    Ip,
    /// The API key's id.
    KeyId,
    /// The token's subject.
    Subject,
    /// A request header's value.
    Header(String),
    /// A token claim's value.
    Claim(String),
}

impl KeySource {
    /// Whether the request shows this key without any credential being verified (the client
    /// address, a header): such limits are checked before authentication.
    pub fn is_client_side(&self) -> bool {
        matches!(self, KeySource::Ip | KeySource::Header(_))
    }
}

/// A key source that is not one of `ip`, `key_id`, `subject`, `header:NAME`, `claim:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rate-limit key {0:?} (expected ip, key_id, subject, header:NAME or claim:NAME)")]
pub struct BadKeySource(pub String);

impl std::str::FromStr for KeySource {
    type Err = BadKeySource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadKeySource(s.to_owned());
        match s {
            "ip" => Ok(KeySource::Ip),
            "key_id" => Ok(KeySource::KeyId),
            "subject" => Ok(KeySource::Subject),
            _ => match s.split_once(':') {
                Some(("header", name)) if !name.is_empty() => {
                    Ok(KeySource::Header(name.to_ascii_lowercase()))
                }
                Some(("claim", name)) if !name.is_empty() => Ok(KeySource::Claim(name.to_owned())),
                _ => Err(bad()),
            },
        }
    }
}

/// One configured limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// A stable name, part of every state key (`bank/0`: API and position in the config).
    pub name: String,
    /// What identifies the client.
    pub key: KeySource,
    /// The configured count per period (for `RateLimit-Limit`).
    pub limit: u64,
    /// The period in seconds (for the `RateLimit-Policy`-style `w=` value).
    pub period_secs: u64,
    /// The GCRA parameters.
    pub gcra: Gcra,
    /// Operation ids it applies to; `None` for every operation of its API.
    pub operations: Option<Vec<String>>,
}

impl Limit {
    /// A limit of `limit` requests per `period_secs` with `burst` (0: same as `limit`).
    pub fn new(
        name: impl Into<String>,
        key: KeySource,
        limit: u64,
        period_secs: u64,
        burst: u64,
    ) -> Limit {
        Limit {
            name: name.into(),
            key,
            limit,
            period_secs,
            gcra: Gcra::new(limit, period_secs.saturating_mul(1_000_000), burst),
            operations: None,
        }
    }

    /// True when the limit applies to this operation (`None`: an undocumented request).
    pub fn applies_to(&self, operation: Option<&str>) -> bool {
        match (&self.operations, operation) {
            (None, _) => true,
            (Some(ops), Some(op)) => ops.iter().any(|o| o == op),
            (Some(_), None) => false,
        }
    }
}

/// What to do when the shared (Redis) state cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Limit per replica with each limit divided by the number of replicas.
    Local {
        /// How many replicas share the limit.
        replicas: u64,
    },
    /// Deny every request that a limit applies to (fail closed).
    Deny,
    /// Let requests through unlimited (fail open).
    Allow,
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// True when admitted.
    pub allowed: bool,
    /// The name of the (first) limit that denied it.
    pub denied_by: Option<String>,
    /// `RateLimit-Limit`: the count of the limit closest to denying.
    pub limit: u64,
    /// `RateLimit-Remaining`: requests left under that limit.
    pub remaining: u64,
    /// `RateLimit-Reset`: seconds until that limit is fully replenished.
    pub reset_secs: u64,
    /// `Retry-After` in seconds, when denied.
    pub retry_after_secs: Option<u64>,
    /// True when the shared state failed and the [`OnFailure`] behaviour decided.
    pub degraded: bool,
}

/// The per-check lists of one request: a request meets few limits, so they live on the stack
/// (no allocation on the request path).
pub(crate) type Few<T> = smallvec::SmallVec<[T; 4]>;

/// Client values longer than this (a header or claim can carry kilobytes) are stored under
/// their SHA-256 instead, so one key's memory is bounded whatever the client sends.
pub const MAX_CLIENT_KEY: usize = 64;

/// The state key of `client` under the limit `name`: `name|client`, or `name|#<sha256 hex>`
/// when the client value is longer than [`MAX_CLIENT_KEY`] (a digest is 65 characters, so no
/// client value short enough to be kept as is can equal one). Stable across replicas.
pub fn state_key(name: &str, client: &str) -> String {
    if client.len() <= MAX_CLIENT_KEY {
        let mut key = String::with_capacity(name.len() + 1 + client.len());
        key.push_str(name);
        key.push('|');
        key.push_str(client);
        key
    } else {
        use sha2::Digest;
        format!("{name}|#{:x}", sha2::Sha256::digest(client.as_bytes()))
    }
}

fn ceil_secs(us: u64) -> u64 {
    us.div_ceil(1_000_000)
}

fn decide(limits: &[&Limit], allowed: bool, outcomes: &[Outcome], degraded: bool) -> Decision {
    let closest = limits
        .iter()
        .zip(outcomes)
        .min_by_key(|(l, o)| (o.allowed, o.remaining, std::cmp::Reverse(l.limit)));
    let denied_by = limits
        .iter()
        .zip(outcomes)
        .find(|(_, o)| !o.allowed)
        .map(|(l, _)| l.name.clone());
    let retry = outcomes
        .iter()
        .filter(|o| !o.allowed)
        .map(|o| o.retry_after_us)
        .max();
    Decision {
        allowed,
        denied_by,
        limit: closest.map(|(l, _)| l.limit).unwrap_or(0),
        remaining: closest.map(|(_, o)| o.remaining).unwrap_or(0),
        reset_secs: closest.map(|(_, o)| ceil_secs(o.reset_us)).unwrap_or(0),
        retry_after_secs: if allowed {
            None
        } else {
            retry.map(|r| ceil_secs(r).max(1))
        },
        degraded,
    }
}

/// Where limit state lives.
#[allow(clippy::large_enum_variant)] // one Store per Limiter, built once: no vector of them to bloat
pub enum Store {
    /// This replica's memory.
    Memory(memory::MemoryStore),
    /// Redis, with a per-replica fallback used as [`OnFailure`] says.
    Redis {
        /// The shared store.
        shared: redis::RedisStore,
        /// The fallback for `OnFailure::Local`.
        local: memory::MemoryStore,
        /// What a failure means.
        on_failure: OnFailure,
    },
}

/// Checks requests against their limits.
pub struct Limiter {
    store: Store,
    epoch: Instant,
    /// `epoch` in microseconds since the Unix epoch (to convert TATs for [`persist`]).
    unix_at_epoch_us: u64,
    /// Where quotas are kept across restarts (memory backend with `storage.path`).
    persist: Option<persist::Persister>,
    degraded: AtomicU64,
    /// How often a Redis failure of a limit check is logged (each is counted in `degraded`).
    quiet: quiet::Quiet,
    /// Lockout state in this replica (the memory backend, or the `local` fallback).
    lockouts: lockout::MemoryLockouts,
    /// How often a Redis failure of a lockout check is logged.
    quiet_lockout: quiet::Quiet,
}

impl Limiter {
    /// A limiter over `store`.
    pub fn new(store: Store) -> Limiter {
        Limiter {
            store,
            epoch: Instant::now(),
            unix_at_epoch_us: persist::unix_now_us(),
            persist: None,
            degraded: AtomicU64::new(0),
            quiet: quiet::Quiet::default(),
            lockouts: lockout::MemoryLockouts::new(1_000_000),
            quiet_lockout: quiet::Quiet::default(),
        }
    }

    /// A memory limiter whose quotas (limits with a period of at least
    /// [`persist::QUOTA_MIN_PERIOD_SECS`]) are kept in the SQLite file at `path`: the live
    /// state of the limits named in `quotas` is restored now (a TAT further ahead than the
    /// limit now allows is cut to it), and new state is written behind the request path.
    /// `capacity` bounds the pending writes and the file's rows.
    pub fn with_storage(
        store: memory::MemoryStore,
        path: &Path,
        quotas: &HashMap<String, Gcra>,
        capacity: usize,
    ) -> Result<Limiter, persist::PersistError> {
        let epoch = Instant::now();
        let now_unix = persist::unix_now_us();
        let mut restored = 0u64;
        let persister = persist::Persister::open(path, capacity, now_unix, |row| {
            let Some(gcra) = quotas.get(&row.limit) else {
                return;
            };
            let of_limit = row
                .key
                .strip_prefix(row.limit.as_str())
                .is_some_and(|rest| rest.starts_with('|'));
            if !of_limit {
                return;
            }
            let ahead = row
                .tat_unix_us
                .saturating_sub(now_unix)
                .min(gcra.burst.saturating_mul(gcra.interval_us));
            let now = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
            if store.restore(&row.key, now.saturating_add(ahead)) {
                restored += 1;
            }
        })?;
        tracing::info!(file = %path.display(), restored, "rate-limit quota state loaded");
        let mut limiter = Limiter::new(Store::Memory(store));
        limiter.epoch = epoch;
        limiter.unix_at_epoch_us = now_unix;
        limiter.persist = Some(persister);
        Ok(limiter)
    }

    /// The file quotas are kept in, when there is one.
    pub fn storage_path(&self) -> Option<&Path> {
        self.persist.as_ref().map(persist::Persister::path)
    }

    /// How many writes of quota state to the storage file failed.
    pub fn storage_failures(&self) -> u64 {
        self.persist
            .as_ref()
            .map_or(0, persist::Persister::failures)
    }

    /// How many quota updates were lost because the writer was behind.
    pub fn storage_dropped(&self) -> u64 {
        self.persist.as_ref().map_or(0, persist::Persister::dropped)
    }

    /// Writes all quota state recorded so far to the storage file and waits for it (graceful
    /// shutdown). Blocks the calling thread; does nothing without a storage file.
    pub fn flush_storage(&self) {
        if let Some(p) = &self.persist {
            p.flush();
        }
    }

    /// Hands the new TATs of admitted quotas with a bucket of their own to the writer (a
    /// shared overflow bucket is not the client's state).
    fn record(
        &self,
        p: &persist::Persister,
        limits: &[&Limit],
        keys: &[String],
        outcomes: &[Outcome],
        own: &[bool],
        now: u64,
    ) {
        for (((limit, key), outcome), own) in limits.iter().zip(keys).zip(outcomes).zip(own) {
            if *own && limit.period_secs >= persist::QUOTA_MIN_PERIOD_SECS {
                let tat = self
                    .unix_at_epoch_us
                    .saturating_add(now.saturating_add(outcome.reset_us));
                p.record(key, limit.name.len(), tat);
            }
        }
    }

    /// How many decisions were taken by the failure behaviour because Redis failed.
    pub fn degraded_decisions(&self) -> u64 {
        self.degraded.load(Ordering::Relaxed)
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Checks one request: `checks` pairs each applicable limit with the client's key for it
    /// (e.g. the IP). An empty list admits.
    pub async fn check(&self, checks: &[(&Limit, &str)]) -> Decision {
        if checks.is_empty() {
            return decide(&[], true, &[], false);
        }
        let limits: Few<&Limit> = checks.iter().map(|(l, _)| *l).collect();
        let keys: Few<String> = checks
            .iter()
            .map(|(l, client)| state_key(&l.name, client))
            .collect();
        let gcras: Few<(&str, Gcra)> = keys
            .iter()
            .zip(&limits)
            .map(|(k, l)| (k.as_str(), l.gcra))
            .collect();
        match &self.store {
            Store::Memory(m) => {
                let now = self.now_us();
                let (allowed, outcomes, own) = m.check_slots(&gcras, now);
                if let (true, Some(p)) = (allowed, &self.persist) {
                    self.record(p, &limits, &keys, &outcomes, &own, now);
                }
                decide(&limits, allowed, &outcomes, false)
            }
            Store::Redis {
                shared,
                local,
                on_failure,
            } => match shared.check(&gcras).await {
                Ok((allowed, outcomes)) => {
                    if let Some(suppressed) = self.quiet.success() {
                        tracing::info!(suppressed, "rate-limit state available again");
                    }
                    decide(&limits, allowed, &outcomes, false)
                }
                Err(e) => {
                    self.degraded.fetch_add(1, Ordering::Relaxed);
                    if let Some(suppressed) = self.quiet.failure(self.now_us()) {
                        tracing::warn!(error = %e, behaviour = ?on_failure, suppressed, "rate-limit state unavailable");
                    }
                    match on_failure {
                        OnFailure::Local { replicas } => {
                            let n = (*replicas).max(1);
                            let scaled: Vec<(&str, Gcra)> = gcras
                                .iter()
                                .map(|(k, g)| {
                                    (
                                        *k,
                                        Gcra {
                                            interval_us: g.interval_us.saturating_mul(n),
                                            burst: (g.burst / n).max(1),
                                        },
                                    )
                                })
                                .collect();
                            let (allowed, outcomes) = local.check(&scaled, self.now_us());
                            decide(&limits, allowed, &outcomes, true)
                        }
                        OnFailure::Deny => {
                            let denied: Vec<Outcome> = limits
                                .iter()
                                .map(|_| Outcome {
                                    allowed: false,
                                    remaining: 0,
                                    reset_us: 1_000_000,
                                    retry_after_us: 1_000_000,
                                })
                                .collect();
                            decide(&limits, false, &denied, true)
                        }
                        OnFailure::Allow => {
                            let mut d = decide(&[], true, &[], true);
                            d.limit = limits.first().map(|l| l.limit).unwrap_or(0);
                            d
                        }
                    }
                }
            },
        }
    }
}

/// At most `max` requests in flight per client key, with bounded memory (keys with nothing in
/// flight are removed at once).
#[derive(Debug)]
pub struct ConcurrencyLimiter {
    max: u32,
    capacity: usize,
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
}

/// Holds one in-flight slot; dropping it frees the slot.
#[derive(Debug)]
pub struct ConcurrencyPermit {
    key: String,
    in_flight: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for ConcurrencyPermit {
    fn drop(&mut self) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

impl ConcurrencyLimiter {
    /// At most `max` concurrent requests per key, tracking at most `capacity` keys at once
    /// (beyond that, new keys are refused: fail closed).
    pub fn new(max: u32, capacity: usize) -> ConcurrencyLimiter {
        ConcurrencyLimiter {
            max: max.max(1),
            capacity,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A permit for one more request of `key`, or `None` when it already has `max` in flight.
    pub fn acquire(&self, key: &str) -> Option<ConcurrencyPermit> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let tracked = map.len();
        match map.get_mut(key) {
            Some(n) if *n >= self.max => return None,
            Some(n) => *n += 1,
            None if tracked >= self.capacity => return None,
            None => {
                map.insert(key.to_owned(), 1);
            }
        }
        Some(ConcurrencyPermit {
            key: key.to_owned(),
            in_flight: self.in_flight.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources_parse() {
        assert_eq!("ip".parse(), Ok(KeySource::Ip));
        assert_eq!(
            "header:X-Tenant".parse(),
            Ok(KeySource::Header("x-tenant".into()))
        );
        assert_eq!("claim:org".parse(), Ok(KeySource::Claim("org".into())));
        assert!("header:".parse::<KeySource>().is_err());
        assert!("cookie:x".parse::<KeySource>().is_err());
    }

    #[tokio::test]
    async fn memory_limiter_reports_headers_and_retry_after() {
        let limiter = Limiter::new(Store::Memory(memory::MemoryStore::new(1000)));
        let login = Limit::new("bank/2", KeySource::Ip, 5, 60, 0);
        for left in (0..5).rev() {
            let d = limiter.check(&[(&login, "10.0.0.1")]).await;
            assert!(d.allowed);
            assert_eq!((d.limit, d.remaining), (5, left));
        }
        let d = limiter.check(&[(&login, "10.0.0.1")]).await;
        assert!(!d.allowed);
        assert_eq!(d.denied_by.as_deref(), Some("bank/2"));
        assert_eq!(d.retry_after_secs, Some(12));
        // Another client is not affected.
        assert!(limiter.check(&[(&login, "10.0.0.2")]).await.allowed);
    }

    #[tokio::test]
    async fn redis_failure_behaviours() {
        // Nothing listens on port 1: every Redis check fails at once.
        let store = |on_failure| Store::Redis {
            shared: redis::RedisStore::new(
                "redis://127.0.0.1:1/0",
                "t:",
                std::time::Duration::from_millis(200),
            )
            .unwrap(),
            local: memory::MemoryStore::new(100),
            on_failure,
        };
        let limit = Limit::new("a/0", KeySource::Ip, 4, 1, 4);
        let deny = Limiter::new(store(OnFailure::Deny));
        let d = deny.check(&[(&limit, "c")]).await;
        assert!(!d.allowed && d.degraded);
        let allow = Limiter::new(store(OnFailure::Allow));
        assert!(allow.check(&[(&limit, "c")]).await.allowed);
        let local = Limiter::new(store(OnFailure::Local { replicas: 2 }));
        let admitted = {
            let mut n = 0;
            for _ in 0..10 {
                if local.check(&[(&limit, "c")]).await.allowed {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(admitted, 2, "burst 4 over 2 replicas is 2 per replica");
        assert!(local.degraded_decisions() >= 10);
    }

    #[test]
    fn long_client_values_are_stored_under_a_digest() {
        let short = "203.0.113.7";
        assert_eq!(state_key("a/0", short), "a/0|203.0.113.7");
        let long_a = "a".repeat(4096);
        let long_b = format!("{}b", "a".repeat(4095));
        let ka = state_key("a/0", &long_a);
        assert_eq!(ka.len(), "a/0|#".len() + 64);
        assert_eq!(ka, state_key("a/0", &long_a), "stable");
        assert_ne!(ka, state_key("a/0", &long_b));
        // A value of exactly the limit is kept; one more byte is digested.
        let edge = "x".repeat(MAX_CLIENT_KEY);
        assert_eq!(state_key("n", &edge), format!("n|{edge}"));
        assert!(state_key("n", &format!("{edge}x")).starts_with("n|#"));
    }

    #[tokio::test]
    async fn long_client_values_are_limited_separately() {
        let limiter = Limiter::new(Store::Memory(memory::MemoryStore::new(100)));
        let limit = Limit::new("a/0", KeySource::Header("x-client".into()), 1, 3600, 1);
        let a = "a".repeat(1000);
        let b = "b".repeat(1000);
        assert!(limiter.check(&[(&limit, &a)]).await.allowed);
        assert!(!limiter.check(&[(&limit, &a)]).await.allowed);
        assert!(limiter.check(&[(&limit, &b)]).await.allowed);
    }

    #[test]
    fn concurrency_permits_are_released_on_drop() {
        let c = ConcurrencyLimiter::new(2, 10);
        let a = c.acquire("k").unwrap();
        let _b = c.acquire("k").unwrap();
        assert!(c.acquire("k").is_none());
        drop(a);
        assert!(c.acquire("k").is_some());
    }
}
