//! Brute-force lockout end to end through `portcullis serve` (issue 6): per client IP on bad API
//! keys, per account on a login operation whose upstream answers 401, and shared by two
//! replicas through a real Redis. Client IPs are simulated with `X-Forwarded-For` from the
//! trusted loopback peer.
// Test helpers: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use portcullis_gateway::identity::apikeys::{NewKey, generate};
use serde_json::{Value, json};
use support::redis::Redis;
use support::{Gateway, Resp};

const ADMIN_TOKEN: &str = "lockout-e2e-admin-token-0123456789";

const SPEC: &str = r#"openapi: 3.0.3
info: { title: lockout, version: "1" }
components:
  securitySchemes:
    key: { type: apiKey, in: header, name: X-API-Key }
paths:
  /items:
    get:
      operationId: listItems
      security: [ { key: [] } ]
      responses:
        "200": { description: ok }
  /login:
    post:
      operationId: login
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                username: { type: string }
                password: { type: string }
              required: [username, password]
      responses:
        "200": { description: logged in }
        "401": { description: wrong password }
"#;

/// A config directory: the spec, a key file with one valid key (returned), and the gateway
/// config with `state` and `lockout` as given, logging decisions to `decisions.jsonl`.
fn setup(dir: &Path, upstream: SocketAddr, state: &str, lockout: &str) -> (PathBuf, String) {
    let key = generate(&NewKey {
        id: "ci".to_owned(),
        owner: "ci-owner".to_owned(),
        ..NewKey::default()
    })
    .unwrap();
    std::fs::write(dir.join("keys.yaml"), format!("keys:\n{}", key.yaml)).unwrap();
    std::fs::write(dir.join("spec.yaml"), SPEC).unwrap();
    let config = format!(
        r#"server:
  listen: 127.0.0.1:0
  trusted_proxies: [127.0.0.1]
admin:
  listen: 127.0.0.1:0
  token: {ADMIN_TOKEN}
state: {state}
identity:
  api_keys: {{ file: keys.yaml }}
log:
  decisions: {log}
apis:
  - name: shop
    spec: spec.yaml
    upstream: http://{upstream}
    lockout:
{lockout}
"#,
        log = dir.join("decisions.jsonl").display()
    );
    let path = dir.join("portcullis.yaml");
    std::fs::write(&path, config).unwrap();
    (path, key.presented)
}

/// `GET /items` from client `ip` with API key `key`, tagged with request id `id`.
fn items(gw: &Gateway, id: &str, ip: &str, key: &str) -> Resp {
    gw.send(&format!(
        "GET /items HTTP/1.1\r\nhost: t\r\nx-request-id: {id}\r\nx-forwarded-for: {ip}\r\n\
         x-api-key: {key}\r\nconnection: close\r\n\r\n"
    ))
}

