//! The Redis rate-limit store: one limit shared by every gateway replica.
//!
//! Every check is one round trip: a Lua script (run atomically by Redis) reads the TATs of all
//! the limits a request is subject to, decides with Redis's own clock (`TIME`, so replicas with
//! skewed clocks still agree), and stores the new TATs only when every limit admits the request.
//! Keys expire when their client is idle again, so Redis memory is bounded by active clients.
//! The connection is pooled and multiplexed (`ConnectionManager`), made lazily and remade after
//! a failure, at most once per second; callers decide what a failure means (see
//! [`super::OnFailure`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::gcra::{Gcra, Outcome};

/// The script: KEYS are the limit keys; ARGV holds `interval_us, burst` per key. Returns
/// `allowed` then `allowed, remaining, reset_us, retry_after_us` per key.
const SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {1}
local new_tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  local ahead = new_tat - now
  local tolerance = burst * interval
  if ahead <= tolerance then
    new_tats[i] = new_tat
    table.insert(out, 1)
    table.insert(out, math.floor((tolerance - ahead) / interval))
    table.insert(out, ahead)
    table.insert(out, 0)
  else
    out[1] = 0
    table.insert(out, 0)
    table.insert(out, 0)
    table.insert(out, tat - now)
    table.insert(out, ahead - tolerance)
  end
end
if out[1] == 1 then
  for i = 1, #KEYS do
    local ttl_ms = math.floor((new_tats[i] - now) / 1000) + 1
    redis.call('SET', KEYS[i], string.format('%d', new_tats[i]), 'PX', ttl_ms)
  end
end
return out
"#;

/// Why a Redis check failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisLimitError {
    /// The URL is not a valid Redis URL.
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// Redis could not be reached or answered with an error.
    #[error("Redis error: {0}")]
    Redis(redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// The script answered something unexpected.
    #[error("unexpected answer from the rate-limit script")]
    Protocol,
    /// A reconnection was tried less than a second ago.
    #[error("Redis is unavailable (reconnecting)")]
    Unavailable,
}

// Not `#[from]`: that would also make the Redis error the `source`, and its text, already in
// the message, would print twice in an error chain.
impl From<redis::RedisError> for RedisLimitError {
    fn from(e: redis::RedisError) -> Self {
        RedisLimitError::Redis(e)
    }
}

/// A rate-limit store in Redis.
pub struct RedisStore {
    client: redis::Client,
    script: redis::Script,
    connection: tokio::sync::Mutex<(Option<ConnectionManager>, Option<Instant>)>,
    timeout: Duration,
    prefix: String,
    failures: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for `url` (`redis://host:port/db`, or `rediss://` verified against the system's
    /// roots); keys are prefixed with `prefix`. Nothing is connected until the first check.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<RedisStore, RedisLimitError> {
        let client = redis::Client::open(url).map_err(|e| RedisLimitError::Url(e.to_string()))?;
        Ok(RedisStore::with_client(client, prefix, timeout))
    }

    /// A store over `client` (e.g. a `rediss://` client with a private CA, made with
    /// `redis::Client::build_with_tls`).
    pub fn with_client(client: redis::Client, prefix: &str, timeout: Duration) -> RedisStore {
        RedisStore {
            client,
            script: redis::Script::new(SCRIPT),
            connection: tokio::sync::Mutex::new((None, None)),
            timeout,
            prefix: prefix.to_owned(),
            failures: AtomicU64::new(0),
        }
    }

    /// How many checks failed (connection, timeout or protocol errors).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisLimitError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = &slot.0 {
            return Ok(c.clone());
        }
        if slot
            .1
            .is_some_and(|last| last.elapsed() < Duration::from_secs(1))
        {
            return Err(RedisLimitError::Unavailable);
        }
        slot.1 = Some(Instant::now());
        // Over TLS, no retry inside the manager: its backoff (100 ms and up) outlasts a short
        // `timeout`, so a failed handshake (untrusted certificate...) would only ever show as
        // a timeout, and retrying it at once cannot help. This store retries on its own, at
        // most once a second.
        let tls = matches!(
            self.client.get_connection_info().addr,
            redis::ConnectionAddr::TcpTls { .. }
        );
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(if tls { 0 } else { 1 });
        let manager = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| RedisLimitError::Timeout(self.timeout))??;
        slot.0 = Some(manager.clone());
        Ok(manager)
    }

    async fn forget_connection(&self) {
        self.connection.lock().await.0 = None;
    }

    /// Checks one request against every `(key, limit)`, all-or-nothing, in one round trip.
    pub async fn check(
        &self,
        checks: &[(&str, Gcra)],
    ) -> Result<(bool, Vec<Outcome>), RedisLimitError> {
        let result = self.try_check(checks).await;
        if let Err(e) = &result {
            self.failures.fetch_add(1, Ordering::Relaxed);
            if !matches!(e, RedisLimitError::Unavailable) {
                self.forget_connection().await;
            }
        }
        result
    }

    /// Runs `script` (atomic in Redis, one round trip) over `keys` (prefixed like limit keys)
    /// and `args`, with the same connection, timeout and failure handling as [`Self::check`].
    pub async fn run_script(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[u64],
    ) -> Result<Vec<i64>, RedisLimitError> {
        let result = async {
            let mut connection = self.connection().await?;
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(format!("{}{key}", self.prefix));
            }
            for arg in args {
                invocation.arg(*arg);
            }
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| RedisLimitError::Timeout(self.timeout))?
                .map_err(RedisLimitError::from)
        }
        .await;
        if let Err(e) = &result {
            self.failures.fetch_add(1, Ordering::Relaxed);
            if !matches!(e, RedisLimitError::Unavailable) {
                self.forget_connection().await;
            }
        }
        result
    }

    async fn try_check(
        &self,
        checks: &[(&str, Gcra)],
    ) -> Result<(bool, Vec<Outcome>), RedisLimitError> {
        let mut connection = self.connection().await?;
        let mut invocation = self.script.prepare_invoke();
        for (key, gcra) in checks {
            invocation.key(format!("{}{key}", self.prefix));
            invocation.arg(gcra.interval_us).arg(gcra.burst);
        }
        let answer: Vec<i64> =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| RedisLimitError::Timeout(self.timeout))??;
        let (first, rest) = answer.split_first().ok_or(RedisLimitError::Protocol)?;
        if rest.len() != checks.len() * 4 {
            return Err(RedisLimitError::Protocol);
        }
        let non_negative = |v: i64| u64::try_from(v).unwrap_or(0);
        let outcomes = rest
            .chunks_exact(4)
            .map(|c| match c {
                [allowed, remaining, reset, retry] => Outcome {
                    allowed: *allowed == 1,
                    remaining: non_negative(*remaining),
                    reset_us: non_negative(*reset),
                    retry_after_us: non_negative(*retry),
                },
                _ => Outcome {
                    allowed: false,
                    remaining: 0,
                    reset_us: 0,
                    retry_after_us: 0,
                },
            })
            .collect();
        Ok((*first == 1, outcomes))
    }
}
