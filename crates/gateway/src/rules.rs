//! Every rule id a decision can carry, in one registry: the code names rules through these
//! constants, and a test checks docs/config.md's table of decision-log rules against [`ALL`]
//! (and that no other rule id is written anywhere in the gateway's code).

/// `client.banned`: the client is on the ban list.
pub const CLIENT_BANNED: &str = "client.banned";
/// `request.too-large`: the body is over max_body.
pub const REQUEST_TOO_LARGE: &str = "request.too-large";
/// `request.path`: the path cannot be normalized.
pub const REQUEST_PATH: &str = "request.path";
/// `request.host`: the Host header is missing, repeated, malformed or disagrees with the target.
pub const REQUEST_HOST: &str = "request.host";
/// `request.header`: more than one Authorization field.
pub const REQUEST_HEADER: &str = "request.header";
/// `request.timeout`: the request took longer than request_timeout.
pub const REQUEST_TIMEOUT: &str = "request.timeout";
/// `route.no-api`: no API serves this host.
pub const ROUTE_NO_API: &str = "route.no-api";
/// `route.undocumented`: the spec has no such path.
pub const ROUTE_UNDOCUMENTED: &str = "route.undocumented";
/// `route.method`: the path exists but not for this method.
pub const ROUTE_METHOD: &str = "route.method";
/// `route.deprecated`: a deprecated operation.
pub const ROUTE_DEPRECATED: &str = "route.deprecated";
/// `auth.invalid`: no credential, or a token refused.
pub const AUTH_INVALID: &str = "auth.invalid";
/// `auth.key-malformed`: the API key is not pc_<id>_<secret>.
pub const AUTH_KEY_MALFORMED: &str = "auth.key-malformed";
/// `auth.key-unknown`: no API key with this id.
pub const AUTH_KEY_UNKNOWN: &str = "auth.key-unknown";
/// `auth.key-invalid`: the API key's secret does not match.
pub const AUTH_KEY_INVALID: &str = "auth.key-invalid";
/// `auth.key-disabled`: the API key is disabled.
pub const AUTH_KEY_DISABLED: &str = "auth.key-disabled";
/// `auth.key-expired`: the API key has expired.
pub const AUTH_KEY_EXPIRED: &str = "auth.key-expired";
/// `auth.cert-missing`: no client certificate.
pub const AUTH_CERT_MISSING: &str = "auth.cert-missing";
/// `auth.cert-unmapped`: the client certificate maps to no identity.
pub const AUTH_CERT_UNMAPPED: &str = "auth.cert-unmapped";
/// `auth.unsupported`: a scheme the gateway cannot verify.
pub const AUTH_UNSUPPORTED: &str = "auth.unsupported";
/// `auth.token-malformed`: an opaque token that cannot be sent to introspection.
pub const AUTH_TOKEN_MALFORMED: &str = "auth.token-malformed";
/// `auth.token-inactive`: introspection answered active: false.
pub const AUTH_TOKEN_INACTIVE: &str = "auth.token-inactive";
/// `auth.token-expired`: the introspected token has expired.
pub const AUTH_TOKEN_EXPIRED: &str = "auth.token-expired";
/// `auth.token-issuer`: the introspected token's issuer is not the configured one.
pub const AUTH_TOKEN_ISSUER: &str = "auth.token-issuer";
/// `auth.token-audience`: the introspected token names none of the audiences.
pub const AUTH_TOKEN_AUDIENCE: &str = "auth.token-audience";
/// `auth.introspection-unavailable`: the introspection endpoint failed.
pub const AUTH_INTROSPECTION_UNAVAILABLE: &str = "auth.introspection-unavailable";
/// `auth.introspection-invalid`: the introspection endpoint's answer is not one.
pub const AUTH_INTROSPECTION_INVALID: &str = "auth.introspection-invalid";
/// `auth.locked`: the client IP is locked out.
pub const AUTH_LOCKED: &str = "auth.locked";
/// `auth.account-locked`: the account is locked out.
pub const AUTH_ACCOUNT_LOCKED: &str = "auth.account-locked";
/// `authz.scope`: the caller lacks scopes.
pub const AUTHZ_SCOPE: &str = "authz.scope";
/// `authz.admin`: the caller lacks the admin role.
pub const AUTHZ_ADMIN: &str = "authz.admin";
/// `authz.owner`: an owner-bound value is not the caller's.
pub const AUTHZ_OWNER: &str = "authz.owner";
/// `ratelimit`: a rate limit refused the request.
pub const RATELIMIT: &str = "ratelimit";
/// `ratelimit.concurrency`: too many requests in flight from this client.
pub const RATELIMIT_CONCURRENCY: &str = "ratelimit.concurrency";
/// `request.parameter`: a parameter is missing, repeated or breaks its schema.
pub const REQUEST_PARAMETER: &str = "request.parameter";
/// `request.content-type`: no, an undocumented, or an unexpected content type.
pub const REQUEST_CONTENT_TYPE: &str = "request.content-type";
/// `request.content-encoding`: a request body in a content coding that is refused or cannot be read.
pub const REQUEST_CONTENT_ENCODING: &str = "request.content-encoding";
/// `request.json`: the JSON body is invalid, has duplicate keys or is too deep.
pub const REQUEST_JSON: &str = "request.json";
/// `request.body`: the body is missing, breaks its schema or cannot be read.
pub const REQUEST_BODY: &str = "request.body";
/// `request.unknown-field`: the body has an undeclared property.
pub const REQUEST_UNKNOWN_FIELD: &str = "request.unknown-field";
/// `cors.preflight`: a CORS preflight from an origin, for a method or with headers the API does not allow.
pub const CORS_PREFLIGHT: &str = "cors.preflight";
/// `threat.sqli`: SQL injection in a parameter or body value.
pub const THREAT_SQLI: &str = "threat.sqli";
/// `threat.xss`: cross-site scripting in a parameter or body value.
pub const THREAT_XSS: &str = "threat.xss";
/// `threat.cmd`: OS command injection in a parameter or body value.
pub const THREAT_CMD: &str = "threat.cmd";
/// `threat.traversal`: path traversal in a parameter or body value.
pub const THREAT_TRAVERSAL: &str = "threat.traversal";
/// `threat.ldap`: LDAP injection in a parameter or body value.
pub const THREAT_LDAP: &str = "threat.ldap";
/// `threat.ssti`: server-side template injection in a parameter or body value.
pub const THREAT_SSTI: &str = "threat.ssti";
/// `threat.nosql`: a NoSQL operator key the schema does not declare.
pub const THREAT_NOSQL: &str = "threat.nosql";
/// `threat.ssrf`: a URL-valued field naming an internal or forbidden target.
pub const THREAT_SSRF: &str = "threat.ssrf";
/// `response.schema`: the upstream's answer breaks its declared schema.
pub const RESPONSE_SCHEMA: &str = "response.schema";
/// `response.sensitive`: sensitive data in the upstream's answer.
pub const RESPONSE_SENSITIVE: &str = "response.sensitive";
/// `response.error-leak`: an upstream error body with internals (replaced).
pub const RESPONSE_ERROR_LEAK: &str = "response.error-leak";
/// `response.uninspected`: the answer is over max_inspect or cannot be decoded.
pub const RESPONSE_UNINSPECTED: &str = "response.uninspected";
/// `response.decompression`: the answer is a decompression bomb.
pub const RESPONSE_DECOMPRESSION: &str = "response.decompression";
/// `upstream.unavailable`: the upstream could not be reached.
pub const UPSTREAM_UNAVAILABLE: &str = "upstream.unavailable";
/// `upstream.timeout`: the upstream did not answer in time.
pub const UPSTREAM_TIMEOUT: &str = "upstream.timeout";

