//! The properties of the response-phase fuzz targets, written once: `gateway_response` (the
//! response filter: error sanitizing, schema check, stripping of undeclared properties,
//! sensitive-data masking of JSON and text answers, on any answer) and `gateway_decompress`
//! (an answer read for inspection in every content coding, within the cap). Each fuzz target
//! includes this file (`#[path]`) and the proptests of `main.rs` run the same checks on stable.
//!
//! Self-contained on purpose (its own imports and fixtures, no `super`), so that both crates
//! can include it.

use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue};
use portcullis_gateway::config::Config;
use portcullis_gateway::config::protect::OverLimit;
use portcullis_gateway::fuzzing::{self, Unread};
use portcullis_gateway::runtime::protect::{ResponsePlan, response_plan};
use portcullis_gateway::validate::fields::{Field, strip};
use portcullis_gateway::validate::json::parse_strict;
use portcullis_inspect::sensitive::{self, Options};
use portcullis_spec::{Catalog, load_str};
use serde_json::Value;

/// The API whose answers `gateway_response` checks.
pub const RESPONSE_SPEC: &str = include_str!("../data/fuzz/response.yaml");

/// Its configuration: every response check on, text answers inspected.
pub const RESPONSE_CONFIG: &str = "apis:
  - name: fuzz
    spec: response.yaml
    upstream: http://127.0.0.1:1
    response:
      validate: block
      undeclared_fields: strip
      sensitive_data: mask
      sensitive_optional: [email, phone]
      sanitize_errors: true
      max_inspect: 64KiB
      over_limit: pass
      inspect_text: true
";

/// What the error sanitizer may name.
const LEAK_KINDS: [&str; 11] = [
    "a Java stack trace",
    "a Java exception",
    "a Python traceback",
    "a .NET stack trace",
    "a Node.js stack trace",
    "a Go panic",
    "a PHP error",
    "a Ruby backtrace",
    "an SQL error",
    "a server file path",
    "a debug page",
];

/// Runs a future that never waits on I/O or a timer to completion on this thread.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future waits on something the checks never provide");
}

/// A catalog and each operation's compiled response plan, by operation id.
pub type Plans = (Catalog, Vec<(String, Arc<ResponsePlan>)>);

/// The fixture's plans.
pub static PLANS: LazyLock<Plans> = LazyLock::new(|| {
    let catalog = match load_str("response.yaml", RESPONSE_SPEC) {
        Ok(c) => c,
        Err(e) => panic!("the response fixture must load: {e}"),
    };
    let config = match Config::from_str_in("fuzz.yaml", RESPONSE_CONFIG, Path::new("."), &|_| None)
    {
        Ok(c) => c,
        Err(e) => panic!("the response fixture's configuration must load: {e}"),
    };
    let response = config.apis.first().and_then(|a| a.response.as_ref());
    let mut plans = Vec::new();
    for op in &catalog.operations {
        match response_plan(&config, 0, "fuzz", response, &catalog, Some(op)) {
            Ok(Some(plan)) => plans.push((op.operation_id.clone().unwrap_or_default(), plan)),
            other => panic!("no response plan for {:?}: {other:?}", op.operation_id),
        }
    }
    (catalog, plans)
});

/// An answer as the response targets read their input: a first line `STATUS OPERATION-ID`,
/// header lines (`Name: value`; invalid ones are skipped, as hyper refuses them), an empty
/// line, then the body.
pub struct Answer {
    pub status: u16,
    pub operation: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Reads `data` as an [`Answer`].
pub fn read_answer(data: &[u8]) -> Answer {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (data.get(..i).unwrap_or_default(), data.get(i + 2..)),
        None => (data, None),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = String::from_utf8_lossy(lines.next().unwrap_or_default());
    let mut words = first.split_whitespace();
    let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let operation = words.next().unwrap_or_default().to_owned();
    let mut headers = HeaderMap::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default().trim_ascii();
        let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(n, v);
        }
    }
    Answer {
        status,
        operation,
        headers,
        body: Bytes::copy_from_slice(body.unwrap_or_default()),
    }
}

