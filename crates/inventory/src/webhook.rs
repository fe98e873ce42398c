//! Alerts POSTed as JSON to a webhook, from a thread of its own with a small runtime:
//! a bounded queue (full: the alert is dropped and counted), each alert retried with
//! exponential backoff, never blocking the caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Alerts waiting to be sent.
pub const QUEUE: usize = 256;
/// Attempts per alert.
pub const ATTEMPTS: u32 = 4;

/// The sending side.
#[derive(Clone)]
pub struct Webhook {
    sender: SyncSender<serde_json::Value>,
    /// Alerts dropped (queue full, or every attempt failed).
    pub dropped: Arc<AtomicU64>,
    /// Alerts delivered.
    pub sent: Arc<AtomicU64>,
}

impl Webhook {
    /// Starts the sender thread for `url` (an `http://` URL).
    pub fn start(url: &str) -> std::io::Result<Webhook> {
        let uri: http::Uri = url.parse().map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{url}: {e}"))
        })?;
        let (sender, receiver) = sync_channel::<serde_json::Value>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let sent = Arc::new(AtomicU64::new(0));
        let (d, s) = (dropped.clone(), sent.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("portcullis-webhook".to_owned())
            .spawn(move || {
                let client: Client<_, Full<Bytes>> =
                    Client::builder(TokioExecutor::new()).build_http();
                while let Ok(alert) = receiver.recv() {
                    let body = Bytes::from(alert.to_string());
                    let delivered = runtime.block_on(async {
                        for attempt in 0..ATTEMPTS {
                            if attempt > 0 {
                                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                            }
                            let request = http::Request::post(uri.clone())
                                .header(http::header::CONTENT_TYPE, "application/json")
                                .body(Full::new(body.clone()));
                            let Ok(request) = request else { return false };
                            let answer = tokio::time::timeout(
                                Duration::from_secs(5),
                                client.request(request),
                            )
                            .await;
                            if let Ok(Ok(r)) = answer
                                && r.status().is_success()
                            {
                                return true;
                            }
                        }
                        false
                    });
                    if delivered {
                        s.fetch_add(1, Ordering::Relaxed);
                    } else {
                        let dropped = d.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::warn!(
                            dropped,
                            "alert webhook: an alert was dropped after {ATTEMPTS} attempts"
                        );
                    }
                }
            })?;
        Ok(Webhook {
            sender,
            dropped,
            sent,
        })
    }

    /// Queues an alert; dropped, counted and logged (with the count so far) when the queue
    /// is full or the sender thread is gone.
    pub fn send(&self, alert: serde_json::Value) {
        let why = match self.sender.try_send(alert) {
            Ok(()) => return,
            Err(TrySendError::Full(_)) => "the queue is full",
            Err(TrySendError::Disconnected(_)) => "the sender has stopped",
        };
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            dropped,
            "alert webhook: {why} ({QUEUE} alerts waiting); an alert was dropped"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Instant;

    /// Reads one HTTP/1.1 request (head and a Content-Length body) from `stream`.
    fn read_request(stream: &mut std::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    return text;
                }
            }
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    #[test]
    fn a_failed_delivery_is_retried() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(2).enumerate() {
                let mut stream = stream.unwrap();
                let request = read_request(&mut stream);
                let status = if i == 0 {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = tx.send(request);
            }
        });
        let hook = Webhook::start(&format!("http://{addr}/alerts")).unwrap();
        hook.send(serde_json::json!({"detector": "stuffing", "value": 10.0}));
        let deadline = Instant::now() + Duration::from_secs(30);
        while hook.sent.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(hook.sent.load(Ordering::Relaxed), 1);
        assert_eq!(hook.dropped.load(Ordering::Relaxed), 0);
        let first = rx.recv().unwrap();
        let second = rx.recv().unwrap();
        for r in [first, second] {
            assert!(r.starts_with("POST /alerts HTTP/1.1"), "{r}");
            assert!(
                r.contains("application/json") && r.contains("\"detector\":\"stuffing\""),
                "{r}"
            );
        }
    }

    #[test]
    fn alerts_beyond_the_queue_are_dropped_and_counted() {
        // A webhook that accepts and never answers: the first alert is in delivery for
        // seconds, so the queue fills.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(8).collect();
            std::thread::sleep(Duration::from_secs(60));
            drop(held);
        });
        let hook = Webhook::start(&format!("http://{addr}/alerts")).unwrap();
        for i in 0..QUEUE + 10 {
            hook.send(serde_json::json!({ "n": i }));
        }
        // At most one left the queue for delivery.
        assert!(hook.dropped.load(Ordering::Relaxed) >= 9);
        assert_eq!(hook.sent.load(Ordering::Relaxed), 0);
    }
}
