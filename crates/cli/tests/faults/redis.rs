//! Redis faults while traffic flows: Redis slow (a TCP proxy of the test delays every command
//! past the gateway's 200 ms budget), answering errors (a fake server answering `-ERR` to
//! every command), and killed and restarted mid-traffic. The gateway must answer every request
//! by `state.on_failure`, count each decision taken without Redis, and go back to Redis on its
//! own when Redis is well again.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::support::redis::Redis;
use super::support::{Gateway, PATIENCE, echo_upstream, eventually};

const TOKEN: &str = "faults-redis-admin-token-0123456789";
const DEGRADED: &str = "portcullis_ratelimit_degraded_decisions_total";

fn start(backend: &str, on_failure: &str) -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spec.yaml"),
        "openapi: 3.0.3\ninfo: { title: r, version: '1' }\npaths:\n  /items:\n    get:\n      operationId: listItems\n      responses: { '200': { description: ok } }\n",
    )
    .unwrap();
    let config = dir.path().join("gw.yaml");
    std::fs::write(
        &config,
        format!(
            r#"server: {{ listen: 127.0.0.1:0 }}
admin: {{ listen: 127.0.0.1:0, token: "{TOKEN}" }}
log: {{ decisions: off }}
state: {{ backend: "{backend}", on_failure: {on_failure} }}
apis:
  - name: r
    spec: spec.yaml
    upstream: http://{upstream}
    rate_limits:
      - {{ key: ip, limit: 100000, per: 1s }}
"#,
            upstream = echo_upstream()
        ),
    )
    .unwrap();
    (Gateway::start(&config), dir)
}

fn get(gw: &Gateway) -> u16 {
    gw.send("GET /items HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n")
        .status
}

/// A TCP proxy to `target` that, while `delay` is non-zero, holds every chunk from the client
/// that long before passing it on.
fn delaying_proxy(target: SocketAddr, delay: Arc<AtomicU64>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let delay = delay.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let ms = delay.load(Ordering::SeqCst);
                    if ms > 0 {
                        std::thread::sleep(Duration::from_millis(ms));
                    }
                    if s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Both);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    addr
}

/// The length of the first whole RESP command (an array of bulk strings, or an inline line)
/// at the start of `buf`, when it is all there.
fn command_len(buf: &[u8]) -> Option<usize> {
    let line_end = |from: usize| {
        buf.get(from..)?
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
    };
    if buf.first() != Some(&b'*') {
        return line_end(0).map(|e| e + 2);
    }
    let end = line_end(0)?;
    let count: usize = std::str::from_utf8(&buf[1..end]).ok()?.parse().ok()?;
    let mut at = end + 2;
    for _ in 0..count {
        let end = line_end(at)?;
        let len: usize = std::str::from_utf8(buf.get(at + 1..end)?)
            .ok()?
            .parse()
            .ok()?;
        at = end + 2 + len + 2;
        if at > buf.len() {
            return None;
        }
    }
    Some(at)
}

/// A fake Redis answering `-ERR` to every command.
fn erring_redis() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(len) = command_len(&pending) {
                        pending.drain(..len);
                        if s.write_all(b"-ERR fault injected by the test\r\n").is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Waits until the gateway decides in Redis: the count of decisions taken without it stays
/// the same over a second of requests (the limit's keys expire at once: 100 000 a second).
fn await_in_redis(gw: &Gateway) {
    let mut last = f64::NAN;
    super::support::eventually_every(
        "decisions taken in Redis (the degraded count standing still)",
        PATIENCE,
        Duration::from_secs(1),
        || {
            for _ in 0..5 {
                get(gw);
            }
            let now = gw.metric_now(DEGRADED, TOKEN)?;
            let standing = now == last;
            last = now;
            if standing {
                Ok(())
            } else {
                Err(format!("{DEGRADED} = {now}"))
            }
        },
    );
}

#[test]
fn a_slow_redis_follows_on_failure_and_is_used_again_when_fast() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let delay = Arc::new(AtomicU64::new(0));
    let proxy = delaying_proxy(
        format!("127.0.0.1:{}", redis.port).parse().unwrap(),
        delay.clone(),
    );
    let (mut gw, _dir) = start(&format!("redis://{proxy}/"), "deny");
    // Fast: decided in Redis (with `deny`, an admitted request was decided there).
    eventually("a request admitted through Redis", PATIENCE, || {
        match get(&gw) {
            200 => Ok(()),
            s => Err(format!("status {s}")),
        }
    });
    // Slow (each command held 1 s, past the 200 ms budget): `deny` refuses, and counts it.
    delay.store(1000, Ordering::SeqCst);
    let before = gw.metric_now(DEGRADED, TOKEN).unwrap_or(0.0);
    eventually(
        "a request refused while Redis is slow",
        PATIENCE,
        || match get(&gw) {
            429 => Ok(()),
            s => Err(format!("status {s}")),
        },
    );
    gw.await_metric(DEGRADED, TOKEN, &format!("> {before}"), |v| v > before);
    gw.assert_alive();
    // Fast again: admitted on its own, without a restart.
    delay.store(0, Ordering::SeqCst);
    eventually(
        "a request admitted once Redis is fast again",
        PATIENCE,
        || match get(&gw) {
            200 => Ok(()),
            s => Err(format!("status {s}")),
        },
    );
    gw.assert_alive();
}

