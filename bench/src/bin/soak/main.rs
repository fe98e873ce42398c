//! `soak`: mixed load through the real `portcullis serve` for a while, with the process's
//! resident memory sampled into a CSV (issue 28). Run by `bench/soak/run.sh`, which builds the
//! binaries and says which build it measured.
//!
//! The gateway is started on 127.0.0.1 in front of an upstream in this process, with its rate
//! limits in a `redis-server` of its own (`on_failure: local`), the inventory in a SQLite file
//! and the injection checks on. Then, until `--duration` has passed:
//!
//! - benign clients (keep-alive) send documented requests, each of which must be answered 200;
//! - a hostile client sends injection, smuggling, oversized and malformed requests, each of which
//!   must get its known refusal (the table in SECURITY.md), and a smuggled request must never be
//!   answered;
//! - a chaos thread reloads the configuration, alternately a valid one (`SIGHUP`) and an invalid
//!   one (`POST /api/reload`, which must answer 422), and kills Redis (SIGKILL) and starts it
//!   again on the same port;
//! - a sampler writes `elapsed_s,rss_kib,...` (with the requests so far and the decisions the
//!   gateway took without Redis) every `--sample` seconds; the gateway's log goes to
//!   `gateway.log` beside the CSV.
//!
//! It passes (exit 0) when the gateway is alive at the end, no error happened that the run did
//! not cause (an unexpected status, a failed connection on a fresh connection, an `ERROR` or a
//! panic in the gateway's log other than the invalid reloads', a reload-failure count other than
//! the invalid reloads sent), the peak RSS is at most `--max-rss-mib`, and the RSS after the
//! warm-up (the first 10 % of the run) grew by at most `--max-growth-mib` (the mean of the last
//! 10 % of the samples against the mean of the 10 % after the warm-up).

mod procs;
mod traffic;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use procs::{
    Gateway, admin_call, free_port, metric, rss_kib, start_redis, start_upstream, strip_colours,
};
use traffic::{benign, hostile};

pub(crate) const TOKEN: &str = "soak-admin-token-0123456789abcdef";

const SPEC: &str = r#"openapi: 3.0.3
info: { title: soak, version: '1' }
paths:
  /public:
    get:
      operationId: getPublic
      parameters:
        - { name: q, in: query, schema: { type: string, maxLength: 64 } }
        - { name: limit, in: query, schema: { type: integer, maximum: 100 } }
      responses: { '200': { description: ok } }
  /items:
    post:
      operationId: createItem
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                a: { type: integer }
                data: { type: string }
      responses: { '200': { description: ok } }
"#;

