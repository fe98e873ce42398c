//! The property of the `gateway_admin_query` fuzz target, written once: any query string of
//! `GET /api/decisions` (filters, `limit`, `offset`, the `before` cursor, `since`/`until` in
//! RFC 3339 or milliseconds) and of `GET /api/limits/{client}` (`key`), read by axum's
//! `Query` as the admin API reads it. The fuzz target includes this file (`#[path]`) and the
//! proptests of `main.rs` run the same check on stable.
//!
//! Self-contained on purpose (its own imports and fixtures, no `super`), so that both crates
//! can include it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::Query;
use portcullis_gateway::admin::decisions::{DEFAULT_LIMIT, Filter};
use portcullis_gateway::decision::{Client, Decision, Kind, Timestamp};
use portcullis_gateway::ratelimit::KeySource;
use portcullis_gateway::request_id::RequestId;

/// Rules the fixture's decisions carry.
const RULES: [Option<&str>; 5] = [
    None,
    Some("threat.sqli"),
    Some("threat.xss"),
    Some("auth.invalid"),
    Some("request.parameter"),
];

/// 60 decisions, oldest first, a second apart from 2026-12-07T01:00:00Z, over two APIs, three
/// operations, four clients, every kind and a few rules; request ids `req-00`...`req-59`.
pub static DECISIONS: LazyLock<Vec<Decision>> = LazyLock::new(|| {
    (0..60u64)
        .map(|i| {
            let id = format!("req-{i:02}");
            let request_id = http::HeaderValue::from_str(&id)
                .ok()
                .and_then(|v| RequestId::from_header(&v))
                .unwrap_or_else(|| panic!("{id} is a request id"));
            let kind = [Kind::Allow, Kind::Block, Kind::Monitor][(i % 3) as usize];
            Decision {
                ts: Timestamp::at(UNIX_EPOCH + Duration::from_millis(1_796_605_200_000 + i * 1000)),
                request_id,
                api: Some(if i % 2 == 0 { "bank" } else { "shop" }.into()),
                operation: Some(["getMe", "listItems", "pay"][(i % 3) as usize].into()),
                method: http::Method::GET,
                path: "/items".to_owned(),
                client: Client {
                    ip: IpAddr::from([10, 0, 0, (i % 4) as u8]),
                    key_id: (i % 5 == 0).then(|| "k1".to_owned()),
                    sub: (i % 7 == 0).then(|| "alice".to_owned()),
                },
                decision: kind,
                rule: RULES[(i % 5) as usize],
                reason: None,
                status: 200,
                upstream_status: None,
                latency_us: 10,
            }
        })
        .collect()
});

fn query_of(text: &str) -> Option<HashMap<String, String>> {
    let uri: http::Uri = format!("/api/decisions?{text}").parse().ok()?;
    Query::<HashMap<String, String>>::try_from_uri(&uri)
        .ok()
        .map(|Query(q)| q)
}

/// The place of a decision in the fixture.
fn index_of(d: &Decision) -> usize {
    DECISIONS
        .iter()
        .position(|x| x.request_id.as_str() == d.request_id.as_str())
        .unwrap_or_else(|| panic!("{} is not a fixture decision", d.request_id.as_str()))
}

/// `gateway_admin_query`: the first line of `data` as the query string. A refusal names a
/// parameter the query has; a page is at most `limit` decisions, oldest first, a slice of the
/// matching ones, and never more than the total; the `Link` cursor's query is accepted again
/// and gives the same total and only older decisions. `key` of the limits endpoint parses or
/// fails without panicking.
pub fn check_admin_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let line = text.lines().next().unwrap_or_default();
    let Some(query) = query_of(line) else {
        return;
    };
    if let Some(key) = query.get("key") {
        let _ = key.parse::<KeySource>();
    }
    let filter = match Filter::parse(&query) {
        Ok(f) => f,
        Err(e) => {
            let message = e.to_string();
            assert!(
                query
                    .keys()
                    .any(|k| message.starts_with(&format!("query parameter {k}: "))),
                "the refusal {message:?} names no parameter of {query:?}"
            );
            return;
        }
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT);
    let (page, total, more) = filter.page(&DECISIONS);
    assert!(
        page.len() <= limit,
        "{} decisions over a limit of {limit}",
        page.len()
    );
    assert!(page.len() <= total, "{} decisions of {total}", page.len());
    let places: Vec<usize> = page.iter().map(index_of).collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "not oldest first: {places:?}"
    );
    if more {
        let first = page
            .first()
            .unwrap_or_else(|| panic!("more decisions remain after an empty page"));
        let next = filter.next_query(first);
        let again = query_of(&next).unwrap_or_else(|| panic!("the cursor {next:?} does not read"));
        let older =
            Filter::parse(&again).unwrap_or_else(|e| panic!("the cursor {next:?} is refused: {e}"));
        let (older_page, older_total, _) = older.page(&DECISIONS);
        assert_eq!(older_total, total, "the cursor {next:?} changes the filter");
        for d in &older_page {
            assert!(
                index_of(d) < places[0],
                "the next page holds a newer decision"
            );
        }
    }
}
