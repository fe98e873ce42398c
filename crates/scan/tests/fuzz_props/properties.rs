//! The property the `scan_answers` fuzz target checks (fuzz/fuzz_targets/scan_answers.rs
//! includes this file) and the proptests of `tests/fuzz_props.rs` call: any answer of a
//! scanned target (`STATUS /path/template`, header lines, an empty line, the body) through
//! what the scanner reads in answers: the JSON body, the ids harvested for chaining, the
//! passive checks' error signatures, JWTs found in it, and the evidence written for a
//! finding, with the session's secrets redacted.
//!
//! Self-contained on purpose (its own imports and fixtures, no `super`), so that both crates
//! can include it.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use portcullis_scan::checks::{has_content, passive, same_data, sqli};
use portcullis_scan::evidence::{self, Secret};
use portcullis_scan::harvest::{self, Harvest};
use portcullis_scan::http::{Exchange, Request};
use portcullis_scan::session::{Jwt, Who};
use serde_json::Value;

/// The session secrets evidence must never show: a token, its signature, a password.
pub const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWFsaWNl";

/// The secrets, as `Session::secrets` gives them.
pub fn secrets() -> Vec<Secret> {
    vec![
        Secret {
            value: TOKEN.to_owned(),
            placeholder: "$ALICE_TOKEN".to_owned(),
        },
        Secret {
            value: "c2lnbmF0dXJlLW9mLWFsaWNl".to_owned(),
            placeholder: "$ALICE_TOKEN_SIGNATURE".to_owned(),
        },
        Secret {
            value: "hunter2-alice-password".to_owned(),
            placeholder: "$ALICE_CREDENTIAL_0".to_owned(),
        },
    ]
}

/// `data` as an answer: the first line's status and template (defaults 200 and `/items`),
/// header lines with lower-case names, an empty line, the body; its JSON as the client reads it.
pub fn exchange(data: &[u8]) -> (String, Exchange) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (data.get(..i).unwrap_or_default(), data.get(i + 2..)),
        None => (data, None),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let mut words = first.split_whitespace();
    let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let template = words.next().unwrap_or("/items").to_owned();
    let headers = lines
        .filter_map(|l| {
            let l = String::from_utf8_lossy(l);
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    let body = Bytes::copy_from_slice(body.unwrap_or_default());
    let json = serde_json::from_slice(&body).ok();
    let mut request = Request::new("GET", template.replace(['{', '}'], ""));
    request.set_header("authorization", format!("Bearer {TOKEN}"));
    let url = format!("http://127.0.0.1:8080{}", request.path);
    let x = Exchange {
        request,
        url,
        status,
        headers,
        body,
        json,
        elapsed: Duration::ZERO,
    };
    (template, x)
}

/// Every key (normalized) and every string and number (as JSON text) in `v`, to a bounded
/// depth.
fn scalars(v: &Value, depth: usize, keys: &mut HashSet<String>, values: &mut HashSet<String>) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                keys.insert(harvest::norm(k));
                scalars(v, depth + 1, keys, values);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| scalars(v, depth + 1, keys, values)),
        Value::String(_) | Value::Number(_) => {
            values.insert(v.to_string());
        }
        _ => {}
    }
}

/// The check. No panic; harvested ids are strings or numbers of the answer, under its keys;
/// names normalize to lower-case letters and digits; a signature quoted is found in the body;
/// a JWT in the answer re-encodes to itself; an answer is the same data as itself when it has
/// content; the evidence of the answer never shows a session secret.
pub fn check_answer(data: &[u8]) {
    let (template, x) = exchange(data);
    let resource = harvest::resource_of(&template);
    assert!(
        resource
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{resource:?}"
    );
    let (mut keys, mut seen) = (HashSet::new(), HashSet::new());
    let mut h = Harvest::default();
    h.watch(["book_title", "accountId"]);
    if let Some(json) = &x.json {
        h.collect(Who::User(0), &template, json);
        h.collect_created(Who::Admin, &template, json);
        scalars(json, 0, &mut keys, &mut seen);
        keys.insert(format!("{resource}id"));
        for key in &keys {
            for who in [Who::User(0), Who::Admin, Who::Anon] {
                if let Some(v) = h.get(who, key) {
                    assert!(who != Who::Anon, "a value for nobody");
                    assert!(v.is_string() || v.is_number(), "{v}");
                    assert!(seen.contains(&v.to_string()), "{v} is not in the answer");
                }
            }
        }
        // Tokens in the answer, as a login's is read.
        for s in seen
            .iter()
            .filter_map(|s| serde_json::from_str::<String>(s).ok())
        {
            if let Some(jwt) = Jwt::decode(&s) {
                let _ = jwt.alg();
                let again = Jwt::encode(&jwt.header, &jwt.claims, &jwt.signature);
                let back = Jwt::decode(&again).unwrap_or_else(|| panic!("{again} does not decode"));
                assert_eq!((back.header, back.claims), (jwt.header, jwt.claims));
            }
        }
    }
    let text = x.text();
    for found in [passive::verbose_error(&text), sqli::sql_error(&text)]
        .into_iter()
        .flatten()
    {
        assert!(text.contains(&found), "{found:?} is not in the answer");
    }
    assert_eq!(same_data(&x, &x), has_content(&x));
    let shown = evidence::response_text(&x, &secrets());
    assert!(shown.starts_with(&format!("HTTP {}\n", x.status)));
    for s in secrets() {
        assert!(
            !shown.contains(&s.value),
            "the evidence shows the secret {}: {shown}",
            s.placeholder
        );
    }
    let _ = evidence::curl(&x, &secrets());
    let _ = evidence::request_text(&x, &secrets());
}
