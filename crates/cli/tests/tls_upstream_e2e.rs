//! Outbound TLS end to end through `portcullis serve`: an https identity provider (OIDC
//! discovery and its key set) and an https upstream, both on 127.0.0.1 with certificates of a
//! private CA (crates/gateway/tests/data/tls) that the config trusts through `tls.ca` and
//! `upstream_tls.ca`. An authenticated request reaches the upstream over TLS; an API whose
//! upstream presents a certificate of another CA answers 502 `upstream.unavailable`, and the
//! gateway's log says why (unknown issuer).
// Test helpers: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use portcullis_gateway::config::TlsConfig;
use serde_json::json;
use support::Gateway;

const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/data/tls");
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/data/keys");
const ISSUER: &str = "https://idp.test/";

const SPEC: &str = r#"openapi: 3.1.0
info: { title: tls, version: "1" }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /items:
    get:
      operationId: listItems
      security: [{ bearer: [] }]
      responses:
        "200": { description: ok }
"#;

/// An https server on 127.0.0.1 presenting `name`.pem, on its own thread: the identity
/// provider's discovery document and key set, and for any other path a JSON echo of the
/// request. Counts the requests it answered (only requests that came over TLS can be).
fn https_server(name: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let tls = TlsConfig {
        cert: format!("{name}.pem").into(),
        key: format!("{name}.key").into(),
        client_ca: None,
        client_auth: None,
    };
    let acceptor = portcullis_gateway::tls::acceptor(&tls, std::path::Path::new(CERTS)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, count) = (acceptor.clone(), count.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |request: hyper::Request<_>| {
                        count.fetch_add(1, Ordering::SeqCst);
                        let body = answer(addr, &request);
                        async move { Ok::<_, std::convert::Infallible>(hyper::Response::new(body)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    (addr, answered)
}

fn answer<B>(addr: SocketAddr, request: &hyper::Request<B>) -> String {
    let base = format!("https://localhost:{}", addr.port());
    match request.uri().path() {
        "/.well-known/openid-configuration" => {
            json!({ "issuer": ISSUER, "jwks_uri": format!("{base}/jwks.json") }).to_string()
        }
        "/jwks.json" => std::fs::read_to_string(format!("{KEYS}/rsa.jwks.json")).unwrap(),
        _ => json!({
            "uri": request.uri().to_string(),
            "host": request.headers().get("host").and_then(|h| h.to_str().ok()),
            "authorization": request.headers().contains_key("authorization"),
        })
        .to_string(),
    }
}

fn token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({ "iss": ISSUER, "sub": "alice", "iat": now - 5, "exp": now + 600 });
    let pem = std::fs::read(format!("{KEYS}/rsa.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".to_owned());
    encode(&header, &claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

fn get(gw: &Gateway, host: &str, authorization: &str) -> support::Resp {
    gw.send(&format!(
        "GET /items HTTP/1.1\r\nhost: {host}\r\n{authorization}connection: close\r\n\r\n"
    ))
}

#[test]
fn https_identity_provider_and_upstreams_with_a_private_ca() {
    let (trusted, trusted_answered) = https_server("server");
    let (stranger, stranger_answered) = https_server("stranger");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    let ca = format!("{CERTS}/ca.pem");
    let config = format!(
        r#"server: {{ listen: "127.0.0.1:0" }}
log: {{ decisions: off }}
identity:
  jwt:
    - issuer: "{ISSUER}"
      discovery: "https://localhost:{idp}/.well-known/openid-configuration"
      tls: {{ ca: "{ca}" }}
apis:
  - name: trusted
    spec: spec.yaml
    host: trusted.test
    upstream: "https://localhost:{idp}/base"
    upstream_tls: {{ ca: "{ca}" }}
  - name: untrusted
    spec: spec.yaml
    host: untrusted.test
    upstream: "https://127.0.0.1:{other}"
    upstream_tls: {{ ca: "{ca}" }}
"#,
        idp = trusted.port(),
        other = stranger.port(),
    );
    let config_path = dir.path().join("gw.yaml");
    std::fs::write(&config_path, config).unwrap();
    let gw = Gateway::start(&config_path);
    // Discovery and the key set were fetched over TLS at start.
    assert_eq!(trusted_answered.load(Ordering::SeqCst), 2);
    let bearer = format!("authorization: Bearer {}\r\n", token());

    let resp = get(&gw, "trusted.test", &bearer);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let echoed = resp.json();
    assert_eq!(echoed["uri"], "/base/items");
    assert_eq!(echoed["host"], format!("localhost:{}", trusted.port()));
    assert_eq!(trusted_answered.load(Ordering::SeqCst), 3);
    // A second request reuses the pooled TLS connection or opens another: either way over TLS.
    assert_eq!(get(&gw, "trusted.test", &bearer).status, 200);
    assert_eq!(trusted_answered.load(Ordering::SeqCst), 4);

    // No token: refused before the upstream.
    assert_eq!(get(&gw, "trusted.test", "").status, 401);
    assert_eq!(trusted_answered.load(Ordering::SeqCst), 4);

    // The other upstream's certificate is signed by a CA the config does not trust.
    let resp = get(&gw, "untrusted.test", &bearer);
    assert_eq!(resp.status, 502, "{}", resp.body);
    assert_eq!(
        resp.json()["type"],
        "https://portcullis.dev/problems/upstream.unavailable"
    );
    assert_eq!(stranger_answered.load(Ordering::SeqCst), 0);
    let line = logged(&gw, "upstream failed");
    assert!(
        line.contains(&format!("https://127.0.0.1:{}", stranger.port()))
            && line.contains("TLS handshake failed")
            && line.contains("unknown issuer"),
        "{line}"
    );

    // `check` shows what each upstream trusts.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("check")
        .arg("--config")
        .arg(&config_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "api trusted -> https://localhost:{}/base (TLS: ca {ca})  mode enforce",
            trusted.port()
        )),
        "{stdout}"
    );
}

/// The first line of the gateway's stderr containing `needle` (waited for: the line is
/// written before the response is sent, but read from the pipe by another thread).
fn logged(gw: &Gateway, needle: &str) -> String {
    gw.await_stderr(&format!("containing {needle:?}"), |l| l.contains(needle))
}

const PUBLIC_SPEC: &str = r#"openapi: 3.1.0
info: { title: public, version: "1" }
paths:
  /ping:
    get:
      operationId: ping
      responses:
        "200": { description: ok }
"#;

/// `state.backend: rediss://` against a real redis-server serving TLS with the test CA's
/// certificate and requiring a client certificate: with `state.tls` the limit is counted in
/// Redis (with `on_failure: allow` a 429 can only come from Redis); without it (the system's
/// roots) Redis is not trusted, `on_failure: deny` refuses, and the log says why.
#[test]
fn rate_limits_through_rediss() {
    let certs = std::path::Path::new(CERTS);
    let Some((redis, tls_port)) = support::redis::Redis::start_tls_or_skip(
        &certs.join("server.pem"),
        &certs.join("server.key"),
        &certs.join("ca.pem"),
    ) else {
        return;
    };
    let upstream = support::echo_upstream();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), PUBLIC_SPEC).unwrap();
    let start = |name: &str, on_failure: &str, tls: &str| {
        let config = format!(
            r#"server: {{ listen: "127.0.0.1:0" }}
log: {{ decisions: off }}
state:
  backend: "rediss://127.0.0.1:{tls_port}/0"
  on_failure: {on_failure}
{tls}apis:
  - name: public
    spec: spec.yaml
    upstream: "http://{upstream}"
    rate_limits:
      - {{ key: ip, limit: 2, per: 1m }}
"#
        );
        let path = dir.path().join(name);
        std::fs::write(&path, config).unwrap();
        Gateway::start(&path)
    };
    let ping = |gw: &Gateway| {
        gw.send("GET /ping HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
            .status
    };

    let trusting = start(
        "trusting.yaml",
        "allow",
        &format!(
            "  tls: {{ ca: \"{CERTS}/ca.pem\", cert: \"{CERTS}/client.pem\", key: \"{CERTS}/client.key\" }}\n"
        ),
    );
    // Requests that found Redis unavailable (a slow machine: 200 ms per check; then a
    // second before the gateway asks again) pass uncounted, so the third counted one is
    // refused, however many came before it: requests until one is not let through.
    let mut statuses = Vec::new();
    support::eventually_every(
        "a request refused by the limit counted in Redis",
        support::PATIENCE,
        std::time::Duration::from_millis(50),
        || {
            statuses.push(ping(&trusting));
            match statuses.last() {
                Some(200) => Err(format!("{statuses:?}")),
                _ => Ok(()),
            }
        },
    );
    assert!(
        statuses.len() >= 3 && statuses.last() == Some(&429),
        "{statuses:?}\n{}",
        trusting.stderr.lock().unwrap()
    );
    redis.await_key("portcullis*", "portcullispublic/0");
    drop(trusting);

    let doubting = start("doubting.yaml", "deny", "");
    // Each failed check is logged; Redis is asked again at most once a second, so a request
    // is sent every 1.1 s until a failed check names the untrusted certificate.
    support::eventually_every(
        "a failed Redis check naming the untrusted certificate",
        support::PATIENCE,
        std::time::Duration::from_millis(1100),
        || {
            assert_eq!(ping(&doubting), 429);
            let log = doubting.stderr.lock().unwrap();
            log.lines()
                .find(|l| l.contains("rate-limit state unavailable") && l.contains("UnknownIssuer"))
                .map(|_| ())
                .ok_or_else(|| format!("stderr so far:\n{log}"))
        },
    );
}
