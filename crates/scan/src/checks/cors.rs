//! CORS with credentials for any origin (CORS-001): a secured read the first user made is
//! sent again with an `Origin` of a made-up site. Reported when the answer allows that exact
//! origin with `Access-Control-Allow-Credentials: true`, and a second made-up origin is
//! allowed the same way (an allow-list would not contain both); the baseline is the same
//! request without `Origin`.

use portcullis_spec::Method;

use super::has_content;
use crate::http::Exchange;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// True when `x` lets `origin` read it with credentials.
pub fn allows_with_credentials(x: &Exchange, origin: &str) -> bool {
    x.header("access-control-allow-origin")
        .is_some_and(|v| v.trim() == origin)
        && x.header("access-control-allow-credentials")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let Some((op, baseline)) = scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && has_content(&r.exchange))
        .find(|r| {
            scan.op(r.op)
                .is_some_and(|o| o.method == Method::Get && super::authn::secured(o))
        })
        .or_else(|| {
            scan.records
                .iter()
                .find(|r| has_content(&r.exchange) && r.exchange.request.method == "GET")
        })
        .map(|r| (r.op, r.exchange.clone()))
    else {
        return Ok(());
    };
    let who = scan
        .records
        .iter()
        .find(|r| r.exchange.request == baseline.request)
        .map_or(Who::Anon, |r| r.who);
    let mut proofs = Vec::new();
    for _ in 0..2 {
        let origin = format!("https://{}.example", scan.generator.unique());
        let mut request = scan.as_who(baseline.request.clone(), who);
        request.set_header("Origin", origin.clone());
        let Some(answer) = scan.send(request, Some(op)).await? else {
            return Ok(());
        };
        if !allows_with_credentials(&answer, &origin) {
            return Ok(());
        }
        proofs.push((origin, answer));
    }
    let Some((origin, answer)) = proofs.first().cloned() else {
        return Ok(());
    };
    let second = proofs.get(1).map(|p| p.0.clone()).unwrap_or_default();
    scan.report(
        "PC-SCAN-CORS-001",
        Some(op),
        &answer,
        format!(
            "{} {} lets any web site read it with the visitor's credentials",
            answer.request.method,
            crate::plan::path_only(&answer.request.path)
        ),
        format!(
            "Origin {origin} was answered with Access-Control-Allow-Origin: {origin} and Access-Control-Allow-Credentials: true, and so was {second}; without Origin the answer was {}",
            baseline.status
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Request;

    #[test]
    fn reflected_origin_with_credentials() {
        let mut x = Exchange {
            request: Request::new("GET", "/x"),
            url: "http://h/x".into(),
            status: 200,
            headers: vec![
                (
                    "access-control-allow-origin".into(),
                    "https://a.example".into(),
                ),
                ("access-control-allow-credentials".into(), "true".into()),
            ],
            body: bytes::Bytes::new(),
            json: None,
            elapsed: std::time::Duration::ZERO,
        };
        assert!(allows_with_credentials(&x, "https://a.example"));
        assert!(!allows_with_credentials(&x, "https://b.example"));
        x.headers.pop();
        assert!(!allows_with_credentials(&x, "https://a.example"));
    }
}