/// `POST /login` from client `ip`.
fn login(gw: &Gateway, id: &str, ip: &str, username: &str, password: &str) -> Resp {
    let body = json!({ "username": username, "password": password }).to_string();
    gw.send(&format!(
        "POST /login HTTP/1.1\r\nhost: t\r\nx-request-id: {id}\r\nx-forwarded-for: {ip}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
}

/// The value of `portcullis_lockouts_total{api="shop",kind="<kind>"}` now (0 when absent).
fn lockouts_now(gw: &Gateway, kind: &str) -> f64 {
    let series = format!("portcullis_lockouts_total{{api=\"shop\",kind=\"{kind}\"}}");
    let resp = gw.admin("GET", "/metrics", Some(ADMIN_TOKEN));
    assert_eq!(resp.status, 200, "{}", resp.body);
    if !resp.body.contains(&series) {
        return 0.0;
    }
    gw.metric_now(&series, ADMIN_TOKEN).unwrap()
}

/// Waits (bounded) until `portcullis_lockouts_total{api="shop",kind="<kind>"}` is `value`
/// (0 when absent) on `gateways` together.
fn await_lockouts(gateways: &[&Gateway], kind: &str, value: f64) {
    support::eventually(
        &format!("{kind} lockouts == {value}"),
        support::PATIENCE,
        || {
            let now: f64 = gateways.iter().map(|gw| lockouts_now(gw, kind)).sum();
            if now == value {
                Ok(())
            } else {
                Err(format!("{now}"))
            }
        },
    );
}

/// Asserts a lockout refusal: 429, `Retry-After` within the lock, the rule in the body.
fn assert_locked(resp: &Resp, rule: &str, lock_secs: u64) {
    assert_eq!(resp.status, 429, "{resp:?}");
    let retry: u64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {resp:?}"));
    assert!((1..=lock_secs).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        resp.json()["type"],
        format!("https://portcullis.dev/problems/{rule}")
    );
}

/// The decision line of request `id`.
fn decision<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    lines
        .iter()
        .find(|d| d["request_id"] == id)
        .unwrap_or_else(|| panic!("no decision for {id}"))
}

/// An upstream whose `POST /login` answers 200 for the password `right` and 401 otherwise.
fn login_upstream() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().route(
                "/login",
                axum::routing::post(|axum::Json(body): axum::Json<Value>| async move {
                    if body["password"] == "right" {
                        (axum::http::StatusCode::OK, "{\"token\":\"t\"}")
                    } else {
                        (
                            axum::http::StatusCode::UNAUTHORIZED,
                            "{\"error\":\"wrong\"}",
                        )
                    }
                }),
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Memory backend: three refused keys from one IP lock it (429 with Retry-After, a valid key
/// refused too, unchecked), other IPs are unaffected, missing keys do not count, and a
/// success in between does not reset the IP's count.
#[test]
fn bad_api_keys_lock_out_the_client_ip() {
    let dir = tempfile::tempdir().unwrap();
    let lockout = "      ip: { failures: 3, within: 1h, lock: 10m }";
    let (config, good) = setup(dir.path(), support::echo_upstream(), "{}", lockout);
    let gw = Gateway::start(&config);
    let attacker = "203.0.113.7";
    let bad = |n: usize| format!("pc_ci_wrong-secret-{n}");
    assert_eq!(items(&gw, "a-ok", attacker, &good).status, 200);
    assert_eq!(items(&gw, "a-1", attacker, &bad(1)).status, 401);
    assert_eq!(items(&gw, "a-2", attacker, "pc_nobody_x").status, 401);
    // A single read: a count that only grows, expected not to have yet.
    assert_eq!(lockouts_now(&gw, "ip"), 0.0);
    assert_eq!(items(&gw, "a-3", attacker, "not-a-key").status, 401);
    await_lockouts(&[&gw], "ip", 1.0);
    // Locked: the valid key is refused without being checked, and so is a bad one.
    assert_locked(&items(&gw, "a-good", attacker, &good), "auth.locked", 600);
    assert_locked(&items(&gw, "a-4", attacker, &bad(4)), "auth.locked", 600);
    // One lock, however often it refuses.
    await_lockouts(&[&gw], "ip", 1.0);
    // A public operation (no credentials, not a login operation here) is still served.
    assert_eq!(login(&gw, "a-public", attacker, "x", "y").status, 200);

    // Another client is not affected; requests without a key do not count.
    let other = "198.51.100.20";
    for n in 0..5 {
        let resp = gw.send(&format!(
            "GET /items HTTP/1.1\r\nhost: t\r\nx-forwarded-for: {other}\r\nx-request-id: o-{n}\r\nconnection: close\r\n\r\n"
        ));
        assert_eq!(resp.status, 401, "{resp:?}");
    }
    assert_eq!(items(&gw, "o-good", other, &good).status, 200);

    // A success does not reset the IP's count: 2 failures, a success, 1 failure lock it.
    let third = "192.0.2.55";
    assert_eq!(items(&gw, "t-1", third, &bad(1)).status, 401);
    assert_eq!(items(&gw, "t-2", third, &bad(2)).status, 401);
    assert_eq!(items(&gw, "t-ok", third, &good).status, 200);
    assert_eq!(items(&gw, "t-3", third, &bad(3)).status, 401);
    assert_locked(&items(&gw, "t-locked", third, &good), "auth.locked", 600);
    await_lockouts(&[&gw], "ip", 2.0);

    // A reload keeps counts and locks (the state backend is unchanged).
    gw.hangup();
    gw.await_metric_eq("portcullis_reloads_total", ADMIN_TOKEN, 1.0);
    assert_locked(
        &items(&gw, "a-reloaded", attacker, &good),
        "auth.locked",
        600,
    );

    let log = dir.path().join("decisions.jsonl");
    let lines = support::decision_log(&log, &["a-good", "a-4", "t-locked", "o-good"]);
    let locked = decision(&lines, "a-good");
    assert_eq!(locked["rule"], "auth.locked");
    assert_eq!(locked["decision"], "block");
    assert_eq!(locked["status"], 429);
    assert_eq!(locked["client"]["ip"], attacker);
    // The key was never checked: no caller was identified.
    assert!(locked["client"]["key_id"].is_null(), "{locked}");
    assert!(
        locked["reason"]
            .as_str()
            .unwrap()
            .contains("client 203.0.113.7 is locked out"),
        "{locked}"
    );
    assert_eq!(decision(&lines, "a-3")["rule"], "auth.key-malformed");
    assert_eq!(decision(&lines, "o-good")["rule"], Value::Null);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&good), "a key reached the decision log");
}

/// A login operation: failed logins for alice from several IPs lock alice (any case), not bob;
/// a successful login clears carol's count.
#[test]
fn failed_logins_lock_the_account_across_ips() {
    let dir = tempfile::tempdir().unwrap();
    let lockout = r#"      ip: { failures: 0, within: 1m, lock: 1m }
      account: { failures: 3, within: 1h, lock: 15m }
      logins:
        - { operation: login, account: /username, failure_status: [401, 403] }"#;
    let (config, _) = setup(dir.path(), login_upstream(), "{}", lockout);
    let gw = Gateway::start(&config);
    for n in 1..=3 {
        let ip = format!("198.51.100.{n}");
        let resp = login(&gw, &format!("alice-{n}"), &ip, "alice", "guess");
        assert_eq!(resp.status, 401, "{resp:?}");
    }
    await_lockouts(&[&gw], "account", 1.0);
    // Alice is locked, whatever the IP, the case, or the password.
    assert_locked(
        &login(&gw, "alice-right", "192.0.2.9", "alice", "right"),
        "auth.account-locked",
        900,
    );
    assert_locked(
        &login(&gw, "alice-case", "192.0.2.10", " Alice", "right"),
        "auth.account-locked",
        900,
    );
    // Bob is not.
    assert_eq!(
        login(&gw, "bob-1", "198.51.100.1", "bob", "guess").status,
        401
    );
    assert_eq!(
        login(&gw, "bob-ok", "198.51.100.1", "bob", "right").status,
        200
    );

    // A successful login clears the count: 2 failures, a success, 2 failures do not lock.
    for (id, password) in [
        ("carol-1", "guess"),
        ("carol-2", "guess"),
        ("carol-ok", "right"),
        ("carol-3", "guess"),
        ("carol-4", "guess"),
    ] {
        let expected = if password == "right" { 200 } else { 401 };
        assert_eq!(
            login(&gw, id, "192.0.2.77", "carol", password).status,
            expected
        );
    }
    assert_eq!(
        login(&gw, "carol-ok2", "192.0.2.77", "carol", "right").status,
        200
    );
    await_lockouts(&[&gw], "account", 1.0);

    let log = dir.path().join("decisions.jsonl");
    let lines = support::decision_log(&log, &["alice-right", "bob-ok", "carol-ok2"]);
    let locked = decision(&lines, "alice-right");
    assert_eq!(locked["rule"], "auth.account-locked");
    assert!(
        locked["upstream_status"].is_null(),
        "not forwarded: {locked}"
    );
    assert!(
        locked["reason"]
            .as_str()
            .unwrap()
            .contains("account \"alice\""),
        "{locked}"
    );
    assert_eq!(decision(&lines, "alice-1")["upstream_status"], 401);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("guess"),
        "a password reached the decision log"
    );
}

