//! URLs clients hand to the server: server-side request forgery (OWASP API7:2023) and open
//! redirects.

use portcullis_spec::ParameterIn;
use serde_json::Value;

use super::label;
use crate::context::Usage;
use crate::names;
use crate::rule::rule;

/// True when a schema pins the URL down (`enum`, `const` or a `pattern`).
fn constrained(schema: &serde_json::Map<String, Value>) -> bool {
    schema.contains_key("enum") || schema.contains_key("const") || schema.contains_key("pattern")
}

/// True when a schema is a string (or unspecified) with a URL format or a URL-ish name.
fn url_like(name: &str, schema: &serde_json::Map<String, Value>) -> bool {
    let format_url = schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| matches!(f, "uri" | "url" | "iri" | "uri-reference" | "iri-reference"));
    let stringy = match schema.get("type") {
        None => true,
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("string")),
        _ => false,
    };
    stringy && (format_url || names::is_url_name(name))
}

rule! {
    /// URL parameters without constraints.
    UrlParameter {
        id: "PC-SSRF-001",
        title: "URL parameter without constraints",
        severity: High,
        owasp: Api7,
        cwe: 918,
        rationale: "A parameter that names a URL (url, callback, webhook, redirect...) invites the server to fetch it: without an allow-list the server can be made to call internal services and cloud metadata endpoints (SSRF).",
        remediation: "Constrain the URL with an `enum` or a `pattern` of allowed hosts, and enforce the allow-list on the server.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            for p in &op.parameters {
                if !matches!(p.location_in, ParameterIn::Query | ParameterIn::Path | ParameterIn::Header) {
                    continue;
                }
                let Some(schema) = &p.schema else { continue };
                let Some(value) = cx.catalog.deref_schema(&schema.value).as_object() else { continue };
                if !names::is_redirect_name(&p.name) && url_like(&p.name, value) && !constrained(value) {
                    sink.report_with(&p.location.file, p.location.pointer.clone(), format!("{} parameter `{}` of {} takes an unconstrained URL", p.location_in.as_str(), p.name, label(op)), p.name.clone());
                }
            }
        }
    }
}

rule! {
    /// URL properties in request bodies without constraints.
    UrlProperty {
        id: "PC-SSRF-002",
        title: "URL property in a request body without constraints",
        severity: Medium,
        owasp: Api7,
        cwe: 918,
        rationale: "Webhook, callback, avatar and import URLs in request bodies are fetched by the server later; without an allow-list they reach internal networks (SSRF).",
        remediation: "Constrain the property with a `pattern` or `enum` of allowed hosts and check it on the server (resolve, then refuse private addresses).",
    }
    fn check(cx, sink) {
        for n in cx.nodes.iter().filter(|n| n.usage.any(Usage::BODY)) {
            let Some(name) = n.property else { continue };
            if n.schema.contains_key("$ref") || n.flag("readOnly") {
                continue;
            }
            if url_like(name, n.schema) && !constrained(n.schema) && (n.has("type") || n.has("format")) {
                sink.report_with(n.file, n.pointer.clone(), format!("request property `{name}` takes an unconstrained URL"), name);
            }
        }
    }
}

rule! {
    /// Redirect targets without constraints.
    RedirectParameter {
        id: "PC-SSRF-003",
        title: "Open redirect parameter",
        severity: Medium,
        owasp: Api7,
        cwe: 601,
        rationale: "A `redirect_uri`, `return_to` or `next` parameter without an allow-list lets attackers send users (and OAuth codes) to a site of their choosing.",
        remediation: "Accept only relative paths or an `enum`/`pattern` of registered URLs, and check it on the server.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            for p in &op.parameters {
                if !names::is_redirect_name(&p.name) || p.location_in == ParameterIn::Cookie {
                    continue;
                }
                let unconstrained = p.schema.as_ref().and_then(|s| cx.catalog.deref_schema(&s.value).as_object()).is_none_or(|v| !constrained(v));
                if unconstrained {
                    sink.report_with(&p.location.file, p.location.pointer.clone(), format!("parameter `{}` of {} redirects to any URL", p.name, label(op)), p.name.clone());
                }
            }
        }
    }
}
