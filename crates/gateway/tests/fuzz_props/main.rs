//! The properties of the gateway's fuzz targets (`fuzz/fuzz_targets/gateway_*.rs`), as
//! proptests so every CI run checks them on stable without libFuzzer. The checks are written
//! once, in `properties.rs`, which the fuzz targets include too. Each test
//! reads its input the way its fuzz target does, and feeds it random bytes, structured inputs
//! and byte-mutated valid inputs (so it reaches past the first refusal):
//!
//! * `gateway_params`: a request head (`METHOD /path?query` and header lines) through
//!   `RequestCheck::check_params` of `tests/data/fuzz/spec.yaml`;
//! * `gateway_body`: a request head and body through `BodyCheck::check` and
//!   `json::parse_strict`;
//! * `gateway_config`: text as the configuration (`Config::from_str_in`), and lines through
//!   `ByteSize::parse` and `Dur::parse`;
//! * `gateway_apikeys`: a presented key and a key file (`ApiKeys::from_str_named`,
//!   `ApiKeys::verify`), and the key against `tests/data/fuzz/api-keys.yaml`;
//! * `gateway_jwt`: a bearer token, or a header and claims signed with the HMAC secret,
//!   through a `Verifier` over `tests/data/fuzz/jwks.json` (no network);
//! * `gateway_response`, `gateway_decompress` (`answers.rs`): an upstream's answer through the
//!   response filter of `tests/data/fuzz/response.yaml`, and an answer in a content coding read
//!   within the cap;
//! * `gateway_admin_query` (`admin.rs`): a query string of the admin API's decisions and
//!   limits endpoints.
//!
//! Those three have their tests in `response_twins.rs`. `write_fuzz_seeds` (ignored) writes
//! the valid inputs above as seeds for the first five targets.

// A test crate: its helpers fail the test (panic) on a broken fixture, as tests do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use portcullis_gateway::config::{Config, Dur};
use portcullis_gateway::identity::apikeys::ApiKeyFailure;
use portcullis_gateway::validate::params;
use portcullis_spec::normalize_path;
use proptest::prelude::*;
use serde_json::{Value, json};

const CONFIG: &str = include_str!("../data/fuzz/config.yaml");
const RSA_PEM: &[u8] = include_bytes!("../data/keys/rsa.pem");
const ATTACKER_PEM: &[u8] = include_bytes!("../data/keys/rsa-attacker.pem");
const EC256_PEM: &[u8] = include_bytes!("../data/keys/ec256.pem");
const ED_PEM: &[u8] = include_bytes!("../data/keys/ed25519.pem");

mod admin;
mod answers;
mod jwt;
mod properties;
mod requests;
mod response_twins;
mod shared;

use jwt::*;
use properties::*;
use requests::*;
use shared::*;

