//! The demo bank: a small JSON API with the flaws real APIs ship with, planted on purpose.
//!
//! | flaw | where | OWASP API 2023 |
//! |---|---|---|
//! | tokens are decoded, never verified (forged or `alg: none` tokens work) | every secured route | API2 |
//! | any user reads any user's accounts | `GET /users/{userId}/accounts` | API1 |
//! | any account can be debited, negative amounts accepted | `POST /transfers` | API1, API6 |
//! | `role`/`isAdmin` accepted on signup and profile update | `POST /users`, `PATCH /users/me` | API3 |
//! | password hash, SSN and internal notes in responses | `GET /users/me`, `GET /admin/users` | API3 |
//! | the admin listing checks only that a token is present | `GET /admin/users` | API5 |
//! | login has no rate limit and tells "unknown user" from "wrong password" | `POST /auth/login` | API2, API4 |
//! | the search query is pasted into SQL; SQL errors echo the query | `GET /accounts/search` | API8 (injection) |
//! | a deprecated route still answers, with no authentication at all | `GET /v1/accounts/{accountId}` | API9 |
//! | an undocumented debug route leaks secrets | `GET /debug/config` | API9, API8 |
//! | the login matches the password like a document-store query (`{"$ne": ...}` logs in) | `POST /auth/login` | API8 (NoSQL injection) |
//! | the profile update's email check backtracks exponentially | `PATCH /users/me` ([`crate::email`]) | API4 (ReDoS) |
//! | any user renames any account (the read checks the owner, the update does not) | `PATCH /accounts/{accountId}` | API1 |
//! | the document name is joined to a directory with `..` resolved | `GET /documents` | API8 (path traversal) |
//! | the report name is pasted into a shell command line (a toy shell) | `GET /reports/export` | API8 (command injection) |
//! | the webhook test fetches loopback URLs | `POST /webhooks/test` | API7 (SSRF) |
//! | any `Origin` is allowed with credentials; no nosniff or no-store | every answer | API8 |
//! | the account listing checks the token for GET only: HEAD runs without one | `HEAD /users/{userId}/accounts` | API5 (method tampering) |
//! | the old `PUT /accounts/{accountId}` still renames; a method override reaches the old `PUT /users/me` the edge refuses | [`crate::legacy`] | API5 (method tampering) |
//! | any account's statement, and transfers from any account, by an id in the body | `POST /statements`, `POST /transfers` | API1 |
//! | searches and signups have no rate limit | `GET /accounts/search`, `GET /accounts/find`, `POST /users` | API4 |
//!
//! [`BankOptions::fixed`] serves the fixed twin: the same API with every flaw above removed
//! (verified tokens, owner and role checks, declared fields only, a login limit with one
//! answer for every failure, a parameterized search, no debug route, string passwords only, a
//! linear email check, plain document and report names, no CORS, nosniff and no-store). `portcullis scan` must
//! find every flaw on the weak bank and nothing at medium or above on the twin.
//!
//! The OpenAPI document in `examples/demo/bank.yaml` describes the API as it should behave;
//! Portcullis enforces it in front of this implementation. Never expose this server: it binds
//! to 127.0.0.1 only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

/// Issues access tokens for the bank's login (the demo identity provider implements it).
pub trait TokenIssuer: Send + Sync {
    /// A signed access token for `subject` with these scopes, valid for `ttl_secs`.
    fn issue(&self, subject: &str, scopes: &[&str], ttl_secs: u64) -> Result<String, String>;

    /// The claims of `token` when its signature, issuer, audience and expiry check out
    /// (used by the fixed twin only; the weak bank never verifies).
    fn verify(&self, token: &str) -> Option<Value>;

    /// The public keys that verify its tokens (a JWKS), when it has any to publish.
    fn jwks(&self) -> Option<Value> {
        None
    }
}

/// How the bank behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BankOptions {
    /// Serve the fixed twin: the same API with the planted flaws removed.
    pub fixed: bool,
}

