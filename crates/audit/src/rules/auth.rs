//! Authentication (OWASP API2:2023): who may call what, and how credentials travel.

use std::collections::HashSet;

use portcullis_spec::{
    Catalog, OAuthFlowKind, ParameterIn, SecurityOrigin, SecurityRequirement, SecuritySchemeKind,
    SpecVersion, pointer,
};

use super::{has_status, is_public, label, op_ptr, security_place};
use crate::names;
use crate::rule::rule;

rule! {
    /// A state-changing operation anyone can call.
    WriteWithoutSecurity {
        id: "PC-AUTH-001",
        title: "Write operation without security",
        severity: High,
        owasp: Api2,
        cwe: 306,
        rationale: "POST, PUT, PATCH and DELETE change state. Without a security requirement (or with an anonymous `{}` alternative) anyone on the network can call them.",
        remediation: "Add a `security` requirement to the operation or at the top level; keep `security: []` for operations that are public by design (login, signup).",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if op.method.is_mutating() && is_public(op) && !names::looks_public(op) {
                let (file, ptr) = security_place(cx, op);
                sink.report(file, ptr, format!("{} changes state and requires no authentication", label(op)));
            }
        }
    }
}

rule! {
    /// A read operation that declares no security anywhere.
    ReadWithoutSecurity {
        id: "PC-AUTH-002",
        title: "Read operation without security",
        severity: Medium,
        owasp: Api2,
        cwe: 306,
        rationale: "A read operation with no security requirement at any level is public by omission: its data is readable by anyone, and nobody decided that.",
        remediation: "Declare a top-level `security` requirement, or `security: []` on the operation if it is public on purpose.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if !op.method.is_mutating() && op.security_origin == SecurityOrigin::None && !names::looks_public(op) {
                sink.report(&op.location.file, op.location.pointer.clone(), format!("{} declares no security requirement, so it is public by omission", label(op)));
            }
        }
    }
}

rule! {
    /// `security: []` (or an anonymous alternative) on an operation that does not look public.
    SecurityOptOut {
        id: "PC-AUTH-003",
        title: "Security opt-out on a non-public operation",
        severity: Medium,
        owasp: Api2,
        cwe: 306,
        rationale: "`security: []` or an empty `{}` alternative turns authentication off. On an operation that is not a login, signup, health or documentation endpoint this is usually a mistake copied from elsewhere.",
        remediation: "Remove the opt-out, or suppress this finding with `x-portcullis-ignore` and a reason if the operation is public by design.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if !op.method.is_mutating() && op.security_origin != SecurityOrigin::None && is_public(op) && !names::looks_public(op) {
                let (file, ptr) = security_place(cx, op);
                sink.report(file, ptr, format!("{} opts out of authentication", label(op)));
            }
        }
    }
}

/// Reports every security scheme matching `pred`.
fn schemes<F>(catalog: &Catalog, sink: &mut crate::rule::Sink, pred: F, what: &str)
where
    F: Fn(&SecuritySchemeKind) -> bool,
{
    for (name, scheme) in &catalog.security_schemes {
        if pred(&scheme.kind) {
            sink.report_with(
                &scheme.location.file,
                scheme.location.pointer.clone(),
                format!("security scheme `{name}` {what}"),
                name.clone(),
            );
        }
    }
}

rule! {
    /// HTTP basic authentication.
    HttpBasic {
        id: "PC-AUTH-004",
        title: "HTTP basic authentication",
        severity: Medium,
        owasp: Api2,
        cwe: 522,
        rationale: "Basic authentication sends the password itself, merely base64-encoded, with every request; it cannot expire, be scoped or be revoked without changing the password.",
        remediation: "Use OAuth 2.0 / OpenID Connect access tokens, or signed short-lived tokens, instead of passwords on every request.",
    }
    fn check(cx, sink) {
        schemes(cx.catalog, sink, |k| matches!(k, SecuritySchemeKind::Http { scheme, .. } if scheme == "basic"), "uses HTTP basic authentication");
    }
}

