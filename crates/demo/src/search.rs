//! The account searches: FLAW (injection) in the weak bank, the search text is pasted into a
//! SQL clause evaluated by the toy SQL engine ([`crate::sql`]); SQL errors echo it, and a
//! `SLEEP` reached in the clause delays the answer. The fixed twin escapes quotes (a literal)
//! and hides errors.

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::bank::{Bank, error};
use crate::sql;

#[derive(Deserialize)]
pub(crate) struct Search {
    q: Option<String>,
}

/// FLAW (injection): the query text is pasted into the SQL clause; SQL errors echo it.
pub(crate) async fn search_accounts(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Query(search): Query<Search>,
) -> Response {
    accounts_like(&bank, &headers, search.q.unwrap_or_default()).await
}

#[derive(Deserialize)]
pub(crate) struct Find {
    name: Option<String>,
}

/// FLAW (injection in a free-text field): the same pasted clause as the search, for a name
/// the spec leaves free (no pattern), so only the gateway's threat checks stand in the way.
pub(crate) async fn find_accounts(
    State(bank): State<Bank>,
    headers: HeaderMap,
    Query(find): Query<Find>,
) -> Response {
    accounts_like(&bank, &headers, find.name.unwrap_or_default()).await
}

/// Seconds of SQL `SLEEP` a search may ask for.
const MAX_SQL_SLEEP: u64 = 3;

/// The caller's accounts whose name contains `q`, through the pasted SQL clause (FLAW: time
/// too: a `SLEEP` reached in the clause delays the answer).
async fn accounts_like(bank: &Bank, headers: &HeaderMap, q: String) -> Response {
    let (response, slept) = query_accounts(bank, headers, q);
    if slept > 0 {
        tokio::time::sleep(Duration::from_secs(slept)).await;
    }
    response
}

/// The answer, and the seconds of `SLEEP` it asked for (0 for refusals).
fn query_accounts(bank: &Bank, headers: &HeaderMap, q: String) -> (Response, u64) {
    let Some(me) = bank.caller_sub(headers) else {
        return (error(StatusCode::UNAUTHORIZED, "no token"), 0);
    };
    let mut q = q;
    if bank.is_fixed() {
        // The twin's "parameter binding": quotes are escaped, so the text stays a literal.
        q = q.replace('\'', "''");
    }
    let clause = format!("owner = '{me}' AND name LIKE '%{q}%'");
    let mut found = Vec::new();
    let mut slept = 0;
    for a in &bank.data().accounts {
        let row = sql::Row {
            owner: &a.owner,
            name: &a.name,
        };
        match sql::evaluate(&clause, row) {
            Ok((matched, seconds)) => {
                slept += seconds;
                if matched {
                    found.push(a.to_json());
                }
            }
            Err(_) if bank.is_fixed() => {
                return (
                    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
                    0,
                );
            }
            Err(e) => return (error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()), 0),
        }
    }
    // The time the SQL `SLEEP` calls asked for (capped, so the demo cannot be held for long).
    (Json(found).into_response(), slept.min(MAX_SQL_SLEEP))
}
