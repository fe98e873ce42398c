//! The properties of the gateway's fuzz targets, written once: each `fuzz/fuzz_targets/gateway_*.rs`
//! includes this file (`#[path]`) and runs one check on libFuzzer's input, and the proptests
//! of this folder run the same checks on stable in every CI run. A check panics when its
//! property fails (libFuzzer records a crash; proptest shrinks the input).
//!
//! Self-contained on purpose (its own imports and fixtures, no `super`), so that both crates
//! can include it.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use indexmap::IndexMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use portcullis_gateway::config::{ByteSize, Config, ConfigError, Dur};
use portcullis_gateway::identity::apikeys::{self, ApiKeyFailure, ApiKeys};
use portcullis_gateway::identity::jwks::{self, KeySource};
use portcullis_gateway::identity::jwt::{Issuer, Verifier};
use portcullis_gateway::validate::params::{self, Scalar};
use portcullis_gateway::validate::{MediaKind, Policy, RequestCheck, json};
use portcullis_spec::{PathParams, Route, Router, RouterOptions, load_str, normalize_path};
use serde_json::{Value, json};

/// The API the params and body checks run requests against.
pub const SPEC: &str = include_str!("../data/fuzz/spec.yaml");
/// The API-key file presented keys are verified against.
pub const KEYS: &str = include_str!("../data/fuzz/api-keys.yaml");
/// The key set of the JWT verifier.
pub const JWKS: &str = include_str!("../data/fuzz/jwks.json");
/// The clock of the key and token checks: 2027-01-15 (after the fixture's `expired` key,
/// before its `later` one).
pub const NOW: u64 = 1_800_000_000;

// ---------------------------------------------------------------------------------------------
// Shared: running the checks' futures, reading a request.

/// Runs a future that never waits on I/O or a timer (the body check, a verifier over a local
/// key set) to completion on this thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future waits on something the checks never provide");
}

/// A request as the params and body checks read their input: a request line
/// (`METHOD /path?query`), header lines (`Name: value`), an empty line, then the body. Header
/// lines that are not a valid name and value are skipped (hyper refuses them before the
/// gateway sees them).
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// Reads `data` as a [`Request`].
pub fn read_request(data: &[u8]) -> Request {
    let mut rest = data;
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut body: &[u8] = &[];
    loop {
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i + 1..)),
            None => (rest, None),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match after {
            Some(after) if line.is_empty() && !lines.is_empty() => {
                body = after;
                break;
            }
            Some(after) => {
                lines.push(line);
                rest = after;
            }
            None => {
                lines.push(line);
                break;
            }
        }
    }
    let first = String::from_utf8_lossy(lines.first().copied().unwrap_or_default());
    let (method, target) = first.split_once(' ').unwrap_or(("GET", &first));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut headers = http::HeaderMap::new();
    for line in lines.iter().skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default().trim_ascii();
        let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body: Bytes::copy_from_slice(body),
    }
}

// ---------------------------------------------------------------------------------------------
// gateway_params and gateway_body: requests against tests/data/fuzz/spec.yaml.

/// The fixture API: its router and the checks of each operation.
pub struct Api {
    pub router: Router,
    /// The checks of each operation, by index in the catalog.
    pub checks: Vec<RequestCheck>,
}

/// The fixture API, built once.
pub static API: LazyLock<Api> = LazyLock::new(|| {
    let catalog = load_str("spec.yaml", SPEC).unwrap();
    let (router, warnings) = Router::new(&catalog, &RouterOptions::default());
    assert!(warnings.is_empty(), "{warnings:?}");
    let checks = catalog
        .operations
        .iter()
        .map(|op| RequestCheck::new(&catalog, op).unwrap())
        .collect();
    Api { router, checks }
});

/// A path each operation routes, with its method.
const EXAMPLE_ROUTES: [(&str, &str); 5] = [
    ("GET", "/items/1"),
    ("PUT", "/items/1"),
    ("GET", "/items/a/.1/;k=1"),
    ("POST", "/uploads"),
    ("POST", "/batch"),
];

/// The normalized path of a request, when it has one.
pub fn normalized(req: &Request) -> Option<String> {
    normalize_path(&req.path)
        .ok()
        .map(|p| p.as_str().to_owned())
}

