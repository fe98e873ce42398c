//! The gateway benchmark's floor: a bare hyper 1.x HTTP/1.1 reverse proxy with the same
//! shape as `portcullis serve` (one thread and current-thread runtime per worker, connections
//! handed out round robin, a per-worker pool of upstream connections given back when a
//! response body ends) and nothing else: no routing, checks, headers, ids, timers, logs or
//! metrics. What it reaches against nginx is what hyper and tokio allow before any of
//! Portcullis's own work. Not a product: errors answer 502 and are not described.
//!
//! Usage: `bare_proxy LISTEN UPSTREAM [WORKERS]` (e.g. `127.0.0.1:18086 127.0.0.1:18080 2`);
//! prints `listening on ADDR` once bound and runs until killed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, combinators::BoxBody};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

type Pool = Arc<Mutex<Vec<SendRequest<Incoming>>>>;
type Answer = BoxBody<Bytes, hyper::Error>;

/// A response body that gives its connection back to the pool once read to the end.
struct Returning {
    inner: Incoming,
    slot: Option<(Pool, SendRequest<Incoming>)>,
}

impl Returning {
    fn release(&mut self) {
        if let Some((pool, sender)) = self.slot.take()
            && let Ok(mut idle) = pool.lock()
        {
            idle.push(sender);
        }
    }
}

impl Body for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || this.inner.is_end_stream() {
            this.release();
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

async fn connect(upstream: SocketAddr) -> Option<SendRequest<Incoming>> {
    let stream = TcpStream::connect(upstream).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(sender)
}

async fn forward(
    pool: Pool,
    upstream: SocketAddr,
    mut request: Request<Incoming>,
) -> Result<Response<Answer>, Infallible> {
    let bad_gateway = || {
        let mut r = Response::new(Empty::new().map_err(|never| match never {}).boxed());
        *r.status_mut() = StatusCode::BAD_GATEWAY;
        r
    };
    let idle = pool.lock().ok().and_then(|mut idle| idle.pop());
    let mut sender = match idle {
        Some(s) if !s.is_closed() => s,
        _ => match connect(upstream).await {
            Some(s) => s,
            None => return Ok(bad_gateway()),
        },
    };
    if sender.ready().await.is_err() {
        return Ok(bad_gateway());
    }
    if let Some(path) = request.uri().path_and_query().cloned() {
        *request.uri_mut() = hyper::Uri::from(path);
    }
    match sender.send_request(request).await {
        Ok(response) => {
            let (parts, inner) = response.into_parts();
            let body = Returning {
                inner,
                slot: Some((pool, sender)),
            };
            Ok(Response::from_parts(parts, body.boxed()))
        }
        Err(_) => Ok(bad_gateway()),
    }
}

fn worker(
    mut streams: tokio::sync::mpsc::Receiver<std::net::TcpStream>,
    upstream: SocketAddr,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(std::thread::spawn(move || {
        runtime.block_on(async move {
            let pool: Pool = Arc::default();
            while let Some(stream) = streams.recv().await {
                let Ok(stream) = TcpStream::from_std(stream) else {
                    continue;
                };
                let pool = pool.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| forward(pool.clone(), upstream, request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_proxy LISTEN UPSTREAM [WORKERS]";
    let listen: SocketAddr = args.next().context(usage)?.parse().context(usage)?;
    let upstream: SocketAddr = args.next().context(usage)?.parse().context(usage)?;
    let workers: usize = args.next().map_or(Ok(2), |w| w.parse()).context(usage)?;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("listening on {}", listener.local_addr()?);
    let mut handoff = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        let (to_worker, streams) = tokio::sync::mpsc::channel(256);
        handoff.push(to_worker);
        worker(streams, upstream)?;
    }
    for (n, stream) in listener.incoming().enumerate() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_nonblocking(true);
        if let Some(to_worker) = handoff.get(n % handoff.len()) {
            let _ = to_worker.blocking_send(stream);
        }
    }
    Ok(())
}
