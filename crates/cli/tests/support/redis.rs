//! A real `redis-server` for end-to-end tests: its own process on a free loopback port, no
//! persistence, killed on drop; tests skip (saying so) when it is not installed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{PATIENCE, eventually};

/// A `redis-server` child on a loopback port, killed on drop.
pub struct Redis {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Redis {
    /// Starts redis-server on a free port and waits (bounded) for its `PONG`; `None`, after
    /// printing why, when redis-server is not installed.
    pub fn start_or_skip() -> Option<Redis> {
        if !installed() {
            // CI installs redis-server (.ci/packages): a skip there would hide a lost test.
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed and CI=true: the test cannot be skipped in CI"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        Some(Redis::start_on(port))
    }

    /// Starts redis-server on `port` (e.g. again on the port of one a test killed) and waits
    /// (bounded) for its `PONG`.
    pub fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis { child, port };
        redis.wait_ready();
        redis
    }

    fn wait_ready(&self) {
        let what = format!("redis-server to answer PING on port {}", self.port);
        eventually(&what, PATIENCE, || {
            self.pong()
                .then_some(())
                .ok_or_else(|| "no PONG".to_owned())
        });
    }

    /// True when it answers `PING` on its plain port.
    fn pong(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 16];
        s.write_all(b"PING\r\n").is_ok()
            && s.read(&mut buf)
                .is_ok_and(|n| buf.get(..n).is_some_and(|b| b.starts_with(b"+PONG")))
    }

    /// Starts redis-server on a free port and, with TLS, on a second one (returned): it
    /// presents `cert`/`key` and requires client certificates signed by `ca`. `None`, after
    /// printing why, when redis-server is not installed or cannot do TLS.
    pub fn start_tls_or_skip(cert: &Path, key: &Path, ca: &Path) -> Option<(Redis, u16)> {
        if !installed() {
            return None;
        }
        let free = || {
            TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free loopback port")
        };
        let (port, tls_port) = (free(), free());
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--tls-port", &tls_port.to_string()])
            .arg("--tls-cert-file")
            .arg(cert)
            .arg("--tls-key-file")
            .arg(key)
            .arg("--tls-ca-cert-file")
            .arg(ca)
            .args([
                "--tls-auth-clients",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let mut redis = Redis { child, port };
        let what = format!("redis-server (TLS) to answer PING on port {port}, or to exit");
        let exited = eventually(&what, PATIENCE, || {
            if redis.pong() {
                return Ok(None);
            }
            match redis.child.try_wait() {
                Ok(Some(status)) => Ok(Some(status)),
                _ => Err("no PONG, still running".to_owned()),
            }
        });
        if let Some(status) = exited {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server cannot serve TLS (it exited: {status}) and CI=true: the test \
                 cannot be skipped in CI"
            );
            eprintln!("skipped: redis-server cannot serve TLS here (it exited: {status})");
            return None;
        }
        Some((redis, tls_port))
    }

    /// Waits (up to [`PATIENCE`]) until `KEYS pattern` names a key containing `needle`
    /// (a key written by the gateway); returns the answer.
    pub fn await_key(&self, pattern: &str, needle: &str) -> String {
        let what = format!("a Redis key {needle} (KEYS {pattern})");
        eventually(&what, PATIENCE, || {
            let keys = self.command(&format!("KEYS {pattern}"));
            if keys.contains(needle) {
                Ok(keys)
            } else {
                Err(keys)
            }
        })
    }

    /// Sends one inline command on the plain port; the raw answer.
    pub fn command(&self, line: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned()
    }

    /// Its URL (`redis://127.0.0.1:<port>/`).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// True when redis-server is installed; otherwise says that the test skips.
fn installed() -> bool {
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!(
            "skipped: redis-server not installed (.ci/run installs it from Debian's packages)"
        );
    }
    installed
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