rule! {
    /// API key carried in the query string.
    ApiKeyInQuery {
        id: "PC-AUTH-005",
        title: "API key in the query string",
        severity: High,
        owasp: Api2,
        cwe: 598,
        rationale: "URLs are written to access logs, proxy logs, browser history and Referer headers: a key in the query string leaks wherever the URL goes.",
        remediation: "Carry the key in a header (`in: header`, e.g. `X-API-Key`) or use bearer tokens.",
    }
    fn check(cx, sink) {
        schemes(cx.catalog, sink, |k| matches!(k, SecuritySchemeKind::ApiKey { location_in: ParameterIn::Query, .. }), "carries an API key in the query string");
    }
}

rule! {
    /// API key carried in a cookie.
    ApiKeyInCookie {
        id: "PC-AUTH-006",
        title: "API key in a cookie",
        severity: Medium,
        owasp: Api2,
        cwe: 352,
        rationale: "Browsers attach cookies to cross-site requests automatically, so cookie credentials make every state-changing operation a cross-site request forgery target.",
        remediation: "Carry the credential in a header, or pair the cookie with SameSite=Strict and an anti-CSRF token, and document both.",
    }
    fn check(cx, sink) {
        schemes(cx.catalog, sink, |k| matches!(k, SecuritySchemeKind::ApiKey { location_in: ParameterIn::Cookie, .. }), "carries its credential in a cookie");
    }
}

/// The key of a flow in an OpenAPI 3 `flows` object.
fn flow_key(kind: OAuthFlowKind) -> &'static str {
    match kind {
        OAuthFlowKind::Implicit => "implicit",
        OAuthFlowKind::Password => "password",
        OAuthFlowKind::ClientCredentials => "clientCredentials",
        OAuthFlowKind::AuthorizationCode => "authorizationCode",
    }
}

/// The pointer of a flow of the scheme at `scheme_ptr` (3.x `flows/<kind>`, 2.0 `flow`).
fn flow_ptr(catalog: &Catalog, scheme_ptr: &str, kind: OAuthFlowKind) -> String {
    if catalog.version == SpecVersion::Swagger2 {
        pointer::push(scheme_ptr, "flow")
    } else {
        pointer::push(&pointer::push(scheme_ptr, "flows"), flow_key(kind))
    }
}

/// Reports every OAuth2 flow of kind `kind`.
fn flows(catalog: &Catalog, sink: &mut crate::rule::Sink, kind: OAuthFlowKind, what: &str) {
    for (name, scheme) in &catalog.security_schemes {
        if let SecuritySchemeKind::OAuth2 { flows } = &scheme.kind {
            for flow in flows.iter().filter(|f| f.kind == kind) {
                let ptr = flow_ptr(catalog, &scheme.location.pointer, flow.kind);
                sink.report_with(
                    &scheme.location.file,
                    ptr,
                    format!("OAuth2 scheme `{name}` {what}"),
                    name.clone(),
                );
            }
        }
    }
}

rule! {
    /// OAuth2 implicit flow.
    OAuthImplicit {
        id: "PC-AUTH-007",
        title: "OAuth2 implicit flow",
        severity: High,
        owasp: Api2,
        cwe: 287,
        rationale: "The implicit flow returns access tokens in the URL fragment, where they leak through history and referrers and cannot be bound to the client; OAuth 2.0 Security BCP (RFC 9700) deprecates it.",
        remediation: "Use the authorization code flow with PKCE.",
    }
    fn check(cx, sink) {
        flows(cx.catalog, sink, OAuthFlowKind::Implicit, "uses the deprecated implicit flow");
    }
}

rule! {
    /// OAuth2 resource owner password flow.
    OAuthPassword {
        id: "PC-AUTH-008",
        title: "OAuth2 password flow",
        severity: Medium,
        owasp: Api2,
        cwe: 522,
        rationale: "The resource owner password flow hands the user's password to the client application and cannot support multi-factor authentication; RFC 9700 says it must not be used.",
        remediation: "Use the authorization code flow with PKCE (or client credentials between services).",
    }
    fn check(cx, sink) {
        flows(cx.catalog, sink, OAuthFlowKind::Password, "uses the resource owner password flow");
    }
}

