//! Broken function level authorization: an ordinary user calls an operation meant for
//! administrators (`x-portcullis-admin: true`, an `admin` scope or role in its security, an
//! `admin` tag or path segment). Reported when the user's answer carries data and, when an
//! administrator is configured, that data has the shape of the administrator's answer.

use portcullis_spec::{Method, Operation};
use serde_json::Value;

use super::has_content;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// True for an operation meant for administrators only.
pub fn admin_only(op: &Operation) -> bool {
    let flagged = op
        .extensions
        .get("x-portcullis-admin")
        .and_then(Value::as_bool)
        == Some(true);
    let scoped = op.security.iter().any(|r| {
        r.schemes
            .values()
            .flatten()
            .any(|s| s.to_ascii_lowercase().contains("admin"))
    });
    let named = op.path.split('/').any(|s| s.eq_ignore_ascii_case("admin"))
        || op.tags.iter().any(|t| t.eq_ignore_ascii_case("admin"));
    flagged || scoped || named
}

/// The same JSON type, and for objects (or arrays of objects) the same keys.
fn same_shape(a: &Value, b: &Value) -> bool {
    fn keys(v: &Value) -> Option<Vec<&String>> {
        match v {
            Value::Object(m) => Some(m.keys().collect()),
            Value::Array(items) => items.first().and_then(keys),
            _ => None,
        }
    }
    std::mem::discriminant(a) == std::mem::discriminant(b) && keys(a) == keys(b)
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let safe = scan.safe;
    let candidates: Vec<usize> = scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && has_content(&r.exchange))
        .filter(|r| {
            scan.op(r.op)
                .is_some_and(|o| admin_only(o) && (o.method == Method::Get || !safe))
        })
        .map(|r| r.op)
        .collect();
    for op in candidates {
        let Some(user) = scan.record(op, Who::User(0)).map(|r| r.exchange.clone()) else {
            continue;
        };
        let admin = scan.record(op, Who::Admin).map(|r| r.exchange.clone());
        let confirmed = match (&admin, &user.json) {
            (Some(a), Some(u)) => {
                has_content(a) && a.json.as_ref().is_some_and(|j| same_shape(j, u))
            }
            (Some(a), None) => has_content(a),
            (None, _) => true,
        };
        if !confirmed {
            continue;
        }
        // Replay once: the user's access is stable, not a one-off.
        let request = user.request.clone();
        let Some(again) = scan.send(request, Some(op)).await? else {
            continue;
        };
        if !has_content(&again) {
            continue;
        }
        let name = scan
            .users
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let proof = match &admin {
            Some(a) => format!(
                "the administrator got {} with data of the same shape; {name} got {} twice",
                a.status, again.status
            ),
            None => format!(
                "{name} got {} twice (no administrator configured to compare)",
                again.status
            ),
        };
        scan.report(
            "PC-SCAN-BFLA-001",
            Some(op),
            &again,
            format!(
                "{name}, an ordinary user, called the administrators' operation {} {} and got its data",
                again.request.method,
                crate::plan::path_only(&again.request.path)
            ),
            proof,
        );
    }
    Ok(())
}
