//! Deprecated operations that still answer with data (no extra request: the exploration's
//! answer is the proof).

use super::has_content;
use crate::scan::Scan;

/// Runs the check.
pub fn run(scan: &mut Scan<'_>) {
    let found: Vec<(usize, crate::http::Exchange)> = scan
        .records
        .iter()
        .filter(|r| scan.op(r.op).is_some_and(|o| o.deprecated) && has_content(&r.exchange))
        .map(|r| (r.op, r.exchange.clone()))
        .collect();
    for (op, exchange) in found {
        scan.report(
            "PC-SCAN-DEPR-001",
            Some(op),
            &exchange,
            format!(
                "{} {} is deprecated in the spec but still answers {}",
                exchange.request.method,
                crate::plan::path_only(&exchange.request.path),
                exchange.status
            ),
            "the operation answered with data during exploration".to_owned(),
        );
    }
}
