//! The effective routes and policies of a compiled gateway, as JSON.

use serde_json::Value;

use super::Gateway;

impl Gateway {
    /// The effective routes and policies, as printed by `check` and served at `/api/config`
    /// (no secrets: tokens and HMAC secrets are never included).
    pub fn summary(&self) -> Value {
        let c = &self.config;
        let apis: Vec<Value> = self
            .apis
            .iter()
            .map(|api| {
                let ops: Vec<Value> = api
                    .catalog
                    .operations
                    .iter()
                    .zip(&api.ops)
                    .map(|(op, plan)| {
                        let security: Vec<Value> = plan
                            .security
                            .iter()
                            .map(|r| {
                                Value::Object(
                                    r.schemes
                                        .iter()
                                        .map(|(n, _, s)| (n.clone(), serde_json::json!(s)))
                                        .collect(),
                                )
                            })
                            .collect();
                        let limits: Vec<&str> = plan
                            .limits
                            .iter()
                            .filter_map(|i| api.limits.get(*i))
                            .map(|l| l.name.as_str())
                            .collect();
                        serde_json::json!({
                            "operation": plan.id,
                            "method": op.method.as_str(),
                            "path": op.path,
                            "public": plan.security.is_empty(),
                            "security": security,
                            "admin": plan.admin,
                            "owner": plan.owner.iter().map(|o| format!("{} = claim {}", o.param, o.claim)).collect::<Vec<_>>(),
                            "deprecated": plan.deprecated,
                            "limits": limits,
                            "threats": plan.threats.as_deref().map(describe_threats),
                            "response": plan.response.as_deref().map(describe_response),
                            "stages": format!("{:?}", plan.stages.stages()),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "name": api.name,
                    "upstream": crate::config::redact_url(&format!("{}://{}{}", api.upstream.scheme, api.upstream.authority, api.upstream.prefix)),
                    "upstream_tls": (api.upstream.scheme == http::uri::Scheme::HTTPS).then(|| {
                        let tls = c.apis.iter().find(|a| *a.name == *api.name).and_then(|a| a.upstream_tls.as_ref());
                        serde_json::json!({
                            "ca": tls.and_then(|t| t.ca.as_ref()).map_or_else(|| "system".to_owned(), |p| p.display().to_string()),
                            "client_certificate": tls.is_some_and(|t| t.cert.is_some()),
                            "server_name": tls.and_then(|t| t.server_name.clone()),
                        })
                    }),
                    "host": api.host,
                    "base_path": api.strip,
                    "mode": api.mode,
                    "undocumented": format!("{:?}", api.undocumented).to_ascii_lowercase(),
                    "deprecated": format!("{:?}", api.deprecated).to_ascii_lowercase(),
                    "request": {
                        "validate": format!("{:?}", api.request.validate).to_ascii_lowercase(),
                        "unknown_fields": format!("{:?}", api.request.unknown_fields).to_ascii_lowercase(),
                    },
                    "rate_limits": api.limits.iter().map(|l| serde_json::json!({
                        "name": l.name, "key": format!("{:?}", l.key), "limit": l.limit, "per_secs": l.period_secs,
                        "operations": l.operations,
                    })).collect::<Vec<_>>(),
                    "lockout": api.lockout.as_ref().map(super::lockout::LockoutPlan::describe),
                    "cors": api.cors.as_deref().map(|c| serde_json::json!({
                        "origins": if c.any { vec!["*".to_owned()] } else { c.origins.clone() },
                        "methods": c.methods, "headers": c.headers, "credentials": c.credentials,
                        "max_age_secs": c.max_age,
                    })),
                    "operations": ops,
                })
            })
            .collect();
        serde_json::json!({
            "listen": c.server.listen.to_string(),
            "max_connections": c.server.max_connections,
            "tls": c.server.tls.is_some(),
            "mtls": c.server.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
            "client_auth": c.server.tls.as_ref().filter(|t| t.client_ca.is_some()).map(|t| {
                format!("{:?}", t.client_auth.unwrap_or_default()).to_ascii_lowercase()
            }),
            "mtls_mappings": self.cert_map.as_ref().map_or(0, |m| m.len()),
            "admin": c.admin.as_ref().map(|a| a.listen.to_string()),
            "state": crate::config::redact_url(&c.state.backend),
            "jwt_issuers": c.identity.jwt.iter().map(|j| j.issuer.clone()).collect::<Vec<_>>(),
            "introspection": c.identity.introspection.as_ref().map(|i| serde_json::json!({
                "endpoint": crate::config::redact_url(&i.endpoint),
                "client_id": i.client_id,
                "on_failure": match i.on_failure {
                    crate::config::IntrospectionOnFailure::Deny => "deny",
                    crate::config::IntrospectionOnFailure::AllowCached => "allow_cached",
                },
            })),
            "apis": apis,
            "warnings": self.warnings,
        })
    }
}

fn lower<T: std::fmt::Debug>(v: T) -> String {
    format!("{v:?}").to_ascii_lowercase()
}

/// An operation's threat checks, as `check` shows them.
fn describe_threats(t: &super::protect::ThreatPlan) -> Value {
    serde_json::json!({
        "injection": lower(t.injection),
        "ssrf": lower(t.ssrf),
        "paranoia": t.paranoia,
        "inspected_params": t.params.iter().filter(|p| p.free).map(|p| format!("{}.{}", p.location.as_str(), p.name)).collect::<Vec<_>>(),
        "url_params": t.params.iter().filter(|p| p.uri).map(|p| format!("{}.{}", p.location.as_str(), p.name)).collect::<Vec<_>>(),
        "exclusions": t.exclude.len(),
    })
}

/// An operation's response checks, as `check` shows them.
fn describe_response(r: &super::protect::ResponsePlan) -> Value {
    serde_json::json!({
        "validate": lower(r.validate),
        "undeclared_fields": lower(r.undeclared),
        "sensitive_data": lower(r.sensitive),
        "sanitize_errors": r.sanitize,
        "security_headers": r.security_headers,
        "max_inspect": r.max_inspect,
        "over_limit": lower(r.over_limit),
    })
}
