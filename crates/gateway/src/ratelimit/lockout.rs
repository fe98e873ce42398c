//! Brute-force lockout state: failures per subject (a client IP, an account) counted within a
//! window; reaching the threshold locks the subject for a while.
//!
//! It lives where rate-limit state lives ([`Limiter`]): in this replica's memory (the same
//! [`BoundedMap`] as [`super::memory::MemoryStore`]: a capacity, idle entries swept,
//! overflowing subjects sharing one entry per shard), or in Redis, where one Lua script per request reads or updates every
//! subject at once with Redis's clock, so replicas share counts and locks. A Redis failure is
//! met by the limiter's [`OnFailure`]: `local` counts in this replica's memory with the
//! threshold divided among the replicas, `deny` treats every subject as locked, `allow` as free.
//!
//! One subject's state: `failures` counted since the window opened (the first failure), the
//! window's end, and the end of its lock. A failure after the window's end opens a new one; the
//! failure that reaches the threshold locks the subject and clears the count. While locked,
//! nothing changes it (a reset keeps the lock too).

use std::sync::LazyLock;
use std::sync::atomic::Ordering;

use super::{Limiter, OnFailure, Store};
use crate::bounded::{BoundedMap, Expiring, WhenFull};

/// At most one sweep of a full shard per this many milliseconds.
const SWEEP_EVERY_MS: u64 = 100;

/// The Redis script. KEYS: the subjects' state keys. ARGV[1]: 0 check, 1 failure, 2 reset;
/// then `failures, within_ms, lock_ms` per key. Returns `locked_ms, newly_locked, failures`
/// per key. Each key is a hash (`c` count, `w` window end, `l` lock end, in ms of Redis's
/// clock) expiring with its window or lock.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local k = KEYS[i]
  local v = redis.call('HMGET', k, 'c', 'w', 'l')
  local c = tonumber(v[1]) or 0
  local w = tonumber(v[2]) or 0
  local l = tonumber(v[3]) or 0
  local left = 0
  if l > now then left = l - now end
  local newly = 0
  if w <= now then c = 0 end
  if op == 1 and left == 0 then
    local max = tonumber(ARGV[3 * i - 1])
    local within = tonumber(ARGV[3 * i])
    local lock = tonumber(ARGV[3 * i + 1])
    if w <= now then w = now + within end
    c = c + 1
    redis.call('DEL', k)
    if c >= max then
      redis.call('HSET', k, 'l', string.format('%d', now + lock))
      redis.call('PEXPIRE', k, lock)
      left = lock
      newly = 1
      c = 0
    else
      redis.call('HSET', k, 'c', c, 'w', string.format('%d', w))
      redis.call('PEXPIRE', k, w - now)
    end
  elseif op == 2 and left == 0 then
    redis.call('DEL', k)
    c = 0
  end
  table.insert(out, left)
  table.insert(out, newly)
  table.insert(out, c)
end
return out
"#;

static LOCKOUT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SCRIPT));

/// `failures` within `within_ms` lock for `lock_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures that lock (at least 1).
    pub failures: u32,
    /// The window, from its first failure, in milliseconds.
    pub within_ms: u64,
    /// How long a lock lasts, in milliseconds.
    pub lock_ms: u64,
}

/// One subject: its state key ([`super::state_key`]) and its policy.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The state key (`lockout/<api>/ip|203.0.113.7`).
    pub key: &'a str,
    /// Its policy.
    pub policy: Policy,
}

/// What to do to the subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read their locks.
    Check,
    /// Count one failure for each.
    Fail,
    /// Clear their counts (not their locks).
    Reset,
}

/// One subject's state after an [`Op`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockState {
    /// Milliseconds of lock left (0: not locked).
    pub locked_ms: u64,
    /// True when this operation's failure started the lock.
    pub newly_locked: bool,
    /// Failures counted in the open window.
    pub failures: u32,
}

/// The states of the subjects, in order, and whether the failure behaviour decided them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// One state per subject.
    pub states: Vec<LockState>,
    /// True when Redis failed and [`OnFailure`] decided.
    pub degraded: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Entry {
    failures: u32,
    window_end_ms: u64,
    locked_until_ms: u64,
}

impl Entry {
    fn alive(&self, now: u64) -> bool {
        self.window_end_ms > now || self.locked_until_ms > now
    }
}

/// Applies `op` to one entry at `now` (the same steps as [`SCRIPT`]): the new entry (`None`:
/// remove it) and the state to report.
fn step(entry: Entry, op: Op, policy: Policy, now: u64) -> (Option<Entry>, LockState) {
    let left = entry.locked_until_ms.saturating_sub(now);
    let open = entry.window_end_ms > now;
    let mut state = LockState {
        locked_ms: left,
        newly_locked: false,
        failures: if open { entry.failures } else { 0 },
    };
    if left > 0 {
        return (Some(entry), state);
    }
    match op {
        Op::Check => (entry.alive(now).then_some(entry), state),
        Op::Reset => {
            state.failures = 0;
            (None, state)
        }
        Op::Fail => {
            let failures = state.failures.saturating_add(1);
            if failures >= policy.failures.max(1) {
                state.locked_ms = policy.lock_ms;
                state.newly_locked = true;
                state.failures = 0;
                let locked = Entry {
                    failures: 0,
                    window_end_ms: 0,
                    locked_until_ms: now.saturating_add(policy.lock_ms),
                };
                return (Some(locked), state);
            }
            state.failures = failures;
            let window_end_ms = if open {
                entry.window_end_ms
            } else {
                now.saturating_add(policy.within_ms)
            };
            let counting = Entry {
                failures,
                window_end_ms,
                locked_until_ms: 0,
            };
            (Some(counting), state)
        }
    }
}

