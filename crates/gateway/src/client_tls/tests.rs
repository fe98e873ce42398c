//! Outbound TLS against a real rustls server on 127.0.0.1 (certificates from
//! `tests/data/tls`, see its README): key sets over https with and without the right CA, a
//! name mismatch, stale keys kept when TLS starts failing, and the upstream pool over TLS
//! (with a client certificate when the upstream asks for one).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsAcceptor;

use super::*;
use crate::config::{ClientAuth, TlsConfig};
use crate::identity::jwks::{self, KeySource, Reach, RemoteJwks};
use crate::proxy::{Body, Endpoint, ProxyError};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls")
}

const JWKS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/keys/rsa.jwks.json"
));

fn acceptor(name: &str, client_ca: Option<&str>) -> TlsAcceptor {
    let config = TlsConfig {
        cert: format!("{name}.pem").into(),
        key: format!("{name}.key").into(),
        client_ca: client_ca.map(PathBuf::from),
        client_auth: client_ca.map(|_| ClientAuth::Required),
    };
    crate::tls::acceptor(&config, &data()).unwrap()
}

/// An https server answering every request with `body` (by default the test key set); it
/// presents `good`'s certificate, or `bad`'s while `use_bad` is set. Counts the requests it
/// answered.
struct Server {
    addr: SocketAddr,
    use_bad: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
}

async fn serve(good: TlsAcceptor, bad: TlsAcceptor) -> Server {
    serve_body(good, bad, JWKS).await
}

async fn serve_body(good: TlsAcceptor, bad: TlsAcceptor, body: &'static str) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let use_bad = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (use_bad.clone(), answered.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = if flag.load(Ordering::SeqCst) {
                bad.clone()
            } else {
                good.clone()
            };
            let count = count.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |_request| {
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from(body),
                        )))
                    }
                });
                // One request per connection, so every fetch makes a new handshake.
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Server {
        addr,
        use_bad,
        answered,
    }
}

fn tls_block(ca: &str) -> ClientTlsConfig {
    ClientTlsConfig {
        ca: Some(ca.into()),
        ..ClientTlsConfig::default()
    }
}

async fn fetch(url: &str, tls: Option<&ClientTlsConfig>) -> Result<usize, String> {
    let remote = RemoteJwks::new(
        url,
        Duration::ZERO,
        Some(&client_config(tls, &data()).map_err(|e| e.to_string())?),
    )
    .map_err(|e| e.to_string())?;
    remote.refresh().await.map_err(|e| e.to_string())?;
    Ok(remote.keys().len())
}

