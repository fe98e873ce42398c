//! `traffic_replay`: labelled benign and attack traffic through the real `portcullis serve` in
//! front of the demo bank, with the anomaly detectors on (issue 25's measure).
//!
//! Ten benign clients (127.0.0.10-19, each its own address) use the bank for the whole run: their
//! own profile and accounts, searches, a mistyped path now and then (404), a mistyped password
//! retried. From the third second, one client per attack kind (127.0.0.50-54) attacks:
//! credential stuffing, enumeration of other users' accounts (BOLA scraping), scanning for
//! undocumented paths, a request-rate spike, and bulk reading (exfiltration). The harness
//! prints, per attack kind, how many attack requests and seconds it took until the alert (from
//! `/api/alerts`: the alert's time against the attack's requests), and every alert or ban that
//! hit a benign client. Goal: every attack alerted within 20 requests or 30 seconds; nothing on a
//! benign client.
//!
//! ```sh
//! cargo build -p portcullis && cargo run -p portcullis-bench --bin traffic_replay
//! PORTCULLIS_BIN=target/release/portcullis cargo run -p portcullis-bench --release --bin traffic_replay
//! ```

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const ADMIN_TOKEN: &str = "traffic-replay-admin-token-0123456789";
/// How long the benign clients run.
const RUN: Duration = Duration::from_secs(40);
/// How long an attack may take before it counts as missed.
const ATTACK_LIMIT: Duration = Duration::from_secs(30);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}