/// `gateway_response`: the answer through the response checks of its operation. No check
/// panics; the sanitizer names a known kind; the strict reader agrees with serde_json; the
/// schema check reports; stripping leaves only what the schema keeps and is idempotent; masked
/// JSON is JSON, masked text keeps its length and changes only to `*`; the body put back is
/// the change (without `Content-Encoding`, with its length) or exactly what came.
pub fn check_response(data: &[u8]) {
    let input = read_answer(data);
    let (_, plans) = &*PLANS;
    let Some((_, plan)) = plans
        .iter()
        .find(|(id, _)| *id == input.operation)
        .or_else(|| plans.first())
    else {
        return;
    };
    let declared = input.headers.get(CONTENT_LENGTH).is_some();
    let chunks: Vec<Bytes> = input
        .body
        .chunks(1000)
        .map(Bytes::copy_from_slice)
        .collect();
    let mut response = fuzzing::response(input.headers.clone(), chunks, declared);
    *response.status_mut() = http::StatusCode::from_u16(input.status).unwrap_or_default();
    let coded = input.headers.get(CONTENT_ENCODING).is_some_and(|v| {
        let v = v.as_bytes().trim_ascii();
        !v.is_empty() && !v.eq_ignore_ascii_case(b"identity")
    });
    let mut answer = match run(fuzzing::read(&mut response, plan)) {
        Ok(a) => a,
        Err(unread) => {
            check_refusal(&unread, plan);
            // Not inspected: the answer goes on exactly as it came.
            let sent = run(fuzzing::collect(response));
            assert_eq!(sent.ok().as_deref(), Some(&input.body[..]), "{unread:?}");
            return;
        }
    };
    let text = answer.text().clone();
    assert!(text.len() <= plan.max_inspect);
    if !coded {
        assert_eq!(text, input.body);
    }
    // Error sanitizing.
    if let Some(kind) = fuzzing::leak(&text) {
        assert!(LEAK_KINDS.contains(&kind), "{kind}");
    }
    let status = input.status;
    let content_type = input
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = plan
        .answer_for(status)
        .and_then(|a| a.media_for(content_type));
    // The schema check.
    let strict = parse_strict(&text, fuzzing::RESPONSE_MAX_DEPTH);
    let loose = serde_json::from_slice::<Value>(&text);
    if let Ok(v) = &strict {
        assert_eq!(loose.as_ref().ok(), Some(v), "the strict reader disagrees");
        if let Some(validator) = media.and_then(|m| m.validator.as_ref()) {
            for e in validator.iter_errors(v).take(8) {
                let _ = format!("{:?}: {e}", e.instance_path().to_string());
            }
        }
    }
    // Stripping undeclared properties.
    let mut changed: Option<Vec<u8>> = None;
    if let (Some(field), Ok(mut value)) = (media.and_then(|m| m.field.as_ref()), loose) {
        let before = value.clone();
        let removed = strip(&mut value, field);
        assert_eq!(removed == 0, value == before);
        assert_eq!(strip(&mut value, field), 0, "stripping is not idempotent");
        only_declared(&value, field, 0);
        if removed > 0 {
            let bytes = serde_json::to_vec(&value).unwrap_or_default();
            assert!(serde_json::from_slice::<Value>(&bytes).is_ok());
            changed = Some(bytes);
        }
    }
    // Sensitive data, in the stripped body if stripped.
    let options = Options {
        emails: plan.emails,
        phones: plan.phones,
    };
    let current = changed.clone().unwrap_or_else(|| text.to_vec());
    if answer.content_type() == "application/json" || answer.content_type().ends_with("+json") {
        if let Ok(m) = sensitive::mask_json(&current, options) {
            let scanned = sensitive::scan_json(&current, options).ok();
            assert_eq!(scanned, Some(m.kinds));
            if let Some(body) = m.body {
                if serde_json::from_slice::<Value>(&current).is_ok() {
                    assert!(
                        serde_json::from_slice::<Value>(&body).is_ok(),
                        "masked JSON is not JSON: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                changed = Some(body);
            }
        }
    } else {
        let (masked, kinds) = fuzzing::mask_text(&current, options);
        assert_eq!(masked.is_some(), !kinds.is_empty());
        if let Some(masked) = masked {
            assert_eq!(masked.len(), current.len());
            for (was, now) in current.iter().zip(&masked) {
                assert!(was == now || *now == b'*' && !was.is_ascii_whitespace());
            }
            changed = Some(masked);
        }
    }
    // The body put back.
    if let Some(body) = &changed {
        answer.change(Bytes::from(body.clone()));
    }
    fuzzing::finish(answer, &mut response);
    let length = response.headers().get(CONTENT_LENGTH).cloned();
    let encoding = response.headers().get(CONTENT_ENCODING).cloned();
    let sent = run(fuzzing::collect(response)).ok().unwrap_or_default();
    match changed {
        Some(body) => {
            assert_eq!(sent, body);
            assert_eq!(length, Some(HeaderValue::from(body.len())));
            assert!(!coded || encoding.is_none());
        }
        None => assert_eq!(sent, input.body),
    }
}

/// After stripping: every property is one the schema keeps, at every depth.
fn only_declared(value: &Value, field: &Field, depth: usize) {
    if field.any || depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match field.property(k) {
                    Some(f) => only_declared(v, f, depth + 1),
                    None => assert!(field.keeps_undeclared(), "{k:?} was kept"),
                }
            }
        }
        Value::Array(items) => {
            if let Some(f) = field.item() {
                items.iter().for_each(|v| only_declared(v, f, depth + 1));
            }
        }
        _ => {}
    }
}

