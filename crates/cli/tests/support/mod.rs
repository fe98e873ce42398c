//! Shared pieces of the end-to-end tests: the real `portcullis serve` as a child process, an
//! echo upstream on 127.0.0.1, a raw HTTP/1.1 client (raw, so tests can send requests a
//! polite client library would refuse to build), and [`eventually`], the one bounded wait for
//! anything the gateway does asynchronously (a metric, a decision, a log line, a reload).
//!
//! The tests must give the same answer on a loaded 2-core machine (issue 29): never a fixed
//! sleep to wait for something, never a single read of something that may come a moment
//! later, and deadlines generous enough that only a real failure reaches them.
#![allow(dead_code)]

pub mod h2;
pub mod redis;
pub mod store;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for something the gateway does asynchronously, or for an answer,
/// before it fails. Generous on purpose: it only costs time when the test fails anyway, and a
/// debug build on a loaded 2-core machine (load average 7) can be slow by seconds.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How often [`eventually`] probes again.
const POLL: Duration = Duration::from_millis(25);

/// Calls `probe` until it returns `Ok` (its value is returned) or `limit` has passed; then
/// fails the test naming `what` was awaited, how long, and the last thing `probe` saw (its
/// last `Err`). The shared, bounded wait of the end-to-end tests for anything asynchronous.
pub fn eventually<T>(what: &str, limit: Duration, probe: impl FnMut() -> Result<T, String>) -> T {
    eventually_every(what, limit, POLL, probe)
}

/// [`eventually`], probing every `interval` (for probes that do something, such as sending
/// a request, and should not do it too often).
pub fn eventually_every<T>(
    what: &str,
    limit: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let started = Instant::now();
    let mut tries = 0u32;
    loop {
        tries += 1;
        let last = match probe() {
            Ok(value) => return value,
            Err(last) => last,
        };
        if started.elapsed() >= limit {
            panic!(
                "waited {:.1?} ({tries} tries) for {what}; last seen: {last}",
                started.elapsed()
            );
        }
        std::thread::sleep(interval);
    }
}

/// A running `portcullis serve`, killed on drop.
pub struct Gateway {
    child: Child,
    /// The public listener.
    pub addr: SocketAddr,
    /// The admin listener, when configured.
    pub admin: Option<SocketAddr>,
    /// Everything the process wrote to stderr so far (for failure messages).
    pub stderr: Arc<Mutex<String>>,
    /// Set once the process's stderr has ended (so [`Gateway::stderr`] holds all of it).
    stderr_ended: Arc<std::sync::atomic::AtomicBool>,
}

impl Gateway {
    /// Starts `portcullis serve --config <config>` and waits for its "serving on" line (http or
    /// https), which names the ports it bound (configs use port 0, so there is no race for a free port).
    pub fn start(config: &Path) -> Gateway {
        Gateway::start_with_env(config, &[])
    }

    /// [`Gateway::start`] with extra environment variables (secrets for `${VAR}`).
    pub fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Gateway {
        Gateway::start_through(&[], config, env)
    }