/// Failed logins allowed per user name and window in the fixed twin.
const LOGIN_ATTEMPTS: u32 = 5;
/// The window of those attempts.
const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// Who called, as the bank understood the token.
struct Caller {
    sub: String,
    admin: bool,
}

/// The scopes of an ordinary user.
pub const USER_SCOPES: &[&str] = &[
    "profile:read",
    "profile:write",
    "accounts:read",
    "transfers:write",
];

/// The scopes of an administrator.
pub const ADMIN_SCOPES: &[&str] = &[
    "profile:read",
    "profile:write",
    "accounts:read",
    "transfers:write",
    "admin",
];

/// Lifetime of issued tokens.
pub const TOKEN_TTL_SECS: u64 = 3600;

#[derive(Debug, Clone)]
struct User {
    id: String,
    email: String,
    password: String,
    role: String,
    ssn: String,
    notes: String,
}

impl User {
    /// Everything, the way a careless `toJSON()` prints it (the exposure flaw).
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "username": self.id,
            "email": self.email,
            "role": self.role,
            "passwordHash": fake_hash(&self.password),
            "ssn": self.ssn,
            "internalNotes": self.notes,
        })
    }

    /// The declared fields only (the fixed twin).
    fn public_json(&self) -> Value {
        json!({"id": self.id, "username": self.id, "email": self.email})
    }

    fn render(&self, fixed: bool) -> Value {
        if fixed {
            self.public_json()
        } else {
            self.to_json()
        }
    }
}

/// Not a real hash: the demo only needs something that looks like a leaked one.
fn fake_hash(password: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in password.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("$2b$04${h:016x}{:016x}", h.rotate_left(17))
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) id: i64,
    pub(crate) owner: String,
    pub(crate) name: String,
    pub(crate) balance: f64,
}

impl Account {
    pub(crate) fn to_json(&self) -> Value {
        json!({"id": self.id, "owner": self.owner, "name": self.name, "balance": self.balance})
    }
}

#[derive(Debug, Default)]
pub(crate) struct Data {
    users: Vec<User>,
    pub(crate) accounts: Vec<Account>,
}

/// The bank's shared state.
#[derive(Clone)]
pub struct Bank {
    data: Arc<Mutex<Data>>,
    issuer: Arc<dyn TokenIssuer>,
    fixed: bool,
    failures: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

/// A demo user the bank starts with.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// Username (also the user id and the token subject).
    pub username: &'static str,
    /// Password.
    pub password: &'static str,
    /// `user` or `admin`.
    pub role: &'static str,
}

/// The users the bank starts with (printed by `portcullis demo`).
pub const DEMO_USERS: [DemoUser; 3] = [
    DemoUser {
        username: "alice",
        password: "alice-demo-pw",
        role: "user",
    },
    DemoUser {
        username: "bob",
        password: "bob-demo-pw",
        role: "user",
    },
    DemoUser {
        username: "root",
        password: "root-demo-pw",
        role: "admin",
    },
];

impl Bank {
    /// A bank with the demo users, two accounts each, issuing tokens through `issuer`.
    pub fn new(issuer: Arc<dyn TokenIssuer>) -> Bank {
        Bank::with_options(issuer, BankOptions::default())
    }

