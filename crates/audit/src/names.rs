//! Name heuristics shared by rules: what looks like a login, an admin function, a secret, an id.
//!
//! Names are compared folded: lower-case, without `_`, `-`, `.` and spaces, so `access_token`,
//! `accessToken` and `Access-Token` are the same word.

use portcullis_spec::Operation;

/// `name` lower-cased without separators.
pub fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The literal segments of a path template, folded (`/Admin/{id}/users` -> `admin`, `users`).
fn literal_segments(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .map(fold)
}

/// Words that name the operation: path segments, operationId, summary.
fn operation_words(op: &Operation) -> String {
    let mut words = fold(&op.path);
    if let Some(id) = &op.operation_id {
        words.push(' ');
        words.push_str(&fold(id));
    }
    words
}

/// True for operations that issue or exchange credentials (login, token, session, signup):
/// their responses may legitimately carry tokens, and they need brute-force limits.
pub fn issues_credentials(op: &Operation) -> bool {
    let words = operation_words(op);
    const HINTS: &[&str] = &[
        "login",
        "logon",
        "signin",
        "token",
        "oauth",
        "authenticate",
        "session",
        "signup",
        "register",
        "apikey",
        "credential",
        "authorize",
    ];
    HINTS.iter().any(|h| words.contains(h))
}

/// True for login-like operations (credential checks an attacker can brute-force).
pub fn is_login(op: &Operation) -> bool {
    let words = operation_words(op);
    const HINTS: &[&str] = &[
        "login",
        "logon",
        "signin",
        "authenticate",
        "oauthtoken",
        "passwordreset",
        "resetpassword",
        "forgotpassword",
        "verifyotp",
        "mfa",
        "2fa",
    ];
    op.method == portcullis_spec::Method::Post
        && (HINTS.iter().any(|h| words.contains(h))
            || literal_segments(&op.path).any(|s| s == "token"))
}

/// True for operations that are public by nature (login, signup, health, docs, discovery).
pub fn looks_public(op: &Operation) -> bool {
    if issues_credentials(op) {
        return true;
    }
    const SEGMENTS: &[&str] = &[
        "health",
        "healthz",
        "healthcheck",
        "ping",
        "status",
        "version",
        "public",
        "docs",
        "openapi",
        "openapi.json",
        "openapi.yaml",
        "swagger",
        "swagger.json",
        ".well-known",
        "wellknown",
        "jwks",
        "jwks.json",
        "forgotpassword",
        "resetpassword",
        "passwordreset",
        "verify",
        "confirm",
        "livez",
        "readyz",
        "metadata",
        "robots.txt",
        "favicon.ico",
    ];
    literal_segments(&op.path).any(|s| SEGMENTS.contains(&s.as_str()))
}

/// True for administrative, internal or debugging functions (by path segment or an
/// `x-portcullis-admin: true` extension).
pub fn looks_admin(op: &Operation) -> bool {
    if op.extensions.get("x-portcullis-admin") == Some(&serde_json::Value::Bool(true)) {
        return true;
    }
    const SEGMENTS: &[&str] = &[
        "admin",
        "admins",
        "administrator",
        "administration",
        "internal",
        "debug",
        "actuator",
        "management",
        "manage",
        "superuser",
        "sudo",
        "root",
        "backoffice",
        "staff",
        "ops",
        "maintenance",
        "impersonate",
    ];
    literal_segments(&op.path).any(|s| SEGMENTS.contains(&s.as_str()) || s.starts_with("_debug"))
}

/// True for names of object identifiers (`id`, `userId`, `account_id`, `uid`...).
pub fn is_id(name: &str) -> bool {
    let f = fold(name);
    f == "id"
        || f == "uid"
        || f.ends_with("id") && name.len() > 2 && {
            // `userId`, `user_id`, `accountID`: the word before is separated by case or `_`/`-`.
            let lower = name.to_ascii_lowercase();
            lower.ends_with("_id")
                || lower.ends_with("-id")
                || name.ends_with("Id")
                || name.ends_with("ID")
        }
}

/// Passwords and secrets: never returned.
pub fn is_secret(name: &str) -> bool {
    let f = fold(name);
    const CONTAINS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "privatekey",
        "securityanswer",
        "pinhash",
        "pincode",
    ];
    const EXACT: &[&str] = &["pwd", "pin", "salt", "otpseed", "totpseed"];
    CONTAINS.iter().any(|c| f.contains(c))
        && !f.ends_with("policy")
        && !f.ends_with("hint")
        && !f.ends_with("expiresat")
        && !f.ends_with("changed")
        && !f.ends_with("required")
        || EXACT.contains(&f.as_str())
}