    /// [`Gateway::start_with_env`] through a program that executes the gateway in its own
    /// process (`wrapper` then the gateway's command line), such as `prlimit`.
    pub fn start_through(wrapper: &[&str], config: &Path, env: &[(&str, &str)]) -> Gateway {
        let bin = env!("CARGO_BIN_EXE_portcullis");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn,portcullis=info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start portcullis serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // One thread reads every line (the pipe must be drained); it tells the test the
        // addresses on the "serving on" line, and ends with the process's stderr.
        let (serving_tx, serving_rx) = std::sync::mpsc::channel();
        let (sink, ended) = (Arc::clone(&log), Arc::clone(&stderr_ended));
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(addrs) = serving_addrs(&line) {
                    let _ = serving_tx.send(addrs);
                }
            }
            ended.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // Bounded: a gateway that neither serves nor exits fails the test, not hangs it.
        let (addr, admin) = match serving_rx.recv_timeout(PATIENCE) {
            Ok(addrs) => addrs,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "portcullis serve did not start ({}); stderr:\n{}",
                    match e {
                        std::sync::mpsc::RecvTimeoutError::Timeout =>
                            format!("no \"serving on\" line in {PATIENCE:?}"),
                        std::sync::mpsc::RecvTimeoutError::Disconnected => "it exited".to_owned(),
                    },
                    log.lock().unwrap()
                );
            }
        };
        Gateway {
            child,
            addr,
            admin,
            stderr: log,
            stderr_ended,
        }
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGHUP (reload).
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Sends SIGTERM (graceful shutdown) and waits (up to [`PATIENCE`]) for the process to
    /// exit; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal_terminate();
        self.await_exit()
    }

    /// Sends SIGTERM (graceful shutdown) without waiting.
    pub fn signal_terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Stops the process (SIGTERM, waited for) and returns everything it wrote to stderr,
    /// to its end: for checks that something was never logged.
    pub fn stop_and_read_stderr(&mut self) -> String {
        self.terminate();
        eventually("the gateway's stderr to end", PATIENCE, || {
            if self.stderr_ended.load(std::sync::atomic::Ordering::SeqCst) {
                Ok(())
            } else {
                Err("still open".to_owned())
            }
        });
        self.stderr.lock().unwrap().clone()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Fails the test, with the gateway's stderr, when the process has exited.
    pub fn assert_alive(&mut self) {
        assert!(
            self.alive(),
            "gateway exited; stderr:\n{}",
            self.stderr.lock().unwrap()
        );
    }

    /// The value of one series from the admin `/metrics` as it is now (`name` with its labels
    /// as exported, e.g. `x_total{api="store"}`); `Err` saying why when it is not there (yet).
    pub fn metric_now(&self, name: &str, token: &str) -> Result<f64, String> {
        let resp = self.admin("GET", "/metrics", Some(token));
        if resp.status != 200 {
            return Err(format!("/metrics answered {}: {}", resp.status, resp.body));
        }
        resp.body
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .ok_or_else(|| format!("no series {name} in /metrics:\n{}", resp.body))
    }

    /// Waits (up to [`PATIENCE`]) until the series `name` satisfies `wanted`, described by
    /// `want` (e.g. `"== 1"`) for the failure message; returns its value then. Metrics are
    /// counted as the gateway gets to it (a connection cut is counted after the client saw
    /// it closed), so a test reads one through this, not once.
    pub fn await_metric(
        &self,
        name: &str,
        token: &str,
        want: &str,
        wanted: impl Fn(f64) -> bool,
    ) -> f64 {
        eventually(&format!("metric {name} {want}"), PATIENCE, || {
            let value = self.metric_now(name, token)?;
            if wanted(value) {
                Ok(value)
            } else {
                Err(format!("{name} = {value}"))
            }
        })
    }

    /// [`Gateway::await_metric`] for an exact value.
    pub fn await_metric_eq(&self, name: &str, token: &str, value: f64) -> f64 {
        self.await_metric(name, token, &format!("== {value}"), |v| v == value)
    }

    /// Waits (up to [`PATIENCE`]) until the gateway's stderr has a line for which `wanted`
    /// holds (described by `what`); returns that line.
    pub fn await_stderr(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        eventually(&format!("a stderr line {what}"), PATIENCE, || {
            let log = self.stderr.lock().unwrap();
            log.lines()
                .find(|l| wanted(l))
                .map(str::to_owned)
                .ok_or_else(|| format!("stderr so far:\n{log}"))
        })
    }

    /// Waits (up to [`PATIENCE`]) for the process to exit; its exit status.
    pub fn await_exit(&mut self) -> std::process::ExitStatus {
        eventually("portcullis serve to exit", PATIENCE, || {
            match self.child.try_wait() {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".to_owned()),
                Err(e) => Err(format!("cannot wait for it: {e}")),
            }
        })
    }

    /// A request to the public listener.
    pub fn send(&self, raw: &str) -> Resp {
        send(self.addr, raw.as_bytes())
    }

    /// A request to the admin listener with a bearer token.
    /// State-changing calls carry `X-Portcullis-Admin: 1`, as the admin API requires.
    pub fn admin(&self, method: &str, path: &str, token: Option<&str>) -> Resp {
        let mut auth = token
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        if method != "GET" {
            auth.push_str("x-portcullis-admin: 1\r\n");
        }
        send(
            self.admin.expect("admin configured"),
            format!(
                "{method} {path} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n{auth}content-length: 0\r\n\r\n"
            )
                .as_bytes(),
        )
    }

    /// `GET path` on the admin listener with `token`, which must answer 200; its JSON body.
    pub fn admin_json(&self, path: &str, token: &str) -> serde_json::Value {
        let r = self.admin("GET", path, Some(token));
        assert_eq!(r.status, 200, "{path}: {r:?}");
        r.json()
    }
}

