//! Unit tests of the stages: the lists compiled per operation, and whole requests run through
//! the pipeline as constructed values (no client socket; the upstream is a closed port).

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};

use super::authenticate::counts_for_lockout;
use super::*;
use crate::config::Config;
use crate::decision::{Decision, History};
use crate::identity::AuthFailure;
use crate::identity::introspection::Failure;
use crate::identity::jwt;
use crate::metrics::Metrics;
use crate::observe::Observers;
use crate::pipeline::{Shared, Worker, handle};
use crate::runtime::Gateway;

#[test]
fn only_refused_credentials_count_for_lockout_never_an_outage() {
    let refused = |f: AuthFailure| counts_for_lockout(&unauthorized(&f), true);
    assert!(refused(AuthFailure::BadSignature));
    assert!(refused(AuthFailure::Introspection(Failure::Inactive)));
    assert!(!counts_for_lockout(
        &unauthorized(&AuthFailure::BadSignature),
        false
    ));
    assert!(!refused(AuthFailure::KeysUnavailable));
    for status in [401, 503] {
        let message = "down".to_owned();
        assert!(!refused(AuthFailure::Introspection(Failure::Unavailable {
            message: message.clone(),
            status,
        })));
        assert!(!refused(AuthFailure::Introspection(Failure::BadResponse {
            message,
            status,
        })));
    }
}

const SPEC: &str = r#"openapi: 3.0.3
info: { title: t, version: '1' }
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-API-Key }
paths:
  /items:
    get:
      operationId: listItems
      parameters:
        - { name: limit, in: query, schema: { type: integer, maximum: 100 } }
      responses: { '200': { description: ok } }
    post:
      operationId: createItem
      security: [ { key: [] } ]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties: { name: { type: string, maxLength: 10 } }
      responses: { '201': { description: created } }
  /old:
    get:
      operationId: oldItems
      deprecated: true
      responses: { '200': { description: ok } }
  /admin:
    get:
      operationId: adminThing
      x-portcullis-admin: true
      responses: { '200': { description: ok } }
"#;

/// A gateway over [`SPEC`] (upstream: a closed port) with `extra` lines in its API block.
async fn gateway(mode: &str, extra: &str) -> (tempfile::TempDir, Gateway) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    let keys = dir.path().join("keys.yaml");
    std::fs::write(&keys, "keys: []\n").unwrap();
    let text = format!(
        "identity:\n  api_keys: {{ file: keys.yaml }}\napis:\n  - name: t\n    spec: spec.yaml\n    \
         upstream: http://127.0.0.1:9\n    mode: {mode}\n    deprecated: block\n{extra}"
    );
    let config = Config::from_str_in("gw.yaml", &text, dir.path(), &|_| None).unwrap();
    let gw = Gateway::build(config, None, jwt::system_clock())
        .await
        .unwrap();
    (dir, gw)
}

fn stages_of(gw: &Gateway, op: &str) -> Vec<Stage> {
    let api = &gw.apis[0];
    let plan = api.ops.iter().find(|p| &*p.id == op).unwrap();
    plan.stages.stages().to_vec()
}

#[tokio::test]
async fn each_operation_gets_only_the_stages_that_apply_in_design_order() {
    let (_dir, gw) = gateway(
        "enforce",
        "    concurrency: 4\n    rate_limits:\n      - { key: ip, limit: 5, per: 1s }\n      \
         - { key: subject, limit: 5, per: 1s, operations: [createItem] }\n",
    )
    .await;
    use Stage::*;
    assert_eq!(
        stages_of(&gw, "listItems"),
        [ClientLimits, Concurrency, ValidateParams, ValidateBody]
    );
    assert_eq!(
        stages_of(&gw, "createItem"),
        [
            ClientLimits,
            Concurrency,
            Authenticate,
            Authorize,
            IdentityLimits,
            ValidateParams,
            ValidateBody
        ]
    );
    assert_eq!(
        stages_of(&gw, "oldItems"),
        [
            Deprecation,
            ClientLimits,
            Concurrency,
            ValidateParams,
            ValidateBody
        ]
    );
    assert_eq!(
        stages_of(&gw, "adminThing"),
        [
            ClientLimits,
            Concurrency,
            Authorize,
            ValidateParams,
            ValidateBody
        ]
    );
    // Undocumented requests let through get the limits that apply to every request.
    assert_eq!(gw.apis[0].undocumented_stages.stages(), [ClientLimits]);

    // Without limits or validation, a public operation has no stage at all.
    let (_dir, gw) = gateway(
        "enforce",
        "    request: { validate: off, unknown_fields: off }\n",
    )
    .await;
    assert!(stages_of(&gw, "listItems").is_empty());
}

/// The state a server keeps, around `gw`, with the history as the only subscriber.
fn shared(gw: Gateway) -> Arc<Shared> {
    let history = History::default();
    Arc::new(Shared {
        gateway: ArcSwap::from_pointee(gw),
        metrics: Metrics::new(),
        observers: Observers::start(vec![Box::new(history.clone())]).unwrap(),
        history,
        config_path: None,
        clock: jwt::system_clock(),
        reload_lock: tokio::sync::Mutex::new(()),
        bans: crate::bans::Bans::default(),
        events: tokio::sync::broadcast::channel(16).0,
        admin_extra: None,
        sampler: None,
    })
}