#[test]
fn a_redis_answering_errors_follows_on_failure() {
    let fake = erring_redis();
    let url = format!("redis://{fake}/");
    let (mut deny, _d1) = start(&url, "deny");
    let (mut allow, _d2) = start(&url, "allow");
    let started = std::time::Instant::now();
    const REQUESTS: usize = 20;
    for _ in 0..REQUESTS {
        assert_eq!(get(&deny), 429, "deny: a request admitted without Redis");
        assert_eq!(get(&allow), 200, "allow: a request refused");
    }
    deny.await_metric(DEGRADED, TOKEN, ">= 20", |v| v >= REQUESTS as f64);
    allow.await_metric(DEGRADED, TOKEN, ">= 20", |v| v >= REQUESTS as f64);
    deny.await_stderr("saying the rate-limit state is unavailable", |l| {
        l.contains("rate-limit state unavailable")
    });
    deny.assert_alive();
    allow.assert_alive();
    // Every decision is counted, but the warning is not written per request: the first
    // failure, then at most one line per 10 s (with the count of those not logged).
    let elapsed = started.elapsed();
    let log = deny.stop_and_read_stderr();
    let lines = log
        .lines()
        .filter(|l| l.contains("rate-limit state unavailable"))
        .count();
    let allowed = 2 + usize::try_from(elapsed.as_secs() / 10).unwrap();
    assert!(
        (1..=allowed).contains(&lines),
        "{lines} warnings for {REQUESTS} failed checks in {elapsed:?} (at most {allowed}):\n{log}"
    );
}

#[test]
fn redis_restarted_mid_traffic_loses_no_request() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let port = redis.port;
    let (mut gw, _dir) = start(&redis.url(), "local");
    assert_eq!(get(&gw), 200);
    await_in_redis(&gw);
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let addr = gw.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let r = super::support::send(
                        addr,
                        b"GET /items HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n",
                    );
                    answered.fetch_add(1, Ordering::SeqCst);
                    if r.status != 200 {
                        statuses.push(r.status);
                    }
                }
                statuses
            })
        })
        .collect();
    let answered_by = |n: u64| {
        eventually(&format!("{n} requests answered"), PATIENCE, || {
            let a = answered.load(Ordering::SeqCst);
            if a >= n { Ok(a) } else { Err(format!("{a}")) }
        })
    };
    let start = answered_by(20);
    drop(redis);
    let before = gw.metric_now(DEGRADED, TOKEN).unwrap_or(0.0);
    gw.await_metric(
        DEGRADED,
        TOKEN,
        &format!("> {before} (decided without Redis)"),
        |v| v > before,
    );
    let down = answered_by(start + 50);
    let _redis = Redis::start_on(port);
    // Back in Redis, on its own: decisions are no longer taken without it.
    await_in_redis(&gw);
    answered_by(down + 50);
    stop.store(true, Ordering::SeqCst);
    let refused: Vec<u16> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        refused.is_empty(),
        "requests not answered 200 while Redis restarted (on_failure: local, far under the limit): {refused:?}"
    );
    gw.assert_alive();
}