rule! {
    /// Credentials sent to a server over plain HTTP.
    CredentialsWithoutTls {
        id: "PC-AUTH-009",
        title: "Credentials over a cleartext server",
        severity: High,
        owasp: Api2,
        cwe: 319,
        rationale: "A password, API key or bearer token sent to an `http://` server crosses the network in clear text, and anyone on the path can replay it.",
        remediation: "Serve every operation that takes credentials over `https://` only.",
    }
    fn check(cx, sink) {
        let mut reported = HashSet::new();
        for op in &cx.catalog.operations {
            let Some(server) = op.servers.iter().find(|s| names::is_http(&s.resolved_url)) else { continue };
            for req in &op.security {
                for name in req.schemes.keys() {
                    let Some(scheme) = cx.catalog.security_schemes.get(name) else { continue };
                    if matches!(scheme.kind, SecuritySchemeKind::MutualTls) || !reported.insert(name.clone()) {
                        continue;
                    }
                    sink.report_with(&scheme.location.file, scheme.location.pointer.clone(), format!("credentials of scheme `{name}` are sent to the cleartext server {} (e.g. by {})", server.resolved_url, label(op)), server.resolved_url.clone());
                }
            }
        }
    }
}

rule! {
    /// HTTP authentication schemes considered insecure.
    InsecureHttpScheme {
        id: "PC-AUTH-010",
        title: "Insecure HTTP authentication scheme",
        severity: High,
        owasp: Api2,
        cwe: 327,
        rationale: "`negotiate`, `ntlm`, `oauth` (1.0) and `digest` rely on weak or broken primitives (MD5, NTLM hashes) or on signatures that are easy to get wrong.",
        remediation: "Use `bearer` tokens (OAuth 2.0 / OpenID Connect) or mutual TLS.",
    }
    fn check(cx, sink) {
        schemes(cx.catalog, sink, |k| matches!(k, SecuritySchemeKind::Http { scheme, .. } if matches!(scheme.as_str(), "negotiate" | "ntlm" | "oauth" | "digest")), "uses an insecure HTTP authentication scheme");
    }
}

rule! {
    /// JWT bearer tokens without a reference to the JWT best current practices.
    JwtBestPractices {
        id: "PC-AUTH-011",
        title: "JWT without best-practice guidance",
        severity: Low,
        owasp: Api2,
        cwe: 347,
        rationale: "JWT validation goes wrong in well-known ways (`alg: none`, algorithm confusion, missing audience checks). A scheme that issues JWTs should say it follows RFC 8725.",
        remediation: "State in the scheme's description that tokens follow RFC 8725 (JWT Best Current Practices): fixed algorithms, audience and issuer checks, expiry.",
    }
    fn check(cx, sink) {
        for (name, scheme) in &cx.catalog.security_schemes {
            let jwt = matches!(&scheme.kind, SecuritySchemeKind::Http { bearer_format: Some(f), .. } if f.to_ascii_lowercase().contains("jwt"));
            let cites = scheme.description.as_deref().is_some_and(|d| d.contains("RFC8725") || d.contains("RFC 8725"));
            if jwt && !cites {
                sink.report_with(&scheme.location.file, scheme.location.pointer.clone(), format!("security scheme `{name}` issues JWTs without referring to RFC 8725"), name.clone());
            }
        }
    }
}

/// Every security requirement of the document with its place: (file, pointer of the list).
fn requirement_lists<'a>(
    cx: &'a crate::context::Context<'_>,
) -> Vec<(&'a std::sync::Arc<str>, String, &'a [SecurityRequirement])> {
    let mut out = Vec::new();
    if let (Some(global), Some(loc)) = (
        &cx.catalog.global_security,
        &cx.catalog.global_security_location,
    ) {
        out.push((&loc.file, loc.pointer.clone(), global.as_slice()));
    }
    for op in &cx.catalog.operations {
        if op.security_origin == SecurityOrigin::Operation {
            out.push((
                &op.location.file,
                op_ptr(op, "security"),
                op.security.as_slice(),
            ));
        }
    }
    out
}