    /// A bank with the demo users, behaving as `options` say.
    pub fn with_options(issuer: Arc<dyn TokenIssuer>, options: BankOptions) -> Bank {
        let mut data = Data::default();
        let mut next = 1;
        for (n, u) in DEMO_USERS.iter().enumerate() {
            data.users.push(User {
                id: u.username.to_owned(),
                email: format!("{}@bank.example", u.username),
                password: u.password.to_owned(),
                role: u.role.to_owned(),
                ssn: format!("078-05-11{:02}", 20 + n),
                notes: format!("KYC checked; credit limit {}", 1000 * (n + 1)),
            });
            for name in ["Checking", "Savings"] {
                data.accounts.push(Account {
                    id: next,
                    owner: u.username.to_owned(),
                    name: name.to_owned(),
                    balance: 1000.0 * next as f64,
                });
                next += 1;
            }
        }
        Bank {
            data: Arc::new(Mutex::new(data)),
            issuer,
            fixed: options.fixed,
            failures: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        // A poisoned lock only means a handler panicked mid-update; the demo data stays usable.
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The HTTP routes of the bank.
    pub fn router(self) -> Router {
        let fixed = self.fixed;
        let router = Router::new()
            .route("/auth/login", post(login))
            .route("/users", post(signup))
            .route("/users/me", get(get_me).patch(update_me))
            .route("/users/{user_id}/accounts", get(list_accounts))
            .route("/accounts/search", get(crate::search::search_accounts))
            .route("/accounts/find", get(crate::search::find_accounts))
            .route("/webhooks/test", post(crate::webhook::test_webhook))
            .route("/transfers", post(crate::accounts::create_transfer))
            .route("/admin/users", get(admin_list_users))
            .route(
                "/v1/accounts/{account_id}",
                get(crate::legacy::legacy_get_account),
            )
            .route(
                "/accounts/{account_id}",
                get(crate::accounts::get_account).patch(crate::accounts::rename_account),
            )
            .route("/documents", get(crate::documents::get_document))
            .route("/reports/export", get(crate::documents::export_report))
            .route("/statements", post(crate::legacy::statement))
            .route("/.well-known/jwks.json", get(jwks));
        if fixed {
            router
                .with_state(self)
                .layer(axum::middleware::from_fn_with_state(
                    crate::legacy::Limits::default(),
                    crate::legacy::limit,
                ))
                .layer(axum::middleware::from_fn(crate::accounts::security_headers))
        } else {
            let router = router
                .route("/debug/config", get(debug_config))
                .route(
                    "/accounts/{account_id}",
                    put(crate::legacy::replace_account),
                )
                .route("/users/me", put(crate::legacy::replace_me));
            // The override rewrites the method before routing, so the whole router is its
            // inner service (a `Router::layer` runs after the method was matched).
            Router::new()
                .fallback_service(router.with_state(self))
                .layer(axum::middleware::from_fn(crate::legacy::method_override))
                .layer(axum::middleware::from_fn(crate::legacy::edge_guard))
                .layer(axum::middleware::from_fn(crate::accounts::reflect_cors))
        }
    }

    /// Whether a caller is logged in (for handlers in other files).
    pub(crate) fn has_caller(&self, headers: &HeaderMap) -> bool {
        self.caller(headers).is_some()
    }

    /// The caller's subject (verified in the fixed twin, trusted in the weak bank).
    pub(crate) fn caller_sub(&self, headers: &HeaderMap) -> Option<String> {
        self.caller(headers).map(|c| c.sub)
    }

    /// Sets `sub`'s e-mail address; the user as the bank renders it.
    pub(crate) fn set_email(&self, sub: &str, email: &str) -> Option<Value> {
        let mut data = self.data();
        let user = data.users.iter_mut().find(|u| u.id == sub)?;
        user.email = email.to_owned();
        Some(user.render(self.fixed))
    }

    /// Whether this is the fixed twin.
    pub(crate) fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// The caller: in the weak bank, the token's payload decoded and trusted (FLAW, API2);
    /// in the fixed twin, a token whose signature, issuer, audience and expiry verify.
    fn caller(&self, headers: &HeaderMap) -> Option<Caller> {
        if !self.fixed {
            return caller(headers).map(|sub| Caller { sub, admin: false });
        }
        let auth = headers.get("authorization")?.to_str().ok()?;
        let token = auth.strip_prefix("Bearer ")?;
        let claims = self.issuer.verify(token)?;
        let admin = claims
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|s| s.split(' ').any(|x| x == "admin"));
        Some(Caller {
            sub: claims.get("sub")?.as_str()?.to_owned(),
            admin,
        })
    }

    /// The fixed twin's login limit: true when `username` may try again.
    fn may_try(&self, username: &str) -> bool {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match failures.get(username) {
            Some((n, since)) if since.elapsed() < LOGIN_WINDOW => *n < LOGIN_ATTEMPTS,
            Some(_) => {
                failures.remove(username);
                true
            }
            None => true,
        }
    }

    fn failed(&self, username: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() > 10_000 {
            failures.retain(|_, (_, since)| since.elapsed() < LOGIN_WINDOW);
        }
        let entry = failures
            .entry(username.to_owned())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }
}

pub(crate) fn error(status: StatusCode, detail: impl Into<String>) -> Response {
    (status, Json(json!({"title": status.canonical_reason().unwrap_or("error"), "status": status.as_u16(), "detail": detail.into()}))).into_response()
}

/// FLAW (API2): the token's payload is decoded and trusted; its signature, issuer and expiry
/// are never checked.
fn caller(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

#[derive(Deserialize)]
struct Credentials {
    username: Option<String>,
    password: Option<Value>,
}

/// FLAW (API2, API4): no attempt limit, and the answer tells which half was wrong.
/// FLAW (API8, NoSQL injection): the password is matched the way a document store's query
/// would match it, so `{"$ne": "x"}` matches any password.
async fn login(State(bank): State<Bank>, Json(c): Json<Credentials>) -> Response {
    let (Some(username), Some(password)) = (c.username, c.password) else {
        return error(
            StatusCode::BAD_REQUEST,
            "username and password are required",
        );
    };
    let password = match password {
        Value::String(p) => Password::Is(p),
        Value::Object(query) if !bank.fixed => Password::Query(query),
        _ => return error(StatusCode::BAD_REQUEST, "password must be a string"),
    };
    if bank.fixed && !bank.may_try(&username) {
        let mut refused = error(StatusCode::TOO_MANY_REQUESTS, "too many failed logins");
        refused
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("60"));
        return refused;
    }
    let user = bank.data().users.iter().find(|u| u.id == username).cloned();
    let user = match user {
        Some(u) if password.matches(&u.password) => u,
        _ if bank.fixed => {
            bank.failed(&username);
            return error(StatusCode::UNAUTHORIZED, "invalid username or password");
        }
        None => return error(StatusCode::UNAUTHORIZED, format!("unknown user {username}")),
        Some(_) => return error(StatusCode::UNAUTHORIZED, "wrong password"),
    };
    let scopes = if user.role == "admin" {
        ADMIN_SCOPES
    } else {
        USER_SCOPES
    };
    match bank.issuer.issue(&user.id, scopes, TOKEN_TTL_SECS) {
        Ok(token) => Json(
            json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECS}),
        )
        .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// A login's password: a string, or (weak bank only) a query document.
enum Password {
    Is(String),
    Query(serde_json::Map<String, Value>),
}

impl Password {
    /// Whether the stored password matches, as `{password: <this>}` would in a document store.
    fn matches(&self, stored: &str) -> bool {
        match self {
            Password::Is(p) => p == stored,
            Password::Query(q) => {
                !q.is_empty()
                    && q.iter().all(|(op, v)| {
                        let v = v.as_str().unwrap_or("");
                        match op.as_str() {
                            "$ne" => stored != v,
                            "$gt" => stored > v,
                            "$eq" => stored == v,
                            _ => false,
                        }
                    })
            }
        }
    }
}

/// FLAW (API3): `role` and `isAdmin` are taken from the body (mass assignment), and the
/// response carries the password hash.
async fn signup(State(bank): State<Bank>, Json(body): Json<Value>) -> Response {
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(username), Some(password), Some(email)) =
        (field("username"), field("password"), field("email"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "username, password and email are required",
        );
    };
    let role = if bank.fixed {
        "user".to_owned()
    } else if body.get("isAdmin").and_then(Value::as_bool) == Some(true) {
        "admin".to_owned()
    } else {
        field("role").unwrap_or_else(|| "user".to_owned())
    };
    let mut data = bank.data();
    if data.users.iter().any(|u| u.id == username) {
        return error(StatusCode::CONFLICT, "user exists");
    }
    let user = User {
        id: username,
        email,
        password,
        role,
        ssn: String::new(),
        notes: "self-registered".to_owned(),
    };
    let out = user.render(bank.fixed);
    data.users.push(user);
    (StatusCode::CREATED, Json(out)).into_response()
}

