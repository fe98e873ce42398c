//! One inventory for all replicas, through the Redis state backend: each replica adds what it
//! counted since its last push ([`Inventory::take_deltas`]) to one Redis hash per endpoint, in
//! one pipelined batch every flush interval, from a thread of its own (never on the request
//! path nor on the observation dispatcher). Additive counters (requests, status mix and codes,
//! credentials, blocked, byte sums) are added with `HINCRBY`; first seen keeps the least, last
//! seen, the peaks and the largest answer the most; sensitive kinds and query names are
//! fields of their own (a union); the distinct clients' sketch is merged register by register
//! (the maximum of each, as `PFMERGE` does), all in one Lua script per endpoint, so that two
//! replicas pushing at once cannot lose each other's counts.
//!
//! [`Replicas::read`] answers the merged view: every endpoint's hash read back as rows, which
//! [`Inventory::restore`] turns into an inventory (templates folded again there). A replica
//! that cannot reach Redis keeps its deltas for the next push (bounded like the inventory) and
//! its admin API answers its local view; each failure is counted and the outage logged once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::inventory::{Inventory, OpEntry};
use crate::sketch::Distinct;
use crate::stats::Stats;
use crate::store::Rows;

/// The set of endpoint ids (a hash tag keeps every key of the inventory in one cluster slot).
pub const INDEX: &str = "portcullis:{inventory}:endpoints";
/// The prefix of an endpoint's hash.
const ENDPOINT: &str = "portcullis:{inventory}:e:";
/// The most endpoints the shared inventory holds; a push past it is counted in `overflow`.
pub const MAX_ENDPOINTS: usize = 8192;
/// How long one exchange with Redis may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Separates the parts of an endpoint id.
const SEP: char = '\u{1f}';

/// Merges one endpoint's delta: KEYS[1] the index, KEYS[2] the endpoint's hash; ARGV[1] its
/// id, ARGV[2] the most endpoints, ARGV[3] the expiry (ms), ARGV[4] its description (JSON),
/// ARGV[5] the clients' registers, then triples (operation, field, value) where `+` adds, `>`
/// keeps the most, `<` the least and `=` sets.
const MERGE: &str = r"
local idx, key, id = KEYS[1], KEYS[2], ARGV[1]
if redis.call('SISMEMBER', idx, id) == 0 then
  if redis.call('SCARD', idx) >= tonumber(ARGV[2]) then return 0 end
  redis.call('SADD', idx, id)
end
redis.call('HSET', key, 'meta', ARGV[4])
local new = ARGV[5]
if #new > 0 then
  local old = redis.call('HGET', key, 'clients')
  if old and #old == #new then
    local t = {}
    for i = 1, #new do
      local a, b = string.byte(old, i), string.byte(new, i)
      if a > b then t[i] = string.char(a) else t[i] = string.char(b) end
    end
    new = table.concat(t)
  end
  redis.call('HSET', key, 'clients', new)
end
for i = 6, #ARGV, 3 do
  local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == '+' then
    redis.call('HINCRBY', key, f, v)
  else
    local o = redis.call('HGET', key, f)
    if (not o) or op == '=' or (op == '>' and tonumber(v) > tonumber(o))
        or (op == '<' and tonumber(v) < tonumber(o)) then
      redis.call('HSET', key, f, v)
    end
  end
end
redis.call('PEXPIRE', key, ARGV[3])
redis.call('PEXPIRE', idx, ARGV[3])
return 1
";

/// A failure of the shared inventory.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// Redis refused or failed.
    #[error("the shared inventory in Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("the shared inventory in Redis: no answer within {0:?}")]
    Timeout(Duration),
}

/// An endpoint as described in its hash (`meta`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Meta {
    api: String,
    /// The operation id (documented) or none.
    operation: Option<String>,
    method: String,
    /// The declared template (documented) or the path template (undocumented).
    path: String,
}

/// The shared inventory in Redis.
pub struct Replicas {
    client: redis::Client,
    /// Failed pushes and reads so far.
    pub failures: AtomicU64,
    /// Endpoints Redis refused because [`MAX_ENDPOINTS`] were held.
    pub overflow: AtomicU64,
    /// Failing now (the outage is logged once).
    failing: AtomicBool,
    /// Endpoints not updated for this long expire from Redis.
    retention: Duration,
    /// This replica's name for the body schemas it pushes (each replica's are kept apart
    /// and merged on read: a schema is not a sum).
    id: String,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("failures", &self.failures)
            .finish()
    }
}

