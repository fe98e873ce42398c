//! One worker's upstream connections: HTTP/1.1 connections, plain or TLS, kept open per
//! upstream [`Endpoint`] and used by one request at a time.
//!
//! An endpoint's pool key holds the scheme, the address and, for TLS, the name verified and a
//! digest of the trust anchors and client certificate, so connections made with other settings
//! (plain and TLS to the same `host:port`, or another CA after a reload) are never shared.
//! A TLS connection is verified (see [`crate::client_tls`]) and offers ALPN `http/1.1`.
//!
//! Each worker thread has its own pool, so a request, its upstream connection and the task that
//! drives that connection stay on one thread. A connection goes back to the pool when the
//! response body has been read to its end; one dropped earlier is closed (HTTP/1.1 cannot
//! abandon a response half read). Closed connections are noticed and dropped at checkout; idle
//! ones are kept at most [`IDLE_TIMEOUT`] and [`MAX_IDLE_PER_UPSTREAM`] per upstream. Every
//! [`SWEEP_EVERY`] check-ins the whole pool is swept, so connections under a key no longer used
//! (an upstream or its TLS settings changed by a reload) are closed too.

use std::collections::HashMap;
use std::fmt;
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
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Body, ProxyError};
use crate::client_tls::{self, ClientTls};
use crate::config::DEFAULT_MAX_HEADERS;

/// How long an idle connection is kept.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many idle connections are kept per upstream address.
pub const MAX_IDLE_PER_UPSTREAM: usize = 256;
/// Check-ins between two sweeps of the whole pool.
pub const SWEEP_EVERY: u32 = 1024;
/// How long connecting to an upstream may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// Where a pool connects: an address, TLS settings when the upstream is `https://`, and the
/// key its idle connections are kept under.
#[derive(Clone)]
pub struct Endpoint {
    key: Arc<str>,
    address: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// The most header fields a response head may have.
    max_headers: usize,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint").field("key", &self.key).finish()
    }
}

impl Endpoint {
    /// Plain HTTP to `address` (`host:port`).
    pub fn plain(address: String) -> Endpoint {
        Endpoint {
            key: format!("http://{address}").into(),
            address,
            tls: None,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }

    /// TLS to `address`, verifying `server_name` (also sent as SNI) with `tls`.
    pub fn tls(address: String, server_name: ServerName<'static>, tls: &ClientTls) -> Endpoint {
        let mut config = (*tls.config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Endpoint {
            key: format!(
                "https://{address} name={} trust={}",
                server_name.to_str(),
                tls.fingerprint
            )
            .into(),
            address,
            tls: Some((TlsConnector::from(Arc::new(config)), server_name)),
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }

    /// The same endpoint, reading response heads of up to `max_headers` fields
    /// (`server.limits.max_headers`; 100 unless set). Another limit is another pool key, so
    /// connections opened under the old one are not reused after a reload changes it.
    pub fn with_max_headers(mut self, max_headers: usize) -> Endpoint {
        if max_headers != self.max_headers {
            self.key = format!("{} max_headers={max_headers}", self.key).into();
            self.max_headers = max_headers;
        }
        self
    }

    /// The pool key: scheme, address and TLS settings.
    pub fn key(&self) -> &Arc<str> {
        &self.key
    }

    /// `http://host:port` or `https://host:port`, for messages.
    fn shown(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }
}

/// Idle connections by [`Endpoint::key`].
#[derive(Default)]
pub struct Pool {
    idle: Mutex<IdleSet>,
}

#[derive(Default)]
struct IdleSet {
    /// foldhash: looked up twice per request (checkout, check-in) with our own keys, so
    /// SipHash's flood resistance buys nothing here.
    by_key: HashMap<Arc<str>, Vec<Idle>, foldhash::fast::RandomState>,
    checkins: u32,
}

impl Idle {
    fn usable(&self) -> bool {
        !self.sender.is_closed() && self.since.elapsed() < IDLE_TIMEOUT
    }
}

impl Pool {
    /// Sends `request` (origin-form URI, `Host` set) to `endpoint`, on an idle connection when
    /// one is open, else on a new one. A request that an idle connection refused before
    /// writing it (the upstream had closed it) is sent again on a new connection.
    pub async fn send(
        self: &Arc<Self>,
        endpoint: &Endpoint,
        request: Request<Body>,
    ) -> Result<Response<Body>, ProxyError> {
        let key = endpoint.key();
        let mut request = request;
        while let Some(mut sender) = self.checkout(key) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(self.returning(key, sender, response)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => request = unsent,
                    None => return Err(ProxyError::Connect(e.into_error().to_string())),
                },
            }
        }
        // Boxed: opening (TCP, TLS, handshake) is the rare path and its future is large.
        let mut sender = Box::pin(connect(endpoint)).await?;
        match sender.send_request(request).await {
            Ok(response) => Ok(self.returning(key, sender, response)),
            Err(e) => Err(ProxyError::Connect(e.to_string())),
        }
    }

    /// An idle connection that is still open and not too old, if any.
    fn checkout(&self, key: &str) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.by_key.get_mut(key)?;
        while let Some(entry) = list.pop() {
            if entry.usable() {
                return Some(entry.sender);
            }
        }
        None
    }