/// The operation a request goes to, and its path parameters. A request that routes nowhere
/// (or whose path is refused) still goes through the checks of one operation, picked by its
/// path's length, with the path parameters of an example path of that operation: the
/// checks of its query, headers and body must cope with anything.
pub fn operation<'a>(
    req: &'a Request,
    normalized: &'a Option<String>,
) -> (usize, PathParams<'a, 'a>) {
    if let Some(path) = normalized
        && let Route::Matched { operation, params } = API.router.route(&req.method, path)
    {
        return (operation, params);
    }
    let (method, path) = EXAMPLE_ROUTES[req.path.len() % EXAMPLE_ROUTES.len()];
    match API.router.route(method, path) {
        Route::Matched { operation, params } => (operation, params),
        other => panic!("{method} {path}: {other:?}"),
    }
}

/// `gateway_params`: never a panic; a refusal is a 400 `request.parameter` that names the
/// parameter. The cookie jar's keys and values hold no `;`, keys no `=` and are trimmed,
/// values are unquoted (what was inside the quotes is kept as sent, spaces included); a
/// query value read as a scalar is that type's reading of it or the text unchanged.
pub fn check_params(data: &[u8]) {
    let req = read_request(data);
    let normalized = normalized(&req);
    let (op, path_params) = operation(&req, &normalized);
    if let Some(v) = API.checks[op].check_params(&path_params, &req.query, &req.headers) {
        assert_eq!(v.rule, "request.parameter");
        assert_eq!(v.status, 400);
        assert_eq!(v.policy, Policy::Validate);
        assert!(v.reason.contains(" parameter \""), "{}", v.reason);
    }
    for cookie in req.headers.get_all(http::header::COOKIE) {
        let Ok(text) = cookie.to_str() else { continue };
        for (k, v) in params::cookies(text) {
            assert!(
                !k.contains(';') && !k.contains('=') && k.trim() == k,
                "{k:?}"
            );
            assert!(
                !v.contains(';') && !v.starts_with('"') && !v.ends_with('"'),
                "{v:?}"
            );
        }
    }
    for (_, v) in &req.query {
        scalar_round_trips(v);
    }
}

/// A raw value read as each scalar type is that type's reading of it, or the text unchanged.
pub fn scalar_round_trips(raw: &str) {
    for (shape, fits) in [
        (Scalar::Integer, raw.parse::<i64>().is_ok()),
        (Scalar::Number, raw.parse::<f64>().is_ok_and(f64::is_finite)),
        (Scalar::Boolean, raw == "true" || raw == "false"),
        (Scalar::String, false),
    ] {
        match params::scalar(raw, shape) {
            Value::String(s) => assert!(s == raw && !fits, "{raw:?} {shape:?}"),
            other => assert!(fits, "{raw:?} {shape:?} -> {other}"),
        }
    }
}

/// `gateway_body`, with the nesting limit of an `X-Max-Depth` line (default 32): the body
/// check never panics or overflows the stack; each violation is one the pipeline knows, with
/// a reason; a JSON body the strict reader refuses is exactly one `request.json`, an empty
/// body of a required body is exactly one `request.body`. The strict reader agrees with
/// serde_json ([`strict_json_agrees`]).
pub fn check_body(data: &[u8]) {
    let req = read_request(data);
    let depth = req
        .headers
        .get("x-max-depth")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(32);
    strict_json_agrees(&req.body, depth);
    let normalized = normalized(&req);
    let (op, _) = operation(&req, &normalized);
    let Some(check) = &API.checks[op].body else {
        return;
    };
    let content_type = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let violations = block_on(check.check(content_type, &req.body, depth, true, true));
    for v in &violations {
        let known = matches!(
            (v.rule, v.status, v.policy),
            ("request.body" | "request.json", 400, Policy::Validate)
                | ("request.content-type", 415, Policy::Validate)
                | ("request.unknown-field", 400, Policy::UnknownFields)
        );
        assert!(known && !v.reason.is_empty(), "{v:?}");
    }
    if req.body.is_empty() {
        let expected = usize::from(check.required);
        assert_eq!(violations.len(), expected, "{violations:?}");
        return;
    }
    let kind = content_type
        .and_then(|ct| check.media_for(ct))
        .map(|m| m.kind);
    let refused_json = violations.iter().any(|v| v.rule == "request.json");
    match kind {
        Some(MediaKind::Json) => {
            let parsed = json::parse_strict(&req.body, depth);
            assert_eq!(parsed.is_err(), refused_json, "{violations:?}");
            if refused_json {
                assert_eq!(violations.len(), 1, "{violations:?}");
            }
        }
        _ => assert!(!refused_json, "{violations:?}"),
    }
    let unknown = violations
        .iter()
        .filter(|v| v.rule == "request.unknown-field")
        .count();
    assert!(unknown <= 1, "{violations:?}");
    // The same body with both checks off: nothing to say but a missing or wrong content type
    // (or an unreadable multipart body).
    for v in block_on(check.check(content_type, &req.body, depth, false, false)) {
        assert!(
            matches!(
                v.rule,
                "request.content-type" | "request.json" | "request.body"
            ),
            "{v:?}"
        );
    }
}

