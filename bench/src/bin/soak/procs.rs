//! The processes of the soak and what it reads from them: the gateway, redis-server, the
//! upstream in this process, the gateway's RSS and metrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::TOKEN;
use crate::traffic::exchange;

/// The resident set size of `pid` in KiB (`VmRSS`).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts redis-server on `port` (no persistence) and waits, bounded, for its `PONG`.
pub(crate) fn start_redis(port: u16) -> anyhow::Result<Child> {
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
pub(crate) fn admin_call(
    admin: SocketAddr,
    method: &str,
    path: &str,
) -> Result<(u16, String), String> {
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\nauthorization: Bearer {TOKEN}\r\nx-portcullis-admin: 1\r\ncontent-length: 0\r\n\r\n"
    );
    let mut conn = None;
    exchange(&mut conn, admin, raw.as_bytes())
}

/// The value of the metric series `name` (without labels) from the admin `/metrics`.
pub(crate) fn metric(admin: SocketAddr, name: &str) -> Result<f64, String> {
    let (_, body) = admin_call(admin, "GET", "/metrics")?;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .ok_or_else(|| format!("no {name} in /metrics"))
}

pub(crate) fn strip_colours(line: &str) -> String {
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
pub(crate) fn start_upstream() -> anyhow::Result<SocketAddr> {
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
pub(crate) struct Gateway {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) admin: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Gateway {
    pub(crate) fn start(bin: &Path, config: &Path) -> anyhow::Result<Gateway> {
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, waits for the exit (bounded) and returns the whole log.
    pub(crate) fn stop(&mut self) -> anyhow::Result<String> {
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
