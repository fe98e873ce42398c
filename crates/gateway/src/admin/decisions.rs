//! `GET /api/decisions`: the recent decisions (the last [`RECENT`] the gateway keeps),
//! filtered and paged.
//!
//! Filters (all optional, combined with AND): `api`, `operation`, `client` (the address, the
//! API key id or the token subject), `decision` (`allow`, `block`, `monitor`), `rule` (exact,
//! or a prefix ending in `*`: `threat.*`), `since` and `until` (RFC 3339, or milliseconds
//! since the Unix epoch; `since` inclusive, `until` exclusive).
//!
//! Paging: a page is the `limit` (default 100, at most [`RECENT`]) newest matching decisions,
//! oldest first (a log's order). The next page, older, is asked with `before=<request_id>` of
//! the first decision of this page (a cursor: new decisions do not shift it), which the
//! `Link: <...>; rel="next"` header gives when there are more; `offset=N` skips the N newest
//! matching decisions instead. `X-Total-Count` is how many decisions match in all.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::format_description::well_known::Rfc3339;

use super::{AdminState, problem};
use crate::decision::{Decision, RECENT};

/// The default page size.
pub const DEFAULT_LIMIT: usize = 100;

/// The query of `/api/decisions`, parsed and checked.
#[derive(Debug, Default)]
pub struct Filter {
    api: Option<String>,
    operation: Option<String>,
    client: Option<String>,
    decision: Option<String>,
    rule: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: usize,
    before: Option<String>,
    offset: usize,
}

/// A bad query, for a 400 that names the parameter.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("query parameter {name}: {problem}")]
pub struct BadQuery {
    name: String,
    problem: String,
}

fn bad(name: &str, problem: impl Into<String>) -> BadQuery {
    BadQuery {
        name: name.to_owned(),
        problem: problem.into(),
    }
}

impl Filter {
    /// Parses the query parameters; unknown ones are refused.
    pub fn parse(query: &HashMap<String, String>) -> Result<Filter, BadQuery> {
        let mut f = Filter {
            limit: DEFAULT_LIMIT,
            ..Filter::default()
        };
        for (name, value) in query {
            let text = || Some(value.clone());
            match name.as_str() {
                "api" => f.api = text(),
                "operation" => f.operation = text(),
                "client" => f.client = text(),
                "decision" => match value.as_str() {
                    "allow" | "block" | "monitor" => f.decision = text(),
                    _ => return Err(bad(name, "expected allow, block or monitor")),
                },
                "rule" => f.rule = text(),
                "since" => f.since = Some(instant(name, value)?),
                "until" => f.until = Some(instant(name, value)?),
                "limit" => {
                    f.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=RECENT).contains(n))
                        .ok_or_else(|| bad(name, format!("expected 1 to {RECENT}")))?;
                }
                "before" => f.before = text(),
                "offset" => {
                    f.offset = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n <= RECENT)
                        .ok_or_else(|| bad(name, format!("expected 0 to {RECENT}")))?;
                }
                _ => return Err(bad(name, "unknown parameter")),
            }
        }
        if f.before.is_some() && f.offset > 0 {
            return Err(bad("offset", "use either before or offset, not both"));
        }
        Ok(f)
    }

    fn matches(&self, d: &Decision) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        let client = self.client.as_deref().is_none_or(|c| {
            d.client.ip.to_string() == c
                || d.client.key_id.as_deref() == Some(c)
                || d.client.sub.as_deref() == Some(c)
        });
        let rule = self
            .rule
            .as_deref()
            .is_none_or(|r| match r.strip_suffix('*') {
                Some(prefix) => d.rule.is_some_and(|have| have.starts_with(prefix)),
                None => d.rule == Some(r),
            });
        let when = if self.since.is_some() || self.until.is_some() {
            let ts = d.ts.to_string();
            self.since.as_deref().is_none_or(|s| ts.as_str() >= s)
                && self.until.as_deref().is_none_or(|u| ts.as_str() < u)
        } else {
            true
        };
        eq(&self.api, d.api.as_deref())
            && eq(&self.operation, d.operation.as_deref())
            && eq(&self.decision, Some(d.decision.as_str()))
            && client
            && rule
            && when
    }

    /// This filter's page of `all` (oldest first): the page, and whether older matching
    /// decisions remain.
    pub fn page(&self, all: &[Decision]) -> (Vec<Decision>, usize, bool) {
        let end = match &self.before {
            Some(id) => all
                .iter()
                .rposition(|d| d.request_id.as_str() == id)
                .unwrap_or(0),
            None => all.len(),
        };
        let matching: Vec<&Decision> = all.iter().take(end).filter(|d| self.matches(d)).collect();
        let total = match &self.before {
            None => matching.len(),
            Some(_) => all.iter().filter(|d| self.matches(d)).count(),
        };
        let stop = matching.len().saturating_sub(self.offset);
        let start = stop.saturating_sub(self.limit);
        let page = matching
            .get(start..stop)
            .unwrap_or_default()
            .iter()
            .map(|d| (*d).clone())
            .collect();
        (page, total, start > 0)
    }

    /// The query of the next (older) page after `page`.
    pub fn next_query(&self, first: &Decision) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (name, value) in [
            ("api", &self.api),
            ("operation", &self.operation),
            ("client", &self.client),
            ("decision", &self.decision),
            ("rule", &self.rule),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        let limit = self.limit.to_string();
        pairs.push(("limit", &limit));
        pairs.push(("before", first.request_id.as_str()));
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A `since`/`until` value in the decision log's form (`2026-12-07T01:00:00.000Z`), so that
/// it compares as text with a decision's time.
fn instant(name: &str, value: &str) -> Result<String, BadQuery> {
    let at = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i128 = value
            .parse()
            .map_err(|_| bad(name, "milliseconds out of range"))?;
        time::OffsetDateTime::from_unix_timestamp_nanos(ms.saturating_mul(1_000_000))
            .map_err(|_| bad(name, "milliseconds out of range"))?
    } else {
        time::OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
            bad(
                name,
                "expected an RFC 3339 time (2026-12-07T01:00:00Z) or milliseconds since 1970",
            )
        })?
    };
    // Checked: a time at the end of the range with a negative offset is past it in UTC.
    let at = at
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(|| bad(name, "out of range in UTC"))?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    ))
}

