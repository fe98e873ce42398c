//! Unauthenticated access: an operation the spec secures is called again without any
//! credentials. It is reported only when the anonymous answer carries the same data as the
//! authenticated one (so an answer such as a login page or an empty list does not count).

use portcullis_spec::{Method, Operation};

use super::same_data;
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// True when the spec requires credentials for `op` (no anonymous alternative).
pub fn secured(op: &Operation) -> bool {
    !op.security.is_empty() && op.security.iter().all(|r| !r.is_anonymous())
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let candidates: Vec<(usize, crate::http::Exchange)> = scan
        .records
        .iter()
        .filter(|r| matches!(r.who, Who::User(0)))
        .filter(|r| {
            scan.op(r.op)
                .is_some_and(|o| o.method == Method::Get && secured(o))
        })
        .filter(|r| super::has_content(&r.exchange))
        .map(|r| (r.op, r.exchange.clone()))
        .collect();
    for (op, authenticated) in candidates {
        let request = scan.as_who(authenticated.request.clone(), Who::Anon);
        let Some(answer) = scan.send(request, Some(op)).await? else {
            continue;
        };
        if same_data(&answer, &authenticated) {
            let schemes: Vec<String> = scan
                .op(op)
                .map(|o| {
                    o.security
                        .iter()
                        .flat_map(|r| r.schemes.keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            scan.report(
                "PC-SCAN-AUTHN-001",
                Some(op),
                &answer,
                format!(
                    "{} {} answered {} without credentials, although the spec requires {}",
                    answer.request.method,
                    crate::plan::path_only(&answer.request.path),
                    answer.status,
                    schemes.join(" or ")
                ),
                format!(
                    "the anonymous answer is identical to the authenticated one ({} with credentials, {} without)",
                    authenticated.status, answer.status
                ),
            );
        }
    }
    Ok(())
}
