//! One worker's upstream connections: HTTP/1.1 connections kept open per upstream address and
//! used by one request at a time.
//!
//! Each worker thread has its own pool, so a request, its upstream connection and the task that
//! drives that connection stay on one thread. A connection goes back to the pool when the
//! response body has been read to its end; one dropped earlier is closed (HTTP/1.1 cannot
//! abandon a response half read). Closed connections are noticed and dropped at checkout; idle
//! ones are kept at most [`IDLE_TIMEOUT`] and [`MAX_IDLE_PER_UPSTREAM`] per upstream.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{Body, ProxyError};

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many idle connections are kept per upstream address.
pub const MAX_IDLE_PER_UPSTREAM: usize = 256;
/// How long connecting to an upstream may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// Idle connections by upstream address (`host:port`).
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Idle>>>,
}

impl Pool {
    /// Sends `request` (origin-form URI, `Host` set) to `address`, on an idle connection when
    /// one is open, else on a new one. A request that an idle connection refused before
    /// writing it (the upstream had closed it) is sent again on a new connection.
    pub async fn send(
        self: &Arc<Self>,
        address: &str,
        request: Request<Body>,
    ) -> Result<Response<Body>, ProxyError> {
        let mut request = request;
        while let Some(mut sender) = self.checkout(address) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(self.returning(address, sender, response)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(ProxyError::Connect(e.into_error().to_string())),
                },
            }
        }
        let mut sender = connect(address).await?;
        match sender.send_request(request).await {
            Ok(response) => Ok(self.returning(address, sender, response)),
            Err(e) => Err(ProxyError::Connect(e.to_string())),
        }
    }

    /// An idle connection that is still open and not too old, if any.
    fn checkout(&self, address: &str) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(address)?;
        while let Some(entry) = list.pop() {
            if !entry.sender.is_closed() && entry.since.elapsed() < IDLE_TIMEOUT {
                return Some(entry.sender);
            }
        }
        None
    }

    fn checkin(&self, address: &str, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = match idle.get_mut(address) {
            Some(list) => list,
            None => idle.entry(address.to_owned()).or_default(),
        };
        if list.len() < MAX_IDLE_PER_UPSTREAM {
            list.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    fn returning(
        self: &Arc<Self>,
        address: &str,
        sender: SendRequest<Body>,
        response: Response<Incoming>,
    ) -> Response<Body> {
        let (parts, body) = response.into_parts();
        let body = Returning {
            inner: body,
            slot: Some(Slot {
                pool: self.clone(),
                address: address.to_owned(),
                sender,
            }),
        };
        Response::from_parts(parts, super::boxed(body))
    }
}

/// Opens a connection and starts the task that drives it (on the current worker).
async fn connect(address: &str) -> Result<SendRequest<Body>, ProxyError> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(ProxyError::Connect(e.to_string())),
        Err(_) => return Err(ProxyError::Connect("connect timed out".to_owned())),
    };
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ProxyError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}

struct Slot {
    pool: Arc<Pool>,
    address: String,
    sender: SendRequest<Body>,
}

/// A response body that gives its connection back to the pool once read to the end.
struct Returning {
    inner: Incoming,
    slot: Option<Slot>,
}

impl Returning {
    fn release(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.pool.checkin(&slot.address, slot.sender);
        }
    }
}

impl HttpBody for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.release(),
            Poll::Ready(Some(Err(_))) => this.slot = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if self.inner.is_end_stream() {
            self.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// An upstream that answers every request on a connection with a short body and counts
    /// the connections it accepted; `close_after` closes each connection after that many.
    async fn upstream(close_after: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut served = 0;
                    let mut pending = Vec::new();
                    while served < close_after {
                        let Ok(n) = stream.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            served += 1;
                            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if stream.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (address, accepted)
    }

    fn get(address: &str) -> Request<Body> {
        Request::builder()
            .uri("/x")
            .header("host", address)
            .body(super::super::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn a_connection_is_reused_once_its_response_is_read() {
        let (address, accepted) = upstream(usize::MAX).await;
        let pool = Arc::new(Pool::default());
        for _ in 0..5 {
            let response = pool.send(&address, get(&address)).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unread_response_does_not_return_its_connection() {
        let (address, accepted) = upstream(usize::MAX).await;
        let pool = Arc::new(Pool::default());
        let first = pool.send(&address, get(&address)).await.unwrap();
        // Still held: the second request needs a second connection.
        let second = pool.send(&address, get(&address)).await.unwrap();
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        drop((first, second));
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_is_replaced() {
        let (address, accepted) = upstream(1).await;
        let pool = Arc::new(Pool::default());
        for _ in 0..3 {
            let response = pool.send(&address, get(&address)).await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
            // Let the connection task see the upstream's close.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let pool = Arc::new(Pool::default());
        let e = pool.send(&address, get(&address)).await.unwrap_err();
        assert!(matches!(e, ProxyError::Connect(_)), "{e}");
    }
}