/// What the run is told on its command line.
struct Options {
    bin: PathBuf,
    dir: PathBuf,
    csv: PathBuf,
    duration: Duration,
    sample: Duration,
    max_rss_mib: u64,
    max_growth_mib: u64,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        bin: PathBuf::from("target/debug/portcullis"),
        dir: std::env::temp_dir().join("portcullis-soak"),
        csv: PathBuf::from("soak.csv"),
        duration: Duration::from_secs(1800),
        sample: Duration::from_secs(2),
        max_rss_mib: 256,
        max_growth_mib: 32,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let (Some(key), Some(value)) = (pair.first(), pair.get(1)) else {
            bail!(
                "usage: soak [--bin PATH] [--dir DIR] [--csv FILE] [--duration SECS] [--sample SECS] [--max-rss-mib N] [--max-growth-mib N]"
            );
        };
        let number = || {
            value
                .parse::<u64>()
                .with_context(|| format!("{key}: {value:?} is not a whole number"))
        };
        match key.as_str() {
            "--bin" => o.bin = PathBuf::from(value),
            "--dir" => o.dir = PathBuf::from(value),
            "--csv" => o.csv = PathBuf::from(value),
            "--duration" => o.duration = Duration::from_secs(number()?),
            "--sample" => o.sample = Duration::from_secs(number()?.max(1)),
            "--max-rss-mib" => o.max_rss_mib = number()?,
            "--max-growth-mib" => o.max_growth_mib = number()?,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// Counters shared by the threads.
#[derive(Default)]
pub(crate) struct Counts {
    benign: AtomicU64,
    hostile: AtomicU64,
    /// Benign requests retried on a fresh connection after a kept-alive one was closed.
    retried: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_refused: AtomicU64,
    redis_restarts: AtomicU64,
    errors: AtomicU64,
    /// The first few errors, for the report.
    first_errors: Mutex<Vec<String>>,
}

impl Counts {
    pub(crate) fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = self.first_errors.lock()
            && e.len() < 20
        {
            eprintln!("soak: error: {what}");
            e.push(what);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    std::fs::create_dir_all(&o.dir)
        .with_context(|| format!("cannot create {}", o.dir.display()))?;
    let upstream = start_upstream()?;
    let redis_port = free_port()?;
    let mut redis = Some(start_redis(redis_port)?);
    std::fs::write(o.dir.join("spec.yaml"), SPEC)?;
    let config = o.dir.join("gw.yaml");
    write_atomic(&config, &config_text(upstream, redis_port, 100_000, false))?;
    let _ = std::fs::remove_file(o.dir.join("soak.db"));

    let mut gateway = Gateway::start(&o.bin, &config)?;
    let (addr, admin, pid) = (gateway.addr, gateway.admin, gateway.pid());
    println!(
        "soak: gateway pid {pid} on {addr} (admin {admin}), upstream {upstream}, redis port {redis_port}, {} s",
        o.duration.as_secs()
    );
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut threads = Vec::new();
    for worker in 0..2u64 {
        let (c, s) = (counts.clone(), stop.clone());
        threads.push(std::thread::spawn(move || benign(addr, worker, &c, &s)));
    }
    {
        let (c, s) = (counts.clone(), stop.clone());
        threads.push(std::thread::spawn(move || hostile(addr, &c, &s)));
    }

    // The sampler and the chaos run on this thread: one step a second.
    let mut csv = std::fs::File::create(&o.csv)
        .with_context(|| format!("cannot create {}", o.csv.display()))?;
    writeln!(
        csv,
        "elapsed_s,rss_kib,benign,hostile,retried,reloads_ok,reloads_refused,redis_restarts,errors,degraded"
    )?;
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut next_sample = Duration::ZERO;
    let mut tick = 0u64;
    let mut limit = 100_000u32;
    while started.elapsed() < o.duration {
        if !gateway.alive() {
            counts.error("the gateway exited".to_owned());
            break;
        }
        if started.elapsed() >= next_sample {
            let rss = rss_kib(pid).unwrap_or(0);
            let t = started.elapsed().as_secs_f64();
            samples.push((t, rss));
            let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
            // Decisions taken without Redis so far (-1 when /metrics did not answer).
            let degraded =
                metric(admin, "portcullis_ratelimit_degraded_decisions_total").unwrap_or(-1.0);
            writeln!(
                csv,
                "{t:.1},{rss},{},{},{},{},{},{},{},{degraded}",
                l(&counts.benign),
                l(&counts.hostile),
                l(&counts.retried),
                l(&counts.reloads_ok),
                l(&counts.reloads_refused),
                l(&counts.redis_restarts),
                l(&counts.errors)
            )?;
            csv.flush()?;
            next_sample += o.sample;
        }
        tick += 1;
        // Every 10 s a reload, alternately valid and invalid; every 40 s Redis is killed,
        // and started again 3 s later (an outage the limits ride out with `on_failure: local`).
        if tick % 10 == 5 {
            if (tick / 10).is_multiple_of(2) {
                limit = if limit == 100_000 { 100_001 } else { 100_000 };
                write_atomic(&config, &config_text(upstream, redis_port, limit, false))?;
                let answer = admin_call(admin, "POST", "/api/reload");
                match answer {
                    Ok((200, _)) => counts.reloads_ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        counts.error(format!("a valid reload was answered {other:?}"));
                        0
                    }
                };
            } else {
                write_atomic(&config, &config_text(upstream, redis_port, limit, true))?;
                match admin_call(admin, "POST", "/api/reload") {
                    Ok((422, _)) => counts.reloads_refused.fetch_add(1, Ordering::Relaxed),
                    other => {
                        counts.error(format!("an invalid reload was answered {other:?}"));
                        0
                    }
                };
                // The file is whole again before the next signal could read it.
                write_atomic(&config, &config_text(upstream, redis_port, limit, false))?;
            }
        }
        if tick % 40 == 20 {
            if let Some(mut r) = redis.take() {
                let _ = r.kill();
                let _ = r.wait();
            }
        } else if tick % 40 == 23 && redis.is_none() {
            redis = Some(start_redis(redis_port)?);
            counts.redis_restarts.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }

    // What the gateway counted must match what the run caused.
    let refused = counts.reloads_refused.load(Ordering::Relaxed);
    match metric(admin, "portcullis_reload_failures_total") {
        Ok(v) if v == refused as f64 => {}
        other => counts.error(format!(
            "portcullis_reload_failures_total is {other:?}, {refused} invalid reloads were sent"
        )),
    }
    let alive = gateway.alive();
    let log = gateway.stop()?;
    let log_file = o.csv.with_file_name("gateway.log");
    std::fs::write(&log_file, &log)
        .with_context(|| format!("cannot write {}", log_file.display()))?;
    if let Some(mut r) = redis.take() {
        let _ = r.kill();
        let _ = r.wait();
    }
    let mut warnings = std::collections::BTreeMap::<String, u64>::new();
    for line in log.lines() {
        let plain = strip_colours(line);
        // An error the run did not cause: a panic, or an ERROR line other than the invalid
        // reloads'.
        if plain.contains("panicked") || (plain.contains(" ERROR ") && !plain.contains("reload")) {
            counts.error(format!("gateway: {plain}"));
        }
        if plain.contains(" WARN ") || plain.contains(" ERROR ") {
            // The message without its time stamp, cut short: one count per kind of line.
            let kind: String = plain
                .split_once(" WARN ")
                .or_else(|| plain.split_once(" ERROR "))
                .map_or(plain.as_str(), |(_, rest)| rest)
                .trim()
                .chars()
                .take(60)
                .collect();
            *warnings.entry(kind).or_default() += 1;
        }
    }
    report(&o, &samples, &counts, alive, &warnings)
}

/// Prints the figures and decides.
fn report(
    o: &Options,
    samples: &[(f64, u64)],
    counts: &Counts,
    alive: bool,
    warnings: &std::collections::BTreeMap<String, u64>,
) -> anyhow::Result<()> {
    let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mib = |kib: f64| kib / 1024.0;
    let n = samples.len();
    let tenth = (n / 10).max(1);
    let mean = |s: &[(f64, u64)]| {
        if s.is_empty() {
            0.0
        } else {
            s.iter().map(|x| x.1 as f64).sum::<f64>() / s.len() as f64
        }
    };
    let start = samples.first().map_or(0, |s| s.1);
    let end = samples.last().map_or(0, |s| s.1);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let after_warmup = samples.get(tenth..).unwrap_or_default();
    let early = mean(
        after_warmup
            .get(..tenth.min(after_warmup.len()))
            .unwrap_or_default(),
    );
    let late = mean(samples.get(n.saturating_sub(tenth)..).unwrap_or_default());
    let growth = late - early;
    let slope = slope_kib_per_min(after_warmup);
    println!("soak: {} samples in {}", n, o.csv.display());
    println!(
        "soak: requests: {} benign (200), {} hostile (refused as expected), {} benign retried on a fresh connection",
        l(&counts.benign),
        l(&counts.hostile),
        l(&counts.retried)
    );
    println!(
        "soak: chaos: {} valid reloads, {} invalid reloads refused, {} Redis restarts",
        l(&counts.reloads_ok),
        l(&counts.reloads_refused),
        l(&counts.redis_restarts)
    );
    println!(
        "soak: RSS MiB: start {:.1}, peak {:.1}, end {:.1}; after warm-up: {:.1} -> {:.1} (growth {:+.1}, slope {:+.1} KiB/min)",
        mib(start as f64),
        mib(peak as f64),
        mib(end as f64),
        mib(early),
        mib(late),
        mib(growth),
        slope
    );
    for (kind, count) in warnings {
        println!("soak: gateway log: {count} x {kind}");
    }
    let mut failed = Vec::new();
    if !alive {
        failed.push("the gateway was not alive at the end".to_owned());
    }
    if l(&counts.errors) > 0 {
        let first = counts
            .first_errors
            .lock()
            .map(|e| e.join("\n  "))
            .unwrap_or_default();
        failed.push(format!("{} errors:\n  {first}", l(&counts.errors)));
    }
    if peak > o.max_rss_mib * 1024 {
        failed.push(format!(
            "peak RSS {:.1} MiB over the bound {} MiB",
            mib(peak as f64),
            o.max_rss_mib
        ));
    }
    if growth > (o.max_growth_mib * 1024) as f64 {
        failed.push(format!(
            "RSS grew {:.1} MiB after the warm-up, over the bound {} MiB",
            mib(growth),
            o.max_growth_mib
        ));
    }
    if l(&counts.benign) == 0 || l(&counts.hostile) == 0 {
        failed.push("no load was served".to_owned());
    }
    if failed.is_empty() {
        println!(
            "soak: PASS (peak <= {} MiB, growth <= {} MiB, no error)",
            o.max_rss_mib, o.max_growth_mib
        );
        Ok(())
    } else {
        bail!("soak: FAIL: {}", failed.join("; "))
    }
}

/// Least-squares slope of RSS over time, in KiB per minute.
fn slope_kib_per_min(s: &[(f64, u64)]) -> f64 {
    let n = s.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = s.iter().map(|x| x.0).sum::<f64>() / n;
    let my = s.iter().map(|x| x.1 as f64).sum::<f64>() / n;
    let cov: f64 = s.iter().map(|x| (x.0 - mx) * (x.1 as f64 - my)).sum();
    let var: f64 = s.iter().map(|x| (x.0 - mx).powi(2)).sum();
    if var == 0.0 { 0.0 } else { cov / var * 60.0 }
}

/// The gateway's config: limits in Redis, the inventory in SQLite, injection checks on;
/// `broken` names a spec that does not exist (an invalid reload).
fn config_text(upstream: SocketAddr, redis_port: u16, limit: u32, broken: bool) -> String {
    let spec = if broken { "missing.yaml" } else { "spec.yaml" };
    format!(
        r#"server:
  listen: 127.0.0.1:0
  limits: {{ max_body: 64KiB, max_header_bytes: 8KiB, max_headers: 30, max_json_depth: 16, header_timeout: 5s }}
admin: {{ listen: 127.0.0.1:0, token: "{TOKEN}" }}
log: {{ decisions: off }}
state: {{ backend: "redis://127.0.0.1:{redis_port}/", on_failure: local }}
storage: {{ path: soak.db, flush: 1s }}
apis:
  - name: soak
    spec: {spec}
    upstream: http://{upstream}
    rate_limits:
      - {{ key: ip, limit: {limit}, per: 1s }}
    threats: {{ injection: block }}
"#
    )
}

/// Writes `text` to `path` through a rename, so a reload never reads half a file.
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename to {}", path.display()))?;
    Ok(())
}
