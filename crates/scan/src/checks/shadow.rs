//! Shadow endpoints: a built-in list of debug, admin, backup and configuration paths, and the
//! version siblings of documented versioned paths (`/v2/x` when `/v1/x` is documented), each
//! requested only when the spec does not document it. A path is reported when it answers 2xx
//! with content twice in a row, and differently from a path that surely does not exist (so a
//! catch-all answer is not taken for an endpoint).

use portcullis_spec::{Route, normalize_path};
use serde_json::Value;

use super::has_content;
use crate::evidence::{is_sensitive_key, url_password};
use crate::harvest::is_version;
use crate::http::{Exchange, Request};
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// Paths tried on every target.
const PATHS: &[&str] = &[
    "/debug",
    "/debug/config",
    "/debug/vars",
    "/debug/pprof/",
    "/debug/env",
    "/_debug",
    "/admin",
    "/admin/config",
    "/admin/users",
    "/administrator",
    "/console",
    "/internal",
    "/actuator",
    "/actuator/env",
    "/actuator/configprops",
    "/actuator/heapdump",
    "/actuator/mappings",
    "/env",
    "/.env",
    "/config",
    "/config.json",
    "/config.yaml",
    "/settings.json",
    "/app.config",
    "/server-status",
    "/server-info",
    "/phpinfo.php",
    "/info.php",
    "/.git/config",
    "/.git/HEAD",
    "/backup",
    "/backup.zip",
    "/backup.sql",
    "/db.sql",
    "/dump.sql",
    "/database.sql",
    "/api/debug",
    "/api/internal",
    "/api/admin",
    "/test",
    "/tests",
    "/old",
    "/heapdump",
    "/trace",
    "/graphiql",
    "/h2-console",
    "/elmah.axd",
    "/metrics",
    "/api/v0",
];

/// True when the spec documents `path` for some method.
fn documented(scan: &Scan<'_>, path: &str) -> bool {
    let Ok(normalized) = normalize_path(path) else {
        return false;
    };
    !matches!(
        scan.router.route("GET", normalized.as_str()),
        Route::NotFound
    )
}

/// Secrets in an answer: a password in a URL, or a non-empty value under a secret-looking key.
fn secrets_in(x: &Exchange) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(v: &Value, at: &str, found: &mut Vec<String>, depth: usize) {
        if depth > 8 || found.len() > 10 {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let here = format!("{at}/{k}");
                    match v {
                        Value::String(s)
                            if !s.is_empty()
                                && (is_sensitive_key(k) || url_password(s).is_some()) =>
                        {
                            found.push(here);
                        }
                        _ => walk(v, &here, found, depth + 1),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().take(50).enumerate() {
                    walk(item, &format!("{at}/{i}"), found, depth + 1);
                }
            }
            _ => {}
        }
    }
    match &x.json {
        Some(v) => walk(v, "", &mut found, 0),
        None if url_password(&x.text()).is_some() => found.push("(body)".into()),
        None => {}
    }
    found
}

/// Version siblings of the documented versioned paths the exploration called.
fn siblings(scan: &Scan<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for r in &scan.records {
        let path = crate::plan::path_only(&r.exchange.request.path);
        let segments: Vec<&str> = path.split('/').collect();
        for (i, s) in segments.iter().enumerate() {
            if !is_version(s) {
                continue;
            }
            let n: u32 = s.get(1..).and_then(|d| d.parse().ok()).unwrap_or(0);
            for m in [n.checked_sub(1), n.checked_add(1)].into_iter().flatten() {
                let mut other: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
                if let Some(slot) = other.get_mut(i) {
                    *slot = format!("v{m}");
                }
                let candidate = other.join("/");
                if !out.contains(&candidate) {
                    out.push(candidate);
                }
            }
        }
    }
    out.truncate(50);
    out
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let missing = format!("/{}-missing", scan.generator.unique());
    let Some(baseline) = scan
        .send(Request::new("GET", missing.clone()), None)
        .await?
    else {
        return Ok(());
    };
    let mut candidates: Vec<String> = PATHS.iter().map(|p| (*p).to_owned()).collect();
    candidates.extend(siblings(scan));
    for path in candidates {
        if documented(scan, &path) {
            continue;
        }
        let mut who = Who::Anon;
        let Some(mut answer) = scan.send(Request::new("GET", path.clone()), None).await? else {
            continue;
        };
        if matches!(answer.status, 401 | 403) && !scan.users.is_empty() {
            who = Who::User(0);
            let request = scan.as_who(Request::new("GET", path.clone()), who);
            match scan.send(request, None).await? {
                Some(x) => answer = x,
                None => continue,
            }
        }
        let catch_all = baseline.ok() && baseline.body == answer.body;
        if !has_content(&answer) || catch_all {
            continue;
        }
        let request = scan.as_who(Request::new("GET", path.clone()), who);
        let Some(again) = scan.send(request, None).await? else {
            continue;
        };
        if !has_content(&again) || again.body != answer.body {
            continue;
        }
        let secrets = secrets_in(&again);
        let as_whom = match who {
            Who::Anon => "without credentials".to_owned(),
            _ => format!(
                "as {}",
                scan.users
                    .first()
                    .map(|s| s.name.as_str())
                    .unwrap_or("a user")
            ),
        };
        let proof = format!(
            "answered {} twice with the same body {as_whom}; a path that does not exist ({missing}) answers {}",
            again.status, baseline.status
        );
        if secrets.is_empty() {
            scan.report(
                "PC-SCAN-SHADOW-001",
                None,
                &again,
                format!(
                    "GET {path} is not in the spec but answers {} {as_whom}",
                    again.status
                ),
                proof,
            );
        } else {
            scan.report(
                "PC-SCAN-SHADOW-002",
                None,
                &again,
                format!(
                    "GET {path} is not in the spec and answers {as_whom} with secrets at {}",
                    secrets.join(", ")
                ),
                proof,
            );
        }
    }
    Ok(())
}
