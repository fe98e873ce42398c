//! SQL injection, error-based: for each string parameter (query, path, top-level body
//! property) of the requests that explored the API, the same request with a quote appended
//! must raise a SQL error the baseline did not (or, when the server hides its errors, a 5xx
//! where the baseline had none), and the same request with the quote doubled (balanced, so
//! valid SQL again) must not. Only then is it reported.

use super::points::inject;
use crate::plan;
use crate::scan::{Scan, Stop};

/// The most injection points tried in one scan.
const MAX_POINTS: usize = 200;

/// SQL error signatures of common databases and drivers.
pub(crate) const SQL_ERRORS: &[&str] = &[
    r"(?i)you have an error in your sql syntax",
    r"(?i)\bSQL (?:syntax )?error\b",
    r"SQLSTATE\[",
    r"(?i)sqlite3?\.OperationalError",
    r#"(?i)near "[^"]*": syntax error"#,
    r"(?i)unrecognized token:",
    r"\bORA-\d{5}\b",
    r"PG::[A-Za-z]+Error",
    r"(?i)syntax error at or near",
    r"(?i)unterminated quoted string",
    r"(?i)unclosed quotation mark after the character string",
    r"(?i)quoted string not properly terminated",
    r"(?i)\bmysql_fetch_|\bmysqli?_query\(",
    r"(?i)SQLException",
];

/// [`SQL_ERRORS`], compiled once (every answer of a scan is read with them).
static SQL_ERROR_RES: std::sync::LazyLock<Vec<regex::Regex>> =
    std::sync::LazyLock::new(|| super::compile_all(SQL_ERRORS));

/// The first SQL error signature in `text`.
pub fn sql_error(text: &str) -> Option<String> {
    SQL_ERROR_RES
        .iter()
        .find_map(|re| re.find(text).map(|m| m.as_str().to_owned()))
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let work = super::points::collect(scan, false);
    for (op, baseline, point) in work.into_iter().take(MAX_POINTS) {
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        for (open, balanced) in [("'", "''"), ("\"", "\"\"")] {
            let Some(attack) = inject(&baseline.request, &template, &point, open) else {
                break;
            };
            let Some(answer) = scan.send(attack, Some(op)).await? else {
                break;
            };
            let signature = sql_error(&answer.text());
            let crashed = answer.status >= 500 && baseline.status < 500;
            if signature.is_none() && !crashed {
                continue;
            }
            let Some(control) = inject(&baseline.request, &template, &point, balanced) else {
                break;
            };
            let Some(check) = scan.send(control, Some(op)).await? else {
                break;
            };
            let balanced_ok = match &signature {
                Some(_) => sql_error(&check.text()).is_none(),
                None => check.status < 500,
            };
            if balanced_ok {
                let (what, oracle) = match &signature {
                    Some(sig) => (
                        format!("raises a SQL error ({sig:?})"),
                        format!("{} and {sig:?}", answer.status),
                    ),
                    None => (
                        format!("makes the server fail ({})", answer.status),
                        format!("{} (a server error)", answer.status),
                    ),
                };
                scan.report(
                    "PC-SCAN-SQLI-001",
                    Some(op),
                    &answer,
                    format!(
                        "{} {}: a {open} in the {} {what}",
                        answer.request.method,
                        plan::path_only(&baseline.request.path),
                        point.describe()
                    ),
                    format!(
                        "baseline answered {} without a SQL error; with {open} appended: {oracle}; with {balanced} appended (balanced, valid SQL again): {} without one",
                        baseline.status, check.status
                    ),
                );
            }
            break;
        }
    }
    Ok(())
}