/// How deep a JSON value nests (a scalar: 0).
pub fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// The strict JSON reader agrees with serde_json: what it accepts serde_json reads the same,
/// nested at most `depth` deep; what it refuses that serde_json reads is nested deeper or has
/// a duplicate key.
pub fn strict_json_agrees(body: &[u8], depth: usize) {
    let loose = serde_json::from_slice::<Value>(body);
    match (json::parse_strict(body, depth), loose) {
        (Ok(strict), Ok(loose)) => {
            assert!(nesting(&strict) <= depth, "{strict}");
            assert_eq!(strict, loose);
        }
        (Ok(strict), Err(e)) => panic!("{strict} accepted, serde_json: {e}"),
        (Err(e), Ok(loose)) => assert!(
            (e.contains("deeper than the limit") && nesting(&loose) > depth)
                || e.contains("duplicate key"),
            "{e} for {loose}"
        ),
        (Err(e), Err(_)) => assert!(!e.is_empty()),
    }
}

// ---------------------------------------------------------------------------------------------
// gateway_config

/// The environment `${...}` in a configuration reads.
pub fn env(name: &str) -> Option<String> {
    match name {
        "GW_TOKEN" => Some("0123456789abcdef-admin".to_owned()),
        "GW_PORT" => Some("8080".to_owned()),
        _ => None,
    }
}

