//! `portcullis demo --attack`: the same scripted attacks and benign requests, sent once to
//! the unprotected bank and once through the gateway, with what each answered.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};

/// One attack's result.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What the attack does.
    pub attack: String,
    /// OWASP API Security Top 10 2023 category.
    pub owasp: &'static str,
    /// Status from the bank called directly.
    pub direct_status: u16,
    /// Status through the gateway.
    pub gateway_status: u16,
    /// The gateway rule that stopped it (`null` when it was not stopped).
    pub rule: Option<String>,
    /// True when the attack achieved its aim against the unprotected bank.
    pub worked_directly: bool,
    /// True when the gateway stopped it.
    pub blocked: bool,
}

/// One benign request's result.
#[derive(Debug, Clone, Serialize)]
pub struct Benign {
    /// What it does.
    pub request: String,
    /// Status through the gateway.
    pub gateway_status: u16,
    /// True when it succeeded (2xx).
    pub passed: bool,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The attacks.
    pub attacks: Vec<Row>,
    /// The benign traffic.
    pub benign: Vec<Benign>,
}

impl Report {
    /// True when every attack worked directly and was blocked through the gateway, and every
    /// benign request passed.
    pub fn all_good(&self) -> bool {
        self.attacks.iter().all(|a| a.worked_directly && a.blocked)
            && self.benign.iter().all(|b| b.passed)
    }
}

/// A failure of the attack run itself (not of an attack).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AttackError(pub(crate) String);

/// The HTTP client of the attack replay (and of `--traffic`).
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

/// An answer: status and JSON body (`Null` when not JSON).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Http {
    /// A client over plain HTTP.
    pub(crate) fn new() -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub(crate) async fn call(
        &self,
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, AttackError> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let payload = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(payload))
            .map_err(|e| AttackError(format!("{method} {path}: {e}")))?;
        let resp = tokio::time::timeout(Duration::from_secs(10), self.client.request(req))
            .await
            .map_err(|_| AttackError(format!("{method} {base}{path}: timed out")))?
            .map_err(|e| AttackError(format!("{method} {base}{path}: {e}")))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| AttackError(format!("{method} {base}{path}: {e}")))?
            .to_bytes();
        Ok(Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }

    pub(crate) async fn login(
        &self,
        base: &str,
        user: &str,
        password: &str,
    ) -> Result<String, AttackError> {
        let r = self
            .call(
                base,
                "POST",
                "/auth/login",
                None,
                Some(&json!({"username": user, "password": password})),
            )
            .await?;
        r.body
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| AttackError(format!("login as {user} failed with status {}", r.status)))
    }
}

/// A benign request: description, method, path, bearer token, JSON body.
type BenignCall<'a> = (&'a str, &'a str, String, Option<&'a str>, Option<Value>);

/// The rule id in a Portcullis problem response (`.../problems/<rule>`).
fn rule_of(body: &Value) -> Option<String> {
    body.get("type")?
        .as_str()?
        .strip_prefix("https://portcullis.dev/problems/")
        .map(str::to_owned)
}

fn unsigned_token(sub: &str) -> String {
    let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        enc(json!({"alg": "none", "typ": "JWT"})),
        enc(json!({"sub": sub, "scope": "admin accounts:read profile:read", "roles": ["admin"]}))
    )
}

fn hmac_forged_token(issuer: &str, sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({
        "iss": issuer, "aud": "bank", "sub": sub, "exp": now + 600, "iat": now,
        "scope": "admin profile:read accounts:read", "roles": ["admin"],
    });
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"guessed-secret"),
    )
    .unwrap_or_default()
}

/// One attack: how to send it, and what "it worked" means against the bank.
struct Attack {
    name: &'static str,
    owasp: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    /// Sent this many times; the last answer counts.
    repeat: usize,
    /// Through the gateway, the repeats are sent all at once rather than one after another (a
    /// flood: sent one by one on a slow machine, they would trickle in under the limit).
    at_once: bool,
    worked: fn(&Reply) -> bool,
    /// What the gateway does to a 2xx answer instead of refusing the request (the answer is
    /// cleaned, not blocked): shown as the row's rule when the answer no longer leaks.
    cleaned_by: Option<&'static str>,
}

