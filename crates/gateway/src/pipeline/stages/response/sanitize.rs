//! Error sanitizing: an upstream error answer (4xx or 5xx) whose body carries a stack trace, an
//! SQL error, a server file path or a framework's debug page is replaced by problem+json with
//! the request id (in `monitor` mode it is logged and passed).

use std::sync::LazyLock;

use http::Response;
use regex::bytes::RegexSet;

use super::{RequestCtx, body, plan, replace};
use crate::config::Mode;
use crate::problem::Denial;
use crate::proxy::Body;

/// What gives internals away, by kind (the reason names the kind, never the text).
const SIGNATURES: &[(&str, &str)] = &[
    (
        "a Java stack trace",
        r"(?m)^\s*at [\w$.<>]+\([\w$]+\.(java|kt|scala):\d+\)",
    ),
    (
        "a Java exception",
        r"(?:java|javax|jakarta)\.[\w.]+(?:Exception|Error)\b",
    ),
    (
        "a Python traceback",
        r"Traceback \(most recent call last\)|File \x22[^\x22]+\.py\x22, line \d+",
    ),
    (
        "a .NET stack trace",
        r"(?m)^\s*at [\w.`<>]+\(.*\) in .+:line \d+|System\.[\w.]+Exception",
    ),
    (
        "a Node.js stack trace",
        r"(?m)^\s*at .+ \((?:/|[A-Za-z]:\\|node:)[^)]*:\d+:\d+\)",
    ),
    (
        "a Go panic",
        r"goroutine \d+ \[running\]|panic: runtime error",
    ),
    (
        "a PHP error",
        r"(?:Fatal error|Warning|Parse error|Notice)</b>?:? .+ on line \d+| in /[^\s]+\.php(?: on line |:)\d+",
    ),
    ("a Ruby backtrace", r"(?m)[\w/.-]+\.rb:\d+:in `"),
    (
        "an SQL error",
        r"(?i)SQLSTATE\[|you have an error in your sql syntax|ORA-\d{5}|PG::\w+Error|psycopg2\.|sqlite3?\.(?:Operational|Integrity)Error|SQLite3::|unclosed quotation mark|syntax error at or near|Microsoft OLE DB|ODBC (?:SQL Server )?Driver|MySqlException|com\.mysql\.jdbc|org\.postgresql\.util\.PSQLException",
    ),
    (
        "a server file path",
        r"(?:/var/www/|/home/[\w.-]+/|/usr/(?:local/)?lib/python\d|/opt/[\w.-]+/|/srv/[\w.-]+/|[A-Za-z]:\\(?:inetpub|Users|Program Files|Windows)\\)",
    ),
    (
        "a debug page",
        r"(?i)Werkzeug Debugger|Whitelabel Error Page|You're seeing this error because you have <code>DEBUG = True|Whoops! There was an error|Server Error in '/' Application|ActionController::RoutingError|Exception Details:|<title>[^<]*(?:Traceback|Exception)[^<]*</title>",
    ),
];

static SET: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(SIGNATURES.iter().map(|(_, re)| *re)).ok());

/// The kind of internals `text` gives away, if any.
pub(crate) fn leak(text: &[u8]) -> Option<&'static str> {
    let set = SET.as_ref()?;
    let first = set.matches(text).into_iter().next()?;
    SIGNATURES.get(first).map(|(what, _)| *what)
}

/// The response phase.
pub(crate) async fn response<B>(r: &mut RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
    let status = response.status().as_u16();
    if status < 400 || !plan(r).is_some_and(|p| p.sanitize) {
        return;
    }
    let Some(answer) = body(r, response).await else {
        return;
    };
    let Some(what) = leak(answer.current()) else {
        return;
    };
    let denial = Denial::new(
        status,
        crate::rules::RESPONSE_ERROR_LEAK,
        format!("the upstream's {status} answer carries {what}; replaced"),
    )
    .detail("the service could not process the request; quote the request id to its operators");
    if r.api.mode == Mode::Monitor {
        super::note(
            r,
            denial.rule,
            format!("the upstream's {status} answer carries {what}"),
        );
        if r.outcome.decision == crate::decision::Kind::Allow {
            r.outcome.decision = crate::decision::Kind::Monitor;
        }
        return;
    }
    replace(r, response, &denial, false);
}

#[cfg(test)]
mod tests {
    use super::leak;

    #[test]
    fn error_bodies_with_internals_are_recognized_and_plain_ones_are_not() {
        let leaks: &[&[u8]] = &[
            b"java.lang.NullPointerException\n\tat com.bank.Accounts.get(Accounts.java:42)",
            b"Traceback (most recent call last):\n  File \"/app/views.py\", line 12, in get",
            b"Error: boom\n    at Object.<anonymous> (/app/server.js:10:15)",
            b"goroutine 1 [running]:\nmain.main()",
            b"{\"error\":\"SQLSTATE[42000]: Syntax error\"}",
            b"{\"error\":\"You have an error in your SQL syntax near ''1''\"}",
            b"Fatal error: Uncaught Exception in /var/www/html/index.php:12",
            b"<h1>Whitelabel Error Page</h1>",
            b"sqlite3.OperationalError: near \"x\": syntax error",
        ];
        for l in leaks {
            assert!(leak(l).is_some(), "{}", String::from_utf8_lossy(l));
        }
        let plain: &[&[u8]] = &[
            b"{\"error\":\"account not found\"}",
            b"{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"detail\":\"amount must be positive\"}",
            b"<html><body>Service unavailable, try again later</body></html>",
            b"{\"message\":\"at least one item is required\"}",
        ];
        for p in plain {
            assert_eq!(leak(p), None, "{}", String::from_utf8_lossy(p));
        }
    }
}
