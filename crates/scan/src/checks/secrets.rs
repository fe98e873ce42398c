//! The weak HMAC secrets JWT-004 tries offline: the hand-written list (`jwt_secrets.txt`,
//! secrets seen in tutorials, framework defaults and leaked configurations), then secrets
//! generated from common words with the decorations people add (case, separators, `key`/
//! `secret` suffixes, digits, years, `!`). Nothing is fetched: the list is ours.

use std::collections::HashSet;

/// The hand-written list, one secret a line.
const WRITTEN: &str = include_str!("jwt_secrets.txt");

/// Words that secrets are made of.
const WORDS: &[&str] = &[
    "secret",
    "password",
    "passw0rd",
    "key",
    "jwt",
    "token",
    "auth",
    "admin",
    "root",
    "test",
    "dev",
    "development",
    "prod",
    "production",
    "staging",
    "local",
    "default",
    "changeme",
    "change_me",
    "changeit",
    "example",
    "sample",
    "demo",
    "app",
    "api",
    "server",
    "backend",
    "service",
    "web",
    "my",
    "super",
    "top",
    "private",
    "signing",
    "sign",
    "hmac",
    "hs256",
    "access",
    "refresh",
    "session",
    "cookie",
    "user",
    "login",
    "random",
    "qwerty",
    "letmein",
    "welcome",
    "hello",
    "shhh",
    "hidden",
    "flask",
    "django",
    "express",
    "node",
    "spring",
    "rails",
    "laravel",
    "nest",
    "fastapi",
    "golang",
    "rust",
    "java",
    "python",
    "node_js",
    "master",
    "company",
    "project",
    "application",
    "mysecret",
    "supersecret",
    "topsecret",
    "jwtsecret",
    "secretkey",
    "apikey",
    "authkey",
    "tokensecret",
    "your",
    "yoursecret",
];

/// Endings added to a word.
const SUFFIXES: &[&str] = &[
    "", "1", "12", "123", "1234", "12345", "123456", "!", "!!", "@123", "2020", "2021", "2022",
    "2023", "2024", "2025", "2026", "_key", "-key", "key", "_secret", "-secret", "secret", "_jwt",
    "_token", "_dev", "_prod", "_test",
];

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// Every candidate secret, the hand-written ones first, without repeats.
pub fn candidates() -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |s: String| {
        if !s.is_empty() && seen.insert(s.clone()) {
            out.push(s);
        }
    };
    for line in WRITTEN.lines() {
        add(line.to_owned());
    }
    for word in WORDS {
        for suffix in SUFFIXES {
            let plain = format!("{word}{suffix}");
            add(capitalized(&plain));
            add(plain.to_ascii_uppercase());
            add(plain);
        }
    }
    for (a, b) in [
        ("my", "secret"),
        ("my", "key"),
        ("your", "secret"),
        ("super", "secret"),
        ("top", "secret"),
        ("jwt", "secret"),
        ("jwt", "key"),
        ("secret", "key"),
        ("app", "secret"),
        ("api", "secret"),
        ("api", "key"),
        ("auth", "secret"),
        ("token", "secret"),
        ("signing", "key"),
        ("private", "key"),
        ("hmac", "secret"),
    ] {
        for sep in ["", "-", "_", ".", " "] {
            let joined = format!("{a}{sep}{b}");
            add(joined.to_ascii_uppercase());
            add(capitalized(&joined));
            add(format!("{}{sep}{}", capitalized(a), capitalized(b)));
            for suffix in ["", "123", "!", "2024", "2025"] {
                add(format!("{joined}{suffix}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_thousand_distinct_secrets() {
        let all = candidates();
        assert!(all.len() >= 3000, "{}", all.len());
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
        for s in [
            "random",
            "secret123",
            "Changeme!",
            "JWT_SECRET",
            "my-secret-key",
            "Flask2024",
        ] {
            assert!(all.iter().any(|x| x == s), "{s}");
        }
        assert_eq!(all.first().map(String::as_str), WRITTEN.lines().next());
    }
}
