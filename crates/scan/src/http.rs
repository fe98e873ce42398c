//! Every request of a scan goes through one [`Client`]: it refuses any URL outside the
//! target's origin, counts requests against the budget, paces them to the configured rate,
//! never follows a redirect, bounds the time and the bytes of each answer, and records what
//! was sent and received as an [`Exchange`].

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

/// The most bytes of an answer's body that are read.
const MAX_BODY: usize = 1024 * 1024;
/// How long one request may take, head and body.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request was not answered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The budget is spent: the scan stops sending.
    #[error("the request budget ({0} requests) is spent")]
    Budget(u64),
    /// The URL is outside the target's origin.
    #[error("{0} is outside the target's origin; not sent")]
    OutOfScope(String),
    /// The request could not be built.
    #[error("cannot build the request {method} {url}: {message}")]
    Build {
        /// Method.
        method: String,
        /// URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// Connecting, sending or reading failed.
    #[error("{method} {url}: {message}")]
    Transport {
        /// Method.
        method: String,
        /// URL.
        url: String,
        /// What happened.
        message: String,
    },
}

/// Why a target URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not a URL.
    #[error("{url:?} is not a URL: {message}")]
    Invalid {
        /// The text given.
        url: String,
        /// Why.
        message: String,
    },
    /// A scheme other than http and https.
    #[error("{url:?}: only http:// and https:// targets are supported")]
    Scheme {
        /// The text given.
        url: String,
    },
}

/// The API under test: its origin (the scope) and the path it is mounted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http://host:port`, no trailing slash.
    pub origin: String,
    /// The path prefix (`""` or `/api`), no trailing slash.
    pub base_path: String,
}