#[tokio::test]
async fn a_key_set_over_https_loads_with_its_ca() {
    let server = serve(acceptor("server", None), acceptor("stranger", None)).await;
    let ca = tls_block("ca.pem");
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}/jwks.json", server.addr.port());
        let keys = jwks::load(
            &url,
            Reach {
                tls: Some(&ca),
                base_dir: &data(),
            },
        )
        .await
        .unwrap();
        let KeySource::Remote(_) = &keys else {
            panic!("a URL is a remote key set");
        };
        assert_eq!(keys.keys().len(), 1, "{url}");
    }
    assert_eq!(server.answered.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_untrusted_certificate_is_an_unknown_issuer() {
    let server = serve(acceptor("server", None), acceptor("stranger", None)).await;
    let url = format!("https://127.0.0.1:{}/jwks.json", server.addr.port());
    // The system's roots (no `ca`) do not know the test CA; neither does another CA.
    for tls in [None, Some(tls_block("other-ca.pem"))] {
        let e = fetch(&url, tls.as_ref()).await.unwrap_err();
        assert!(
            e.starts_with(&format!(
                "{url}: cannot fetch the key set: TLS handshake failed"
            )) && e.contains("not trusted (unknown issuer)"),
            "{e}"
        );
    }
    assert_eq!(server.answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_name_mismatch() {
    let server = serve(acceptor("elsewhere", None), acceptor("stranger", None)).await;
    let url = format!("https://127.0.0.1:{}/jwks.json", server.addr.port());
    let e = fetch(&url, Some(&tls_block("ca.pem"))).await.unwrap_err();
    assert!(
        e.contains("name mismatch") && e.contains("elsewhere.example"),
        "{e}"
    );
    assert_eq!(server.answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_expired_certificate_is_named_as_expired() {
    let server = serve(acceptor("expired", None), acceptor("stranger", None)).await;
    let url = format!("https://localhost:{}/jwks.json", server.addr.port());
    let e = fetch(&url, Some(&tls_block("ca.pem"))).await.unwrap_err();
    assert!(
        e.contains("TLS handshake failed: the server's certificate has expired"),
        "{e}"
    );
    assert_eq!(server.answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn keys_already_held_stay_when_tls_starts_failing() {
    let server = serve(acceptor("server", None), acceptor("stranger", None)).await;
    let url = format!("https://127.0.0.1:{}/jwks.json", server.addr.port());
    let tls = client_config(Some(&tls_block("ca.pem")), &data()).unwrap();
    let remote = RemoteJwks::new(&url, Duration::ZERO, Some(&tls)).unwrap();
    remote.refresh().await.unwrap();
    assert_eq!(remote.keys().len(), 1);
    // The endpoint now presents a certificate of an unknown CA.
    server.use_bad.store(true, Ordering::SeqCst);
    let e = remote.refresh().await.unwrap_err().to_string();
    assert!(e.contains("unknown issuer"), "{e}");
    assert_eq!(remote.keys().len(), 1, "the stale keys are kept");
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn introspection_over_https_is_verified() {
    use crate::identity::introspection::Introspector;
    let server = serve_body(
        acceptor("server", None),
        acceptor("stranger", None),
        r#"{"active": true, "sub": "alice"}"#,
    )
    .await;
    let text = format!(
        "identity:\n  introspection:\n    endpoint: https://localhost:{}/introspect\n    \
         client_id: gw\n    client_secret: s3cret\n    tls: {{ ca: ca.pem }}\n\
         apis: [{{ name: a, spec: a.yaml, upstream: \"http://127.0.0.1:9\" }}]\n",
        server.addr.port()
    );
    let config = crate::config::Config::from_str_in("gw.yaml", &text, &data(), &|_| None).unwrap();
    let section = config.identity.introspection.as_ref().unwrap();
    let clock = crate::identity::jwt::system_clock();
    let roles = indexmap::IndexMap::new();
    let tls = client_config(section.tls.as_ref(), &data()).unwrap();
    let trusting = Introspector::new(section, &roles, clock.clone(), Some(&tls)).unwrap();
    let judged = trusting.introspect("opaque-token").await;
    assert_eq!(judged.result.unwrap().subject.as_deref(), Some("alice"));
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
    // The system's roots do not know the test CA: the endpoint is unavailable, and says why.
    let system = client_config(None, &data()).unwrap();
    let doubting = Introspector::new(section, &roles, clock, Some(&system)).unwrap();
    let failure = doubting
        .introspect("opaque-token")
        .await
        .result
        .unwrap_err();
    let shown = failure.to_string();
    assert!(
        failure.rule() == "auth.introspection-unavailable" && shown.contains("unknown issuer"),
        "{shown}"
    );
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
}

fn get(host: &str) -> http::Request<Body> {
    http::Request::builder()
        .uri("/jwks.json")
        .header("host", host)
        .body(
            http_body_util::Empty::new()
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap()
}

#[tokio::test]
async fn the_pool_speaks_tls_to_https_upstreams_and_keys_by_scheme() {
    let server = serve(acceptor("server", None), acceptor("stranger", None)).await;
    let address = server.addr.to_string();
    let tls = client_config(Some(&tls_block("ca.pem")), &data()).unwrap();
    let name = ServerNameOwned::from("localhost");
    let secure = Endpoint::tls(address.clone(), name.0, &tls);
    let plain = Endpoint::plain(address.clone());
    assert_ne!(secure.key(), plain.key());
    let pool = Arc::new(crate::proxy::Pool::default());
    for _ in 0..2 {
        let response = pool.send(&secure, get("localhost")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], JWKS.as_bytes());
    }
    assert_eq!(server.answered.load(Ordering::SeqCst), 2);
    // Plain HTTP to the same address never gets the TLS connection from the pool.
    let e = pool.send(&plain, get("localhost")).await.unwrap_err();
    assert!(matches!(e, ProxyError::Connect(_)), "{e}");
    assert_eq!(server.answered.load(Ordering::SeqCst), 2);
    // Without the CA: refused, and the reason says why.
    let system = client_config(None, &data()).unwrap();
    let untrusted = Endpoint::tls(
        address.clone(),
        ServerNameOwned::from("localhost").0,
        &system,
    );
    let e = pool.send(&untrusted, get("localhost")).await.unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("https://{address}: TLS handshake failed"))
            && shown.contains("unknown issuer"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_pool_presents_a_client_certificate_when_configured() {
    let server = serve(
        acceptor("server", Some("ca.pem")),
        acceptor("stranger", None),
    )
    .await;
    let address = server.addr.to_string();
    let without = client_config(Some(&tls_block("ca.pem")), &data()).unwrap();
    let with = client_config(
        Some(&ClientTlsConfig {
            ca: Some("ca.pem".into()),
            cert: Some("client.pem".into()),
            key: Some("client.key".into()),
            server_name: None,
        }),
        &data(),
    )
    .unwrap();
    assert_ne!(with.fingerprint, without.fingerprint);
    let pool = Arc::new(crate::proxy::Pool::default());
    let anonymous = Endpoint::tls(
        address.clone(),
        ServerNameOwned::from("localhost").0,
        &without,
    );
    // TLS 1.3: the server's refusal of a missing certificate arrives after the client's
    // handshake, so it shows up when the request is sent or read.
    let refused = match pool.send(&anonymous, get("localhost")).await {
        Err(_) => true,
        Ok(response) => response.into_body().collect().await.is_err(),
    };
    assert!(refused);
    let identified = Endpoint::tls(address, ServerNameOwned::from("localhost").0, &with);
    let response = pool.send(&identified, get("localhost")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
}

#[test]
fn unusable_files_are_named() {
    let e = client_config(Some(&tls_block("missing.pem")), &data()).unwrap_err();
    assert!(
        e.file.ends_with("missing.pem") && e.message.contains("cannot read"),
        "{e}"
    );
    let e = client_config(Some(&tls_block("client.key")), &data()).unwrap_err();
    assert!(e.message.contains("no certificate"), "{e}");
    let e = client_config(
        Some(&ClientTlsConfig {
            cert: Some("client.pem".into()),
            key: Some("server.key".into()),
            ..ClientTlsConfig::default()
        }),
        &data(),
    )
    .unwrap_err();
    assert!(e.file.ends_with("server.key"), "{e}");
}

/// A `ServerName` from a literal (test helper).
struct ServerNameOwned(rustls::pki_types::ServerName<'static>);

impl From<&str> for ServerNameOwned {
    fn from(name: &str) -> Self {
        ServerNameOwned(rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap())
    }
}
