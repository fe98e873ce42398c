//! How the abuse tests reach the gateway: cleartext HTTP/2 with prior knowledge, or TLS
//! negotiating `h2` (or `http/1.1`, for the normal client) by ALPN, with the committed test
//! certificates (crates/gateway/tests/data/mtls).
//!
//! Every test speaks to a plain blocking `TcpStream`, whatever the transport, so the raw
//! frame writer and its reader thread are the same for both. Over TLS that stream is one end
//! of a loopback connection whose other end a bridge task relays through a real TLS client
//! connection (rustls) to the gateway: the gateway sees TLS with ALPN `h2`, the test sees
//! the bytes inside it, and how the gateway ended the connection (its GOAWAY, then the close).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::support::PATIENCE;

/// The test CA and the gateway's certificate (for `localhost`).
const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/data/mtls");

/// How a test reaches the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Cleartext; HTTP/2 with prior knowledge.
    Clear,
    /// TLS; the protocol negotiated by ALPN.
    Tls,
}

/// The gateway's listener as a test reaches it.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: Transport,
}

impl Transport {
    /// The `server:` keys (indented two spaces) this transport needs besides `listen`.
    pub fn server_keys(self) -> String {
        match self {
            Transport::Clear => String::new(),
            Transport::Tls => {
                format!("  tls: {{ cert: {CERTS}/server.pem, key: {CERTS}/server.key }}\n")
            }
        }
    }
}

impl Target {
    /// A connection for HTTP/2: cleartext, or TLS where the gateway chose `h2`.
    pub fn h2(self) -> TcpStream {
        self.connect(b"h2")
    }

    /// A connection for HTTP/1.1: cleartext, or TLS where the gateway chose `http/1.1`.
    pub fn http1(self) -> TcpStream {
        self.connect(b"http/1.1")
    }

    fn connect(self, alpn: &'static [u8]) -> TcpStream {
        let stream = match self.transport {
            Transport::Clear => TcpStream::connect(self.addr).unwrap(),
            Transport::Tls => bridge(self.addr, alpn),
        };
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        stream
    }
}

/// The bridges' runtime, shared by every connection of the test binary.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A TLS client trusting the test CA, offering only `alpn`.
fn client(alpn: &[u8]) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(format!("{CERTS}/ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// A loopback stream relayed through TLS to `addr`; returns once the handshake is done and
/// the gateway chose `alpn` (the test fails otherwise).
fn bridge(addr: SocketAddr, alpn: &'static [u8]) -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (far, _) = listener.accept().unwrap();
    far.set_nonblocking(true).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    runtime().spawn(async move {
        let handshake = async {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").unwrap();
            tokio_rustls::TlsConnector::from(client(alpn))
                .connect(name, tcp)
                .await
        };
        let tls = match handshake.await {
            Ok(tls) => tls,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
        let chosen = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        let _ = tx.send(Ok(chosen));
        let far = tokio::net::TcpStream::from_std(far).unwrap();
        relay(far, tls).await;
    });
    let chosen = rx
        .recv_timeout(PATIENCE)
        .expect("the TLS handshake did not end")
        .unwrap_or_else(|e| panic!("TLS handshake with the gateway: {e}"));
    assert_eq!(
        chosen.as_deref(),
        Some(alpn),
        "the protocol the gateway chose by ALPN"
    );
    near
}

/// Relays between the test's end (`far`) and the TLS connection until both directions end.
/// What the gateway sends, up to its close, reaches the test before the test's end is closed
/// (so a GOAWAY is read as it would be without TLS); once the gateway takes no more, the test's
/// end is closed and its writes fail, as they would on a direct connection.
async fn relay(
    far: tokio::net::TcpStream,
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut tls_read, mut tls_write) = tokio::io::split(tls);
    let (mut far_read, mut far_write) = far.into_split();
    let down = async {
        let _ = tokio::io::copy(&mut tls_read, &mut far_write).await;
        let _ = far_write.shutdown().await;
    };
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match far_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Flushed at once: rustls holds what it was given until then.
            if tls_write.write_all(&buf[..n]).await.is_err() || tls_write.flush().await.is_err() {
                return;
            }
        }
        let _ = tls_write.shutdown().await;
    };
    tokio::join!(down, up);
}
