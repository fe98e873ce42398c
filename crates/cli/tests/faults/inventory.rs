//! Faults of what only records: the alert webhook down or stalled (a bounded queue, every
//! alert delivered or its drop logged with a count, requests never delayed), and kill -9 while
//! the inventory is being written under traffic (every write the gateway reported is still
//! there after the restart, and the file opens).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::support::{Gateway, PATIENCE, echo_upstream, eventually, plain, send};

pub const TOKEN: &str = "faults-inventory-admin-token-0123456789";

pub const SPEC: &str = r#"openapi: 3.1.0
info: { title: inv, version: "1" }
components:
  securitySchemes: { bearer: { type: http, scheme: bearer } }
paths:
  /public:
    get: { operationId: getPublic, security: [], responses: { "200": { description: ok } } }
  /auth/login:
    post: { operationId: login, security: [{ bearer: [] }], responses: { "200": { description: ok } } }
"#;

/// The log filter of these tests: the inventory writer's `inventory written` lines are debug.
pub const RUST_LOG: &str = "warn,portcullis=info,portcullis_inventory=debug";

/// Writes the spec and a config with `extra` (top-level YAML) in `dir`; the config's path.
pub fn config(dir: &Path, extra: &str) -> PathBuf {
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let path = dir.join("gw.yaml");
    std::fs::write(
        &path,
        format!(
            r#"server: {{ listen: 127.0.0.1:0, trusted_proxies: [127.0.0.1] }}
admin: {{ listen: 127.0.0.1:0, token: "{TOKEN}" }}
log: {{ decisions: off }}
identity:
  jwt:
    - {{ issuer: "https://inv.test", secret: "faults-inventory-hmac-secret-0123456789", algorithms: [HS256] }}
apis:
  - {{ name: inv, spec: spec.yaml, upstream: "http://{}" }}
{extra}"#,
            echo_upstream()
        ),
    )
    .unwrap();
    path
}

pub fn start(config: &Path) -> Gateway {
    Gateway::start_with_env(config, &[("RUST_LOG", RUST_LOG)])
}

/// The `key=N` number of a log line.
pub fn field(line: &str, key: &str) -> Option<u64> {
    plain(line)
        .split(&format!("{key}="))
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The requests of every "inventory written" line so far, in order.
pub fn written(gw: &Gateway) -> Vec<u64> {
    gw.stderr
        .lock()
        .unwrap()
        .lines()
        .filter(|l| l.contains("inventory written"))
        .filter_map(|l| field(l, "requests"))
        .collect()
}

/// The requests of every endpoint of `/api/inventory`, summed.
pub fn inventory_total(gw: &Gateway) -> u64 {
    let r = gw.admin("GET", "/api/inventory", Some(TOKEN));
    assert_eq!(r.status, 200, "{r:?}");
    r.json()["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["requests"].as_u64().unwrap_or(0))
        .sum()
}

/// A failed login (no token: 401) from `client` (through the trusted proxy's
/// `X-Forwarded-For`).
fn failed_login(addr: SocketAddr, client: &str) -> u16 {
    send(
        addr,
        format!(
            "POST /auth/login HTTP/1.1\r\nhost: inv\r\nx-forwarded-for: {client}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .status
}

/// `GET path` on a new connection: its status, `None` when the gateway is gone.
fn try_get(addr: SocketAddr, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(PATIENCE)).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: inv\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).ok()?;
    String::from_utf8_lossy(&bytes)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A webhook that accepts connections and never answers (nor reads): every delivery waits
/// for the sender's 5 s timeout. Returns its address and its accepted connections' count.
fn stalled_webhook() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for s in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (addr, accepted)
}

#[test]
fn a_stalled_webhook_drops_alerts_beyond_its_queue_and_counts_them_never_delaying_requests() {
    let (hook, accepted) = stalled_webhook();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &format!(
            "detect: {{ webhook: \"http://{hook}/alerts\", thresholds: {{ stuffing_failures: 2 }} }}\n"
        ),
    );
    let mut gw = start(&config);
    // 300 clients, each with two failed logins: 300 stuffing alerts, more than the queue's 256
    // while the first delivery hangs.
    const CLIENTS: u32 = 300;
    for i in 0..CLIENTS {
        let client = format!("10.1.{}.{}", i / 250, i % 250 + 1);
        for _ in 0..2 {
            assert_eq!(failed_login(gw.addr, &client), 401);
        }
        if i.is_multiple_of(50) {
            let r = gw.send("GET /public HTTP/1.1\r\nhost: inv\r\nconnection: close\r\n\r\n");
            assert_eq!(
                r.status, 200,
                "a normal request while the webhook hangs: {r:?}"
            );
        }
    }
    // Every alert is kept and shown whatever the webhook does.
    eventually("300 stuffing alerts in /api/alerts", PATIENCE, || {
        let r = gw.admin("GET", "/api/alerts?limit=1000", Some(TOKEN));
        let n = r.json()["alerts"].as_array().map_or(0, |a| {
            a.iter().filter(|a| a["detector"] == "stuffing").count()
        });
        if n >= CLIENTS as usize {
            Ok(())
        } else {
            Err(format!("{n} alerts"))
        }
    });
    // The webhook was tried, and the alerts beyond the queue (256, one more in delivery) were
    // dropped and counted in the log.
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "the webhook was never called"
    );
    let least = u64::from(CLIENTS) - 257;
    let line = gw.await_stderr(&format!("counting at least {least} dropped alerts"), |l| {
        l.contains("alert webhook") && field(l, "dropped").is_some_and(|n| n >= least)
    });
    assert!(plain(&line).contains("queue is full"), "{line}");
    let r = gw.send("GET /public HTTP/1.1\r\nhost: inv\r\nconnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    gw.assert_alive();
}

#[test]
fn a_webhook_that_is_down_gets_its_attempts_then_the_alert_is_dropped_and_logged() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &format!(
            "detect: {{ webhook: \"http://{closed}/alerts\", thresholds: {{ stuffing_failures: 2 }} }}\n"
        ),
    );
    let mut gw = start(&config);
    for _ in 0..2 {
        assert_eq!(failed_login(gw.addr, "10.2.0.1"), 401);
    }
    gw.await_stderr("saying the alert was dropped after its attempts", |l| {
        l.contains("alert webhook") && l.contains("dropped after 4 attempts")
    });
    let r = gw.send("GET /public HTTP/1.1\r\nhost: inv\r\nconnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    gw.assert_alive();
}

