//! Property names that hold secrets whatever their value.
//!
//! The name is compared without case, `_`, `-`, `.` or blanks (`clientSecret`, `client_secret`
//! and `Client-Secret` are one name) on its ending: `password`, `new_password`,
//! `hashed_password`, `access_token`, `api_key`, `private_key`, `client_secret` are secrets.
//! Names that only talk about a secret are not: `token_type`, `password_policy`,
//! `password_expires_at`, `secret_name`, `max_tokens`, and pagination tokens
//! (`next_page_token`, `continuation_token`, `cursor_token`, `sync_token`), which clients must
//! get back unchanged.

/// Endings that make a name a secret: the list [`endings`] is written from, by last letter
/// (a test checks that the two agree).
#[cfg(test)]
const SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "sessionkey",
    "sessionid",
    "credential",
    "credentials",
    "passwordhash",
    "passwordsalt",
    "passworddigest",
    "authorization",
    "cookie",
    "otp",
    "totpseed",
    "mfasecret",
    "cvv",
    "cvc",
    "cvv2",
    "pin",
    "pincode",
    "connectionstring",
    "saslpassword",
];

/// The endings that make a name a secret, those that end in `last`, in the order of the
/// list `SUFFIXES` (so that the first match is the one a search of the whole list finds).
fn endings(last: u8) -> &'static [&'static str] {
    match last {
        b'2' => &["cvv2"],
        b'c' => &["cvc"],
        b'd' => &[
            "password",
            "passwd",
            "pwd",
            "sessionid",
            "totpseed",
            "saslpassword",
        ],
        b'e' => &["passphrase", "cookie", "pincode"],
        b'g' => &["connectionstring"],
        b'h' => &["passwordhash"],
        b'l' => &["credential"],
        b'n' => &["token", "authorization", "pin"],
        b'p' => &["otp"],
        b's' => &["credentials"],
        b't' => &["secret", "passwordsalt", "passworddigest", "mfasecret"],
        b'v' => &["cvv"],
        b'y' => &[
            "apikey",
            "privatekey",
            "secretkey",
            "accesskey",
            "signingkey",
            "encryptionkey",
            "masterkey",
            "sessionkey",
        ],
        _ => &[],
    }
}

/// Prefixes (of the normalized name) that turn a token ending into a pagination cursor or a
/// count, or a secret ending into a flag about it.
const NOT_SECRET_PREFIXES: &[&str] = &[
    "next",
    "page",
    "prev",
    "previous",
    "continuation",
    "pagination",
    "cursor",
    "sync",
    "resume",
    "start",
    "end",
    "max",
    "min",
    "num",
    "is",
    "has",
    "csrf",
    "xsrf",
    "input",
    "output",
    "total",
    "prompt",
    "completion",
    "spin",
    "shipping",
    "ping",
    "mapping",
];

/// Property names that hold secrets whatever their value (password, passwd, secret, token,
/// api_key, apikey, private_key, client_secret, ...; see the module documentation for what is
/// left out).
pub fn is_secret_name(name: &str) -> bool {
    if name.len() > 128 {
        return false;
    }
    let mut buf = [0u8; 128];
    let mut n = 0;
    for b in name.bytes() {
        if b.is_ascii_alphanumeric()
            && let Some(slot) = buf.get_mut(n)
        {
            *slot = b.to_ascii_lowercase();
            n += 1;
        }
    }
    let norm = buf.get(..n).unwrap_or_default();
    // Only the endings that end in the name's last letter (most names have none).
    let Some(&last) = norm.last() else {
        return false;
    };
    let Some(suffix) = endings(last).iter().find(|s| norm.ends_with(s.as_bytes())) else {
        return false;
    };
    let stem = norm.get(..n - suffix.len()).unwrap_or_default();
    if *suffix == "pin" && !stem.is_empty() && !stem.ends_with(b"card") && !stem.ends_with(b"user")
    {
        // "shipping", "mapping", "spin": only `pin`, `card_pin`, `user_pin`.
        return false;
    }
    if *suffix == "otp" && !stem.is_empty() {
        return false;
    }
    if *suffix == "cookie"
        && !stem.is_empty()
        && !stem.ends_with(b"session")
        && !stem.ends_with(b"auth")
    {
        return false;
    }
    !NOT_SECRET_PREFIXES.iter().any(|p| {
        let short = matches!(*p, "is" | "has" | "min" | "max" | "num" | "end");
        stem.starts_with(p.as_bytes()) && stem.len() <= p.len() + if short { 0 } else { 4 }
    })
}

#[cfg(test)]
mod tests {
    use super::{SUFFIXES, endings, is_secret_name};

    #[test]
    fn endings_by_last_letter_are_the_list_in_order() {
        for b in 0..=255u8 {
            let expected: Vec<&str> = SUFFIXES
                .iter()
                .copied()
                .filter(|s| s.as_bytes().last() == Some(&b))
                .collect();
            assert_eq!(endings(b), expected.as_slice(), "ending letter {b}");
        }
    }

    #[test]
    fn secret_names() {
        for n in [
            "password",
            "Password",
            "PASSWD",
            "new_password",
            "hashedPassword",
            "password_hash",
            "secret",
            "client_secret",
            "clientSecret",
            "Client-Secret",
            "token",
            "access_token",
            "accessToken",
            "refresh_token",
            "id_token",
            "api_key",
            "apiKey",
            "X-API-KEY",
            "apikey",
            "private_key",
            "privateKey",
            "aws_secret_access_key",
            "secret_key",
            "session_id",
            "credentials",
            "cvv",
            "pin",
            "card_pin",
            "connection_string",
            "authorization",
            "webhook_secret",
            "signing_key",
            "session_cookie",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn names_about_secrets() {
        for n in [
            "token_type",
            "password_policy",
            "password_expires_at",
            "secret_name",
            "max_tokens",
            "next_page_token",
            "nextPageToken",
            "page_token",
            "continuation_token",
            "cursor_token",
            "sync_token",
            "is_secret",
            "has_password",
            "csrf_token",
            "tokens",
            "name",
            "id",
            "shipping",
            "mapping",
            "spin",
            "cookie_policy",
            "input_tokens",
            "prompt_tokens",
            "passwordless",
            "pinned",
            "secretary",
            "tokenizer",
            "keyboard",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }
}