/// Government ids and payment card data: personal data under special protection.
pub fn is_personal(name: &str) -> bool {
    let f = fold(name);
    const CONTAINS: &[&str] = &[
        "socialsecurity",
        "cardnumber",
        "creditcard",
        "cvv",
        "cvc",
        "passportnumber",
        "nationalid",
        "taxid",
        "driverslicense",
        "driverlicense",
    ];
    const EXACT: &[&str] = &["ssn", "pan", "cardcvv", "cvc2", "cvv2", "securitycode"];
    CONTAINS.iter().any(|c| f.contains(c)) || EXACT.contains(&f.as_str()) || f.ends_with("ssn")
}

/// Bearer credentials: tokens, API keys, session ids.
pub fn is_token(name: &str) -> bool {
    let f = fold(name);
    (f.ends_with("token")
        && f != "tokentype"
        && !f.starts_with("next")
        && !f.starts_with("page")
        && !f.starts_with("continuation")
        && !f.starts_with("sync")
        && !f.starts_with("cursor"))
        || f.ends_with("apikey")
        || f == "sessionid"
        || f == "jwt"
}

/// Names of parameters and properties that carry a URL the server may fetch or redirect to.
pub fn is_url_name(name: &str) -> bool {
    let f = fold(name);
    const EXACT: &[&str] = &[
        "url",
        "uri",
        "link",
        "href",
        "callback",
        "webhook",
        "endpoint",
        "src",
        "source",
        "target",
        "dest",
        "destination",
        "host",
        "proxy",
        "feed",
        "fetch",
        "imageurl",
    ];
    EXACT.contains(&f.as_str())
        || f.ends_with("url")
        || f.ends_with("uri")
        || f.contains("callback")
        || f.contains("webhook")
        || is_redirect_name(name)
}

/// Names of parameters that say where to send the user next (open redirect risk).
pub fn is_redirect_name(name: &str) -> bool {
    let f = fold(name);
    f.contains("redirect")
        || f.contains("returnto")
        || f.contains("returnurl")
        || f == "next"
        || f == "continue"
        || f == "goto"
        || f.contains("forward")
}

/// Server-controlled properties a client must never set (mass assignment targets).
pub fn is_privileged_property(name: &str) -> bool {
    let f = fold(name);
    const EXACT: &[&str] = &[
        "role",
        "roles",
        "isadmin",
        "admin",
        "issuperuser",
        "superuser",
        "permissions",
        "permission",
        "privileges",
        "scopes",
        "groups",
        "isstaff",
        "isverified",
        "verified",
        "balance",
        "credit",
        "owner",
        "ownerid",
        "tenantid",
        "accountstatus",
        "status",
        "approved",
        "isapproved",
        "emailverified",
        "createdat",
        "createdby",
        "plan",
        "tier",
        "discount",
        "price",
    ];
    EXACT.contains(&f.as_str())
}

/// True for `http://` URLs.
pub fn is_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
}

/// The host of an absolute URL (`None` for relative URLs).
pub fn host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next();
    }
    authority.split(':').next()
}

/// True for loopback, private-network and internal-looking hosts.
pub fn is_internal_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") || h == "::1" || h == "0.0.0.0" {
        return true;
    }
    const SUFFIXES: &[&str] = &[
        ".local",
        ".internal",
        ".intranet",
        ".corp",
        ".lan",
        ".home",
        ".svc",
        ".cluster.local",
    ];
    if SUFFIXES.iter().any(|s| h.ends_with(s)) {
        return true;
    }
    if let Ok(ip) = h.parse::<std::net::Ipv4Addr>() {
        return ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_names() {
        assert_eq!(fold("Access-Token"), "accesstoken");
        assert_eq!(fold("user_id"), "userid");
    }

    #[test]
    fn recognizes_ids() {
        for yes in ["id", "userId", "user_id", "accountID", "uid"] {
            assert!(is_id(yes), "{yes}");
        }
        for no in ["paid", "valid", "grid", "name"] {
            assert!(!is_id(no), "{no}");
        }
    }

    #[test]
    fn recognizes_sensitive_names() {
        assert!(is_secret("password"));
        assert!(is_secret("client_secret"));
        assert!(!is_secret("password_policy"));
        assert!(is_personal("ssn"));
        assert!(is_personal("cardNumber"));
        assert!(!is_personal("company"));
        assert!(is_token("access_token"));
        assert!(!is_token("token_type"));
        assert!(!is_token("nextPageToken"));
    }

    #[test]
    fn recognizes_hosts() {
        assert_eq!(
            host("https://user@api.example.com:8443/v1"),
            Some("api.example.com")
        );
        assert_eq!(host("/v1"), None);
        assert!(is_internal_host("localhost"));
        assert!(is_internal_host("10.1.2.3"));
        assert!(is_internal_host("api.corp"));
        assert!(!is_internal_host("api.example.com"));
        assert!(!is_internal_host("8.8.8.8"));
    }

    #[test]
    fn recognizes_urls() {
        assert!(is_url_name("callback_url"));
        assert!(is_url_name("webhook"));
        assert!(is_url_name("redirect_uri"));
        assert!(!is_url_name("name"));
        assert!(is_http("HTTP://x"));
        assert!(!is_http("https://x"));
    }
}
