//! A request head (`METHOD /path?query`, then `Name: value` lines) through the parameter
//! checks of `crates/gateway/tests/data/fuzz/spec.yaml`: path, query, header and cookie
//! parameters of every style, explode and type. Never a panic; a refusal is a 400
//! `request.parameter` that names the parameter. The cookie jar's keys and values hold no
//! `;`, keys no `=` and are trimmed, values are unquoted (what was inside the quotes is kept
//! as sent, spaces included); a query value read as a scalar is that type's reading of it
//! or the text unchanged.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use portcullis_gateway::validate::Policy;
use portcullis_gateway::validate::params::{self, Scalar};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let req = common::read_request(data);
    let normalized = common::normalized(&req);
    let (check, path_params) = common::operation(&req, &normalized);
    if let Some(v) = check.check_params(&path_params, &req.query, &req.headers) {
        assert!(
            v.rule == "request.parameter" && v.status == 400 && v.policy == Policy::Validate,
            "{v:?}"
        );
        assert!(v.reason.contains(" parameter \""), "{v:?}");
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
    for (_, raw) in &req.query {
        for (shape, fits) in [
            (Scalar::Integer, raw.parse::<i64>().is_ok()),
            (Scalar::Number, raw.parse::<f64>().is_ok_and(f64::is_finite)),
            (Scalar::Boolean, raw == "true" || raw == "false"),
            (Scalar::String, false),
        ] {
            match params::scalar(raw, shape) {
                Value::String(s) => assert!(s == *raw && !fits, "{raw:?} {shape:?}"),
                other => assert!(fits, "{raw:?} {shape:?} -> {other}"),
            }
        }
    }
});
