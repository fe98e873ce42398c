//! An HTTP/2 client for the end-to-end tests: cleartext with prior knowledge (as a load
//! balancer or a gRPC-style client speaks to the gateway), one request at a time, on a
//! runtime of its own.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Opens a cleartext HTTP/2 connection (prior knowledge) sending bodies of type `B`; the
/// connection is driven by a task whose handle says when and how the gateway ended it.
pub async fn connect<B>(
    addr: SocketAddr,
) -> (
    SendRequest<B>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
)
where
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    (send, tokio::spawn(conn))
}

/// Sends one request on `send` and returns the status, the response's headers and its body.
pub async fn exchange(
    send: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, hyper::HeaderMap, String) {
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or("").to_owned())))
        .unwrap();
    send_one(send, request).await
}

/// Sends `request` on `send` and returns the status, the response's headers and its body.
pub async fn send_one<B>(
    send: &mut SendRequest<B>,
    request: hyper::Request<B>,
) -> (u16, hyper::HeaderMap, String)
where
    B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    send.ready().await.unwrap();
    let response = send.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The client's runtime (a worker thread of its own, so spawned clients run while the test
/// thread waits).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}