/// Every rule id, in the order of docs/config.md's table.
pub const ALL: &[&str] = &[
    CORS_PREFLIGHT,
    THREAT_SQLI,
    THREAT_XSS,
    THREAT_CMD,
    THREAT_TRAVERSAL,
    THREAT_LDAP,
    THREAT_SSTI,
    THREAT_NOSQL,
    THREAT_SSRF,
    RESPONSE_SCHEMA,
    RESPONSE_SENSITIVE,
    RESPONSE_ERROR_LEAK,
    RESPONSE_UNINSPECTED,
    RESPONSE_DECOMPRESSION,
    CLIENT_BANNED,
    REQUEST_TOO_LARGE,
    REQUEST_PATH,
    REQUEST_HOST,
    REQUEST_HEADER,
    REQUEST_TIMEOUT,
    ROUTE_NO_API,
    ROUTE_UNDOCUMENTED,
    ROUTE_METHOD,
    ROUTE_DEPRECATED,
    AUTH_INVALID,
    AUTH_KEY_MALFORMED,
    AUTH_KEY_UNKNOWN,
    AUTH_KEY_INVALID,
    AUTH_KEY_DISABLED,
    AUTH_KEY_EXPIRED,
    AUTH_CERT_MISSING,
    AUTH_CERT_UNMAPPED,
    AUTH_UNSUPPORTED,
    AUTH_TOKEN_MALFORMED,
    AUTH_TOKEN_INACTIVE,
    AUTH_TOKEN_EXPIRED,
    AUTH_TOKEN_ISSUER,
    AUTH_TOKEN_AUDIENCE,
    AUTH_INTROSPECTION_UNAVAILABLE,
    AUTH_INTROSPECTION_INVALID,
    AUTH_LOCKED,
    AUTH_ACCOUNT_LOCKED,
    AUTHZ_SCOPE,
    AUTHZ_ADMIN,
    AUTHZ_OWNER,
    RATELIMIT,
    RATELIMIT_CONCURRENCY,
    REQUEST_PARAMETER,
    REQUEST_CONTENT_TYPE,
    REQUEST_CONTENT_ENCODING,
    REQUEST_JSON,
    REQUEST_BODY,
    REQUEST_UNKNOWN_FIELD,
    UPSTREAM_UNAVAILABLE,
    UPSTREAM_TIMEOUT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The rule ids of docs/config.md's "Decision-log rules" table.
    fn documented() -> BTreeSet<String> {
        let doc = include_str!("../../../docs/config.md");
        let table = doc
            .split("## Decision-log rules")
            .nth(1)
            .expect("docs/config.md has a Decision-log rules section");
        table
            .lines()
            .skip_while(|l| !l.starts_with("| rule |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_documented_table_and_the_registry_list_the_same_rules() {
        let registry: BTreeSet<String> = ALL.iter().map(|r| (*r).to_owned()).collect();
        assert_eq!(registry.len(), ALL.len(), "a rule is listed twice");
        assert_eq!(documented(), registry);
    }

    /// Every rule-like string in the gateway's sources is a registered rule (a new rule gets a
    /// constant here and a row in the docs, or this fails).
    #[test]
    fn no_rule_id_is_written_outside_the_registry() {
        let re = regex::Regex::new(
            r#""((?:request|route|auth|authz|ratelimit|upstream)\.[a-z-]+|ratelimit)""#,
        )
        .unwrap();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        let mut unknown = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for m in re.captures_iter(&text) {
                        let id = &m[1];
                        if !ALL.contains(&id) {
                            unknown.push(format!("{}: {id}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            unknown.is_empty(),
            "rule ids not in the registry: {unknown:#?}"
        );
    }
}