#[test]
fn kill_9_during_inventory_writes_keeps_every_reported_write() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        "storage: { path: inventory.db, flush: 100ms }\n",
    );
    let answered = Arc::new(AtomicU64::new(0));
    let mut persisted = 0;
    for round in 0..3 {
        let gw = start(&config);
        // What the last run wrote is what this one starts with.
        let loaded = inventory_total(&gw);
        assert!(
            loaded >= persisted,
            "round {round}: {loaded} requests loaded, {persisted} were reported written before the kill"
        );
        // (Two requests may have been recorded and their answers lost in the kill.)
        assert!(
            loaded <= answered.load(Ordering::SeqCst) + 2,
            "round {round}: more requests loaded ({loaded}) than were ever answered"
        );
        // Traffic, on its own threads, while the writer writes every 100 ms.
        let stop = Arc::new(AtomicBool::new(false));
        let addr = gw.addr;
        let clients: Vec<_> = (0..2)
            .map(|t| {
                let (stop, answered) = (stop.clone(), answered.clone());
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::SeqCst) {
                        i += 1;
                        // Documented and undocumented paths (new rows as well as updates).
                        let path = if i.is_multiple_of(3) {
                            format!("/undocumented/{t}-{i}")
                        } else {
                            "/public".to_owned()
                        };
                        // After the kill, connections fail: that ends nothing but the count.
                        if let Some(status) = try_get(addr, &path) {
                            assert!(status == 200 || status == 404, "{path}: {status}");
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        // Wait for writes of this round's traffic, then kill -9 while it goes on: the kill
        // lands wherever the writer is (between writes or inside a transaction).
        let target = loaded + 40;
        eventually(&format!("a write with {target} requests"), PATIENCE, || {
            let w = written(&gw);
            match w.last() {
                Some(&n) if n >= target => Ok(()),
                last => Err(format!("last written: {last:?}")),
            }
        });
        let reported = written(&gw).into_iter().max().unwrap_or(0);
        drop(gw); // SIGKILL
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().unwrap();
        }
        eprintln!(
            "round {round}: {} answered in all, {reported} reported written before the kill",
            answered.load(Ordering::SeqCst)
        );
        persisted = reported;
    }
    let gw = start(&config);
    let loaded = inventory_total(&gw);
    assert!(
        loaded >= persisted,
        "{loaded} loaded, {persisted} reported written"
    );
    eprintln!(
        "after 3 kills: {loaded} requests kept of {} answered (the rest arrived after the last write)",
        answered.load(Ordering::SeqCst)
    );
}