/// The `n`th decision the history holds, waited for (observations arrive asynchronously).
fn nth_decision(shared: &Shared, n: usize) -> Decision {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(d) = shared.history.recent(usize::MAX).get(n) {
            return d.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "decision {n} never reached the history"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Runs one constructed request through the whole pipeline; its status and decision.
async fn run_request(gw: Gateway, req: Request<Full<Bytes>>) -> (StatusCode, String, String) {
    let shared = shared(gw);
    let peer: SocketAddr = "192.0.2.7:50000".parse().unwrap();
    let response = handle(
        Arc::clone(&shared),
        Arc::new(Worker::default()),
        req,
        peer,
        false,
    )
    .await;
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(!body.is_empty(), "every answer has a body here");
    let decision = nth_decision(&shared, 0);
    let rule = decision.rule.unwrap_or("").to_owned();
    (status, decision.decision.as_str().to_owned(), rule)
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "t")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn post(uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Full<Bytes>> {
    let mut b = Request::post(uri).header("host", "t");
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(Full::new(Bytes::from(body.to_owned()))).unwrap()
}

#[tokio::test]
async fn constructed_requests_get_each_stages_verdict() {
    // What each case shows, the request, and the status, decision and rule expected.
    type Case = (
        &'static str,
        Request<Full<Bytes>>,
        u16,
        &'static str,
        &'static str,
    );
    let cases: [Case; 6] = [
        (
            "a valid request reaches the (closed) upstream",
            get("/items?limit=5"),
            502,
            "allow",
            "upstream.unavailable",
        ),
        (
            "a parameter out of range",
            get("/items?limit=500"),
            400,
            "block",
            "request.parameter",
        ),
        (
            "a deprecated operation with deprecated: block",
            get("/old"),
            410,
            "block",
            "route.deprecated",
        ),
        (
            "no credential for a secured operation",
            post("/items", &[("content-type", "application/json")], "{}"),
            401,
            "block",
            "auth.invalid",
        ),
        (
            "no caller for an admin operation",
            get("/admin"),
            401,
            "block",
            "auth.invalid",
        ),
        (
            "a body where the operation takes none",
            Request::get("/items")
                .header("host", "t")
                .header("content-length", "1")
                .body(Full::new(Bytes::from_static(b"x")))
                .unwrap(),
            415,
            "block",
            "request.content-type",
        ),
    ];
    for (what, req, status, decision, rule) in cases {
        let (_dir, gw) = gateway("enforce", "").await;
        let got = run_request(gw, req).await;
        assert_eq!(
            (got.0.as_u16(), got.1.as_str(), got.2.as_str()),
            (status, decision, rule),
            "{what}"
        );
    }
}

#[tokio::test]
async fn monitor_mode_logs_the_first_denial_and_lets_the_request_go_on() {
    let (_dir, gw) = gateway("monitor", "").await;
    let (status, decision, rule) = run_request(gw, get("/items?limit=500")).await;
    assert_eq!(
        (status.as_u16(), decision.as_str(), rule.as_str()),
        (502, "monitor", "request.parameter")
    );
}

#[tokio::test]
async fn per_ip_limits_refuse_before_any_credential_is_checked() {
    let (_dir, gw) = gateway(
        "enforce",
        "    rate_limits:\n      - { key: ip, limit: 1, per: 1m, burst: 1 }\n",
    )
    .await;
    let shared = shared(gw);
    let peer: SocketAddr = "192.0.2.8:50000".parse().unwrap();
    let worker = Arc::new(Worker::default());
    let mut rules = Vec::new();
    for n in 0..2 {
        // No credential: authentication would refuse with 401; the limit comes first.
        let req = post("/items", &[("content-type", "application/json")], "{}");
        let response = handle(Arc::clone(&shared), Arc::clone(&worker), req, peer, false).await;
        let rule = nth_decision(&shared, n).rule.unwrap_or("");
        rules.push((response.status().as_u16(), rule));
    }
    assert_eq!(rules, [(401, "auth.invalid"), (429, "ratelimit")]);
    // The refused request never reached authentication: one credential check, not two.
    let metrics = shared.metrics.encode();
    let checks: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("portcullis_auth_failures_total{"))
        .collect();
    assert_eq!(checks.len(), 1, "{metrics}");
    assert!(checks[0].ends_with(" 1"), "{}", checks[0]);
}

#[tokio::test]
async fn a_banned_client_is_refused_before_routing_and_served_once_unbanned() {
    let (_dir, gw) = gateway("monitor", "").await;
    let shared = shared(gw);
    let peer: SocketAddr = "192.0.2.9:50000".parse().unwrap();
    let worker = Arc::new(Worker::default());
    shared.bans.add(
        peer.ip(),
        std::time::Duration::from_secs(60),
        "test",
        "admin",
    );
    // Even in monitor mode, and on a path no API documents.
    let response = handle(
        Arc::clone(&shared),
        Arc::clone(&worker),
        get("/nowhere"),
        peer,
        false,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let d = nth_decision(&shared, 0);
    assert_eq!(
        (d.decision.as_str(), d.rule),
        ("block", Some("client.banned"))
    );
    // Another client is not concerned, and the client is served once its ban is lifted.
    let other: SocketAddr = "192.0.2.10:50000".parse().unwrap();
    let response = handle(
        Arc::clone(&shared),
        Arc::clone(&worker),
        get("/items"),
        other,
        false,
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(shared.bans.remove(peer.ip()));
    let response = handle(Arc::clone(&shared), worker, get("/items"), peer, false).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}