rule! {
    /// A requirement naming a scheme that is not declared.
    UndefinedScheme {
        id: "PC-AUTH-012",
        title: "Security requirement names an undeclared scheme",
        severity: High,
        owasp: Api2,
        cwe: 287,
        rationale: "A requirement that names no declared scheme cannot be enforced; gateways and generated clients either fail or silently skip authentication.",
        remediation: "Declare the scheme under `components.securitySchemes` (2.0: `securityDefinitions`) or fix the name.",
    }
    fn check(cx, sink) {
        for (file, ptr, reqs) in requirement_lists(cx) {
            for (i, req) in reqs.iter().enumerate() {
                for name in req.schemes.keys() {
                    if !cx.catalog.security_schemes.contains_key(name) {
                        let at = pointer::push(&pointer::push(&ptr, &i.to_string()), name);
                        sink.report_with(file, at, format!("security requirement names `{name}`, which is not declared"), name.clone());
                    }
                }
            }
        }
    }
}

rule! {
    /// A document with operations and no security scheme at all.
    NoSecuritySchemes {
        id: "PC-AUTH-013",
        title: "No security scheme declared",
        severity: Medium,
        owasp: Api2,
        cwe: 306,
        rationale: "Without any declared scheme the document cannot say how callers authenticate, and every operation is public as far as tooling can tell.",
        remediation: "Declare the schemes the API accepts under `components.securitySchemes` (2.0: `securityDefinitions`) and require them.",
    }
    fn check(cx, sink) {
        if !cx.catalog.operations.is_empty() && cx.catalog.security_schemes.is_empty() {
            sink.report(cx.root_file(), "", "the document declares no security scheme");
        }
    }
}

/// Declared scopes of an OAuth2 scheme.
fn declared_scopes(kind: &SecuritySchemeKind) -> Option<HashSet<&str>> {
    match kind {
        SecuritySchemeKind::OAuth2 { flows } => Some(
            flows
                .iter()
                .flat_map(|f| f.scopes.keys().map(String::as_str))
                .collect(),
        ),
        _ => None,
    }
}

rule! {
    /// Scopes required but never declared by the OAuth2 scheme.
    UndeclaredScope {
        id: "PC-AUTH-014",
        title: "Scope used but not declared",
        severity: Medium,
        owasp: Api5,
        cwe: 285,
        rationale: "An authorization server cannot issue a scope its scheme does not declare, so the operation is either unreachable or (worse) the scope check is skipped.",
        remediation: "Declare the scope in the scheme's flows, or fix the typo in the requirement.",
    }
    fn check(cx, sink) {
        for (file, ptr, reqs) in requirement_lists(cx) {
            for (i, req) in reqs.iter().enumerate() {
                for (name, scopes) in &req.schemes {
                    let Some(declared) = cx.catalog.security_schemes.get(name).and_then(|s| declared_scopes(&s.kind)) else { continue };
                    for (j, scope) in scopes.iter().enumerate() {
                        if !declared.contains(scope.as_str()) {
                            let at = pointer::push(&pointer::push(&pointer::push(&ptr, &i.to_string()), name), &j.to_string());
                            sink.report_with(file, at, format!("scope `{scope}` of scheme `{name}` is not declared by the scheme"), scope.clone());
                        }
                    }
                }
            }
        }
    }
}

rule! {
    /// Declared scopes that no operation requires.
    UnusedScope {
        id: "PC-AUTH-015",
        title: "Scope declared but never required",
        severity: Low,
        owasp: Api5,
        cwe: 285,
        rationale: "A scope nothing requires grants nothing, which usually means an operation that should require it does not (coarse authorization), or the scope list is stale.",
        remediation: "Require the scope on the operations it is meant to protect, or remove it.",
    }
    fn check(cx, sink) {
        let mut used: HashSet<(&str, &str)> = HashSet::new();
        for (_, _, reqs) in requirement_lists(cx) {
            for req in reqs {
                for (name, scopes) in &req.schemes {
                    used.extend(scopes.iter().map(|s| (name.as_str(), s.as_str())));
                }
            }
        }
        for op in &cx.catalog.operations {
            for req in &op.security {
                for (name, scopes) in &req.schemes {
                    used.extend(scopes.iter().map(|s| (name.as_str(), s.as_str())));
                }
            }
        }
        for (name, scheme) in &cx.catalog.security_schemes {
            let SecuritySchemeKind::OAuth2 { flows } = &scheme.kind else { continue };
            for flow in flows {
                let scopes_ptr = pointer::push(&flow_ptr(cx.catalog, &scheme.location.pointer, flow.kind), "scopes");
                let scopes_ptr = if cx.catalog.version == SpecVersion::Swagger2 { pointer::push(&scheme.location.pointer, "scopes") } else { scopes_ptr };
                for scope in flow.scopes.keys() {
                    if !used.contains(&(name.as_str(), scope.as_str())) {
                        sink.report_with(&scheme.location.file, pointer::push(&scopes_ptr, scope), format!("scope `{scope}` of scheme `{name}` is declared but no operation requires it"), scope.clone());
                    }
                }
            }
        }
    }
}

