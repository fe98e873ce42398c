//! Broken object level authorization: a request user A made for one of A's own objects (an
//! id of A's, or one harvested from A's answers) is sent again as user B. It is reported when
//! B gets exactly what A got, B's own object (what B got for the same operation with B's
//! ids) is different, and an anonymous caller does not get it: the object is A's, not a
//! shared or public one. Only operations the spec secures are tried.

use portcullis_spec::Method;

use super::{has_content, same_data};
use crate::scan::{Scan, Stop};
use crate::session::Who;

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    if scan.users.len() < 2 {
        return Ok(());
    }
    let candidates: Vec<(usize, crate::http::Exchange)> = scan
        .records
        .iter()
        .filter(|r| r.who == Who::User(0) && r.owned && has_content(&r.exchange))
        .filter(|r| {
            scan.op(r.op)
                .is_some_and(|o| o.method == Method::Get && super::authn::secured(o))
        })
        .map(|r| (r.op, r.exchange.clone()))
        .collect();
    for (op, theirs) in candidates {
        for b in 1..scan.users.len() {
            let own = scan.record(op, Who::User(b)).map(|r| r.exchange.clone());
            let differs = match &own {
                Some(own) => own.request.path != theirs.request.path && !same_data(own, &theirs),
                None => false,
            };
            if !differs {
                continue;
            }
            let request = scan.as_who(theirs.request.clone(), Who::User(b));
            let Some(answer) = scan.send(request, Some(op)).await? else {
                continue;
            };
            // A's object may have changed since A read it (A's own updates ran later while
            // exploring): then A's read now is the reference.
            let theirs = if same_data(&answer, &theirs) {
                theirs.clone()
            } else {
                let again = scan.as_who(theirs.request.clone(), Who::User(0));
                match scan.send(again, Some(op)).await? {
                    Some(fresh) if same_data(&answer, &fresh) => fresh,
                    _ => continue,
                }
            };
            // Public data is no one's object: anonymous callers must not get it.
            let anonymous = scan.as_who(theirs.request.clone(), Who::Anon);
            let public = match scan.send(anonymous, Some(op)).await? {
                Some(x) => same_data(&x, &theirs),
                None => true,
            };
            if !public {
                let a = scan
                    .users
                    .first()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                let b_name = scan
                    .users
                    .get(b)
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                let own_path = own.map(|o| o.request.path).unwrap_or_default();
                scan.report(
                    "PC-SCAN-BOLA-001",
                    Some(op),
                    &answer,
                    format!(
                        "{b_name} read {a}'s object: {} {} answered {} with {a}'s data",
                        answer.request.method,
                        crate::plan::path_only(&answer.request.path),
                        answer.status
                    ),
                    format!(
                        "{b_name}'s answer is identical to {a}'s own read of the same URL, and differs from {b_name}'s own object ({own_path})"
                    ),
                );
                break;
            }
        }
    }
    Ok(())
}