/// The endpoint `method path` of an inventory (`GET /api/inventory`'s body), if it is there.
pub fn endpoint<'a>(
    inventory: &'a serde_json::Value,
    method: &str,
    path: &str,
) -> Option<&'a serde_json::Value> {
    inventory["endpoints"]
        .as_array()?
        .iter()
        .find(|e| e["method"] == method && e["path"] == path)
}

/// A log line without its terminal colours (ANSI escape sequences, which end in `m`).
pub fn plain(line: &str) -> String {
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

/// The public and admin addresses on the gateway's "serving on http(s)://... (admin on
/// http://...)" line, when `line` is that line.
fn serving_addrs(line: &str) -> Option<(SocketAddr, Option<SocketAddr>)> {
    let rest = line
        .split("serving on http://")
        .nth(1)
        .or_else(|| line.split("serving on https://").nth(1))?;
    let addr = rest.split_whitespace().next()?.parse().ok()?;
    let admin = rest
        .split("admin on http://")
        .nth(1)
        .map(|a| a.trim_end_matches(')').parse().unwrap());
    Some((addr, admin))
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the JSON-lines decision log at `path` until it holds every request id in `ids`
/// (the log is written by a task of its own, after the answer: waited for up to
/// [`PATIENCE`]), and returns its lines.
pub fn decision_log(path: &Path, ids: &[&str]) -> Vec<serde_json::Value> {
    let what = format!("decisions {ids:?} in {}", path.display());
    eventually(&what, PATIENCE, || {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let missing: Vec<&&str> = ids
            .iter()
            .filter(|id| !lines.iter().any(|d| d["request_id"] == **id))
            .collect();
        if missing.is_empty() {
            Ok(lines)
        } else {
            Err(format!(
                "{missing:?} missing from {} lines:\n{text}",
                lines.len()
            ))
        }
    })
}

/// A response: status, lower-cased headers, body (de-chunked).
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Resp {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends one raw request (it should say `connection: close` or be the only one) and reads the
/// whole response.
pub fn send(addr: SocketAddr, raw: &[u8]) -> Resp {
    send_on(TcpStream::connect(addr).expect("connect"), raw)
}

/// [`send`] on a connection already open (a loopback end of a TLS bridge, for example).
pub fn send_on(mut stream: TcpStream, raw: &[u8]) -> Resp {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(raw).expect("write request");
    let mut bytes = Vec::new();
    // A server may close before reading everything (413): what it answered still counts.
    let _ = stream.read_to_end(&mut bytes);
    parse(&bytes).unwrap_or_else(|| {
        panic!(
            "unparseable response to {:?}: {:?}",
            String::from_utf8_lossy(raw),
            String::from_utf8_lossy(&bytes)
        )
    })
}

fn parse(bytes: &[u8]) -> Option<Resp> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Some(Resp {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}

/// Reads one response (head and `content-length` body) from `stream`, or what came before
/// the connection closed; the connection may be kept alive for more.
pub fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return text,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

/// An upstream on 127.0.0.1 answering every request with 200 and a JSON echo of it
/// (`method`, `uri`, `headers`, `body`), on its own thread and runtime.
pub fn echo_upstream() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(echo);
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

async fn echo(req: axum::extract::Request) -> axum::Json<serde_json::Value> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    axum::Json(serde_json::json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}
