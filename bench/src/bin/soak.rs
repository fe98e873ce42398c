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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const TOKEN: &str = "soak-admin-token-0123456789abcdef";

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
struct Counts {
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
    fn error(&self, what: String) {
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
            let degraded = metric(admin, "portcullis_ratelimit_degraded_decisions").unwrap_or(-1.0);
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

/// Benign clients: documented requests on a kept-alive connection, each answered 200.
fn benign(addr: SocketAddr, worker: u64, counts: &Counts, stop: &AtomicBool) {
    let mut conn: Option<TcpStream> = None;
    let mut i = worker * 1_000_000;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let raw = if i.is_multiple_of(2) {
            format!(
                "GET /public?q=item{i}&limit={} HTTP/1.1\r\nhost: soak\r\n\r\n",
                i % 100
            )
        } else {
            let body = format!("{{\"a\":{i},\"data\":\"note {i}\"}}");
            format!(
                "POST /items HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let reused = conn.is_some();
        let mut answer = exchange(&mut conn, addr, raw.as_bytes());
        if answer.is_err() && reused {
            // A kept-alive connection may be closed by the server as the request is sent (as
            // any HTTP client, retry once on a fresh one).
            counts.retried.fetch_add(1, Ordering::Relaxed);
            conn = None;
            answer = exchange(&mut conn, addr, raw.as_bytes());
        }
        match answer {
            Ok((200, _)) => {
                counts.benign.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                conn = None;
                counts.error(format!("benign request {i} answered {other:?}"));
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One request on `conn` (opened when `None`); the status and body. The connection is kept
/// unless the answer said `connection: close`.
fn exchange(
    conn: &mut Option<TcpStream>,
    addr: SocketAddr,
    raw: &[u8],
) -> Result<(u16, String), String> {
    if conn.is_none() {
        let s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        *conn = Some(s);
    }
    let Some(stream) = conn.as_mut() else {
        return Err("no connection".to_owned());
    };
    let result = stream
        .write_all(raw)
        .map_err(|e| format!("write: {e}"))
        .and_then(|()| read_one(stream));
    match &result {
        Ok((_, close, _)) if !*close => {}
        _ => *conn = None,
    }
    result.map(|(status, _, body)| (status, body))
}

/// Reads one response (`content-length` or chunked body): status, whether the server closes,
/// body.
fn read_one(stream: &mut TcpStream) -> Result<(u16, bool, String), String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head =
                String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).to_ascii_lowercase();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("no status in {head:?}"))?;
            let close = head.contains("connection: close");
            let body_start = end + 4;
            if head.contains("transfer-encoding: chunked") {
                loop {
                    let body = buf.get(body_start..).unwrap_or_default();
                    if find(body, b"0\r\n\r\n").is_some() {
                        return Ok((status, close, String::from_utf8_lossy(body).into_owned()));
                    }
                    let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
                    if n == 0 {
                        return Err("closed inside a chunked body".to_owned());
                    }
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
            }
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < body_start + length {
                let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err("closed inside a body".to_owned());
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            let body = buf.get(body_start..body_start + length).unwrap_or_default();
            return Ok((status, close, String::from_utf8_lossy(body).into_owned()));
        }
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("closed after {} bytes", buf.len()));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The hostile requests and the status each must get (SECURITY.md's hostile-input table).
fn hostile_cases(i: u64) -> Vec<(&'static str, Vec<u8>, u16)> {
    let big_header = "a".repeat(16 * 1024);
    let bomb = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let xss = r#"{"a":1,"data":"<script>alert(document.cookie)</script>"}"#;
    vec![
        (
            "sqli",
            b"GET /public?q=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n".to_vec(),
            403,
        ),
        (
            "xss",
            format!("POST /items HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{xss}", xss.len()).into_bytes(),
            403,
        ),
        (
            "two content-lengths",
            b"POST /items HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: 7\r\ncontent-length: 8\r\n\r\n{\"a\":1}".to_vec(),
            400,
        ),
        (
            "oversized header",
            format!("GET /public HTTP/1.1\r\nhost: soak\r\nconnection: close\r\nx-big: {big_header}\r\n\r\n").into_bytes(),
            431,
        ),
        (
            "oversized body",
            b"POST /items HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 131072\r\n\r\n[1,2,3]".to_vec(),
            413,
        ),
        (
            "JSON bomb",
            format!("POST /items HTTP/1.1\r\nhost: soak\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{bomb}", bomb.len()).into_bytes(),
            400,
        ),
        (
            "dot segments",
            b"GET /public/%2e%2e/admin HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n".to_vec(),
            404,
        ),
        (
            "above the root",
            b"GET /../admin HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n".to_vec(),
            400,
        ),
        (
            "undocumented",
            format!("GET /admin/{} HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n", i % 100_000).into_bytes(),
            404,
        ),
    ]
}

/// The hostile client: each case on a fresh connection, about 20 a second, plus a CL+TE
/// smuggling attempt whose hidden request must never be answered.
fn hostile(addr: SocketAddr, counts: &Counts, stop: &AtomicBool) {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let cases = hostile_cases(i);
        let pick = usize::try_from(i).unwrap_or(0) % (cases.len() + 1);
        match cases.get(pick) {
            Some((name, raw, want)) => {
                let mut conn = None;
                match exchange(&mut conn, addr, raw) {
                    Ok((status, _)) if status == *want => {
                        counts.hostile.fetch_add(1, Ordering::Relaxed);
                    }
                    other => counts.error(format!("hostile {name}: want {want}, got {other:?}")),
                }
            }
            None => match smuggle(addr) {
                Ok(()) => {
                    counts.hostile.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => counts.error(format!("hostile smuggling: {e}")),
            },
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `Content-Length` and `Transfer-Encoding: chunked` together with a request hidden after the
/// chunked body: one answer (200, the chunked body read), then the connection ends.
fn smuggle(addr: SocketAddr) -> Result<(), String> {
    let raw = b"POST /items HTTP/1.1\r\nhost: soak\r\ncontent-type: application/json\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nhost: soak\r\n\r\n";
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    s.write_all(raw).map_err(|e| format!("write: {e}"))?;
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    let answers = text.matches("HTTP/1.1 ").count();
    if answers == 1 && text.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{answers} answers: {text:?}"))
    }
}

/// The resident set size of `pid` in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts redis-server on `port` (no persistence) and waits, bounded, for its `PONG`.
fn start_redis(port: u16) -> anyhow::Result<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start redis-server (apt-get install redis-server)")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 8];
            if s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok_and(|n| n > 0) {
                return Ok(child);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    bail!("redis-server on port {port} did not answer PING in 30 s")
}

/// One admin call with the token; status and body.
fn admin_call(admin: SocketAddr, method: &str, path: &str) -> Result<(u16, String), String> {
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\nauthorization: Bearer {TOKEN}\r\nx-portcullis-admin: 1\r\ncontent-length: 0\r\n\r\n"
    );
    let mut conn = None;
    exchange(&mut conn, admin, raw.as_bytes())
}

/// The value of the metric series `name` (without labels) from the admin `/metrics`.
fn metric(admin: SocketAddr, name: &str) -> Result<f64, String> {
    let (_, body) = admin_call(admin, "GET", "/metrics")?;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .ok_or_else(|| format!("no {name} in /metrics"))
}

fn strip_colours(line: &str) -> String {
    let mut out = String::new();
    let mut escape = false;
    for c in line.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (false, c) => out.push(c),
            (true, 'm') => escape = false,
            (true, _) => {}
        }
    }
    out
}

/// The upstream: HTTP/1.1 answering every request 200 with a small JSON body.
fn start_upstream() -> anyhow::Result<SocketAddr> {
    use http_body_util::{BodyExt, Full};
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        |req: hyper::Request<hyper::body::Incoming>| async move {
                            let _ = req.into_body().collect().await;
                            let mut r = hyper::Response::new(Full::new(bytes::Bytes::from_static(
                                b"{\"ok\":true}",
                            )));
                            r.headers_mut().insert(
                                hyper::header::CONTENT_TYPE,
                                hyper::header::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, std::convert::Infallible>(r)
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    Ok(addr)
}

/// The gateway under test, killed on drop.
struct Gateway {
    child: Child,
    addr: SocketAddr,
    admin: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Gateway {
    fn start(bin: &Path, config: &Path) -> anyhow::Result<Gateway> {
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn,portcullis=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stderr = child.stderr.take().context("stderr is piped")?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving on http://").nth(1) {
                    let _ = tx.send(rest.to_owned());
                }
                if let Ok(mut l) = sink.lock() {
                    // Bounded: the run's log is checked for errors, not kept whole.
                    if l.len() < 64 << 20 {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            }
        });
        let Ok(rest) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let text = log.lock().map(|l| l.clone()).unwrap_or_default();
            bail!("the gateway did not start in 60 s:\n{text}");
        };
        let addr = rest
            .split_whitespace()
            .next()
            .and_then(|a| a.parse().ok())
            .context("no address on the serving line")?;
        let admin = rest
            .split("admin on http://")
            .nth(1)
            .and_then(|a| a.trim_end_matches(')').parse().ok())
            .context("no admin address on the serving line")?;
        Ok(Gateway {
            child,
            addr,
            admin,
            log,
            reader: Some(reader),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, waits for the exit (bounded) and returns the whole log.
    fn stop(&mut self) -> anyhow::Result<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline && self.alive() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        Ok(self.log.lock().map(|l| l.clone()).unwrap_or_default())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
