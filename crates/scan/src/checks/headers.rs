//! Security headers (HDR-001): the answers the first user got from secured operations while
//! exploring are read (no extra request). Reported, once for the API, when at least two of
//! them lack `X-Content-Type-Options: nosniff`, a `Cache-Control` that keeps them out of
//! shared caches (`no-store` or `private`), or, over https, `Strict-Transport-Security`: one
//! answer could be an exception, two are the API's habit.

use super::has_content;
use crate::http::Exchange;
use crate::scan::Scan;
use crate::session::Who;

/// What `x` lacks of the headers an authenticated API answer should carry.
pub fn missing(x: &Exchange, https: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !x
        .header("x-content-type-options")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff"))
    {
        out.push("X-Content-Type-Options: nosniff");
    }
    let cache = x.header("cache-control").unwrap_or("").to_ascii_lowercase();
    if !cache.contains("no-store") && !cache.contains("private") {
        out.push("Cache-Control: no-store");
    }
    if https && x.header("strict-transport-security").is_none() {
        out.push("Strict-Transport-Security");
    }
    out
}

/// Runs the check (passive).
pub fn run(scan: &mut Scan<'_>) {
    let https = scan.client.target().origin.starts_with("https:");
    let lacking: Vec<(usize, Exchange, Vec<&'static str>)> = scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && has_content(&r.exchange))
        .filter(|r| scan.op(r.op).is_some_and(super::authn::secured))
        .map(|r| (r.op, r.exchange.clone(), missing(&r.exchange, https)))
        .filter(|(_, _, m)| !m.is_empty())
        .collect();
    if lacking.len() < 2 {
        return;
    }
    let Some((op, first, what)) = lacking.first().cloned() else {
        return;
    };
    let others: Vec<String> = lacking
        .iter()
        .skip(1)
        .take(3)
        .map(|(_, x, _)| crate::plan::path_only(&x.request.path).to_owned())
        .collect();
    scan.report(
        "PC-SCAN-HDR-001",
        Some(op),
        &first,
        format!(
            "authenticated answers lack {} ({} answers of secured operations)",
            what.join(", "),
            lacking.len()
        ),
        format!(
            "{} {} answered {} without them, and so did {}",
            first.request.method,
            crate::plan::path_only(&first.request.path),
            first.status,
            others.join(", ")
        ),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::http::Request;

    fn answer(headers: &[(&str, &str)]) -> Exchange {
        Exchange {
            request: Request::new("GET", "/x"),
            url: "http://h/x".into(),
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: bytes::Bytes::from_static(b"{}"),
            json: None,
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn missing_headers() {
        assert_eq!(missing(&answer(&[]), false).len(), 2);
        assert!(
            missing(
                &answer(&[
                    ("x-content-type-options", "nosniff"),
                    ("cache-control", "no-store")
                ]),
                false
            )
            .is_empty()
        );
        assert_eq!(
            missing(
                &answer(&[
                    ("x-content-type-options", "nosniff"),
                    ("cache-control", "private, max-age=0")
                ]),
                true
            ),
            vec!["Strict-Transport-Security"]
        );
    }
}