rule! {
    /// Secrets in the URL: query or path parameters named like passwords, tokens or keys.
    CredentialsInUrl {
        id: "PC-AUTH-016",
        title: "Credentials in the URL",
        severity: High,
        owasp: Api2,
        cwe: 598,
        rationale: "Passwords, tokens and keys in the path or query string end up in server, proxy and browser logs and in Referer headers.",
        remediation: "Move the secret to a header or the request body (and to a POST).",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            for p in &op.parameters {
                if matches!(p.location_in, ParameterIn::Query | ParameterIn::Path) && (names::is_secret(&p.name) || names::is_token(&p.name)) {
                    sink.report_with(&p.location.file, p.location.pointer.clone(), format!("{} parameter `{}` carries a credential in the URL", p.location_in.as_str(), p.name), p.name.clone());
                }
            }
        }
    }
}

rule! {
    /// Login-like operations without any documented rate limit.
    LoginWithoutLimits {
        id: "PC-AUTH-017",
        title: "Login without brute-force limits",
        severity: High,
        owasp: Api2,
        cwe: 307,
        rationale: "Login, token, password-reset and OTP operations are what credential stuffing and brute force target; without a documented limit (429 response, rate-limit headers, or an `x-portcullis-rate-limit`) nothing says one exists.",
        remediation: "Rate-limit the operation per client and per account and document it with a 429 response carrying `Retry-After`.",
    }
    fn check(cx, sink) {
        for op in &cx.catalog.operations {
            if names::is_login(op) && !has_status(op, "429") && !op.extensions.contains_key("x-portcullis-rate-limit") && !op.extensions.contains_key("x-rate-limit") {
                sink.report(&op.location.file, op_ptr(op, "responses"), format!("{} checks credentials but documents no rate limit (no 429 response)", label(op)));
            }
        }
    }
}

rule! {
    /// OAuth2 / OpenID Connect endpoints over plain HTTP.
    OAuthUrlWithoutTls {
        id: "PC-AUTH-018",
        title: "Authorization server URL over cleartext HTTP",
        severity: High,
        owasp: Api2,
        cwe: 319,
        rationale: "Authorization codes, tokens and client secrets sent to an `http://` authorization, token or discovery URL can be read and replayed on the network.",
        remediation: "Use `https://` for `authorizationUrl`, `tokenUrl`, `refreshUrl` and `openIdConnectUrl`.",
    }
    fn check(cx, sink) {
        for (name, scheme) in &cx.catalog.security_schemes {
            match &scheme.kind {
                SecuritySchemeKind::OAuth2 { flows } => {
                    for flow in flows {
                        let base = flow_ptr(cx.catalog, &scheme.location.pointer, flow.kind);
                        let base = if cx.catalog.version == SpecVersion::Swagger2 { scheme.location.pointer.clone() } else { base };
                        for (key, url) in [("authorizationUrl", &flow.authorization_url), ("tokenUrl", &flow.token_url), ("refreshUrl", &flow.refresh_url)] {
                            if let Some(url) = url.as_deref().filter(|u| names::is_http(u)) {
                                sink.report_with(&scheme.location.file, pointer::push(&base, key), format!("`{key}` of scheme `{name}` uses cleartext HTTP"), url.to_owned());
                            }
                        }
                    }
                }
                SecuritySchemeKind::OpenIdConnect { url } if names::is_http(url) => {
                    sink.report_with(&scheme.location.file, pointer::push(&scheme.location.pointer, "openIdConnectUrl"), format!("`openIdConnectUrl` of scheme `{name}` uses cleartext HTTP"), url.clone());
                }
                _ => {}
            }
        }
    }
}