/// FLAW (API3): the whole user record, password hash and SSN included.
async fn get_me(State(bank): State<Bank>, headers: HeaderMap) -> Response {
    let Some(me) = bank.caller(&headers).map(|c| c.sub) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    match bank.data().users.iter().find(|u| u.id == me) {
        Some(u) => Json(u.render(bank.fixed)).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such user"),
    }
}

/// FLAW (API3): any field may be changed, `role` included.
async fn update_me(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(me) = bank.caller(&headers).map(|c| c.sub) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    let email = body.get("email").and_then(Value::as_str);
    if let Some(email) = email
        && !crate::email::valid(email, bank.fixed).await
    {
        return error(StatusCode::BAD_REQUEST, "not an email address");
    }
    let mut data = bank.data();
    let Some(user) = data.users.iter_mut().find(|u| u.id == me) else {
        return error(StatusCode::NOT_FOUND, "no such user");
    };
    if let Some(email) = email {
        user.email = email.to_owned();
    }
    if let Some(role) = body
        .get("role")
        .and_then(Value::as_str)
        .filter(|_| !bank.fixed)
    {
        user.role = role.to_owned();
    }
    Json(user.render(bank.fixed)).into_response()
}

/// FLAW (API1): the path's user id is trusted; nobody checks it is the caller's.
/// FLAW (API5, method tampering): the token is checked for GET only, the way a security
/// constraint that lists GET is; a HEAD runs the listing for anyone.
async fn list_accounts(
    State(bank): State<Bank>,
    method: axum::http::Method,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Response {
    let me = bank.caller(&headers);
    if me.is_none() && (bank.fixed || method == axum::http::Method::GET) {
        return error(StatusCode::UNAUTHORIZED, "no token");
    }
    if bank.fixed && me.is_none_or(|m| m.sub != user_id) {
        return error(StatusCode::FORBIDDEN, "not your accounts");
    }
    let accounts: Vec<Value> = bank
        .data()
        .accounts
        .iter()
        .filter(|a| a.owner == user_id)
        .map(Account::to_json)
        .collect();
    Json(accounts).into_response()
}

/// FLAW (API5): "logged in" is the only check on an administrators' operation.
async fn admin_list_users(State(bank): State<Bank>, headers: HeaderMap) -> Response {
    let Some(me) = bank.caller(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "no token");
    };
    if bank.fixed && !me.admin {
        return error(StatusCode::FORBIDDEN, "administrators only");
    }
    let users: Vec<Value> = bank
        .data()
        .users
        .iter()
        .map(|u| u.render(bank.fixed))
        .collect();
    Json(users).into_response()
}

/// The identity provider's public keys, published for clients (not a flaw; the weak bank's
/// tokens are never verified anyway, so any key confusion works there).
async fn jwks(State(bank): State<Bank>) -> Response {
    match bank.issuer.jwks() {
        Some(keys) => Json(keys).into_response(),
        None => error(StatusCode::NOT_FOUND, "no keys"),
    }
}

/// FLAW (API9, API8): an undocumented route left in from development.
async fn debug_config() -> Response {
    Json(json!({
        "database_url": "postgres://bank:S3cr3t-demo-password@10.0.0.5/bank",
        "jwt_verify": false,
        "debug": true
    }))
    .into_response()
}
