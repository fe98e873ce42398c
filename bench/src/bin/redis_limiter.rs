//! Raw throughput of the Redis rate-limit store on loopback (issue #7: goal >= 50,000 checks/s).
//!
//! Starts its own `redis-server` on a free 127.0.0.1 port (no persistence), then drives one
//! `RedisStore` (one multiplexed connection, one Lua round trip per check) from N concurrent
//! tasks for a fixed time, with one limit per check and then with two limits per check (still
//! one round trip). Reports checks/s, p50/p99/p99.9 latency per check, and failures. Run in
//! release: `cargo run --release -p portcullis-bench --bin redis_limiter [TASKS] [SECONDS]`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use portcullis_gateway::ratelimit::Gcra;
use portcullis_gateway::ratelimit::redis::RedisStore;

/// The redis-server child, killed on drop.
struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> anyhow::Result<(Redis, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start redis-server (apt-get install redis-server)")?;
    let redis = Redis(child);
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((redis, port));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("redis-server did not listen on port {port}")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Runs `tasks` tasks for `seconds`, each check covering `limits` limits.
async fn run(
    store: Arc<RedisStore>,
    tasks: usize,
    seconds: u64,
    limits: usize,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let store = Arc::clone(&store);
        handles.push(tokio::spawn(async move {
            // 100 requests/s per client with a burst of 100: most checks admit, some deny.
            let gcra = Gcra::new(100, 1_000_000, 100);
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut i = 0u64;
            while Instant::now() < deadline {
                let names: Vec<String> = (0..limits)
                    .map(|l| format!("bench/{l}|client-{task}-{}", i % 1000))
                    .collect();
                let checks: Vec<(&str, Gcra)> = names.iter().map(|n| (n.as_str(), gcra)).collect();
                let t = Instant::now();
                if store.check(&checks).await.is_err() {
                    failures += 1;
                }
                latencies.push(t.elapsed());
                i += 1;
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for h in handles {
        let (l, f) = h.await?;
        all.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{limits} limit(s)/check, {tasks} tasks, {seconds} s: {} checks = {:.0} checks/s, p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, {failures} failures",
        all.len(),
        all.len() as f64 / elapsed,
        us(percentile(&all, 0.5)),
        us(percentile(&all, 0.99)),
        us(percentile(&all, 0.999)),
    );
    if failures > 0 {
        bail!("{failures} checks failed");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let (_redis, port) = start_redis()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Arc::new(RedisStore::new(
            &format!("redis://127.0.0.1:{port}/"),
            "bench:",
            Duration::from_secs(1),
        )?);
        // Warm up: connect and load the script.
        store
            .check(&[("warmup", Gcra::new(1, 1_000_000, 1))])
            .await?;
        run(Arc::clone(&store), tasks, seconds, 1).await?;
        run(store, tasks, seconds, 2).await
    })
}
