//! Evidence for findings: request and response excerpts with secrets masked, and a curl line
//! that replays the request (credentials stand in as shell variables such as `$ALICE_TOKEN`).

use serde_json::Value;

use crate::http::Exchange;

/// The most characters of a body kept in an excerpt.
const MAX_EXCERPT: usize = 2000;

/// Header names whose values are always masked.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
];

/// A secret to replace wherever it appears in evidence, and what stands in for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The secret text (a token, a header value, a token's signature).
    pub value: String,
    /// What is written instead (`$ALICE_TOKEN`).
    pub placeholder: String,
}

/// Replaces every known secret in `text` by its placeholder (longest first).
pub fn redact(text: &str, secrets: &[Secret]) -> String {
    let mut sorted: Vec<&Secret> = secrets.iter().filter(|s| s.value.len() >= 6).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.value.len()));
    let mut out = text.to_owned();
    for s in sorted {
        out = out.replace(&s.value, &s.placeholder);
    }
    out
}

/// True for a JSON key whose value is a secret or personal data that evidence must mask.
pub fn is_sensitive_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let exact = ["pin", "pwd", "cvv", "ssn", "otp"];
    let within = [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "privatekey",
        "hash",
        "socialsecurity",
        "creditcard",
        "cardnumber",
        "databaseurl",
        "connectionstring",
    ];
    exact.contains(&k.as_str()) || within.iter().any(|s| k.contains(s))
}

/// Masks a secret value: its first four characters and its length.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    if n <= 4 {
        return "****".to_owned();
    }
    let head: String = value.chars().take(4).collect();
    format!("{head}…(masked, {n} chars)")
}

/// A JSON value with every sensitive member's string value masked (and passwords in URLs).
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let masked = match v {
                        Value::String(s) if is_sensitive_key(k) => Value::String(mask(s)),
                        other => mask_json(other),
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::String(s) => Value::String(mask_url_password(s)),
        other => other.clone(),
    }
}

/// `scheme://user:password@host`, the password captured; compiled once (every answer and
/// every piece of evidence goes through it).
static URL_PASSWORD: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:([^@/\s]+)@").ok()
});

/// `scheme://user:password@host` with the password masked.
pub fn mask_url_password(text: &str) -> String {
    match url_password(text) {
        Some(p) => text.replace(&format!(":{p}@"), ":****@"),
        None => text.to_owned(),
    }
}

/// The password of a `scheme://user:password@host` URL inside `text`, if any.
pub fn url_password(text: &str) -> Option<String> {
    URL_PASSWORD
        .as_ref()?
        .captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_EXCERPT {
        return text.to_owned();
    }
    let head: String = text.chars().take(MAX_EXCERPT).collect();
    format!("{head}… ({} bytes in all)", text.len())
}

fn body_excerpt(json: Option<&Value>, raw: &str) -> String {
    match json {
        Some(v) => cut(&mask_json(v).to_string()),
        None => cut(&mask_url_password(raw)),
    }
}

/// The request of `exchange` as text, secrets masked.
pub fn request_text(exchange: &Exchange, secrets: &[Secret]) -> String {
    let r = &exchange.request;
    let mut out = format!("{} {}\n", r.method, exchange.url);
    for (k, v) in &r.headers {
        let shown = redact(v, secrets);
        let shown = if shown == *v && SECRET_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
            mask(v)
        } else {
            shown
        };
        out.push_str(&format!("{k}: {shown}\n"));
    }
    if let Some(body) = &r.body {
        out.push('\n');
        out.push_str(&redact(&body_excerpt(Some(body), ""), secrets));
        out.push('\n');
    }
    out
}

/// The answer of `exchange` as text: status, a few headers, the body excerpt (masked).
pub fn response_text(exchange: &Exchange, secrets: &[Secret]) -> String {
    let mut out = format!("HTTP {}\n", exchange.status);
    for (k, v) in &exchange.headers {
        // The length of a HEAD answer is its proof (method tampering): shown for those.
        let head_length = k == "content-length" && exchange.request.method == "HEAD";
        if head_length
            || matches!(
                k.as_str(),
                "content-type" | "location" | "retry-after" | "www-authenticate"
            )
        {
            // A redirect can carry a token (`Location: ...#access_token=...`).
            out.push_str(&format!("{k}: {}\n", redact(v, secrets)));
        }
    }
    out.push('\n');
    out.push_str(&redact(
        &body_excerpt(exchange.json.as_ref(), &exchange.text()),
        secrets,
    ));
    out
}

