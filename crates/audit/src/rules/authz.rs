//! Authorization: object level (OWASP API1:2023) and function level (API5:2023).

use std::collections::HashSet;

use portcullis_spec::{ParameterIn, SecuritySchemeKind, pointer};

use super::{has_status, is_public, label, op_ptr, security_place};
use crate::names;
use crate::rule::rule;

rule! {
    /// Sequential integer ids in paths.
    NumericId {
        id: "PC-AUTHZ-001",
        title: "Guessable integer id in the path",
        severity: Medium,
        owasp: Api1,
        cwe: 639,
        rationale: "Sequential integer ids let a caller enumerate other users' objects by counting; any missing ownership check becomes a mass data leak (BOLA).",
        remediation: "Use random identifiers (UUIDs or other unguessable strings) and check ownership of every object on the server.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            for p in &op.parameters {
                if p.location_in != ParameterIn::Path || !names::is_id(&p.name) {
                    continue;
                }
                let Some(schema) = &p.schema else { continue };
                let value = cx.catalog.deref_schema(&schema.value);
                let integer = match value.get("type") {
                    Some(serde_json::Value::String(t)) => t == "integer",
                    Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("integer")),
                    _ => false,
                };
                if integer {
                    let sources = &cx.catalog.sources;
                    let base = &p.location.pointer;
                    let ptr = [pointer::push(&pointer::push(base, "schema"), "type"), pointer::push(base, "type")]
                        .into_iter()
                        .find(|c| sources.get(&p.location.file, c).is_some())
                        .unwrap_or_else(|| base.clone());
                    sink.report_with(&p.location.file, ptr, format!("path parameter `{}` of {} is an integer id", p.name, label(op)), p.name.clone());
                }
            }
        }
    }
}

/// A requirement alternative as a comparable set of (scheme, scope).
fn alternative(req: &portcullis_spec::SecurityRequirement) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = req
        .schemes
        .iter()
        .map(|(k, s)| {
            let mut s = s.clone();
            s.sort();
            (k.clone(), s)
        })
        .collect();
    v.sort();
    v
}

rule! {
    /// Admin-looking operations secured no more strictly than ordinary ones.
    AdminNotStricter {
        id: "PC-AUTHZ-002",
        title: "Administrative operation without stricter security",
        severity: High,
        owasp: Api5,
        cwe: 285,
        rationale: "Administrative, internal and debug functions protected by the same requirement as ordinary operations are callable by every ordinary user (broken function level authorization).",
        remediation: "Require an admin-only scope, role or scheme on these operations (one that no ordinary operation accepts), or remove them from the public API.",
    }
    fn check(cx, sink) {
        let ordinary: HashSet<Vec<(String, Vec<String>)>> = cx.catalog.operations.iter()
            .filter(|op| !names::looks_admin(op))
            .flat_map(|op| op.security.iter().map(alternative))
            .collect();
        for op in cx.catalog.operations.iter().filter(|op| names::looks_admin(op)) {
            let weak = is_public(op) || op.security.iter().any(|r| ordinary.contains(&alternative(r)));
            if weak {
                let (file, ptr) = security_place(cx, op);
                let how = if is_public(op) { "requires no authentication" } else { "accepts the same credentials as ordinary operations" };
                sink.report_with(file, ptr, format!("administrative operation {} {how}", label(op)), op.path.clone());
            }
        }
    }
}

rule! {
    /// Object-level operations that document no authorization failure.
    ObjectWithout403 {
        id: "PC-AUTHZ-003",
        title: "Object access without a 403 response",
        severity: Low,
        owasp: Api1,
        cwe: 639,
        rationale: "An operation on one object by id must refuse callers who do not own it; a missing 403 (or 404 policy) suggests no object-level check was designed.",
        remediation: "Check ownership of the object on every call and document the refusal (403, or 404 to avoid confirming existence).",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            let by_id = op.parameters.iter().any(|p| p.location_in == ParameterIn::Path && names::is_id(&p.name));
            if by_id && !is_public(op) && !has_status(op, "403") && !has_status(op, "404") {
                sink.report(&op.location.file, op_ptr(op, "responses"), format!("{} reads or changes one object by id but documents neither 403 nor 404", label(op)));
            }
        }
    }
}

rule! {
    /// OAuth2-secured operations that require no scope.
    OAuthWithoutScopes {
        id: "PC-AUTHZ-004",
        title: "OAuth2 requirement without scopes",
        severity: Low,
        owasp: Api5,
        cwe: 285,
        rationale: "Requiring an OAuth2 scheme without any scope accepts every token the authorization server issues, whatever it was issued for.",
        remediation: "List the scopes each operation needs in its security requirement.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            for req in &op.security {
                for (name, scopes) in &req.schemes {
                    let Some(scheme) = cx.catalog.security_schemes.get(name) else { continue };
                    let has_declared = matches!(&scheme.kind, SecuritySchemeKind::OAuth2 { flows } if flows.iter().any(|f| !f.scopes.is_empty()));
                    if has_declared && scopes.is_empty() {
                        let (file, ptr) = security_place(cx, op);
                        sink.report_with(file, ptr, format!("{} requires OAuth2 scheme `{name}` without any scope", label(op)), name.clone());
                    }
                }
            }
        }
    }
}