impl Replicas {
    /// The shared inventory through `client`; endpoints not pushed for `retention` expire.
    pub fn new(client: redis::Client, retention: Duration) -> Replicas {
        Replicas {
            client,
            failures: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            retention,
            id: format!("{}-{}", std::process::id(), crate::clock::now_ms()),
        }
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, ReplicaError> {
        Ok(self.client.get_multiplexed_async_connection().await?)
    }

    /// Adds `rows` (deltas) to the shared inventory, in one pipelined batch.
    pub async fn push(&self, rows: &Rows) -> Result<(), ReplicaError> {
        if rows.0.is_empty() && rows.1.is_empty() {
            return Ok(());
        }
        let work = async {
            let mut conn = self.connection().await?;
            let sha: String = redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(MERGE)
                .query_async(&mut conn)
                .await?;
            let ttl = u64::try_from(self.retention.as_millis()).unwrap_or(u64::MAX);
            let mut pipe = redis::pipe();
            for ((api, op), e) in &rows.0 {
                let id = format!("d{SEP}{api}{SEP}{op}");
                let meta = Meta {
                    api: api.clone(),
                    operation: Some(op.clone()),
                    method: e.method.clone(),
                    path: e.template.clone(),
                };
                let mut args = fields(&e.stats, &self.id);
                args.extend(triple(">", "deprecated", u64::from(e.deprecated)));
                merge_cmd(&mut pipe, &sha, &id, &meta, &e.stats, ttl, args);
            }
            for ((api, method, path), s) in &rows.1 {
                let id = format!("u{SEP}{api}{SEP}{method}{SEP}{path}");
                let meta = Meta {
                    api: api.clone(),
                    operation: None,
                    method: method.clone(),
                    path: path.clone(),
                };
                merge_cmd(&mut pipe, &sha, &id, &meta, s, ttl, fields(s, &self.id));
            }
            let merged: Vec<i64> = pipe.query_async(&mut conn).await?;
            let refused = merged.iter().filter(|&&m| m == 0).count();
            if refused > 0 {
                self.overflow.fetch_add(refused as u64, Ordering::Relaxed);
            }
            Ok::<(), ReplicaError>(())
        };
        let result = match tokio::time::timeout(TIMEOUT, work).await {
            Ok(r) => r,
            Err(_) => Err(ReplicaError::Timeout(TIMEOUT)),
        };
        self.outcome(result, "push")
    }

    /// The merged inventory's rows, as every replica pushed them.
    pub async fn read(&self) -> Result<Rows, ReplicaError> {
        let work = async {
            let mut conn = self.connection().await?;
            let ids: Vec<String> = redis::cmd("SMEMBERS")
                .arg(INDEX)
                .query_async(&mut conn)
                .await?;
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HGETALL").arg(format!("{ENDPOINT}{id}"));
            }
            let hashes: Vec<HashMap<String, Vec<u8>>> = if ids.is_empty() {
                Vec::new()
            } else {
                pipe.query_async(&mut conn).await?
            };
            let mut rows: Rows = (Vec::new(), Vec::new());
            let mut gone = Vec::new();
            for (id, hash) in ids.iter().zip(hashes) {
                match parse(&hash) {
                    Some((meta, stats, deprecated)) => match meta.operation {
                        Some(op) => rows.0.push((
                            (meta.api, op),
                            OpEntry {
                                method: meta.method,
                                template: meta.path,
                                deprecated,
                                stats,
                            },
                        )),
                        None => rows.1.push(((meta.api, meta.method, meta.path), stats)),
                    },
                    // Expired (or not ours): dropped from the index.
                    None => gone.push(id.clone()),
                }
            }
            if !gone.is_empty() {
                redis::cmd("SREM")
                    .arg(INDEX)
                    .arg(gone)
                    .query_async::<()>(&mut conn)
                    .await?;
            }
            Ok::<Rows, ReplicaError>(rows)
        };
        let result = match tokio::time::timeout(TIMEOUT, work).await {
            Ok(r) => r,
            Err(_) => Err(ReplicaError::Timeout(TIMEOUT)),
        };
        self.outcome(result, "read")
    }

    /// Counts a failure and logs an outage once; logs its end.
    fn outcome<T>(&self, result: Result<T, ReplicaError>, what: &str) -> Result<T, ReplicaError> {
        match &result {
            Ok(_) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the shared inventory in Redis is reachable again");
                }
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot {what} the shared inventory; each replica answers its own until Redis does");
                }
            }
        }
        result
    }
}

fn triple(op: &str, field: &str, value: u64) -> [String; 3] {
    [op.to_owned(), field.to_owned(), value.to_string()]
}

/// The operations that add `s` to an endpoint's hash (`replica`: whose body schemas).
fn fields(s: &Stats, replica: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(64);
    for (f, v) in [
        ("requests", s.requests),
        ("status2", s.status[0]),
        ("status3", s.status[1]),
        ("status4", s.status[2]),
        ("status5", s.status[3]),
        ("presented", s.presented),
        ("valid", s.valid),
        ("unauthenticated_2xx", s.unauthenticated_2xx),
        ("blocked", s.blocked),
        ("response_bytes_sum", s.response_bytes_sum),
        ("response_bytes_n", s.response_bytes_n),
    ] {
        if v > 0 {
            out.extend(triple("+", f, v));
        }
    }
    for (f, v) in [
        ("last_ms", s.last_ms),
        ("peak_per_second", s.peak_per_second),
        ("peak_per_minute", s.peak_per_minute),
        ("response_bytes_max", s.response_bytes_max),
    ] {
        out.extend(triple(">", f, v));
    }
    out.extend(triple("<", "first_ms", s.first_ms));
    for (code, n) in &s.codes {
        out.extend(triple("+", &format!("c:{code}"), *n));
    }
    for k in &s.sensitive {
        out.extend(triple("=", &format!("s:{k}"), 1));
    }
    for q in &s.query {
        out.extend(triple("=", &format!("q:{q}"), 1));
    }
    if let Some(b) = &s.bodies {
        out.extend([
            "=".to_owned(),
            format!("b:{replica}"),
            serde_json::to_string(b).unwrap_or_default(),
        ]);
    }
    out
}

