//! Error responses and protocol details (OWASP API8:2023 security misconfiguration).

use portcullis_spec::{Method, SpecVersion};

use super::{has_status, is_public, label, op_ptr};
use crate::rule::rule;

rule! {
    /// Secured operations that document no 401.
    No401 {
        id: "PC-CONF-001",
        title: "Secured operation without a 401 response",
        severity: Low,
        owasp: Api8,
        cwe: 287,
        rationale: "An operation that requires credentials but documents no 401 leaves undefined what a missing or bad credential gets; implementations then leak details or fall through.",
        remediation: "Document 401 (and 403 where access depends on the caller) with an error schema on every secured operation.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if !is_public(op) && !has_status(op, "401") {
                let also = if has_status(op, "403") { "" } else { " (nor 403)" };
                sink.report(&op.location.file, op_ptr(op, "responses"), format!("{} requires credentials but documents no 401{also}", label(op)));
            }
        }
    }
}

rule! {
    /// Operations that document no server error.
    No500 {
        id: "PC-CONF-002",
        title: "No server error response",
        severity: Info,
        owasp: Api8,
        cwe: 209,
        rationale: "Without a documented 500 (or `default`) response, what an internal failure returns is left to framework defaults, which often include stack traces.",
        remediation: "Document a 500 or `default` response with a generic error schema (RFC 9457 problem details).",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if !has_status(op, "500") && !op.responses.contains_key("default") {
                sink.report(&op.location.file, op_ptr(op, "responses"), format!("{} documents no 500 or default response", label(op)));
            }
        }
    }
}

rule! {
    /// No CORS policy declared anywhere.
    NoCors {
        id: "PC-CONF-003",
        title: "CORS policy not declared",
        severity: Info,
        owasp: Api8,
        cwe: 942,
        rationale: "When no response declares `Access-Control-Allow-Origin`, the cross-origin policy is whatever the framework does, and reviewers cannot see which origins may call the API from a browser.",
        remediation: "Declare `Access-Control-Allow-Origin` on responses with the origins that are allowed (never `*` with credentials).",
    }
    fn check(cx, sink) {
        let declared = cx.catalog.operations.iter().flat_map(|op| op.responses.values()).any(|r| r.headers.keys().any(|h| h.eq_ignore_ascii_case("access-control-allow-origin")));
        if !declared && !cx.catalog.operations.is_empty() {
            let ptr = if cx.catalog.sources.get(cx.root_file(), "/paths").is_some() { "/paths" } else { "" };
            sink.report(cx.root_file(), ptr, "no response declares an Access-Control-Allow-Origin header");
        }
    }
}

rule! {
    /// Swagger 2.0 operations that do not say which media types they read or write.
    MediaTypesUndeclared {
        id: "PC-CONF-004",
        title: "Media types not declared",
        severity: Low,
        owasp: Api8,
        cwe: 20,
        rationale: "A 2.0 operation without `produces` (GET) or `consumes` (bodies) leaves content negotiation to defaults; servers then parse bodies in formats nobody reviewed (XML entities, form fields).",
        remediation: "Declare `produces` and `consumes`, at the top level or on each operation.",
    }
    fn check(cx, sink) {
        if cx.catalog.version != SpecVersion::Swagger2 {
            return;
        }
        let root = cx.catalog.sources.root().map(|f| &f.value);
        let global = |key: &str| root.and_then(|r| r.get(key)).and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty());
        for op in &cx.catalog.operations {
            let raw = cx.raw_operation(op);
            let own = |key: &str| raw.and_then(|r| r.get(key)).and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty());
            if op.method == Method::Get && !own("produces") && !global("produces") {
                sink.report(&op.location.file, op.location.pointer.clone(), format!("{} declares no `produces`", label(op)));
            }
            if op.request_body.is_some() && !own("consumes") && !global("consumes") {
                sink.report(&op.location.file, op.location.pointer.clone(), format!("{} takes a body but declares no `consumes`", label(op)));
            }
        }
    }
}