/// A curl command that sends the same request (credentials as shell variables).
pub fn curl(exchange: &Exchange, secrets: &[Secret]) -> String {
    let r = &exchange.request;
    // `-X HEAD` would wait for a body that never comes: `-I` sends a HEAD.
    let mut parts = vec![
        if r.method == "HEAD" {
            "curl -I"
        } else {
            "curl -i"
        }
        .to_owned(),
    ];
    if !matches!(r.method.as_str(), "GET" | "HEAD") {
        parts.push(format!("-X {}", r.method));
    }
    parts.push(quote(&exchange.url));
    for (k, v) in &r.headers {
        parts.push(format!(
            "-H {}",
            quote(&format!("{k}: {}", redact(v, secrets)))
        ));
    }
    if let Some(body) = &r.body {
        if r.header("content-type").is_none() {
            parts.push("-H 'content-type: application/json'".to_owned());
        }
        parts.push(format!(
            "--data-raw {}",
            quote(&redact(&mask_json(body).to_string(), secrets))
        ));
    }
    parts.join(" ")
}

/// Shell quoting: single quotes, or double quotes when a `$PLACEHOLDER` must expand.
fn quote(text: &str) -> String {
    if text.contains('$') && !text.contains('"') && !text.contains('`') && !text.contains('\\') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::http::Request;
    use serde_json::json;

    fn exchange() -> Exchange {
        let mut request = Request::new("POST", "/users");
        request.set_header("authorization", "Bearer eyJhbGciOi.payload.signature123");
        request.body = Some(json!({"username": "x", "password": "hunter2hunter2"}));
        Exchange {
            request,
            url: "http://127.0.0.1:1/users".into(),
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: bytes::Bytes::new(),
            json: Some(
                json!({"passwordHash": "$2b$04$abcdefabcdef", "db": "postgres://u:S3cret@h/db"}),
            ),
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn secrets_never_reach_evidence() {
        let x = exchange();
        let secrets = vec![Secret {
            value: "Bearer eyJhbGciOi.payload.signature123".into(),
            placeholder: "Bearer $ALICE_TOKEN".into(),
        }];
        let all = format!(
            "{}{}{}",
            request_text(&x, &secrets),
            response_text(&x, &secrets),
            curl(&x, &secrets)
        );
        for secret in ["signature123", "hunter2", "abcdefabcdef", "S3cret"] {
            assert!(!all.contains(secret), "{secret} leaked in {all}");
        }
        let c = curl(&x, &secrets);
        assert!(
            c.contains("-H \"authorization: Bearer $ALICE_TOKEN\""),
            "{c}"
        );
        assert!(
            c.starts_with("curl -i -X POST 'http://127.0.0.1:1/users'"),
            "{c}"
        );
        // A HEAD is replayed with -I (curl -X HEAD would wait for a body).
        let mut head = exchange();
        head.request.method = "HEAD".into();
        head.request.body = None;
        assert!(
            curl(&head, &secrets).starts_with("curl -I 'http://127.0.0.1:1/users'"),
            "{}",
            curl(&head, &secrets)
        );
    }

    /// Found by the `scan_answers` fuzz target's property (its seed `redirect.txt`): the
    /// response headers evidence shows were written as they came, so a redirect carrying the
    /// session's token put it in the report.
    #[test]
    fn tokens_in_shown_answer_headers_are_redacted() {
        let mut x = exchange();
        x.status = 302;
        x.headers = vec![(
            "location".into(),
            "https://app.example/cb#access_token=eyJhbGciOi.payload.signature123".into(),
        )];
        let secrets = [Secret {
            value: "eyJhbGciOi.payload.signature123".into(),
            placeholder: "$ALICE_TOKEN".into(),
        }];
        let text = response_text(&x, &secrets);
        assert!(!text.contains("signature123"), "{text}");
        assert!(
            text.contains("location: https://app.example/cb#access_token=$ALICE_TOKEN"),
            "{text}"
        );
    }

    #[test]
    fn unknown_credentials_are_masked_too() {
        let x = exchange();
        let text = request_text(&x, &[]);
        assert!(!text.contains("signature123"), "{text}");
        assert!(text.contains("authorization: Bear…(masked"), "{text}");
    }
}
