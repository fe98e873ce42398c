//! A gateway's admin API in memory for the unit tests of the admin routes.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::{broadcast, watch};
use tower::ServiceExt;

use super::router;
use crate::config::Config;
use crate::decision::{Client, Decision, History, Kind, Timestamp};
use crate::identity::jwt;
use crate::metrics::Metrics;
use crate::observe::{Credentials, Observation, Observers, Subscriber};
use crate::request_id::RequestId;
use crate::runtime::Gateway;
use crate::shared::Shared;

/// The admin token of the test gateway.
pub const TOKEN: &str = "test-admin-token-0123456789abcdef";

const SPEC: &str = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /login:
    post:
      operationId: login
      responses: { "200": { description: ok } }
  /items:
    get:
      operationId: listItems
      responses: { "200": { description: ok } }
    post:
      operationId: createItem
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Item" }
      responses: { "201": { description: created } }
components:
  schemas:
    Item:
      type: object
      properties:
        name: { type: string }
        tags: { type: array, items: { $ref: "#/components/schemas/Tag" } }
    Tag: { type: string }
"##;

/// The admin router of a gateway with one API (`bank`, two limits on the client IP: five
/// logins a minute, fifty requests a second with a burst of 100) and the sender of its live
/// stream.
pub struct Admin {
    pub router: Router,
    pub shared: Arc<Shared>,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Admin {
    pub async fn new() -> Admin {
        Admin::with_extra(None).await
    }

    /// With `extra` routes merged in (what `cli` adds).
    pub async fn with_extra(extra: Option<Router>) -> Admin {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bank.yaml"), SPEC).unwrap();
        let text = format!(
            "admin: {{ listen: 127.0.0.1:0, token: {TOKEN} }}\n\
             apis:\n  - name: bank\n    spec: bank.yaml\n    upstream: http://127.0.0.1:9\n    \
             rate_limits:\n      - {{ key: ip, operations: [login], limit: 5, per: 1m }}\n      \
             - {{ key: ip, limit: 50, per: 1s, burst: 100 }}\n"
        );
        let config = Config::from_str_in("gw.yaml", &text, dir.path(), &|_| None).unwrap();
        let gw = Gateway::build(config, None, jwt::system_clock())
            .await
            .unwrap();
        let history = History::default();
        let shared = Arc::new(Shared {
            gateway: ArcSwap::from_pointee(gw),
            metrics: Metrics::new(),
            observers: Observers::start(Vec::new()).unwrap(),
            history,
            config_path: None,
            clock: jwt::system_clock(),
            reload_lock: tokio::sync::Mutex::new(()),
            bans: crate::bans::Bans::default(),
            events: broadcast::channel(crate::events::QUEUE).0,
            admin_extra: extra,
            sampler: None,
        });
        let (stop, stopped) = watch::channel(false);
        Admin {
            router: router(shared.clone(), stopped),
            shared,
            _stop: stop,
            _dir: dir,
        }
    }

    /// Puts `d` in the history, as the observation dispatcher would.
    pub fn record(&self, d: Decision) {
        let mut history = self.shared.history.clone();
        history.observe(&Observation {
            decision: d,
            credentials: Credentials::default(),
            request_bytes: None,
            response_bytes: None,
            flags: Vec::new(),
            route_template: None,
            deprecated: false,
        });
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, HeaderMap, String) {
        self.send("GET", path, token, false, None).await
    }

    /// Sends a request with the token, the admin header and a JSON body as asked.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        admin_header: bool,
        json: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        if admin_header {
            headers.push(("x-portcullis-admin", "1"));
        }
        if json.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.request(method, path, &headers, json.unwrap_or_default())
            .await
    }

    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        self.request(method, path, headers, "").await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }
}

/// A decision of `client` on `operation` of `bank`.
pub fn decision(
    id: &str,
    client: &str,
    operation: Option<&str>,
    kind: Kind,
    rule: Option<&'static str>,
) -> Decision {
    Decision {
        ts: Timestamp::now(),
        request_id: RequestId::from_header(&http::HeaderValue::from_str(id).unwrap()).unwrap(),
        api: Some("bank".into()),
        operation: operation.map(Into::into),
        method: http::Method::GET,
        path: "/items".to_owned(),
        client: Client {
            ip: client.parse::<IpAddr>().unwrap(),
            key_id: None,
            sub: None,
        },
        decision: kind,
        rule,
        reason: None,
        status: if kind == Kind::Block { 403 } else { 200 },
        upstream_status: None,
        latency_us: 10,
    }
}
