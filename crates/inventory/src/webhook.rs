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
                        d.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
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

    /// Queues an alert; dropped (and counted) when the queue is full.
    pub fn send(&self, alert: serde_json::Value) {
        match self.sender.try_send(alert) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
