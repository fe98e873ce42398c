//! Rate limits and resource consumption (OWASP API4:2023).

use portcullis_spec::{Method, ParameterIn, pointer};
use serde_json::Value;

use super::{has_status, label, op_ptr};
use crate::names;
use crate::rule::rule;

rule! {
    /// Operations without a 429 response.
    No429 {
        id: "PC-LIMIT-001",
        title: "No 429 (Too Many Requests) response",
        severity: Low,
        owasp: Api4,
        cwe: 770,
        rationale: "An operation that never answers 429 is, as far as its contract says, not rate-limited: one client can exhaust it, and clients do not know to back off.",
        remediation: "Rate-limit the operation and document a 429 response with `Retry-After`.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if !has_status(op, "429") {
                sink.report(&op.location.file, op_ptr(op, "responses"), format!("{} documents no 429 response", label(op)));
            }
        }
    }
}

/// True for rate-limit header names (`RateLimit-*`, `X-RateLimit-*`, `X-Rate-Limit-*`).
fn is_rate_limit_header(name: &str) -> bool {
    let f = names::fold(name);
    f.starts_with("ratelimit") || f.starts_with("xratelimit")
}

rule! {
    /// Operations whose responses declare no rate-limit headers.
    NoRateLimitHeaders {
        id: "PC-LIMIT-002",
        title: "No rate-limit headers",
        severity: Info,
        owasp: Api4,
        cwe: 770,
        rationale: "`RateLimit-*` (or `X-RateLimit-*`) headers tell clients their quota before they hit it; without them well-behaved clients cannot pace themselves.",
        remediation: "Declare `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (or the `X-` forms) on successful and 429 responses.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            let declared = op.responses.values().any(|r| r.headers.keys().any(|h| is_rate_limit_header(h)));
            if !declared {
                sink.report(&op.location.file, op_ptr(op, "responses"), format!("no response of {} declares rate-limit headers", label(op)));
            }
        }
    }
}

rule! {
    /// 429 responses without `Retry-After`.
    NoRetryAfter {
        id: "PC-LIMIT-003",
        title: "429 response without Retry-After",
        severity: Low,
        owasp: Api4,
        cwe: 770,
        rationale: "Without `Retry-After`, rate-limited clients retry at once and in lock step, which turns a limit into a retry storm.",
        remediation: "Declare a `Retry-After` header on every 429 response.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            let Some(r) = op.responses.get("429") else { continue };
            if !r.headers.keys().any(|h| h.eq_ignore_ascii_case("retry-after")) {
                sink.report(&r.location.file, r.location.pointer.clone(), format!("the 429 response of {} has no Retry-After header", label(op)));
            }
        }
    }
}

/// Query parameter names used for pagination.
fn is_page_param(name: &str) -> bool {
    matches!(
        names::fold(name).as_str(),
        "limit"
            | "page"
            | "pagesize"
            | "perpage"
            | "size"
            | "offset"
            | "cursor"
            | "after"
            | "before"
            | "top"
            | "skip"
            | "first"
            | "last"
            | "count"
            | "maxresults"
            | "pagetoken"
            | "starting"
            | "startingafter"
            | "endingbefore"
            | "since"
            | "pagenumber"
            | "max"
            | "take"
    )
}

/// Query parameter names that set how many items one response holds.
fn is_page_size_param(name: &str) -> bool {
    matches!(
        names::fold(name).as_str(),
        "limit"
            | "pagesize"
            | "perpage"
            | "size"
            | "top"
            | "first"
            | "last"
            | "count"
            | "maxresults"
            | "max"
            | "take"
    )
}

rule! {
    /// Collections returned whole.
    NoPagination {
        id: "PC-LIMIT-004",
        title: "Unbounded collection without pagination",
        severity: Medium,
        owasp: Api4,
        cwe: 770,
        rationale: "A GET that returns an array with no pagination parameter and no `maxItems` returns the whole collection: cost grows with the data, and one call can scrape everything.",
        remediation: "Add pagination (`limit` with a `maximum`, plus a cursor or page) or bound the array with `maxItems`.",
    }
    fn check(cx, sink) {
        for op in cx.catalog.operations.iter().filter(|op| op.method == Method::Get) {
            if op.parameters.iter().any(|p| p.location_in == ParameterIn::Query && is_page_param(&p.name)) {
                continue;
            }
            for (status, r) in op.responses.iter().filter(|(s, _)| s.starts_with('2')) {
                for m in r.content.values() {
                    let Some(schema) = &m.schema else { continue };
                    let value = cx.catalog.deref_schema(&schema.value);
                    let array = match value.get("type") {
                        Some(Value::String(t)) => t == "array",
                        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("array")),
                        _ => false,
                    };
                    if array && value.get("maxItems").is_none() {
                        sink.report(&schema.location.file, schema.location.pointer.clone(), format!("{} returns an unbounded array ({status}) and takes no pagination parameter", label(op)));
                    }
                }
            }
        }
    }
}

rule! {
    /// Page-size parameters without a maximum.
    PageSizeUnbounded {
        id: "PC-LIMIT-005",
        title: "Page size without a maximum",
        severity: Medium,
        owasp: Api4,
        cwe: 770,
        rationale: "A `limit`/`pageSize` parameter without `maximum` lets a client ask for a million items at once, defeating pagination.",
        remediation: "Set `maximum` (and `minimum: 1`) on page-size parameters and enforce it.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            for p in op.parameters.iter().filter(|p| p.location_in == ParameterIn::Query && is_page_size_param(&p.name)) {
                let Some(schema) = &p.schema else { continue };
                let value = cx.catalog.deref_schema(&schema.value);
                let numeric = matches!(value.get("type").and_then(Value::as_str), Some("integer" | "number"));
                let capped = value.get("maximum").is_some() || value.get("exclusiveMaximum").is_some() || value.get("enum").is_some();
                if numeric && !capped {
                    let ptr = pointer::push(&p.location.pointer, "schema");
                    let ptr = if cx.catalog.sources.get(&p.location.file, &ptr).is_some() { ptr } else { p.location.pointer.clone() };
                    sink.report_with(&p.location.file, ptr, format!("page-size parameter `{}` of {} has no maximum", p.name, label(op)), p.name.clone());
                }
            }
        }
    }
}