/// `gateway_config`: a configuration whose documented checks hold, or an error that names the
/// file (and, for a bad value, its line and column); every line read as a size and a duration
/// prints and reads back the same, or is nothing. Nothing is read from disk.
pub fn check_config(text: &str) {
    let dir = Path::new("/nonexistent/portcullis-fuzz");
    match Config::from_str_in("fuzz.yaml", text, dir, &env) {
        Ok(c) => {
            assert!(!c.apis.is_empty());
            assert_eq!(c.base_dir.as_path(), dir);
            for (i, api) in c.apis.iter().enumerate() {
                assert!(
                    c.apis[..i].iter().all(|a| a.name != api.name),
                    "{}",
                    api.name
                );
                assert!(
                    api.upstream.starts_with("http://") || api.upstream.starts_with("https://"),
                    "{}",
                    api.upstream
                );
                assert!(api.rate_limits.iter().all(|r| r.limit > 0));
            }
            if let Some(admin) = &c.admin {
                assert!(admin.token.len() >= 16);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz.yaml"), "{message}");
            if let ConfigError::Invalid(located) = &e {
                let (line, column) = located.at.unwrap_or((0, 0));
                assert!(line >= 1 && column >= 1, "{message}");
            }
        }
    }
    for line in text.lines().take(64) {
        check_units(line);
    }
}

/// A size or a duration read from `text` prints and reads back the same.
pub fn check_units(text: &str) {
    if let Some(size) = ByteSize::parse(text) {
        assert_eq!(ByteSize::parse(&size.0.to_string()), Some(size), "{text:?}");
    }
    if let Some(d) = Dur::parse(text) {
        assert_eq!(Dur::parse(&d.to_string()), Some(d), "{text:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// gateway_apikeys

/// The roles the key files and the JWT verifier map to scopes.
pub static ROLES: LazyLock<IndexMap<String, Vec<String>>> = LazyLock::new(|| {
    IndexMap::from([
        ("teller".to_owned(), vec!["accounts:read".to_owned()]),
        ("auditor".to_owned(), vec!["audit:read".to_owned()]),
    ])
});

/// The fixture's key file, loaded once.
pub static FIXTURE_KEYS: LazyLock<ApiKeys> =
    LazyLock::new(|| ApiKeys::from_str_named("api-keys.yaml", KEYS, &ROLES).unwrap());

/// The fixture's keys as presented, each with the owner it authenticates (`None`: refused).
pub const PRESENTED: [(&str, Option<&str>); 5] = [
    (
        "pc_active_active-secret-0123456789abcdefghijklmnopq",
        Some("alice"),
    ),
    ("pc_expired_expired-secret-0123456789abcdefghijklmno", None),
    ("pc_disabled_disabled-secret-0123456789abcdefghijklmn", None),
    (
        "pc_later_later_secret_with_underscores-0123456789",
        Some("dave"),
    ),
    (
        "pc_UP-per-9_upper-secret-0123456789abcdefghijklmnopqr",
        Some("eve@example.com"),
    ),
];

/// `gateway_apikeys`: the first line is a presented key, the rest a key file. Against the
/// fixture, only a listed key authenticates, as its owner ([`verify_against_fixture`]). The
/// file loads or fails naming itself; a loaded file verifies any key.
pub fn check_apikeys(text: &str) {
    let (presented, file) = text.split_once('\n').unwrap_or((text, ""));
    verify_against_fixture(presented);
    match ApiKeys::from_str_named("fuzz-keys.yaml", file, &ROLES) {
        Ok(keys) => {
            assert!(keys.len() <= apikeys::MAX_KEYS);
            if let Err(f) = keys.verify(presented, NOW) {
                refusal_keeps_the_secret(presented, &f);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz-keys.yaml"), "{message}");
            for located in e.located() {
                assert!(located.at.is_some_and(|(line, _)| line >= 1), "{message}");
            }
        }
    }
}

/// Against the fixture's file, only a listed live key authenticates, as its owner; a refusal
/// keeps the secret ([`refusal_keeps_the_secret`]).
pub fn verify_against_fixture(presented: &str) {
    let expected = PRESENTED.iter().find(|(p, _)| *p == presented);
    match FIXTURE_KEYS.verify(presented, NOW) {
        Ok(principal) => {
            let owner = expected.and_then(|(_, owner)| *owner);
            assert!(owner.is_some(), "{presented:?} authenticated");
            assert_eq!(principal.subject.as_deref(), owner);
            assert_eq!(principal.issuer.as_str(), apikeys::ISSUER);
        }
        Err(f) => {
            assert!(
                expected.is_none_or(|(_, owner)| owner.is_none()),
                "{presented:?}: {f}"
            );
            refusal_keeps_the_secret(presented, &f);
        }
    }
}

/// A refusal's text is one of the fixed messages, naming at most the presented key's id:
/// never its secret.
pub fn refusal_keeps_the_secret(presented: &str, f: &ApiKeyFailure) {
    let message = f.to_string();
    assert!(!f.rule().is_empty() && !f.code().is_empty());
    let id = presented
        .strip_prefix(apikeys::PREFIX)
        .and_then(|r| r.split_once('_'))
        .map(|(id, _)| id);
    let (named, what) = match f {
        ApiKeyFailure::Malformed => {
            assert_eq!(message, "malformed API key");
            return;
        }
        ApiKeyFailure::UnknownId => {
            assert_eq!(message, "unknown API key id");
            return;
        }
        ApiKeyFailure::WrongSecret(named) => (named, "wrong secret"),
        ApiKeyFailure::Expired(named) => (named, "expired"),
        ApiKeyFailure::Disabled(named) => (named, "disabled"),
    };
    assert_eq!(Some(named.as_str()), id);
    assert!(apikeys::valid_id(named), "{named:?}");
    assert_eq!(message, format!("API key {named}: {what}"));
}

// ---------------------------------------------------------------------------------------------
// gateway_jwt

/// The issuer whose keys are the key set's.
pub const IDP: &str = "https://idp.test";
/// The issuer whose tokens are signed with [`HMAC_SECRET`].
pub const HMAC_ISSUER: &str = "https://hmac.test";
/// The HMAC issuer's secret.
pub const HMAC_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-fuzz";
/// Both issuers' leeway, seconds.
pub const LEEWAY: u64 = 30;

/// A verifier over a local key set (RSA, EC and Ed25519 keys; its symmetric and encryption
/// keys are dropped) and an HMAC issuer, at the fixed clock.
pub fn verifier() -> Verifier {
    let keys = jwks::parse("jwks.json", JWKS.as_bytes()).unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let issuers = vec![
        Issuer {
            issuer: IDP.to_owned(),
            audiences: vec!["api".to_owned()],
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA,
                // Allowed, but never with a key from the key set.
                Algorithm::HS256,
            ],
            leeway: LEEWAY,
            keys: KeySource::Static(Arc::new(keys)),
            secret: None,
            roles_claim: "roles".to_owned(),
        },
        Issuer {
            issuer: HMAC_ISSUER.to_owned(),
            audiences: Vec::new(),
            algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
            leeway: LEEWAY,
            keys: KeySource::Static(Arc::new(Vec::new())),
            secret: Some(DecodingKey::from_secret(HMAC_SECRET)),
            roles_claim: "roles".to_owned(),
        },
    ];
    Verifier::new(issuers, ROLES.clone(), Arc::new(|| NOW))
}

/// The verifier the JWT check uses, built once (its token cache is part of the property).
pub static VERIFIER: LazyLock<Verifier> = LazyLock::new(verifier);

/// The key a token of `issuer` signed with `alg` verifies with, independently of the
/// verifier: the HMAC secret or the key set's public key of that type.
pub fn key_of(issuer: &str, alg: Algorithm) -> Option<DecodingKey> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(JWKS).unwrap();
    let kid = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return (issuer == HMAC_ISSUER).then(|| DecodingKey::from_secret(HMAC_SECRET));
        }
        Algorithm::ES256 => "ec1",
        Algorithm::EdDSA => "ed1",
        _ => "k1",
    };
    let jwk = set.find(kid)?;
    (issuer == IDP).then(|| DecodingKey::from_jwk(jwk).unwrap())
}

/// The JWT check's input: a line is a token; `header\nclaims` (raw JSON text) is signed
/// with the HMAC secret (HS384 or HS512 when the header names it, else HS256), so the checks
/// after the signature are reached too.
pub fn token_of(text: &str) -> String {
    let Some((header, claims)) = text.split_once('\n') else {
        return text.to_owned();
    };
    let alg = if header.contains("HS512") {
        Algorithm::HS512
    } else if header.contains("HS384") {
        Algorithm::HS384
    } else {
        Algorithm::HS256
    };
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(HMAC_SECRET),
        alg,
    )
    .unwrap();
    format!("{message}.{signature}")
}

