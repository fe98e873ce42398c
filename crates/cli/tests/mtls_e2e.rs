//! mTLS end to end through `portcullis serve`: TLS with a client CA and `client_auth:
//! optional`, an `identity.mtls` map, and a spec whose operations require a `mutualTLS`
//! scheme. A mapped certificate is let through with its roles' scopes, an unmapped one and no
//! certificate are refused with their own rules, and the decision log names the CN, never the
//! certificate; over HTTP/1.1 and over HTTP/2 negotiated by ALPN.
//!
//! The client is rustls over a blocking socket (hyper's HTTP/2 client over tokio-rustls for
//! HTTP/2), with the committed test certificates (crates/gateway/tests/data/mtls).
// Test helpers: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use support::Gateway;

const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/data/mtls");

const SPEC: &str = r#"openapi: 3.1.0
info: { title: ledger, version: "1" }
components:
  securitySchemes:
    cert: { type: mutualTLS }
paths:
  /health:
    get:
      operationId: health
      responses:
        "200": { description: ok }
  /ledger:
    get:
      operationId: readLedger
      security:
        - cert: [ledger:read]
      responses:
        "200": { description: ok }
  /journal:
    get:
      operationId: readJournal
      security:
        - cert: [ledger:write]
      responses:
        "200": { description: ok }
"#;

/// An HTTP/1.1 TLS client trusting the test CA, presenting `cert` (a name in [`CERTS`]) when
/// given.
fn client(cert: Option<&str>) -> Arc<rustls::ClientConfig> {
    client_offering(cert, &[b"http/1.1"])
}

