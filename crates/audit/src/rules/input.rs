//! Input validation: constraints on what clients send (OWASP API4:2023 resource consumption,
//! API3:2023 mass assignment, API8:2023 validation).
//!
//! Schema rules read the [`crate::context::Context::nodes`] index: each schema object once, at its
//! definition, when a parameter or request body uses it.

use serde_json::Value;

use super::{has_status, label, op_ptr};
use crate::context::{Node, Usage};
use crate::names;
use crate::rule::rule;

/// String formats whose values have a small fixed length.
const BOUNDED_FORMATS: &[&str] = &[
    "date",
    "date-time",
    "time",
    "uuid",
    "ipv4",
    "ipv6",
    "duration",
];

/// Input nodes (parameters and request bodies).
fn inputs<'c, 'a>(cx: &'c crate::context::Context<'a>) -> impl Iterator<Item = &'c Node<'a>> {
    cx.nodes.iter().filter(|n| n.usage.input())
}

/// True when the values are enumerated.
fn enumerated(n: &Node<'_>) -> bool {
    n.has("enum") || n.has("const")
}

rule! {
    /// Strings without a maximum length.
    StringUnbounded {
        id: "PC-INPUT-001",
        title: "String input without maxLength",
        severity: Medium,
        owasp: Api4,
        cwe: 770,
        rationale: "An unbounded string lets one request carry megabytes into parsers, databases and logs, and is the usual vehicle of injection payloads.",
        remediation: "Set `maxLength` (or `enum`/`const`) on every string a client sends.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            let bounded_format = n.str("format").is_some_and(|f| BOUNDED_FORMATS.contains(&f));
            if n.has_type("string") && !n.has("maxLength") && !enumerated(n) && !bounded_format {
                sink.report(n.file, n.pointer.clone(), format!("string {} has no maxLength", n.label()));
            }
        }
    }
}

rule! {
    /// Strings with no format, pattern or enumeration.
    StringUnrestricted {
        id: "PC-INPUT-002",
        title: "String input without format, pattern or enum",
        severity: Low,
        owasp: Api4,
        cwe: 20,
        rationale: "A string that may hold any characters is passed on unchecked; a `pattern`, `format` or `enum` rejects injection payloads and garbage at the edge.",
        remediation: "Constrain the string with `format`, `pattern`, `enum` or `const`.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            if n.has_type("string") && !n.has("format") && !n.has("pattern") && !enumerated(n) {
                sink.report(n.file, n.pointer.clone(), format!("string {} has no format, pattern or enum", n.label()));
            }
        }
    }
}

rule! {
    /// Arrays without a maximum number of items.
    ArrayUnbounded {
        id: "PC-INPUT-003",
        title: "Array input without maxItems",
        severity: Medium,
        owasp: Api4,
        cwe: 770,
        rationale: "An array without `maxItems` lets one request make the server allocate and process any number of items.",
        remediation: "Set `maxItems` on every array a client sends.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            if n.has_type("array") && !n.has("maxItems") {
                sink.report(n.file, n.pointer.clone(), format!("array {} has no maxItems", n.label()));
            }
        }
    }
}

/// True when the number has both a lower and an upper bound.
fn bounded(n: &Node<'_>) -> bool {
    (n.has("minimum") || n.has("exclusiveMinimum"))
        && (n.has("maximum") || n.has("exclusiveMaximum"))
}

rule! {
    /// Integers without both bounds.
    IntegerUnbounded {
        id: "PC-INPUT-004",
        title: "Integer input without minimum and maximum",
        severity: Low,
        owasp: Api4,
        cwe: 770,
        rationale: "Unbounded integers reach page sizes, quantities and loops: negative or huge values cause overflows, exhausted resources and logic errors.",
        remediation: "Set `minimum` and `maximum` on every integer a client sends.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            if n.has_type("integer") && !bounded(n) && !enumerated(n) {
                sink.report(n.file, n.pointer.clone(), format!("integer {} lacks a minimum or a maximum", n.label()));
            }
        }
    }
}

rule! {
    /// Integers without int32/int64 format.
    IntegerNoFormat {
        id: "PC-INPUT-005",
        title: "Integer input without format",
        severity: Info,
        owasp: Api4,
        cwe: 20,
        rationale: "Without `format: int32` or `int64`, clients and servers disagree on the range, and values overflow silently in one of them.",
        remediation: "Set `format: int32` or `format: int64`.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            if n.has_type("integer") && !n.has("format") {
                sink.report(n.file, n.pointer.clone(), format!("integer {} has no format", n.label()));
            }
        }
    }
}

rule! {
    /// Numbers without both bounds.
    NumberUnbounded {
        id: "PC-INPUT-006",
        title: "Number input without minimum and maximum",
        severity: Low,
        owasp: Api4,
        cwe: 20,
        rationale: "Amounts, rates and coordinates without bounds accept negative, huge, or infinite-looking values that business logic rarely expects (negative transfers, 1e308 quantities).",
        remediation: "Set `minimum` and `maximum` (or the exclusive forms) on every number a client sends.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            if n.has_type("number") && !n.has_type("integer") && !bounded(n) && !enumerated(n) {
                sink.report(n.file, n.pointer.clone(), format!("number {} lacks a minimum or a maximum", n.label()));
            }
        }
    }
}