/// `gateway_jwt`: never a panic. A principal only for a token whose signature verifies with
/// its issuer's own key (checked with jsonwebtoken directly), not expired, for the audience;
/// its claims are the token's. A refusal never quotes the token. The same token again gets
/// the same answer (the second one from the cache).
pub fn check_jwt(text: &str) {
    let token = token_of(text);
    let first = block_on(VERIFIER.verify(&token));
    match &first {
        Ok(principal) => {
            let header = jsonwebtoken::decode_header(&token).unwrap();
            let key = key_of(&principal.issuer, header.alg);
            let Some(key) = key else {
                panic!(
                    "accepted {:?} from {}, which has no such key",
                    header.alg, principal.issuer
                );
            };
            let mut validation = Validation::new(header.alg);
            validation.validate_exp = false;
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation);
            let claims = match decoded {
                Ok(decoded) => decoded.claims,
                Err(e) => panic!("accepted, but the signature does not verify: {e}"),
            };
            assert_eq!(&claims, principal.claims.as_ref());
            assert_eq!(claims["iss"].as_str(), Some(principal.issuer.as_str()));
            let exp = claims["exp"].as_f64().unwrap_or(-1.0);
            assert!(exp + LEEWAY as f64 > NOW as f64, "{claims}");
            if principal.issuer == IDP {
                let aud = &claims["aud"];
                assert!(
                    aud == "api" || aud.as_array().is_some_and(|a| a.contains(&json!("api"))),
                    "{claims}"
                );
            }
        }
        Err(f) => {
            let message = f.to_string();
            assert!(!message.is_empty() && !f.code().is_empty());
            assert_eq!(f.status(), 401);
            if token.matches('.').count() >= 2 {
                assert!(!message.contains(&token), "{message}");
            }
        }
    }
    let again = block_on(VERIFIER.verify(&token));
    assert_eq!(
        first.as_ref().map_err(ToString::to_string),
        again.as_ref().map_err(ToString::to_string)
    );
}