impl Expiring for Entry {
    fn alive(&self, now_ms: u64) -> bool {
        Entry::alive(self, now_ms)
    }
}

/// This replica's lockout state: a [`BoundedMap`] of at most `capacity` subjects, idle ones
/// swept when a shard is full; beyond that, new subjects share the shard's overflow entry
/// (so a flood of distinct accounts is counted, and locked, as one: fail closed).
pub struct MemoryLockouts {
    entries: BoundedMap<Box<str>, Entry>,
}

impl std::fmt::Debug for MemoryLockouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLockouts")
            .field("capacity", &self.entries.capacity())
            .field("subjects", &self.len())
            .finish()
    }
}

impl MemoryLockouts {
    /// A store of at most `capacity` subjects (rounded down to a multiple of its shards) plus
    /// one overflow entry per shard. Nothing is allocated until a subject fails.
    pub fn new(capacity: usize) -> MemoryLockouts {
        MemoryLockouts {
            entries: BoundedMap::new(capacity, SWEEP_EVERY_MS, WhenFull::Share),
        }
    }

    /// Most subjects held (overflow entries aside).
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Number of overflow entries (one per shard).
    pub fn overflow_entries(&self) -> usize {
        self.entries.shards()
    }

    /// Subjects held now (overflow entries aside).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no subject is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times a subject had to share an overflow entry.
    pub fn overflowed(&self) -> u64 {
        self.entries.stats().overflowed
    }

    /// Applies `op` to every subject at `now_ms`, under one lock set; states in the order of
    /// `subjects`.
    pub fn apply(&self, op: Op, subjects: &[Subject<'_>], now_ms: u64) -> Vec<LockState> {
        let keys: super::Few<&str> = subjects.iter().map(|s| s.key).collect();
        let mut batch = self.entries.batch(&keys, now_ms);
        let mut states = Vec::with_capacity(subjects.len());
        for (i, s) in subjects.iter().enumerate() {
            let entry = batch.get(i).copied().unwrap_or_default();
            let (next, state) = step(entry, op, s.policy, now_ms);
            match next {
                Some(e) if e != entry => batch.set(i, e),
                Some(_) => {}
                None => batch.remove(i),
            }
            states.push(state);
        }
        states
    }
}

impl Limiter {
    fn now_ms(&self) -> u64 {
        self.now_us() / 1000
    }

    /// Applies `op` to the lockout state of `subjects`, on the limiter's backend, in one round
    /// trip. A Redis failure counts as a degraded decision and is met by [`OnFailure`].
    pub async fn lockout(&self, op: Op, subjects: &[Subject<'_>]) -> Answer {
        if subjects.is_empty() {
            return Answer {
                states: Vec::new(),
                degraded: false,
            };
        }
        let (shared, on_failure) = match &self.store {
            Store::Memory(_) => {
                return Answer {
                    states: self.lockouts.apply(op, subjects, self.now_ms()),
                    degraded: false,
                };
            }
            Store::Redis {
                shared, on_failure, ..
            } => (shared, *on_failure),
        };
        let keys: Vec<&str> = subjects.iter().map(|s| s.key).collect();
        let mut args = vec![match op {
            Op::Check => 0,
            Op::Fail => 1,
            Op::Reset => 2,
        }];
        for s in subjects {
            args.extend([
                u64::from(s.policy.failures.max(1)),
                s.policy.within_ms.max(1),
            ]);
            args.push(s.policy.lock_ms.max(1));
        }
        let error = match shared.run_script(&LOCKOUT_SCRIPT, &keys, &args).await {
            Ok(answer) => match parse(&answer, subjects.len()) {
                Some(states) => {
                    if let Some(suppressed) = self.quiet_lockout.success() {
                        tracing::info!(suppressed, "lockout state available again");
                    }
                    return Answer {
                        states,
                        degraded: false,
                    };
                }
                None => super::redis::RedisLimitError::Protocol,
            },
            Err(e) => e,
        };
        self.degraded.fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = self.quiet_lockout.failure(self.now_us()) {
            tracing::warn!(error = %error, behaviour = ?on_failure, suppressed, "lockout state unavailable");
        }
        let states = match on_failure {
            OnFailure::Local { replicas } => {
                let scaled: Vec<Subject<'_>> = subjects
                    .iter()
                    .map(|s| Subject {
                        key: s.key,
                        policy: Policy {
                            failures: scale(s.policy.failures, replicas),
                            ..s.policy
                        },
                    })
                    .collect();
                self.lockouts.apply(op, &scaled, self.now_ms())
            }
            OnFailure::Deny if op == Op::Check => subjects
                .iter()
                .map(|_| LockState {
                    locked_ms: 1000,
                    ..LockState::default()
                })
                .collect(),
            OnFailure::Deny | OnFailure::Allow => vec![LockState::default(); subjects.len()],
        };
        Answer {
            states,
            degraded: true,
        }
    }
}

/// `failures` divided among `replicas`, at least 1.
fn scale(failures: u32, replicas: u64) -> u32 {
    let share = u64::from(failures) / replicas.max(1);
    u32::try_from(share).unwrap_or(u32::MAX).max(1)
}

fn parse(answer: &[i64], subjects: usize) -> Option<Vec<LockState>> {
    if answer.len() != subjects * 3 {
        return None;
    }
    let states = answer
        .chunks_exact(3)
        .map(|c| match c {
            [left, newly, failures] => LockState {
                locked_ms: u64::try_from(*left).unwrap_or(0),
                newly_locked: *newly == 1,
                failures: u32::try_from(*failures).unwrap_or(0),
            },
            _ => LockState::default(),
        })
        .collect();
    Some(states)
}

#[cfg(test)]
pub(crate) mod tests;