/// `GET /api/decisions`.
pub async fn list(
    State(state): State<Arc<AdminState>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let filter = match Filter::parse(&query) {
        Ok(f) => f,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let all = state.shared.history.recent(RECENT);
    let (page, total, more) = filter.page(&all);
    let link = more.then(|| page.first()).flatten().map(|first| {
        format!(
            "</api/decisions?{}>; rel=\"next\"",
            filter.next_query(first)
        )
    });
    let mut response = axum::Json(page).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        headers.insert("x-total-count", v);
    }
    if let Some(v) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LINK, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Admin, TOKEN, decision};
    use super::*;
    use crate::decision::Kind;
    use axum::http::StatusCode;
    use serde_json::Value;

    fn ids(body: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(body).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["request_id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn filled() -> Admin {
        let admin = Admin::new().await;
        for i in 0..10 {
            let (client, kind, rule, op) = if i % 3 == 0 {
                (
                    "10.0.0.9",
                    Kind::Block,
                    Some("threat.sqli"),
                    Some("listItems"),
                )
            } else if i % 3 == 1 {
                ("10.0.0.1", Kind::Allow, None, Some("listItems"))
            } else {
                ("10.0.0.1", Kind::Monitor, Some("route.undocumented"), None)
            };
            admin.record(decision(&format!("r{i}"), client, op, kind, rule));
        }
        admin
    }

    #[tokio::test]
    async fn filters_combine() {
        let admin = filled().await;
        let get = |q: &'static str| {
            let admin = &admin;
            async move { admin.get(&format!("/api/decisions{q}"), Some(TOKEN)).await }
        };
        let (status, headers, body) = get("").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids(&body).len(), 10);
        assert_eq!(headers["x-total-count"], "10");
        assert_eq!(
            ids(&get("?decision=block").await.2),
            ["r0", "r3", "r6", "r9"]
        );
        assert_eq!(
            ids(&get("?client=10.0.0.9&rule=threat.*").await.2),
            ["r0", "r3", "r6", "r9"]
        );
        assert_eq!(
            ids(&get("?rule=route.undocumented").await.2),
            ["r2", "r5", "r8"]
        );
        assert_eq!(
            ids(&get("?operation=listItems&decision=allow").await.2),
            ["r1", "r4", "r7"]
        );
        assert!(ids(&get("?api=other").await.2).is_empty());
        let (status, _, body) = get("?decision=maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("decision"), "{body}");
        let (status, _, body) = get("?colour=red").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("colour: unknown parameter"), "{body}");
        assert_eq!(get("?limit=0").await.0, StatusCode::BAD_REQUEST);
        assert_eq!(get("?limit=1001").await.0, StatusCode::BAD_REQUEST);
        assert_eq!(get("?before=r3&offset=2").await.0, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn time_window() {
        let admin = filled().await;
        let (_, _, body) = admin.get("/api/decisions", Some(TOKEN)).await;
        let all: Value = serde_json::from_str(&body).unwrap();
        let first = all[0]["ts"].as_str().unwrap().to_owned();
        let since = admin
            .get(&format!("/api/decisions?since={first}"), Some(TOKEN))
            .await;
        assert_eq!(ids(&since.2).len(), 10);
        let until = admin
            .get(&format!("/api/decisions?until={first}"), Some(TOKEN))
            .await;
        assert!(ids(&until.2).is_empty());
        let future = admin
            .get(
                "/api/decisions?since=2999-01-01T00:00:00%2B02:00",
                Some(TOKEN),
            )
            .await;
        assert!(ids(&future.2).is_empty());
        let epoch_ms = admin.get("/api/decisions?since=0", Some(TOKEN)).await;
        assert_eq!(ids(&epoch_ms.2).len(), 10);
        let bad = admin
            .get("/api/decisions?since=yesterday", Some(TOKEN))
            .await;
        assert_eq!(bad.0, StatusCode::BAD_REQUEST);
        assert!(bad.2.contains("RFC 3339"), "{}", bad.2);
    }

    #[tokio::test]
    async fn pages_follow_the_cursor_and_offset() {
        let admin = filled().await;
        let (_, headers, body) = admin.get("/api/decisions?limit=4", Some(TOKEN)).await;
        assert_eq!(ids(&body), ["r6", "r7", "r8", "r9"]);
        let link = headers["link"].to_str().unwrap();
        assert_eq!(link, "</api/decisions?limit=4&before=r6>; rel=\"next\"");
        let (_, headers, body) = admin
            .get("/api/decisions?limit=4&before=r6", Some(TOKEN))
            .await;
        assert_eq!(ids(&body), ["r2", "r3", "r4", "r5"]);
        assert!(headers.contains_key("link"));
        // New decisions do not shift a cursor.
        admin.record(decision("r10", "10.0.0.1", None, Kind::Allow, None));
        let (_, headers, body) = admin
            .get("/api/decisions?limit=4&before=r2", Some(TOKEN))
            .await;
        assert_eq!(ids(&body), ["r0", "r1"]);
        assert!(!headers.contains_key("link"), "the last page");
        let (_, _, body) = admin
            .get("/api/decisions?limit=2&offset=3", Some(TOKEN))
            .await;
        assert_eq!(ids(&body), ["r6", "r7"]);
        // The filters travel with the cursor.
        let (_, headers, _) = admin
            .get(
                "/api/decisions?limit=1&decision=block&rule=threat.*",
                Some(TOKEN),
            )
            .await;
        assert_eq!(
            headers["link"],
            "</api/decisions?decision=block&rule=threat%2E%2A&limit=1&before=r9>; rel=\"next\""
        );
    }

    #[test]
    fn instants_are_normalized_to_the_log_form() {
        assert_eq!(
            instant("since", "2026-12-07T02:30:00+01:00").unwrap(),
            "2026-12-07T01:30:00.000Z"
        );
        assert_eq!(
            instant("since", "1000").unwrap(),
            "1970-01-01T00:00:01.000Z"
        );
        assert!(instant("since", "99999999999999999999999999").is_err());
        // Year 10000 in UTC: refused, where converting it used to panic.
        assert!(instant("until", "9999-12-31T23:59:59-01:00").is_err());
        assert!(instant("since", "0000-01-01T00:00:00+01:00").is_ok());
    }
}