fn merge_cmd(
    pipe: &mut redis::Pipeline,
    sha: &str,
    id: &str,
    meta: &Meta,
    s: &Stats,
    ttl: u64,
    args: Vec<String>,
) {
    pipe.cmd("EVALSHA")
        .arg(sha)
        .arg(2)
        .arg(INDEX)
        .arg(format!("{ENDPOINT}{id}"))
        .arg(id)
        .arg(MAX_ENDPOINTS)
        .arg(ttl.max(1))
        .arg(serde_json::to_string(meta).unwrap_or_default())
        .arg(s.clients.bytes())
        .arg(args);
}

/// An endpoint's hash as its description, counters and deprecation; `None` when empty or
/// unreadable.
fn parse(hash: &HashMap<String, Vec<u8>>) -> Option<(Meta, Stats, bool)> {
    let meta: Meta = serde_json::from_slice(hash.get("meta")?).ok()?;
    let num = |f: &str| -> u64 {
        hash.get(f)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let mut s = Stats::default();
    s.requests = num("requests");
    s.status = [
        num("status2"),
        num("status3"),
        num("status4"),
        num("status5"),
    ];
    s.presented = num("presented");
    s.valid = num("valid");
    s.unauthenticated_2xx = num("unauthenticated_2xx");
    s.blocked = num("blocked");
    s.response_bytes_sum = num("response_bytes_sum");
    s.response_bytes_n = num("response_bytes_n");
    s.response_bytes_max = num("response_bytes_max");
    s.first_ms = num("first_ms");
    s.last_ms = num("last_ms");
    s.peak_per_second = num("peak_per_second");
    s.peak_per_minute = num("peak_per_minute");
    if s.requests == 0 {
        return None;
    }
    for field in hash.keys() {
        if let Some(code) = field.strip_prefix("c:").and_then(|c| c.parse().ok()) {
            s.codes.insert(code, num(field));
        } else if let Some(k) = field.strip_prefix("s:") {
            s.sensitive.insert(k.to_owned());
        } else if let Some(q) = field.strip_prefix("q:") {
            s.query.insert(q.to_owned());
        } else if field.starts_with("b:")
            && let Some(b) = hash
                .get(field)
                .and_then(|v| serde_json::from_slice::<crate::schema::Bodies>(v).ok())
        {
            s.bodies.get_or_insert_with(Box::default).merge(&b);
        }
    }
    if let Some(c) = hash.get("clients") {
        s.clients = Distinct::from_bytes(c);
    }
    Some((meta, s, num("deprecated") > 0))
}

/// The merged view: the rows read from Redis plus this replica's deltas not yet pushed, in a
/// fresh inventory over the same APIs.
pub fn merged(local: &Inventory, shared: Rows, pending: Rows) -> Inventory {
    let mut merged = local.empty_like();
    merged.restore(shared.0, shared.1);
    merged.restore(pending.0, pending.1);
    merged
}

/// The pusher thread: every `flush`, the deltas counted since the last push go to Redis;
/// when Redis fails they are kept for the next one.
pub struct Pusher {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pusher {
    /// Starts pushing `inventory`'s deltas through `replicas` every `flush` (and tracking them).
    /// The body copies `sampler` holds are learned before each push: a copy that came after
    /// the last request's observation would otherwise wait for the next request.
    pub fn start(
        replicas: Arc<Replicas>,
        inventory: Arc<Mutex<Inventory>>,
        sampler: Option<Arc<crate::sampling::Sampler>>,
        flush: Duration,
    ) -> std::io::Result<Pusher> {
        if let Ok(mut inv) = inventory.lock() {
            inv.track_deltas();
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("portcullis-inventory-replicas".to_owned())
            .spawn(move || {
                loop {
                    let last = matches!(
                        stopped.recv_timeout(flush),
                        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
                    );
                    let rows = match inventory.lock() {
                        Ok(mut inv) => {
                            if let Some(s) = &sampler {
                                s.drain(&mut inv);
                            }
                            inv.take_deltas()
                        }
                        Err(_) => break,
                    };
                    let pushed = runtime.block_on(replicas.push(&rows));
                    match pushed {
                        Ok(()) => tracing::debug!(
                            endpoints = rows.0.len() + rows.1.len(),
                            "inventory deltas pushed to Redis"
                        ),
                        Err(_) => {
                            if let Ok(mut inv) = inventory.lock() {
                                inv.requeue_deltas(rows);
                            }
                        }
                    }
                    if last {
                        break;
                    }
                }
            })?;
        Ok(Pusher {
            stop,
            thread: Some(thread),
        })
    }

    /// Pushes what is left and stops.
    pub fn finish(mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
#[path = "replicas_tests.rs"]
mod tests;