/// Two replicas on one Redis share the count: failures split across both lock the client on
/// both.
#[test]
fn replicas_share_the_lockout_through_redis() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = format!("{{ backend: \"{}\", on_failure: deny }}", redis.url());
    let lockout = "      ip: { failures: 4, within: 1h, lock: 10m }";
    let (config, good) = setup(dir.path(), support::echo_upstream(), &state, lockout);
    let a = Gateway::start(&config);
    let b = Gateway::start(&config);
    let degraded = |gw: &Gateway| {
        gw.metric_now("portcullis_ratelimit_degraded_decisions_total", ADMIN_TOKEN)
            .unwrap()
    };
    // A gateway gives up on Redis after 200 ms and then decides by `on_failure` (here: deny),
    // and for a second after: on a loaded machine it does so with Redis up, and such a round
    // does not show replicas sharing a count. So the round runs again, for a fresh client, a
    // second later, until every decision in it came from Redis.
    let mut attempt = 0;
    let (before, seen) = support::eventually_every(
        "a lockout round decided in Redis alone",
        support::PATIENCE,
        std::time::Duration::from_secs(1),
        || {
            attempt += 1;
            let ip = format!("203.0.113.{attempt}");
            let ip = ip.as_str();
            let before = lockouts_now(&a, "ip") + lockouts_now(&b, "ip");
            let degraded_before = degraded(&a) + degraded(&b);
            let mut seen = Vec::new();
            for (n, gw) in [&a, &b, &a].into_iter().enumerate() {
                seen.push(("failure", items(gw, &format!("r-{n}"), ip, "pc_ci_wrong")));
            }
            seen.push(("ok on a", items(&a, "r-ok-a", ip, &good)));
            seen.push(("ok on b", items(&b, "r-ok-b", ip, &good)));
            seen.push(("fourth failure", items(&b, "r-3", ip, "pc_ci_wrong")));
            seen.push(("locked on a", items(&a, "r-locked-a", ip, &good)));
            seen.push(("locked on b", items(&b, "r-locked-b", ip, &good)));
            seen.push(("other", items(&a, "r-other", "198.51.100.1", &good)));
            let without = degraded(&a) + degraded(&b) - degraded_before;
            if without == 0.0 {
                Ok((before, seen))
            } else {
                Err(format!("{without} decisions without Redis: {seen:?}"))
            }
        },
    );
    let status = |what: &str| seen.iter().find(|(w, _)| *w == what).unwrap().1.status;
    let failures: Vec<u16> = seen
        .iter()
        .filter(|(w, _)| *w == "failure")
        .map(|(_, r)| r.status)
        .collect();
    assert_eq!(failures, [401, 401, 401], "{seen:?}");
    // Three failures: not locked on either replica.
    assert_eq!(status("ok on a"), 200, "{seen:?}");
    assert_eq!(status("ok on b"), 200, "{seen:?}");
    // The fourth, on b, locks the client on both.
    assert_eq!(status("fourth failure"), 401, "{seen:?}");
    for replica in ["locked on a", "locked on b"] {
        let resp = &seen.iter().find(|(w, _)| *w == replica).unwrap().1;
        assert_locked(resp, "auth.locked", 600);
    }
    await_lockouts(&[&a, &b], "ip", before + 1.0);
    // Another client is free on both.
    assert_eq!(status("other"), 200, "{seen:?}");
    drop(redis);
}