/// Sends `a.repeat` copies of an attack to `base` at once; the first answer from Portcullis
/// itself (a refusal naming its rule), else the last.
async fn flood(http: &Http, base: &str, a: &Attack) -> Result<Reply, AttackError> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..a.repeat {
        let (http, base, method) = (http.clone(), base.to_owned(), a.method);
        let (path, token, body) = (a.path.clone(), a.token.clone(), a.body.clone());
        tasks.spawn(async move {
            http.call(&base, method, &path, token.as_deref(), body.as_ref())
                .await
        });
    }
    let mut last = None;
    while let Some(joined) = tasks.join_next().await {
        let reply = joined.map_err(|e| AttackError(format!("a flood request failed: {e}")))??;
        if rule_of(&reply.body).is_some() {
            tasks.abort_all();
            return Ok(reply);
        }
        last = Some(reply);
    }
    last.ok_or_else(|| AttackError("the flood sent no request".to_owned()))
}

fn ok(r: &Reply) -> bool {
    (200..300).contains(&r.status)
}

/// Runs the benign traffic and the attacks against `direct` (the bank) and `gateway`.
/// `issuer` is the IdP's issuer URL (the forged tokens claim it).
pub async fn run(direct: &str, gateway: &str, issuer: &str) -> Result<Report, AttackError> {
    let http = Http {
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    let alice = http.login(direct, "alice", "alice-demo-pw").await?;
    let bob = http.login(direct, "bob", "bob-demo-pw").await?;
    let suffix = format!("{:x}", rand::random::<u32>());

    // Benign traffic through the gateway: all of it must pass.
    let mut benign = Vec::new();
    let gw_alice = http.login(gateway, "alice", "alice-demo-pw").await;
    benign.push(Benign {
        request: "alice logs in".to_owned(),
        gateway_status: if gw_alice.is_ok() { 200 } else { 0 },
        passed: gw_alice.is_ok(),
    });
    let benign_calls: Vec<BenignCall<'_>> = vec![
        (
            "alice reads her profile",
            "GET",
            "/users/me".to_owned(),
            Some(&alice),
            None,
        ),
        (
            "alice lists her accounts",
            "GET",
            "/users/alice/accounts".to_owned(),
            Some(&alice),
            None,
        ),
        (
            "alice searches her accounts",
            "GET",
            "/accounts/search?q=Checking".to_owned(),
            Some(&alice),
            None,
        ),
        (
            "alice finds her accounts by name",
            "GET",
            "/accounts/find?name=Checking".to_owned(),
            Some(&alice),
            None,
        ),
        (
            "alice pays bob 5",
            "POST",
            "/transfers".to_owned(),
            Some(&alice),
            Some(json!({"from": 1, "to": 3, "amount": 5})),
        ),
        (
            "alice updates her email",
            "PATCH",
            "/users/me".to_owned(),
            Some(&alice),
            Some(json!({"email": "alice@bank.example"})),
        ),
        (
            "a new user signs up",
            "POST",
            "/users".to_owned(),
            None,
            Some(
                json!({"username": format!("dave-{suffix}"), "password": "dave-demo-pw", "email": "dave@bank.example"}),
            ),
        ),
    ];
    for (name, method, path, token, body) in benign_calls {
        let r = http
            .call(gateway, method, &path, token, body.as_ref())
            .await?;
        benign.push(Benign {
            request: name.to_owned(),
            gateway_status: r.status,
            passed: ok(&r),
        });
    }

    let attacks = vec![
        Attack {
            name: "BOLA: alice reads bob's accounts",
            owasp: "API1:2023",
            method: "GET",
            path: "/users/bob/accounts".to_owned(),
            token: Some(alice.clone()),
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Unsigned token (alg none) claiming to be root",
            owasp: "API2:2023",
            method: "GET",
            path: "/users/me".to_owned(),
            token: Some(unsigned_token("root")),
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Token forged with a guessed HMAC secret",
            owasp: "API2:2023",
            method: "GET",
            path: "/admin/users".to_owned(),
            token: Some(hmac_forged_token(issuer, "root")),
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Password guessing: 12 logins for bob",
            owasp: "API2:2023",
            method: "POST",
            path: "/auth/login".to_owned(),
            token: None,
            body: Some(json!({"username": "bob", "password": "password1"})),
            repeat: 12,
            at_once: false,
            // It works when nothing slows the guesser down.
            worked: |r| r.status != 429,
            cleaned_by: None,
        },
        Attack {
            name: "Mass assignment: sign up with isAdmin",
            owasp: "API3:2023",
            method: "POST",
            path: "/users".to_owned(),
            token: None,
            body: Some(
                json!({"username": format!("eve-{suffix}"), "password": "eve-demo-pw", "email": "eve@x.example", "isAdmin": true}),
            ),
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Mass assignment: alice makes herself admin",
            owasp: "API3:2023",
            method: "PATCH",
            path: "/users/me".to_owned(),
            token: Some(alice.clone()),
            body: Some(json!({"role": "admin"})),
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "BFLA: bob lists every user (admin operation)",
            owasp: "API5:2023",
            method: "GET",
            path: "/admin/users".to_owned(),
            token: Some(bob.clone()),
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Negative transfer: bob pulls money from alice",
            owasp: "API6:2023",
            method: "POST",
            path: "/transfers".to_owned(),
            token: Some(bob.clone()),
            body: Some(json!({"from": 3, "to": 1, "amount": -100})),
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "SQL injection in account search",
            owasp: "API8:2023",
            method: "GET",
            path: "/accounts/search?q=%27%20OR%201%3D1%20--".to_owned(),
            token: Some(bob.clone()),
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "SQL injection in a free-text name",
            owasp: "API8:2023",
            method: "GET",
            path: "/accounts/find?name=%27%20OR%201%3D1%20--".to_owned(),
            token: Some(bob.clone()),
            body: None,
            repeat: 1,
            at_once: false,
            // Bob sees alice's accounts.
            worked: |r| {
                r.body
                    .as_array()
                    .is_some_and(|a| a.iter().any(|acct| acct["owner"] == "alice"))
            },
            cleaned_by: None,
        },
        Attack {
            name: "SSRF: a webhook reads the internal debug config",
            owasp: "API7:2023",
            method: "POST",
            path: "/webhooks/test".to_owned(),
            token: Some(bob.clone()),
            body: Some(json!({"url": format!("{direct}/debug/config")})),
            repeat: 1,
            at_once: false,
            worked: |r| {
                r.body
                    .get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| b.contains("database_url"))
            },
            cleaned_by: None,
        },
        Attack {
            name: "Data exposure: profile shows the password hash",
            owasp: "API3:2023",
            method: "GET",
            path: "/users/me".to_owned(),
            token: Some(alice.clone()),
            body: None,
            repeat: 1,
            at_once: false,
            worked: |r| r.body.get("passwordHash").is_some() || r.body.get("ssn").is_some(),
            cleaned_by: Some("response.schema (stripped)"),
        },
        Attack {
            name: "Undocumented debug endpoint",
            owasp: "API9:2023",
            method: "GET",
            path: "/debug/config".to_owned(),
            token: None,
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Zombie API: deprecated v1 account lookup",
            owasp: "API9:2023",
            method: "GET",
            path: "/v1/accounts/3".to_owned(),
            token: None,
            body: None,
            repeat: 1,
            at_once: false,
            worked: ok,
            cleaned_by: None,
        },
        Attack {
            name: "Flood: 160 requests at once",
            owasp: "API4:2023",
            method: "GET",
            path: "/users/me".to_owned(),
            token: Some(bob.clone()),
            body: None,
            repeat: 160,
            at_once: true,
            worked: |r| r.status != 429,
            cleaned_by: None,
        },
    ];

    let mut rows = Vec::new();
    for a in attacks {
        let mut last_direct = None;
        let mut last_gateway = None;
        for _ in 0..a.repeat {
            last_direct = Some(
                http.call(
                    direct,
                    a.method,
                    &a.path,
                    a.token.as_deref(),
                    a.body.as_ref(),
                )
                .await?,
            );
        }
        if a.at_once {
            last_gateway = Some(flood(&http, gateway, &a).await?);
        }
        let one_by_one = if a.at_once { 0 } else { a.repeat };
        for _ in 0..one_by_one {
            let r = http
                .call(
                    gateway,
                    a.method,
                    &a.path,
                    a.token.as_deref(),
                    a.body.as_ref(),
                )
                .await?;
            // A repeated attack stops at the first answer from Portcullis itself.
            let stop = rule_of(&r.body).is_some();
            last_gateway = Some(r);
            if stop {
                break;
            }
        }
        let (Some(d), Some(g)) = (last_direct, last_gateway) else {
            continue;
        };
        let refused = rule_of(&g.body).filter(|_| g.status >= 400);
        // An answer the gateway cleaned (2xx, no longer leaking) counts as stopped.
        let cleaned = a
            .cleaned_by
            .filter(|_| ok(&g) && !(a.worked)(&g))
            .map(str::to_owned);
        let rule = refused.or(cleaned);
        rows.push(Row {
            attack: a.name.to_owned(),
            owasp: a.owasp,
            direct_status: d.status,
            gateway_status: g.status,
            worked_directly: (a.worked)(&d),
            blocked: rule.is_some() && !(a.worked)(&g),
            rule,
        });
    }
    Ok(Report {
        attacks: rows,
        benign,
    })
}

