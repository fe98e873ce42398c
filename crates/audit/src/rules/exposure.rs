//! Excessive data exposure in responses (OWASP API3:2023).

use portcullis_spec::Method;

use super::label;
use crate::context::Usage;
use crate::names;
use crate::rule::rule;

rule! {
    /// Passwords and secrets in responses.
    SecretInResponse {
        id: "PC-EXPO-001",
        title: "Secret in a response",
        severity: High,
        owasp: Api3,
        cwe: 200,
        rationale: "A response that carries a password, password hash, client secret or private key hands it to every caller and every log on the way, even when the UI never shows it.",
        remediation: "Remove the property from response schemas (use a separate output schema), or mark it `writeOnly: true` and never send it.",
    }
    fn check(cx, sink) {
        for n in cx.nodes.iter().filter(|n| n.usage.output()) {
            let Some(name) = n.property else { continue };
            if names::is_secret(name) && !n.flag("writeOnly") {
                sink.report_with(n.file, n.pointer.clone(), format!("response property `{name}` looks like a secret"), name);
            }
        }
    }
}

rule! {
    /// Government ids and payment card data in responses.
    PersonalInResponse {
        id: "PC-EXPO-002",
        title: "Sensitive personal data in a response",
        severity: Medium,
        owasp: Api3,
        cwe: 359,
        rationale: "Social security numbers, card numbers and CVVs, passport and tax ids are regulated data (PCI DSS, GDPR); returning them whole multiplies the places they can leak from.",
        remediation: "Return masked values (last four digits) or omit the property; mark input-only properties `writeOnly: true`.",
    }
    fn check(cx, sink) {
        for n in cx.nodes.iter().filter(|n| n.usage.output()) {
            let Some(name) = n.property else { continue };
            if names::is_personal(name) && !n.flag("writeOnly") {
                sink.report_with(n.file, n.pointer.clone(), format!("response property `{name}` carries sensitive personal data"), name);
            }
        }
    }
}

rule! {
    /// Tokens and keys in responses of operations that do not issue credentials.
    TokenInResponse {
        id: "PC-EXPO-003",
        title: "Credential in an ordinary response",
        severity: Medium,
        owasp: Api3,
        cwe: 200,
        rationale: "Access tokens, API keys and session ids belong in responses of login and token operations only; anywhere else they expose one user's credentials to whoever reads the object.",
        remediation: "Remove the property from the response, or return it only from the operation that issues it.",
    }
    fn check(cx, sink) {
        for n in cx.nodes.iter().filter(|n| n.usage.any(Usage::RESPONSE)) {
            let Some(name) = n.property else { continue };
            if names::is_token(name) && !n.flag("writeOnly") {
                sink.report_with(n.file, n.pointer.clone(), format!("response property `{name}` carries a credential"), name);
            }
        }
    }
}

rule! {
    /// Successful JSON responses without a schema.
    ResponseWithoutSchema {
        id: "PC-EXPO-004",
        title: "Successful response without a schema",
        severity: Low,
        owasp: Api3,
        cwe: 213,
        rationale: "Without a response schema nothing says which properties may leave the API, so nothing (review, gateway, tests) can catch an object returned whole.",
        remediation: "Describe every successful JSON response with a schema that lists exactly the properties clients need.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if op.method == Method::Head || op.method == Method::Options {
                continue;
            }
            for (status, response) in &op.responses {
                if !status.starts_with('2') {
                    continue;
                }
                for (media, m) in &response.content {
                    let json = media.contains("json");
                    let empty = match &m.schema {
                        None => true,
                        Some(s) => matches!(&*s.value, serde_json::Value::Bool(true)) || s.value.as_object().is_some_and(|o| o.is_empty()),
                    };
                    if json && empty {
                        sink.report_with(&m.location.file, m.location.pointer.clone(), format!("{} returns `{media}` ({status}) without a schema", label(op)), media.clone());
                    }
                }
            }
        }
    }
}
