//! Shared pieces of the end-to-end tests: the real `portcullis serve` as a child process, an
//! echo upstream on 127.0.0.1, and a raw HTTP/1.1 client (raw, so tests can send requests a
//! polite client library would refuse to build).
#![allow(dead_code)]

pub mod h2;
pub mod redis;
pub mod store;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `portcullis serve`, killed on drop.
pub struct Gateway {
    child: Child,
    /// The public listener.
    pub addr: SocketAddr,
    /// The admin listener, when configured.
    pub admin: Option<SocketAddr>,
    /// Everything the process wrote to stderr so far (for failure messages).
    pub stderr: Arc<Mutex<String>>,
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
        let mut lines = BufReader::new(stderr).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let mut addrs = None;
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            log.lock().unwrap().push_str(&format!("{line}\n"));
            let serving = line
                .split("serving on http://")
                .nth(1)
                .or_else(|| line.split("serving on https://").nth(1));
            if let Some(rest) = serving {
                let addr = rest.split_whitespace().next().unwrap().parse().unwrap();
                let admin = rest
                    .split("admin on http://")
                    .nth(1)
                    .map(|a| a.trim_end_matches(')').parse().unwrap());
                addrs = Some((addr, admin));
                break;
            }
        }
        let Some((addr, admin)) = addrs else {
            let _ = child.kill();
            panic!(
                "portcullis serve did not start; stderr:\n{}",
                log.lock().unwrap()
            );
        };
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        Gateway {
            child,
            addr,
            admin,
            stderr: log,
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

    /// Sends SIGTERM (graceful shutdown) and waits for the process to exit; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal_terminate();
        self.child.wait().expect("wait for portcullis serve")
    }

    /// Sends SIGTERM (graceful shutdown) without waiting.
    pub fn signal_terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; its exit status, `None` if still running.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
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

    /// The value of one unlabelled metric from the admin `/metrics`.
    pub fn metric(&self, name: &str, token: &str) -> f64 {
        let resp = self.admin("GET", "/metrics", Some(token));
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in:\n{}", resp.body))
    }

    /// A request to the public listener.
    pub fn send(&self, raw: &str) -> Resp {
        send(self.addr, raw.as_bytes())
    }

    /// A request to the admin listener with a bearer token.
    pub fn admin(&self, method: &str, path: &str, token: Option<&str>) -> Resp {
        let auth = token
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        send(
            self.admin.expect("admin configured"),
            format!(
                "{method} {path} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n{auth}content-length: 0\r\n\r\n"
            )
                .as_bytes(),
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the JSON-lines decision log at `path` until it holds every request id in `ids`
/// (bounded wait), and returns its lines.
pub fn decision_log(path: &Path, ids: &[&str]) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if ids
            .iter()
            .all(|id| lines.iter().any(|d| d["request_id"] == *id))
        {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "the decision log never held every request: {}",
        path.display()
    );
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
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
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