// ---------------------------------------------------------------------------------------------
// The properties.

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ -~\n]{0,64}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn params_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_params(&bytes);
    }

    #[test]
    fn params_of_structured_requests(req in structured_request()) {
        check_params(&req);
    }

    #[test]
    fn params_of_mutated_requests(which in 0..PARAM_REQUESTS.len(), edits in edits()) {
        check_params(&mutate(PARAM_REQUESTS[which].as_bytes(), &edits));
    }

    #[test]
    fn bodies_of_random_bytes(
        which in 0..BODY_REQUESTS.len(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let head = BODY_REQUESTS[which].split("\n\n").next().unwrap();
        let mut req = format!("{head}\n\n").into_bytes();
        req.extend(body);
        check_body(&req);
    }

    #[test]
    fn bodies_of_structured_requests(req in structured_request()) {
        check_body(&req);
    }

    #[test]
    fn bodies_of_structured_json(
        head in prop::sample::select(vec![
            "PUT /items/5\nContent-Type: application/json",
            "PUT /items/5\nContent-Type: application/merge-patch+json",
            "POST /batch\nContent-Type: application/json",
        ]),
        value in json_value(),
        depth in prop::option::of(0usize..10),
    ) {
        let depth = depth.map(|d| format!("\nX-Max-Depth: {d}")).unwrap_or_default();
        check_body(format!("{head}{depth}\n\n{value}").as_bytes());
    }

    #[test]
    fn bodies_of_mutated_requests(which in 0..BODY_REQUESTS.len(), edits in edits()) {
        check_body(&mutate(BODY_REQUESTS[which].as_bytes(), &edits));
    }

    #[test]
    fn strict_json_of_any_depth(
        depth in 0usize..200,
        open in prop::collection::vec(prop::sample::select(vec!["[", "{\"a\":", "{\"a\":1,\"a\":"]), 0..160),
        leaf in prop::sample::select(vec!["1", "\"x\"", "[]", "{}", "null", "1e999", ""]),
    ) {
        let mut text = open.concat();
        text.push_str(leaf);
        for o in open.iter().rev() {
            text.push(if o.starts_with('[') { ']' } else { '}' });
        }
        strict_json_agrees(text.as_bytes(), depth);
    }

    #[test]
    fn config_of_random_text(text in any_text()) {
        check_config(&text);
    }

    #[test]
    fn config_of_mutated_fixture(edits in edits()) {
        check_config(&mutate_text(CONFIG, &edits));
    }

    #[test]
    fn units_of_any_text(
        text in prop_oneof![
            any::<String>(),
            "[ 0-9]{0,24}(ms|s|m|h|d|B|KB|kB|MB|GB|KiB|MiB|GiB|TiB|w|)[ ]?",
        ],
    ) {
        check_units(&text);
    }

    #[test]
    fn apikeys_of_random_text(text in any_text()) {
        check_apikeys(&text);
    }

    #[test]
    fn apikeys_of_mutated_keys_and_file(
        which in 0..PRESENTED.len(),
        key_edits in prop::collection::vec(edit(), 0..3),
        file_edits in prop::collection::vec(edit(), 0..5),
    ) {
        let presented = mutate_text(PRESENTED[which].0, &key_edits).replace('\n', "");
        let file = mutate_text(KEYS, &file_edits);
        check_apikeys(&format!("{presented}\n{file}"));
    }

    #[test]
    fn apikeys_of_arbitrary_presented_keys(
        id in prop_oneof![
            prop::sample::select(vec!["active", "expired", "disabled", "later", "UP-per-9", "up-per-9"]).prop_map(str::to_owned),
            "[A-Za-z0-9_-]{0,70}",
        ],
        secret in prop_oneof![
            prop::sample::select(vec!["active-secret-0123456789abcdefghijklmnopq", ""]).prop_map(str::to_owned),
            "[ -~]{0,300}",
        ],
    ) {
        verify_against_fixture(&format!("pc_{id}_{secret}"));
    }

    #[test]
    fn jwt_of_random_text(text in any_text()) {
        let token = token_of(&text);
        check_jwt(&text);
        // Junk never authenticates: only a signed header and claims can.
        if !text.contains('\n') {
            prop_assert!(block_on(VERIFIER.verify(&token)).is_err());
        }
    }

    #[test]
    fn jwt_of_mutated_tokens(which in 0..TOKENS_SIGNED.len(), edits in edits()) {
        let token = &TOKENS_SIGNED[which];
        let mutated = mutate_text(token, &edits).replace('\n', "");
        check_jwt(&mutated);
    }

    #[test]
    fn jwt_of_mutated_signed_claims(which in 0..TO_SIGN.len(), edits in edits()) {
        check_jwt(&mutate_text(TO_SIGN[which], &edits));
    }
}

// ---------------------------------------------------------------------------------------------
// The fixtures do what the properties assume.

#[test]
fn the_fixture_requests_pass_or_fail_as_written() {
    for (req, ok) in PARAM_REQUESTS
        .iter()
        .zip([true, true, false, true, false, true])
    {
        let r = read_request(req.as_bytes());
        let normalized = normalize_path(&r.path).ok().map(|p| p.as_str().to_owned());
        let (op, params) = operation(&r, &normalized);
        let v = API.checks[op].check_params(&params, &r.query, &r.headers);
        assert_eq!(v.is_none(), ok, "{req}: {v:?}");
        check_params(req.as_bytes());
    }
    let expect: [&[&str]; 10] = [
        &[],
        &["request.json"],
        &["request.json"],
        &["request.unknown-field", "request.body"],
        &[],
        &[],
        &[],
        &[],
        &[],
        &["request.unknown-field", "request.body"],
    ];
    for (req, rules) in BODY_REQUESTS.iter().zip(expect) {
        let r = read_request(req.as_bytes());
        let normalized = normalize_path(&r.path).ok().map(|p| p.as_str().to_owned());
        let (op, _) = operation(&r, &normalized);
        let check = API.checks[op].body.as_ref().unwrap();
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok());
        let depth = if req.contains("X-Max-Depth: 3") {
            3
        } else {
            32
        };
        let got: Vec<&str> = block_on(check.check(ct, &r.body, depth, true, true))
            .iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(got, rules, "{req}");
        check_body(req.as_bytes());
    }
}