/// [`client`] offering the protocols `alpn` in the handshake.
fn client_offering(cert: Option<&str>, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(format!("{CERTS}/ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match cert {
        Some(name) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(format!("{CERTS}/{name}.pem"))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
            let key = PrivateKeyDer::from_pem_file(format!("{CERTS}/{name}.key")).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// `GET path` over TLS with request id `id`: the status and the body.
fn get(addr: SocketAddr, cert: Option<&str>, path: &str, id: &str) -> (u16, String) {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(client(cert), name).unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(support::PATIENCE)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nhost: localhost\r\nx-request-id: {id}\r\nconnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut bytes = Vec::new();
    // The server may close without close_notify after the response: what arrived counts.
    let _ = tls.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no response to {path} ({id}): {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The gateway of these tests in `dir`: TLS with the test CA and `client_auth: optional`, the
/// certificate map, decisions logged to `log`, in front of an echo upstream.
fn ledger_gateway(dir: &std::path::Path, log: &std::path::Path) -> Gateway {
    let upstream = support::echo_upstream();
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
  trusted_proxies: [127.0.0.1] # so that the test's X-Request-Id is kept
  tls:
    cert: {CERTS}/server.pem
    key: {CERTS}/server.key
    client_ca: {CERTS}/ca.pem
    client_auth: optional
identity:
  mtls:
    map:
      - match: {{ san_uri: "spiffe://example.org/ns/prod/sa/billing" }}
        subject: billing
        roles: [service]
      - match: {{ subject_cn: ledger-admin }}
        subject: admin
        roles: [writer]
roles:
  service: [ledger:read]
  writer: [ledger:read, ledger:write]
log:
  decisions: {log}
apis:
  - name: ledger
    spec: spec.yaml
    upstream: http://{upstream}
"#,
        log = log.display()
    );
    let config_path = dir.join("portcullis.yaml");
    std::fs::write(&config_path, config).unwrap();
    Gateway::start(&config_path)
}

#[test]
fn client_certificates_map_to_identities_with_roles() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let mut gw = ledger_gateway(dir.path(), &log);
    let addr = gw.addr;

    let cases = [
        ("mapped", Some("billing"), "/ledger", 200),
        ("scope", Some("billing"), "/journal", 403),
        ("unmapped", Some("stranger"), "/ledger", 401),
        ("missing", None, "/ledger", 401),
        ("public", None, "/health", 200),
    ];
    for (id, cert, path, want) in cases {
        let (status, body) = get(addr, cert, path, id);
        assert_eq!(status, want, "{id}: {body}");
    }
    gw.assert_alive();

    let lines = support::decision_log(&log, &cases.map(|c| c.0));
    let line = |id: &str| {
        lines
            .iter()
            .find(|d| d["request_id"] == id)
            .unwrap_or_else(|| panic!("no decision for {id}"))
    };
    let mapped = line("mapped");
    assert_eq!(mapped["decision"], "allow", "{mapped}");
    assert_eq!(mapped["client"]["sub"], "billing", "{mapped}");
    let scope = line("scope");
    assert_eq!(scope["rule"], "authz.scope", "{scope}");
    let unmapped = line("unmapped");
    assert_eq!(unmapped["rule"], "auth.cert-unmapped", "{unmapped}");
    assert_eq!(unmapped["status"], 401, "{unmapped}");
    assert!(
        unmapped["reason"]
            .as_str()
            .unwrap()
            .contains("CN \"stranger\""),
        "{unmapped}"
    );
    let missing = line("missing");
    assert_eq!(missing["rule"], "auth.cert-missing", "{missing}");
    assert_eq!(missing["status"], 401, "{missing}");
    assert_eq!(line("public")["decision"], "allow");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("BEGIN CERTIFICATE") && !text.contains("MII"),
        "{text}"
    );
}

#[test]
fn a_tls_connection_that_starts_no_request_is_closed_after_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = support::echo_upstream();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
  limits: {{ header_timeout: 400ms }}
  tls:
    cert: {CERTS}/server.pem
    key: {CERTS}/server.key
log:
  decisions: "off"
apis:
  - name: ledger
    spec: spec.yaml
    upstream: http://{upstream}
"#
    );
    let config_path = dir.path().join("portcullis.yaml");
    std::fs::write(&config_path, config).unwrap();
    let gw = Gateway::start(&config_path);
    // The handshake finishes, then nothing: the HTTP version is never known.
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(client(None), name).unwrap();
    let mut sock = TcpStream::connect(gw.addr).unwrap();
    sock.set_read_timeout(Some(support::PATIENCE)).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).unwrap();
    }
    // The client is done with the handshake once it has sent its last message; the gateway
    // starts its timer once it has read it, so after this clock starts.
    let started = std::time::Instant::now();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut bytes = Vec::new();
    match tls.read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(e) => assert!(
            e.kind() == std::io::ErrorKind::UnexpectedEof
                || e.kind() == std::io::ErrorKind::ConnectionReset,
            "still open after {:?}: {e}",
            started.elapsed()
        ),
    }
    let after = started.elapsed();
    assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
    // At least half the header timeout (400 ms): not closed at once; at most 20 s: closed
    // at all (two watchdog periods, slow by seconds on a loaded machine).
    assert!(
        after >= Duration::from_millis(200) && after < Duration::from_secs(20),
        "closed after {after:?}"
    );
    // A request on a new connection is still served.
    assert_eq!(get(gw.addr, None, "/health", "after").0, 200);
}

#[test]
fn http2_is_negotiated_over_tls_and_certificates_still_decide() {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let dir = tempfile::tempdir().unwrap();
    let gw = ledger_gateway(dir.path(), &dir.path().join("decisions.jsonl"));
    let addr = gw.addr;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // Offering both, as a browser does: the gateway picks HTTP/2.
        let connector = tokio_rustls::TlsConnector::from(client_offering(
            Some("billing"),
            &[b"h2", b"http/1.1"],
        ));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        // The certificate of the connection is every stream's identity.
        for (path, want) in [("/ledger", 200), ("/journal", 403), ("/health", 200)] {
            let request = hyper::Request::get(format!("https://localhost:{}{path}", addr.port()))
                .body(Empty::<Bytes>::new())
                .unwrap();
            send.ready().await.unwrap();
            let response = send.send_request(request).await.unwrap();
            assert_eq!(response.version(), hyper::Version::HTTP_2);
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(status, want, "{path}: {}", String::from_utf8_lossy(&body));
        }
    });
}