/// What the pipeline does with an answer it could not read.
fn check_refusal(unread: &Unread, plan: &ResponsePlan) {
    let refusal = fuzzing::refusal(unread, plan);
    match unread {
        Unread::Bomb(reason) => {
            let d = refusal.unwrap_or_else(|| panic!("a bomb passed: {reason}"));
            assert_eq!((d.status, d.rule), (502, "response.decompression"));
        }
        Unread::Broken(_) => assert!(refusal.is_some()),
        Unread::Uninspected(reason) => {
            assert!(!reason.is_empty());
            assert_eq!(refusal.is_some(), plan.over_limit == OverLimit::Block);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gateway_decompress

/// The `Content-Encoding` values the decompress target sends (the first input byte picks).
pub const CODINGS: [&str; 8] = [
    "gzip", "deflate", "br", "identity", "x-gzip", "GZIP ", "compress", "gzip, br",
];

/// The caps the decompress target reads within (the second input byte picks).
pub const CAPS: [usize; 4] = [64, 1000, 4096, 65_536];

/// `gateway_decompress`: byte 0 picks the coding and how the rest is used, byte 1 the cap,
/// whether the over-limit policy blocks, whether the length is declared and how the body is
/// cut in chunks. Mode 0 sends the rest as the (compressed) body; mode 1 compresses it first
/// (gzip, zlib or raw deflate); mode 2 compresses it repeated (a bomb when the ratio is
/// high). An answer read is never over the cap and is what was compressed; one within the cap
/// is never refused; an answer over the cap is never read; only what inflates past the cap is
/// a bomb, and a bomb is refused (502 `response.decompression`); an answer not read goes on
/// byte for byte.
pub fn check_decompress(data: &[u8]) {
    let [a, b, rest @ ..] = data else {
        return;
    };
    let mode = (a >> 4) % 3;
    let cap = CAPS.get(usize::from(b & 3)).copied().unwrap_or(64);
    let over_limit = if b & 4 == 0 {
        OverLimit::Pass
    } else {
        OverLimit::Block
    };
    let declared = b & 8 != 0;
    let chunk = usize::from(b >> 4) * 97 + 1;
    let (coding, body, plain): (&str, Vec<u8>, Option<Vec<u8>>) = match mode {
        0 => (
            CODINGS.get(usize::from(a & 7)).copied().unwrap_or("gzip"),
            rest.to_vec(),
            None,
        ),
        _ => {
            let plain = if mode == 2 {
                let times = usize::from(a & 0x0f) * 1000 + 1;
                rest.iter()
                    .copied()
                    .cycle()
                    .take(rest.len().saturating_mul(times).min(1 << 20))
                    .collect()
            } else {
                rest.to_vec()
            };
            let (coding, body) = compress(a & 3, &plain);
            (coding, body, Some(plain))
        }
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(coding) {
        headers.insert(CONTENT_ENCODING, v);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let chunks: Vec<Bytes> = body.chunks(chunk).map(Bytes::copy_from_slice).collect();
    let mut response = fuzzing::response(headers, chunks, declared);
    let plan = ResponsePlan {
        validate: Default::default(),
        undeclared: Default::default(),
        sensitive: Default::default(),
        emails: false,
        phones: false,
        sanitize: true,
        security_headers: false,
        max_inspect: cap,
        over_limit,
        inspect_text: false,
        answers: Vec::new(),
    };
    match run(fuzzing::read(&mut response, &plan)) {
        Ok(answer) => {
            let text = answer.text().clone();
            assert!(
                text.len() <= cap,
                "{} bytes read over a cap of {cap}",
                text.len()
            );
            assert!(body.len() <= cap, "a body over the cap was read");
            if let Some(plain) = &plain {
                assert_eq!(&text[..], &plain[..], "inflated to something else");
            }
            if coding.trim().eq_ignore_ascii_case("identity") {
                assert_eq!(text, body);
            }
            fuzzing::finish(answer, &mut response);
            let sent = run(fuzzing::collect(response)).ok().unwrap_or_default();
            assert_eq!(sent, body, "an unchanged answer was not sent as it came");
        }
        Err(unread) => {
            if let Some(plain) = &plain {
                assert!(
                    plain.len() > cap || body.len() > cap || matches!(unread, Unread::Broken(_)),
                    "{} bytes inflating to {} refused under a cap of {cap}: {unread:?}",
                    body.len(),
                    plain.len()
                );
                // A bomb inflates past the cap (whether past it by 100 times what it took
                // depends on how much the decoder had consumed when it reached the cap).
                if matches!(unread, Unread::Bomb(_)) {
                    assert!(plain.len() > cap, "{unread:?}");
                }
            }
            check_refusal(&unread, &plan);
            let sent = run(fuzzing::collect(response)).ok().unwrap_or_default();
            assert_eq!(sent, body, "an answer not read was not sent as it came");
        }
    }
}

/// `plain` compressed as gzip (0), zlib `deflate` (1), raw `deflate` (2) or gzip (3).
pub fn compress(which: u8, plain: &[u8]) -> (&'static str, Vec<u8>) {
    let level = flate2::Compression::default();
    let out = match which {
        1 => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            let _ = e.write_all(plain);
            e.finish()
        }
        2 => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), level);
            let _ = e.write_all(plain);
            e.finish()
        }
        _ => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
            let _ = e.write_all(plain);
            e.finish()
        }
    };
    let coding = if which == 1 || which == 2 {
        "deflate"
    } else {
        "gzip"
    };
    (coding, out.unwrap_or_default())
}