/// The report as the JSON array `--format json` prints: one object per attack (keys `attack`,
/// `owasp`, `direct_status`, `gateway_status`, `rule`, plus `kind: "attack"`, `worked_directly`
/// and `blocked`), then one per benign request (`kind: "benign"`, its description under
/// `attack`, `owasp`, `direct_status` and `rule` null, and `passed`).
pub fn json_rows(report: &Report) -> Value {
    let attacks = report.attacks.iter().map(|r| {
        json!({
            "kind": "attack",
            "attack": r.attack,
            "owasp": r.owasp,
            "direct_status": r.direct_status,
            "gateway_status": r.gateway_status,
            "rule": r.rule,
            "worked_directly": r.worked_directly,
            "blocked": r.blocked,
        })
    });
    let benign = report.benign.iter().map(|b| {
        json!({
            "kind": "benign",
            "attack": b.request,
            "owasp": null,
            "direct_status": null,
            "gateway_status": b.gateway_status,
            "rule": null,
            "passed": b.passed,
        })
    });
    Value::Array(attacks.chain(benign).collect())
}

/// The report as a table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<48} {:<10} {:>8} {:>8}  {}\n",
        "attack", "OWASP", "direct", "gateway", "blocked by"
    ));
    out.push_str(&format!("{}\n", "-".repeat(100)));
    for r in &report.attacks {
        out.push_str(&format!(
            "{:<48} {:<10} {:>8} {:>8}  {}\n",
            r.attack,
            r.owasp,
            r.direct_status,
            r.gateway_status,
            r.rule.as_deref().unwrap_or("NOT BLOCKED")
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "{:<48} {:>8}\n",
        "benign request (through the gateway)", "status"
    ));
    out.push_str(&format!("{}\n", "-".repeat(60)));
    for b in &report.benign {
        out.push_str(&format!(
            "{:<48} {:>8}{}\n",
            b.request,
            b.gateway_status,
            if b.passed { "" } else { "  FAILED" }
        ));
    }
    let blocked = report.attacks.iter().filter(|a| a.blocked).count();
    let passed = report.benign.iter().filter(|b| b.passed).count();
    out.push_str(&format!(
        "\n{blocked}/{} attacks blocked through Portcullis ({} worked against the bare API); {passed}/{} benign requests passed\n",
        report.attacks.len(),
        report.attacks.iter().filter(|a| a.worked_directly).count(),
        report.benign.len()
    ));
    out
}