/// True when the object refuses properties it does not declare.
fn closed(n: &Node<'_>) -> bool {
    n.schema.get("additionalProperties") == Some(&Value::Bool(false))
        || n.schema.get("unevaluatedProperties") == Some(&Value::Bool(false))
}

rule! {
    /// Request body objects that accept undeclared properties.
    OpenObject {
        id: "PC-INPUT-007",
        title: "Request body open to extra properties",
        severity: Medium,
        owasp: Api3,
        cwe: 915,
        rationale: "JSON Schema accepts undeclared properties by default; a server that binds the body to its model then lets clients set fields they were never meant to (mass assignment: `role`, `balance`, `owner`).",
        remediation: "Set `additionalProperties: false` (or `unevaluatedProperties: false` with composition) on request body objects.",
    }
    fn check(cx, sink) {
        for n in cx.nodes.iter().filter(|n| n.usage.any(Usage::BODY)) {
            let object = n.has_type("object") || n.has("properties");
            let extra = n.schema.get("additionalProperties");
            let open = matches!(extra, None | Some(Value::Bool(true))) && !closed(n);
            if object && n.has("properties") && open {
                sink.report(n.file, n.pointer.clone(), format!("request object {} accepts undeclared properties", n.label()));
            }
        }
    }
}

rule! {
    /// Additional properties allowed without a bound on their number.
    AdditionalUnbounded {
        id: "PC-INPUT-008",
        title: "Free-form object input without maxProperties",
        severity: Low,
        owasp: Api4,
        cwe: 770,
        rationale: "A map (`additionalProperties` with a schema) without `maxProperties` accepts any number of keys in one request.",
        remediation: "Set `maxProperties` on maps a client sends.",
    }
    fn check(cx, sink) {
        for n in inputs(cx) {
            let map = matches!(n.schema.get("additionalProperties"), Some(Value::Object(_)) | Some(Value::Bool(true)))
                || matches!(n.schema.get("unevaluatedProperties"), Some(Value::Object(_)) | Some(Value::Bool(true)));
            if map && !n.has("maxProperties") {
                sink.report(n.file, n.at("additionalProperties"), format!("{} allows any number of additional properties", n.label()));
            }
        }
    }
}

rule! {
    /// Server-controlled properties that clients can write.
    PrivilegedWritable {
        id: "PC-INPUT-009",
        title: "Privileged property writable by clients",
        severity: High,
        owasp: Api3,
        cwe: 915,
        rationale: "A request body that declares `role`, `isAdmin`, `balance`, `owner`, `status`... lets the client set what only the server should decide (mass assignment, privilege escalation).",
        remediation: "Remove the property from request schemas (use a separate output schema), or mark it `readOnly: true` and make the server ignore it.",
    }
    fn check(cx, sink) {
        for n in cx.nodes.iter().filter(|n| n.usage.any(Usage::BODY)) {
            let Some(name) = n.property else { continue };
            if names::is_privileged_property(name) && !n.flag("readOnly") {
                sink.report_with(n.file, n.pointer.clone(), format!("request property `{name}` is server-controlled but writable"), name);
            }
        }
    }
}

rule! {
    /// Request bodies with no schema.
    BodyWithoutSchema {
        id: "PC-INPUT-010",
        title: "Request body without a schema",
        severity: Medium,
        owasp: Api8,
        cwe: 20,
        rationale: "A body without a schema (or with `{}`) cannot be validated: anything is accepted and passed to the implementation.",
        remediation: "Describe every structured request body with a schema.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            let Some(body) = &op.request_body else { continue };
            for (media, m) in &body.content {
                let binary = media.starts_with("application/octet-stream") || media.starts_with("image/") || media.starts_with("audio/") || media.starts_with("video/") || media == "*/*";
                let empty = match &m.schema {
                    None => true,
                    Some(s) => matches!(&*s.value, Value::Bool(true)) || s.value.as_object().is_some_and(|o| o.is_empty()),
                };
                if empty && !binary {
                    sink.report_with(&m.location.file, m.location.pointer.clone(), format!("{} accepts `{media}` bodies without a schema", label(op)), media.clone());
                }
            }
        }
    }
}

rule! {
    /// Operations with input that document no validation error.
    NoValidationError {
        id: "PC-INPUT-011",
        title: "No validation error response",
        severity: Low,
        owasp: Api8,
        cwe: 20,
        rationale: "An operation that takes input but documents no 400/422 response gives no sign that input is validated, and clients cannot rely on how invalid input is refused.",
        remediation: "Validate input and document a 400 (or 422, or 4XX) response with an error schema.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            let takes_input = !op.parameters.is_empty() || op.request_body.is_some();
            if takes_input && !has_status(op, "400") && !has_status(op, "422") {
                let ptr = op_ptr(op, "responses");
                sink.report(&op.location.file, ptr, format!("{} takes input but documents no 400 or 422 response", label(op)));
            }
        }
    }
}