/// Found by `gateway_params`: quotes are dropped after the value is trimmed, so what they
/// held stays as sent (a cookie value may not hold spaces, RFC 6265; the schema judges it).
#[test]
fn cookie_values_keep_what_their_quotes_hold() {
    let jar = params::cookies("session=\"\tffff\"; a = b ;c=\"\"x\"\"");
    assert_eq!(jar.get("session"), Some(&"\tffff"));
    assert_eq!(jar.get("a"), Some(&"b"));
    assert_eq!(jar.get("c"), Some(&"x"));
    check_params(b"GET /items/4\nX-Trace: 0000ffff\nCookie: session=\"\tffff\n");
}

/// Found by `gateway_apikeys` (against a property that looked for the secret in the text): a
/// secret may read like a refusal; what matters is that refusals are the fixed messages.
#[test]
fn api_key_refusals_are_fixed_messages() {
    let presented = "pc_aal key file holds hashes only. Presented keys are pc_malformed API k";
    assert_eq!(
        FIXTURE_KEYS.verify(presented, NOW).unwrap_err(),
        ApiKeyFailure::Malformed
    );
    refusal_keeps_the_secret(presented, &ApiKeyFailure::Malformed);
    let wrong = "pc_active_wrong secret";
    let f = FIXTURE_KEYS.verify(wrong, NOW).unwrap_err();
    assert_eq!(f.to_string(), "API key active: wrong secret");
    refusal_keeps_the_secret(wrong, &f);
}

#[test]
fn the_fixture_config_keys_and_tokens_are_valid() {
    let c = Config::from_str_in("fuzz.yaml", CONFIG, Path::new("/nonexistent"), &env).unwrap();
    assert_eq!(c.apis.len(), 2);
    assert_eq!(
        c.server.limits.header_timeout,
        Dur(Duration::from_millis(500))
    );
    check_config(CONFIG);
    assert_eq!(FIXTURE_KEYS.len(), 5);
    for (presented, owner) in PRESENTED {
        let got = FIXTURE_KEYS.verify(presented, NOW);
        assert_eq!(
            got.as_ref().ok().and_then(|p| p.subject.as_deref()),
            owner,
            "{presented}: {got:?}"
        );
        check_apikeys(presented);
    }
    let results: Vec<Result<(), String>> = TOKENS_SIGNED
        .iter()
        .map(|t| {
            block_on(VERIFIER.verify(t))
                .map(drop)
                .map_err(|f| f.code().to_owned())
        })
        .collect();
    let ok = || Ok(());
    let no = |code: &str| Err(code.to_owned());
    assert_eq!(
        results,
        [
            ok(),
            ok(),
            ok(),
            ok(),
            ok(),
            ok(),
            no("expired"),
            no("bad_signature"),
            no("unknown_key"),
            no("alg_not_allowed"),
            no("alg_none"),
        ]
    );
    for t in TOKENS_SIGNED.iter() {
        check_jwt(t);
    }
    for (text, ok) in TO_SIGN.iter().zip([true, false, false, false]) {
        assert_eq!(
            block_on(VERIFIER.verify(&token_of(text))).is_ok(),
            ok,
            "{text}"
        );
        check_jwt(text);
    }
}

/// Writes the valid inputs above as seeds for the fuzz targets, into `fuzz/seeds/<target>/`
/// (committed): `cargo test -p portcullis-gateway --test fuzz_props -- --ignored`.
#[test]
#[ignore = "writes files; run by hand before fuzzing"]
fn write_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let write = |target: &str, seeds: Vec<Vec<u8>>| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in seeds.into_iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:02}")), seed).unwrap();
        }
    };
    write(
        "gateway_params",
        PARAM_REQUESTS
            .iter()
            .map(|r| r.as_bytes().to_vec())
            .collect(),
    );
    write(
        "gateway_body",
        BODY_REQUESTS
            .iter()
            .map(|r| r.as_bytes().to_vec())
            .collect(),
    );
    let mut configs = vec![CONFIG.as_bytes().to_vec()];
    configs.push(b"apis:\n  - { name: a, spec: a.yaml, upstream: http://127.0.0.1:1 }\n".to_vec());
    configs.extend(["1MiB", "500ms", "16 KiB", "30s", "1d"].map(|s| s.as_bytes().to_vec()));
    write("gateway_config", configs);
    write(
        "gateway_apikeys",
        PRESENTED
            .iter()
            .map(|(p, _)| format!("{p}\n{KEYS}").into_bytes())
            .collect(),
    );
    let mut tokens: Vec<Vec<u8>> = TOKENS_SIGNED
        .iter()
        .map(|t| t.as_bytes().to_vec())
        .collect();
    tokens.extend(TO_SIGN.iter().map(|t| t.as_bytes().to_vec()));
    write("gateway_jwt", tokens);
}
