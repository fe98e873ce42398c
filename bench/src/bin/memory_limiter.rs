//! Memory of the in-memory rate-limit store with a million distinct client keys (issue #7).
//!
//! Fills a `MemoryStore` of capacity 1,000,000 with 1,000,000 distinct keys shaped like the
//! gateway's (`api/0|203.0.113.7`), each with a TAT in the future (a one-hour limit, so no
//! entry can be swept), and reports the resident memory before and after (`VmRSS`), bytes per
//! key, and checks/s. Then sends a further 1,000,000 distinct keys into the full store: the
//! store must not grow (the new clients share each shard's overflow bucket), which the run
//! checks and reports. Run in release:
//! `cargo run --release -p portcullis-bench --bin memory_limiter [KEYS]`.

use std::time::Instant;

use anyhow::{Context, bail};
use portcullis_gateway::ratelimit::Gcra;
use portcullis_gateway::ratelimit::memory::MemoryStore;

/// Resident memory of this process in bytes (`VmRSS`).
fn rss_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS in /proc/self/status")?
        .parse()?;
    Ok(kib * 1024)
}

/// A key like the gateway's: limit name, `|`, an IPv4 address.
fn key(i: u64) -> String {
    let [a, b, c, d] = u32::try_from(i % (1 << 32)).unwrap_or(0).to_be_bytes();
    format!("api/0|{}.{}.{}.{}", a.wrapping_add(10), b, c, d)
}

fn main() -> anyhow::Result<()> {
    let keys: u64 = std::env::args()
        .nth(1)
        .map(|k| k.parse())
        .transpose()
        .context("the argument is the number of keys (default 1000000)")?
        .unwrap_or(1_000_000);
    let capacity = usize::try_from(keys)?;
    // One hour per request: every TAT stays in the future for the whole run.
    let limit = Gcra::new(1, 3_600_000_000, 1);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);

    let before = rss_bytes()?;
    let store = MemoryStore::new(capacity);
    let started = Instant::now();
    let mut admitted = 0u64;
    for i in 0..keys {
        let k = key(i);
        if store.check(&[(&k, limit)], i).0 {
            admitted += 1;
        }
    }
    let fill = started.elapsed();
    let after = rss_bytes()?;
    let held = store.len();
    let per_key = after.saturating_sub(before) as f64 / held.max(1) as f64;
    println!(
        "fill: {keys} distinct keys (e.g. {:?}) in {:.2} s = {:.0} checks/s, {admitted} admitted, {held} held, {} overflowed",
        key(keys / 2),
        fill.as_secs_f64(),
        keys as f64 / fill.as_secs_f64(),
        store.overflowed()
    );
    println!(
        "rss: {:.1} MiB before, {:.1} MiB after = {:.1} MiB for {held} keys = {per_key:.0} bytes/key",
        mib(before),
        mib(after),
        mib(after.saturating_sub(before))
    );

    // Overflow: as many new distinct clients again, into the full store.
    let started = Instant::now();
    let mut admitted = 0u64;
    for i in keys..2 * keys {
        let k = key(i);
        if store.check(&[(&k, limit)], keys + i).0 {
            admitted += 1;
        }
    }
    let overflow = started.elapsed();
    let grown = rss_bytes()?;
    println!(
        "overflow: {keys} more distinct keys in {:.2} s: {} held (capacity {capacity} + 64 overflow buckets), {} overflowed, {admitted} admitted, rss {:.1} MiB (+{:.1} MiB)",
        overflow.as_secs_f64(),
        store.len(),
        store.overflowed(),
        mib(grown),
        mib(grown.saturating_sub(after))
    );
    // Each shard holds ceil(capacity / 64) keys plus its overflow bucket.
    let bound = (capacity.div_ceil(64).max(2) + 1) * 64;
    if store.len() > bound {
        bail!("the store grew past its bound: {} > {bound}", store.len());
    }
    Ok(())
}
