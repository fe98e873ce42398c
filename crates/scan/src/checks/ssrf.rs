//! Server-side request forgery, proved with a canary: the scanner listens on 127.0.0.1 (a
//! port of its own, which only receives: nothing is ever sent from it) and puts the canary's
//! URL, with a token unique to the request, in each URL-like string parameter (a name such as
//! `url`, `webhook`, `callback`, or a value that is an http(s) URL). Reported when the canary
//! receives that token, and a second request with another token is received too. The
//! baseline is the request as explored, which pointed elsewhere.
//!
//! The canary is on 127.0.0.1, so it proves SSRF for targets on the scanner's machine (the
//! test deployment the scan is meant for); a remote target reaching back to it would need a
//! route to the scanner, which is not attempted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::points::{self, Point};
use crate::plan;
use crate::scan::{Scan, Stop};

/// The most parameters tried.
const MAX_POINTS: usize = 20;
/// How long the canary is watched for one request's token, after its answer.
const WAIT: Duration = Duration::from_secs(2);

/// Names of parameters that usually hold a URL.
const URL_NAMES: &[&str] = &[
    "url", "uri", "webhook", "callback", "redirect", "link", "href", "endpoint", "feed", "image",
    "avatar", "target", "dest", "source", "host",
];

/// A listener on 127.0.0.1 that records the request lines it receives.
pub struct Canary {
    /// Its port.
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Canary {
    /// Starts listening on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Canary> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    let head = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned();
                    if let Some(line) = head.lines().next() {
                        let mut seen = log.lock().unwrap_or_else(|p| p.into_inner());
                        if seen.len() < 1000 {
                            seen.push(line.to_owned());
                        }
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        Ok(Canary { port, seen, task })
    }

    /// The canary's URL for `token`.
    pub fn url(&self, token: &str) -> String {
        format!("http://127.0.0.1:{}/{token}", self.port)
    }

    /// True when a request line with `token` was received.
    pub fn received(&self, token: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|l| l.contains(token))
    }

    /// Waits up to `wait` for `token` (polling; returns as soon as it is seen).
    pub async fn wait_for(&self, token: &str, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.received(token) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn url_like(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    URL_NAMES.iter().any(|u| n.contains(u))
        || value.starts_with("http://")
        || value.starts_with("https://")
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let work: Vec<_> = points::collect(scan, false)
        .into_iter()
        .filter(|(op, baseline, point)| {
            let template = scan.op(*op).map(|o| o.path.as_str()).unwrap_or("");
            let name = match point {
                Point::Query(n) | Point::Path(n) | Point::Body(n) => n.as_str(),
            };
            !matches!(point, Point::Path(_))
                && points::value(&baseline.request, template, point)
                    .is_some_and(|v| url_like(name, &v))
        })
        .take(MAX_POINTS)
        .collect();
    if work.is_empty() {
        return Ok(());
    }
    let canary = match Canary::start().await {
        Ok(c) => c,
        Err(e) => {
            scan.notes
                .push(format!("SSRF check: cannot listen on 127.0.0.1: {e}"));
            return Ok(());
        }
    };
    for (op, baseline, point) in work {
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        let first = scan.generator.unique();
        let url = canary.url(&first);
        let Some(attack) = points::replace(&baseline.request, &template, &point, &url) else {
            continue;
        };
        let Some(answer) = scan.send(attack, Some(op)).await? else {
            continue;
        };
        if !canary.wait_for(&first, WAIT).await {
            continue;
        }
        let second = scan.generator.unique();
        let Some(again) =
            points::replace(&baseline.request, &template, &point, &canary.url(&second))
        else {
            continue;
        };
        if scan.send(again, Some(op)).await?.is_none() || !canary.wait_for(&second, WAIT).await {
            continue;
        }
        scan.report(
            "PC-SCAN-SSRF-001",
            Some(op),
            &answer,
            format!(
                "{} {}: the server fetches the URL given in the {}",
                answer.request.method,
                plan::path_only(&baseline.request.path),
                point.describe()
            ),
            format!(
                "the scanner's canary on 127.0.0.1:{} received the request for {url} (answer {}), and again for a second token; the baseline pointed elsewhere ({})",
                canary.port, answer.status, baseline.status
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn the_canary_records_what_it_receives() {
        let canary = Canary::start().await.unwrap();
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", canary.port))
            .await
            .unwrap();
        s.write_all(b"GET /tok-1 HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"));
        assert!(canary.wait_for("tok-1", Duration::from_secs(5)).await);
        assert!(!canary.received("tok-2"));
        assert!(url_like("webhookUrl", "x") && url_like("q", "https://a"));
        assert!(!url_like("name", "bob"));
    }
}
