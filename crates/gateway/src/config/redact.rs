//! Hiding the password of a URL's userinfo (`redis://user:secret@host`) before the URL is
//! shown in an error or a log line. Mistyped URLs are redacted too: when in doubt, more is
//! hidden, never less (`http://host:80/a@b` shows as `http://host:***@b`).

/// What replaces a password.
const HIDDEN: &str = "***";

/// `text` with the password of its userinfo replaced by `***` (`redis://u:***@host:6379`);
/// text without userinfo is returned unchanged.
pub fn redact_url(text: &str) -> String {
    // The authority starts after `scheme://`; in a mistyped URL, at the start (so that a
    // `redis:/user:secret@host` hides `/user` too).
    let start = text.find("://").map_or(0, |i| i + 3);
    let rest = text.get(start..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    // The userinfo ends at the authority's last `@`; failing that (a password holding `/`, `?`
    // or `#` unescaped), at the last `@` of the whole text.
    let at = authority.rfind('@').or_else(|| rest.rfind('@'));
    let Some(at) = at else {
        return text.to_owned();
    };
    let userinfo = rest.get(..at).unwrap_or_default();
    let Some(colon) = userinfo.find(':') else {
        // A user name alone is not a secret.
        return text.to_owned();
    };
    format!(
        "{}{}{HIDDEN}{}",
        text.get(..start).unwrap_or_default(),
        userinfo.get(..=colon).unwrap_or_default(),
        rest.get(at..).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("redis://user:s3cret@cache:6379/0"),
            "redis://user:***@cache:6379/0"
        );
        assert_eq!(
            redact_url("redis://:s3cret@cache:6379"),
            "redis://:***@cache:6379"
        );
        assert_eq!(
            redact_url("http://svc:p%40ss@10.0.0.1:8080/api"),
            "http://svc:***@10.0.0.1:8080/api"
        );
        assert_eq!(
            redact_url("http://u:pw@idp/.well-known/openid-configuration"),
            "http://u:***@idp/.well-known/openid-configuration"
        );
    }

    #[test]
    fn mistyped_urls_are_hidden_too() {
        for url in [
            "rdis://user:s3cret@cache:6379",
            "redis:/user:s3cret@cache:6379",
            "redis:user:s3cret@cache:6379",
            "redis//user:s3cret@cache:6379",
            "redis://user:s3/cr?et#x@cache:6379",
            "user:s3cret@cache:6379",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("s3"), "{url} -> {shown}");
            assert!(shown.contains("cache:6379"), "{url} -> {shown}");
        }
    }

    #[test]
    fn urls_without_password_are_unchanged() {
        for url in [
            "memory",
            "redis://cache:6379/0",
            "redis://user@cache:6379",
            "http://127.0.0.1/a@b",
            "jwks.json",
            "",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }
}