impl Target {
    /// Parses a base URL such as `http://127.0.0.1:8081` or `http://host/api/`.
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let url = url::Url::parse(text).map_err(|e| TargetError::Invalid {
            url: text.to_owned(),
            message: e.to_string(),
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(TargetError::Scheme {
                url: text.to_owned(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(TargetError::Invalid {
                url: text.to_owned(),
                message: "a target has no query, fragment or user name".to_owned(),
            });
        }
        let origin = url.origin().ascii_serialization();
        if origin == "null" {
            return Err(TargetError::Invalid {
                url: text.to_owned(),
                message: "it has no host".to_owned(),
            });
        }
        Ok(Target {
            origin,
            base_path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The URL of `path` (which starts with `/`, query string included) on the target.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.origin, self.base_path, path)
    }

    /// True when `url` is on the target's origin.
    pub fn in_scope(&self, url: &str) -> bool {
        url::Url::parse(url).is_ok_and(|u| u.origin().ascii_serialization() == self.origin)
    }
}

/// A request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Method token.
    pub method: String,
    /// Path and query on the target (`/users/alice?x=1`).
    pub path: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: &str, path: impl Into<String>) -> Request {
        Request {
            method: method.to_owned(),
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a header, replacing any of the same name.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
    }
}

/// A request as sent and the answer it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request.
    pub request: Request,
    /// Its full URL.
    pub url: String,
    /// The answer's status code.
    pub status: u16,
    /// The answer's headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The answer's body (at most 1 MiB).
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// How long the answer took.
    pub elapsed: Duration,
}

impl Exchange {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A response header (lower-case name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The TLS setup of a scan: `files` (the configuration's `tls`), or the system's trust
/// store alone.
pub fn client_tls(
    files: Option<&crate::config::TlsFiles>,
) -> Result<portcullis_tls::ClientTls, portcullis_tls::TlsError> {
    let ca = files.and_then(|f| f.ca.as_deref());
    let identity = files
        .and_then(|f| f.identity.as_ref())
        .map(|(c, k)| (c.as_path(), k.as_path()));
    portcullis_tls::client_config(
        portcullis_tls::ClientFiles { ca, identity },
        std::path::Path::new("tls"),
    )
}

/// The scan's HTTP client: scope, budget and rate on every request.
pub struct Client {
    target: Target,
    inner: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    budget: u64,
    sent: u64,
    interval: Duration,
    next_slot: Option<tokio::time::Instant>,
}

impl Client {
    /// A client for `target` that sends at most `budget` requests, `rate` per second, over
    /// verified TLS for an https target (`tls`: the trust anchors and client certificate, from
    /// the shared outbound setup of `portcullis-tls`; the system's store by default).
    pub fn new(
        target: Target,
        budget: u64,
        rate: f64,
        tls: &portcullis_tls::ClientTls,
    ) -> Result<Client, portcullis_tls::TlsError> {
        let inner = portcullis_tls::http_client(Some(tls))?;
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        Ok(Client {
            target,
            inner,
            budget,
            sent: 0,
            interval,
            next_slot: None,
        })
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Requests the budget still allows.
    pub fn remaining(&self) -> u64 {
        self.budget.saturating_sub(self.sent)
    }

    /// Sends `request` to the target and reads the answer (redirects are not followed).
    pub async fn send(&mut self, request: Request) -> Result<Exchange, SendError> {
        let url = self.target.url(&request.path);
        if !request.path.starts_with('/') || !self.target.in_scope(&url) {
            return Err(SendError::OutOfScope(url));
        }
        if self.sent >= self.budget {
            return Err(SendError::Budget(self.budget));
        }
        let build = |message: String| SendError::Build {
            method: request.method.clone(),
            url: url.clone(),
            message,
        };
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(url.as_str());
        for (k, v) in &request.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let body = match &request.body {
            Some(value) => {
                if request.header("content-type").is_none() {
                    builder = builder.header("content-type", "application/json");
                }
                Full::new(Bytes::from(value.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let http_request = builder.body(body).map_err(|e| build(e.to_string()))?;
        self.pace().await;
        self.sent += 1;
        let started = Instant::now();
        let transport = |message: String| SendError::Transport {
            method: request.method.clone(),
            url: url.clone(),
            message,
        };
        let answer = tokio::time::timeout(TIMEOUT, async {
            let response = self
                .inner
                .request(http_request)
                .await
                .map_err(|e| portcullis_tls::describe(&e))?;
            let (head, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .map_err(|e| format!("reading the body: {e}"))?;
            Ok::<_, String>((head, body))
        })
        .await
        .map_err(|_| transport(format!("no answer within {} s", TIMEOUT.as_secs())))?
        .map_err(transport)?;
        let (head, body) = answer;
        let headers = head
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let json = serde_json::from_slice(&body).ok();
        Ok(Exchange {
            request,
            url,
            status: head.status.as_u16(),
            headers,
            body,
            json,
            elapsed: started.elapsed(),
        })
    }

    /// Waits for the next slot of the rate.
    async fn pace(&mut self) {
        let now = tokio::time::Instant::now();
        let slot = match self.next_slot {
            Some(next) if next > now => next,
            _ => now,
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
        self.next_slot = Some(slot + self.interval);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn targets_and_scope() {
        let t = Target::parse("http://127.0.0.1:8081/api/").unwrap();
        assert_eq!(t.origin, "http://127.0.0.1:8081");
        assert_eq!(t.base_path, "/api");
        assert_eq!(t.url("/x?y=1"), "http://127.0.0.1:8081/api/x?y=1");
        assert!(t.in_scope("http://127.0.0.1:8081/other"));
        assert!(!t.in_scope("http://127.0.0.1:8082/api/x"));
        assert!(!t.in_scope("http://evil.example/api/x"));
        assert_eq!(
            Target::parse("https://example.com").unwrap().origin,
            "https://example.com"
        );
        assert!(Target::parse("ftp://example.com").is_err());
        assert!(Target::parse("not a url").is_err());
        assert!(Target::parse("http://h/?q=1").is_err());
    }

    /// A redirect to another origin is an answer, never followed.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let trap_addr = trap.local_addr().unwrap();
        let location = format!("http://{trap_addr}/stolen");
        let app = axum::Router::new().route(
            "/go",
            axum::routing::get(move || {
                let location = location.clone();
                async move { (axum::http::StatusCode::FOUND, [("location", location)], "") }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let tls = client_tls(None).unwrap();
        let mut c = Client::new(
            Target::parse(&format!("http://{addr}")).unwrap(),
            5,
            1000.0,
            &tls,
        )
        .unwrap();
        let x = c.send(Request::new("GET", "/go")).await.unwrap();
        assert_eq!(x.status, 302);
        assert_eq!(c.sent(), 1);
        // Nothing connected to the redirect's target: a followed redirect would have connected
        // before `send` returned, so one poll (no wait) tells.
        let accepted = tokio::time::timeout(Duration::ZERO, trap.accept()).await;
        assert!(accepted.is_err(), "the redirect was followed");
    }

    #[tokio::test]
    async fn out_of_scope_and_budget_are_refused_before_sending() {
        let t = Target::parse("http://127.0.0.1:9").unwrap();
        let mut c = Client::new(t, 0, 10.0, &client_tls(None).unwrap()).unwrap();
        // `//evil.example/x` would leave the origin once joined: refused.
        let e = c
            .send(Request::new("GET", "@evil.example/x"))
            .await
            .unwrap_err();
        assert!(matches!(e, SendError::OutOfScope(_)), "{e}");
        let e = c.send(Request::new("GET", "/x")).await.unwrap_err();
        assert!(matches!(e, SendError::Budget(0)), "{e}");
        assert_eq!(c.sent(), 0);
    }

    /// An https target on 127.0.0.1 with a certificate of a private CA: verified with the CA
    /// given in the configuration's `tls`, refused (unknown issuer) without it.
    #[tokio::test]
    async fn https_targets_are_verified_with_the_configured_ca() {
        use rustls::pki_types::pem::PemObject;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let data =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/tests/data/tls");
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(data.join("server.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(data.join("server.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        let target = Target::parse(&format!("https://127.0.0.1:{}", addr.port())).unwrap();
        let files = crate::config::TlsFiles {
            ca: Some(data.join("ca.pem")),
            identity: None,
        };
        let tls = client_tls(Some(&files)).unwrap();
        let mut c = Client::new(target.clone(), 5, 1000.0, &tls).unwrap();
        let x = c.send(Request::new("GET", "/x")).await.unwrap();
        assert_eq!((x.status, x.text().as_str()), (200, "ok"));
        // The system's store does not know the private CA: refused, and said so.
        let mut c = Client::new(target, 5, 1000.0, &client_tls(None).unwrap()).unwrap();
        let e = c.send(Request::new("GET", "/x")).await.unwrap_err();
        assert!(e.to_string().contains("unknown issuer"), "{e}");
        // A CA file that does not exist is named.
        let missing = crate::config::TlsFiles {
            ca: Some(data.join("missing.pem")),
            identity: None,
        };
        let e = client_tls(Some(&missing)).unwrap_err().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
    }
}