/// One request from `from`, `connection: close`; the status (0 when it failed).
async fn send(from: IpAddr, to: SocketAddr, raw: String) -> u16 {
    let attempt = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        let mut stream = socket.connect(to).await?;
        stream.write_all(raw.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Ok(answer)) => String::from_utf8_lossy(&answer)
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

fn get(path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nhost: bank\r\nconnection: close\r\n{auth}\r\n")
}

fn login(user: &str, password: &str) -> String {
    let body = format!("{{\"username\":\"{user}\",\"password\":\"{password}\"}}");
    format!(
        "POST /auth/login HTTP/1.1\r\nhost: bank\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The gateway, started on free ports; its public and admin addresses.
fn start_gateway(
    bin: &PathBuf,
    config: &PathBuf,
    demo: &portcullis_demo::Running,
) -> anyhow::Result<(std::process::Child, SocketAddr, SocketAddr)> {
    let mut child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        .env("GATEWAY_PORT", "0")
        .env("ADMIN_PORT", "0")
        .env("BANK_PORT", demo.bank.port().to_string())
        .env("IDP_PORT", demo.idp.port().to_string())
        .env("PORTCULLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("DECISION_LOG", "off")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let line = loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("serving on http://") => break l,
            Some(Ok(_)) => {}
            _ => bail!("the gateway did not start"),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let mut addrs = line.split("http://").skip(1).filter_map(|s| {
        s.trim_end_matches(')')
            .split_whitespace()
            .next()?
            .trim_end_matches(')')
            .parse()
            .ok()
    });
    let public = addrs.next().context("no public address")?;
    let admin = addrs.next().context("no admin address")?;
    Ok((child, public, admin))
}

async fn alerts(admin: SocketAddr) -> Vec<serde_json::Value> {
    let raw = format!(
        "GET /api/alerts?limit=1000 HTTP/1.1\r\nhost: admin\r\nconnection: close\r\nauthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    );
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(admin).await?;
        stream.write_all(raw.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let Ok(Ok(answer)) = tokio::time::timeout(Duration::from_secs(10), attempt).await else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&answer);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| field(&v, "alerts").as_array().cloned())
        .unwrap_or_default()
}

/// The requests one attack sends, by index.
fn attack_request(kind: &str, i: usize, token: &str) -> String {
    match kind {
        "stuffing" => login(&format!("user{i}"), "password1"),
        "enumeration" => get(&format!("/users/user{}/accounts", 1000 + i), Some(token)),
        "scanning" => {
            const PATHS: [&str; 8] = [
                ".env",
                "admin.php",
                "wp-login.php",
                "phpinfo.php",
                ".git/config",
                "server-status",
                "backup.zip",
                "actuator/env",
            ];
            get(
                &format!(
                    "/{}{}",
                    i,
                    PATHS.get(i % PATHS.len()).copied().unwrap_or("x")
                ),
                None,
            )
        }
        "spike" => get("/users/me", Some(token)),
        _ => get("/users/me", Some(token)),
    }
}

fn main() -> anyhow::Result<()> {
    let bin = std::env::var_os("PORTCULLIS_BIN").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/debug/portcullis"
            ))
        },
        PathBuf::from,
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let demo = runtime.block_on(portcullis_demo::start(None, None))?;
    let dir = std::env::temp_dir().join(format!("traffic-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let examples = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo"));
    // The demo's config with this bench's `detect` in place of the demo's own.
    let demo_config: String = std::fs::read_to_string(examples.join("portcullis.yaml"))?
        .lines()
        .filter(|l| !l.starts_with("detect:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = demo_config.replace(
        "spec: bank.yaml",
        &format!("spec: {}", examples.join("bank.yaml").display()),
    ) + "detect: { ban: 10m, ban_on: [stuffing, enumeration, scanning], thresholds: { exfiltration_bytes: 128KiB } }\n";
    let config_path = dir.join("gw.yaml");
    std::fs::write(&config_path, config)?;
    let (mut child, public, admin) = start_gateway(&bin, &config_path, &demo)?;
    let issuer = demo.issuer.clone();
    let sign = |sub: &str| issuer.sign(sub, &["profile:read", "accounts:read"], 3600);
    let tokens = (sign("alice")?, sign("bob")?);
    let result = runtime.block_on(async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        // Benign clients.
        for c in 0..10u8 {
            let token = if c % 2 == 0 {
                tokens.0.clone()
            } else {
                tokens.1.clone()
            };
            let user = if c % 2 == 0 { "alice" } else { "bob" };
            tasks.push(tokio::spawn(async move {
                let me = ip(10 + c);
                let _ = send(me, public, login(user, &format!("{user}-demo-pw-typo"))).await;
                let _ = send(me, public, login(user, &format!("{user}-demo-pw"))).await;
                let mut i = 0u32;
                while started.elapsed() < RUN {
                    let raw = match i % 5 {
                        0 => get("/users/me", Some(&token)),
                        1 => get(&format!("/users/{user}/accounts"), Some(&token)),
                        2 => get("/accounts/search?q=sav", Some(&token)),
                        3 if i % 20 == 3 => get("/user/me", Some(&token)),
                        _ => get("/users/me", Some(&token)),
                    };
                    if send(me, public, raw.clone()).await >= 500 {
                        let _ = send(me, public, raw).await;
                    }
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(400)).await;
                }
            }));
        }
        // Attacks, one client each.
        let kinds = [
            "stuffing",
            "enumeration",
            "scanning",
            "spike",
            "exfiltration",
        ];
        let sent: Arc<Mutex<Vec<Sent>>> = Arc::new(Mutex::new(Vec::new()));
        tokio::time::sleep(Duration::from_secs(3)).await;
        for (k, kind) in kinds.into_iter().enumerate() {
            let token = tokens.1.clone();
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                let me = ip(50 + u8::try_from(k).unwrap_or(0));
                let start = now_ms();
                let mut times = Vec::new();
                let began = Instant::now();
                let mut i = 0;
                // Paced attacks: 20 requests a second (the spike and bulk reads: 200).
                let pace = match kind {
                    "spike" | "exfiltration" => Duration::from_millis(5),
                    _ => Duration::from_millis(50),
                };
                while began.elapsed() < ATTACK_LIMIT && i < 2000 {
                    times.push(now_ms());
                    let status = send(me, public, attack_request(kind, i, &token)).await;
                    if std::env::var_os("TRAFFIC_DEBUG").is_some() && i < 20 {
                        eprintln!("{kind} {i} {status}");
                    }
                    i += 1;
                    tokio::time::sleep(pace).await;
                }
                if let Ok(mut s) = sent.lock() {
                    s.push((kind.to_owned(), me.to_string(), start, times));
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let alerts = alerts(admin).await;
        let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
        Ok::<_, anyhow::Error>((alerts, sent))
    });
    let _ = child.kill();
    let _ = child.wait();
    runtime.block_on(demo.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
    let (alerts, sent) = result?;
    println!("attack        client       requests to alert  seconds to alert  figure");
    let mut all_good = true;
    for (kind, client, start, times) in &sent {
        let alert = alerts.iter().rev().find(|a| {
            field(a, "client") == client.as_str() && field(a, "detector") == kind.as_str()
        });
        let at = alert
            .and_then(|a| field(a, "ts").as_str())
            .and_then(time_ms);
        match (alert, at) {
            (Some(a), Some(at)) => {
                let n = times.iter().filter(|t| **t <= at).count();
                let secs = at.saturating_sub(*start) as f64 / 1000.0;
                let ok = n <= 20 || secs <= 30.0;
                all_good &= ok;
                println!(
                    "{kind:13} {client:12} {n:>17}  {secs:>16.2}  {} = {} (threshold {}){}",
                    field(a, "figure").as_str().unwrap_or("-"),
                    field(a, "value"),
                    field(a, "threshold"),
                    if ok { "" } else { "  MISSED GOAL" }
                );
            }
            _ => {
                all_good = false;
                println!(
                    "{kind:13} {client:12} {:>17}  {:>16}  no alert",
                    times.len(),
                    "-"
                );
            }
        }
    }
    let benign: Vec<_> = alerts
        .iter()
        .filter(|a| {
            field(a, "client")
                .as_str()
                .and_then(|c| c.rsplit('.').next()?.parse::<u8>().ok())
                .is_some_and(|n| (10..20).contains(&n))
        })
        .collect();
    println!(
        "benign clients: 10, alerts on them: {}, bans of them: {}",
        benign.len(),
        benign.iter().filter(|a| field(a, "banned") == true).count()
    );
    for a in &benign {
        println!("  benign alert: {}", field(a, "message"));
    }
    if !all_good || !benign.is_empty() {
        bail!("the goal was not met");
    }
    Ok(())
}

/// One attack: its kind, client, start (ms) and the time each request was sent (ms).
type Sent = (String, String, u64, Vec<u64>);

/// A member of a JSON object (null when absent).
fn field<'a>(v: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    v.get(key).unwrap_or(&serde_json::Value::Null)
}

/// An RFC 3339 time (`2026-12-07T01:00:00.123Z`) in ms since the epoch.
fn time_ms(ts: &str) -> Option<u64> {
    let (date, time) = ts.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from((((days * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms).ok()
}