    fn checkin(&self, key: &Arc<str>, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.checkins += 1;
        if idle.checkins >= SWEEP_EVERY {
            idle.sweep();
        }
        let list = match idle.by_key.get_mut(key) {
            Some(list) => list,
            None => idle.by_key.entry(key.clone()).or_default(),
        };
        if list.len() < MAX_IDLE_PER_UPSTREAM {
            list.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    /// Closes every connection that is closed or idle too long, under any key.
    #[cfg(test)]
    fn sweep(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).sweep();
    }

    fn returning(
        self: &Arc<Self>,
        key: &Arc<str>,
        sender: SendRequest<Body>,
        response: Response<Incoming>,
    ) -> Response<Body> {
        let (parts, body) = response.into_parts();
        let body = Returning {
            inner: body,
            slot: Some(Slot {
                pool: self.clone(),
                key: key.clone(),
                sender,
            }),
        };
        Response::from_parts(parts, super::boxed(body))
    }
}

impl IdleSet {
    /// Drops closed and expired connections, and keys left with none.
    fn sweep(&mut self) {
        self.checkins = 0;
        self.by_key.retain(|_, list| {
            list.retain(Idle::usable);
            !list.is_empty()
        });
    }
}

/// Opens a connection (TCP, then TLS for an `https://` endpoint, both within
/// [`CONNECT_TIMEOUT`]) and starts the task that drives it (on the current worker).
async fn connect(endpoint: &Endpoint) -> Result<SendRequest<Body>, ProxyError> {
    let fail = |message: String| ProxyError::Connect(format!("{}: {message}", endpoint.shown()));
    let opening = async {
        let stream = TcpStream::connect(&endpoint.address)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        match &endpoint.tls {
            None => handshake(stream, endpoint.max_headers).await,
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| fail(client_tls::describe(&e)))?;
                handshake(stream, endpoint.max_headers).await
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, opening).await {
        Ok(opened) => opened,
        Err(_) => Err(fail("connect timed out".to_owned())),
    }
}

/// HTTP/1.1 over an open stream, reading response heads of up to `max_headers` fields; the
/// connection's task runs on the current worker.
async fn handshake<T>(io: T, max_headers: usize) -> Result<SendRequest<Body>, ProxyError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    // Set only when not hyper's default, which parses each head in a buffer on the stack.
    if max_headers != DEFAULT_MAX_HEADERS {
        builder.max_headers(max_headers);
    }
    let (sender, connection) = builder
        .handshake(TokioIo::new(io))
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
    key: Arc<str>,
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
            slot.pool.checkin(&slot.key, slot.sender);
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
            let response = pool
                .send(&Endpoint::plain(address.clone()), get(&address))
                .await
                .unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unread_response_does_not_return_its_connection() {
        let (address, accepted) = upstream(usize::MAX).await;
        let pool = Arc::new(Pool::default());
        let first = pool
            .send(&Endpoint::plain(address.clone()), get(&address))
            .await
            .unwrap();
        // Still held: the second request needs a second connection.
        let second = pool
            .send(&Endpoint::plain(address.clone()), get(&address))
            .await
            .unwrap();
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        drop((first, second));
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_is_replaced() {
        let (address, accepted) = upstream(1).await;
        let pool = Arc::new(Pool::default());
        for _ in 0..3 {
            let response = pool
                .send(&Endpoint::plain(address.clone()), get(&address))
                .await
                .unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
            // Let the connection task see the upstream's close.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_sweep_drops_keys_left_without_connections() {
        let (kept, _) = upstream(usize::MAX).await;
        let (emptied, _) = upstream(usize::MAX).await;
        let pool = Arc::new(Pool::default());
        for address in [&kept, &emptied] {
            let response = pool
                .send(&Endpoint::plain(address.clone()), get(address))
                .await
                .unwrap();
            response.into_body().collect().await.unwrap();
        }
        // The idle connection to `emptied` is taken and its response held: its list is empty.
        let held = pool
            .send(&Endpoint::plain(emptied.clone()), get(&emptied))
            .await
            .unwrap();
        let keys = |pool: &Pool| {
            let idle = pool.idle.lock().unwrap();
            let mut keys: Vec<String> = idle.by_key.keys().map(|k| k.to_string()).collect();
            keys.sort();
            keys
        };
        let mut both = vec![format!("http://{kept}"), format!("http://{emptied}")];
        both.sort();
        assert_eq!(keys(&pool), both);
        pool.sweep();
        assert_eq!(keys(&pool), [format!("http://{kept}")]);
        drop(held);
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let pool = Arc::new(Pool::default());
        let e = pool
            .send(&Endpoint::plain(address.clone()), get(&address))
            .await
            .unwrap_err();
        assert!(matches!(e, ProxyError::Connect(_)), "{e}");
    }

    #[test]
    fn another_header_limit_is_another_pool_key() {
        let plain = Endpoint::plain("127.0.0.1:9".to_owned());
        let same = plain.clone().with_max_headers(DEFAULT_MAX_HEADERS);
        let more = plain.clone().with_max_headers(200);
        assert_eq!(same.key(), plain.key());
        assert_ne!(more.key(), plain.key());
        assert_eq!(more.max_headers, 200);
        assert_eq!(more.clone().with_max_headers(200).key(), more.key());
    }
}