rule! {
    /// OAuth2 flows that issue user tokens without a refresh URL.
    NoRefreshToken {
        id: "PC-AUTH-019",
        title: "Long-lived access tokens (no refresh URL)",
        severity: Low,
        owasp: Api2,
        cwe: 613,
        rationale: "Without refresh tokens, user access tokens have to live long to be usable, and a stolen token stays valid for that long.",
        remediation: "Issue short-lived access tokens with refresh tokens and declare `refreshUrl` on the flow.",
    }
    fn check(cx, sink) {
        if cx.catalog.version == SpecVersion::Swagger2 {
            return; // 2.0 has no refreshUrl to declare.
        }
        for (name, scheme) in &cx.catalog.security_schemes {
            let SecuritySchemeKind::OAuth2 { flows } = &scheme.kind else { continue };
            for flow in flows {
                if matches!(flow.kind, OAuthFlowKind::AuthorizationCode | OAuthFlowKind::Password) && flow.refresh_url.is_none() {
                    let ptr = flow_ptr(cx.catalog, &scheme.location.pointer, flow.kind);
                    sink.report_with(&scheme.location.file, ptr, format!("the {} flow of scheme `{name}` declares no `refreshUrl`", flow_key(flow.kind)), name.clone());
                }
            }
        }
    }
}

rule! {
    /// No top-level security requirement.
    NoGlobalSecurity {
        id: "PC-AUTH-020",
        title: "No top-level security requirement",
        severity: Low,
        owasp: Api2,
        cwe: 306,
        rationale: "Without a top-level `security`, every new operation is public until someone remembers to secure it: secure-by-default needs a global requirement and explicit opt-outs.",
        remediation: "Declare a top-level `security` requirement and opt public operations out with `security: []`.",
    }
    fn check(cx, sink) {
        if cx.catalog.operations.is_empty() {
            return;
        }
        match (&cx.catalog.global_security, &cx.catalog.global_security_location) {
            (None, _) => sink.report(cx.root_file(), "", "the document has no top-level `security` requirement"),
            (Some(reqs), Some(loc)) if reqs.is_empty() || reqs.iter().all(SecurityRequirement::is_anonymous) => {
                sink.report(&loc.file, loc.pointer.clone(), "the top-level `security` requirement is empty");
            }
            _ => {}
        }
    }
}

rule! {
    /// Scopes listed for a scheme that has no scopes.
    ScopesOnPlainScheme {
        id: "PC-AUTH-021",
        title: "Scopes required from a scheme without scopes",
        severity: Low,
        owasp: Api5,
        cwe: 285,
        rationale: "Before OpenAPI 3.1 only OAuth2 (and OpenID Connect) requirements may list scopes; scopes listed for an API key or HTTP scheme are ignored by tools, so the restriction they seem to express is not enforced.",
        remediation: "Use an empty list for non-OAuth2 schemes and enforce roles in the implementation, or move to OAuth2 scopes (or OpenAPI 3.1 roles).",
    }
    fn check(cx, sink) {
        if cx.catalog.version == SpecVersion::OpenApi31 {
            return;
        }
        for (file, ptr, reqs) in requirement_lists(cx) {
            for (i, req) in reqs.iter().enumerate() {
                for (name, scopes) in &req.schemes {
                    let Some(scheme) = cx.catalog.security_schemes.get(name) else { continue };
                    let scoped = matches!(scheme.kind, SecuritySchemeKind::OAuth2 { .. } | SecuritySchemeKind::OpenIdConnect { .. });
                    if !scoped && !scopes.is_empty() {
                        let at = pointer::push(&pointer::push(&ptr, &i.to_string()), name);
                        sink.report_with(file, at, format!("scheme `{name}` has no scopes, yet the requirement lists {}", scopes.join(", ")), name.clone());
                    }
                }
            }
        }
    }
}
