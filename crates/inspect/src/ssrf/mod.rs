//! Server-side request forgery: does a URL-valued field point at this host, its network or a
//! cloud metadata service? Judged on the URL's literal form only (no DNS), in every spelling a
//! URL parser or an HTTP client accepts: numeric IPv4 forms (`2130706433`, `0x7f.1`, `127.1`),
//! IPv6 with embedded IPv4 (`[::ffff:127.0.0.1]`), trailing dots, percent-encoded and fullwidth
//! hosts, userinfo (`http://good@127.0.0.1`) and backslashes read either way. Only `http` and
//! `https` are accepted.

mod ip;

use std::net::Ipv6Addr;

/// Why a URL-valued field is refused (loopback, private, link-local, metadata, scheme...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What the URL points at, in a few words (`loopback address`, `scheme not allowed`, ...).
    pub reason: &'static str,
}

impl Refusal {
    fn new(reason: &'static str) -> Option<Refusal> {
        Some(Refusal { reason })
    }
}

/// Bytes of a URL that are read (longer values are refused as malformed).
const MAX_URL: usize = 8 * 1024;

/// Host names that are, or resolve by design to, internal services.
const INTERNAL_NAMES: &[(&str, &str)] = &[
    ("metadata.google.internal", "cloud metadata address"),
    ("metadata.goog", "cloud metadata address"),
    ("metadata", "cloud metadata address"),
    ("metadata.azure.internal", "cloud metadata address"),
    ("instance-data", "cloud metadata address"),
    ("instance-data.ec2.internal", "cloud metadata address"),
    ("metadata.tencentyun.com", "cloud metadata address"),
    ("localhost", "loopback address"),
    ("localtest.me", "loopback address"),
    ("lvh.me", "loopback address"),
    ("vcap.me", "loopback address"),
    ("lacolhost.com", "loopback address"),
    ("localhost.localdomain", "loopback address"),
    ("ip6-localhost", "loopback address"),
    ("ip6-loopback", "loopback address"),
];

/// Suffixes of names that live inside a network or resolve to loopback.
const INTERNAL_SUFFIXES: &[(&str, &str)] = &[
    (".localhost", "loopback address"),
    (".localtest.me", "loopback address"),
    (".lvh.me", "loopback address"),
    (".vcap.me", "loopback address"),
    (".internal", "internal name"),
    (".local", "internal name"),
    (".localdomain", "internal name"),
    (".home.arpa", "internal name"),
    (".intranet", "internal name"),
    (".lan", "internal name"),
    (".corp", "internal name"),
    (".svc", "internal name"),
    (".cluster.local", "internal name"),
];

/// Wildcard DNS services that answer with the address written in the name.
const ECHO_DOMAINS: &[&str] = &[
    ".nip.io",
    ".sslip.io",
    ".xip.io",
    ".traefik.me",
    ".local.gd",
];

/// Refuses a URL whose scheme is not http/https or whose host is internal (see the module
/// documentation). A relative reference (`/path`, `?query`) has no host and passes; a value
/// without a scheme (`example.com/x`, `10.0.0.1:8080`) is read as a host. `allow_hosts`: hosts always accepted (exact, case-insensitive;
/// `"*.example.com"` matches any name under example.com).
pub fn check_url(value: &str, allow_hosts: &[String]) -> Option<Refusal> {
    if value.len() > MAX_URL {
        return Refusal::new("malformed URL");
    }
    // WHATWG drops tabs and newlines anywhere and blanks at the ends.
    let cleaned: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    // A relative reference (`/callback`, `?next=1`, `page.html`) names no host: the server
    // resolves it against its own base, so it cannot reach another host.
    let relative = cleaned.is_empty()
        || (cleaned.starts_with('/') && !cleaned.starts_with("//") && !cleaned.starts_with("/\\"))
        || cleaned.starts_with('?')
        || cleaned.starts_with('#');
    if relative {
        return None;
    }
    let (scheme, rest) = split_scheme(&cleaned);
    match scheme.as_deref() {
        Some("http" | "https") | None => {}
        Some(_) => return Refusal::new("scheme not allowed"),
    }
    // Both readings of a backslash: WHATWG's (a `/`) and that of clients that keep it.
    let slashed = rest.replace('\\', "/");
    let mut verdict = None;
    for reading in [slashed.as_str(), rest] {
        for (n, host) in candidate_hosts(reading).into_iter().enumerate() {
            if allowed(&host, allow_hosts) {
                continue;
            }
            // Parts before the last `@` are userinfo to WHATWG: judged only when they spell an
            // address or a known internal name, not for being a single word like `user`.
            let reason = if n == 0 {
                classify_host(&host)
            } else {
                classify_userinfo(&host)
            };
            if let Some(reason) = reason {
                return Refusal::new(reason);
            }
            if host.is_empty() && verdict.is_none() {
                verdict = Refusal::new("malformed URL");
            }
        }
    }
    verdict
}

/// The scheme (lowercase) and what follows `scheme:`; a value without one (`//host/x`,
/// `host:8080/x`, `10.0.0.1`) is read as a scheme-relative http URL.
fn split_scheme(value: &str) -> (Option<String>, &str) {
    if let Some(rest) = value
        .strip_prefix("//")
        .or_else(|| value.strip_prefix("\\\\"))
    {
        return (None, rest);
    }
    if let Some(colon) = value.find(':') {
        let name = value.get(..colon).unwrap_or_default();
        let is_scheme = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        let rest = value.get(colon + 1..).unwrap_or_default();
        let port_like = rest.bytes().next().is_some_and(|b| b.is_ascii_digit());
        if is_scheme && (!port_like || rest.starts_with("//")) {
            let rest = rest.trim_start_matches(['/', '\\']);
            return (Some(name.to_ascii_lowercase()), rest);
        }
    }
    (None, value)
}

/// Every host a client may connect to for `rest` (after `scheme://`): the authority's host by
/// the last `@` (WHATWG) and by each other `@`-separated part (clients that split at the first).
fn candidate_hosts(rest: &str) -> Vec<String> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or_default();
    let mut hosts: Vec<String> = Vec::new();
    for part in authority.split('@').rev() {
        let host = normalize_host(strip_port(part));
        if !hosts.contains(&host) {
            hosts.push(host);
        }
        if hosts.len() >= 8 {
            break;
        }
    }
    hosts
}

/// `host:port` to `host` (`[v6]:port` to `[v6]`); a `user:password` part gives `user`.
fn strip_port(part: &str) -> &str {
    if part.starts_with('[') {
        return part.find(']').and_then(|i| part.get(..=i)).unwrap_or(part);
    }
    part.split(':').next().unwrap_or(part)
}

/// Percent-decoded, fullwidth forms folded to ASCII, lowercase, trailing dots dropped.
fn normalize_host(host: &str) -> String {
    let decoded = crate::decode::percent(host.as_bytes());
    let text = String::from_utf8_lossy(&decoded);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{3002}' | '\u{ff0e}' | '\u{ff61}' => '.',
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xff01 + 0x21).unwrap_or(c),
            // Enclosed alphanumerics, which IDNA maps to digits and letters.
            '\u{2460}'..='\u{2468}' => char::from_u32(c as u32 - 0x2460 + 0x31).unwrap_or(c),
            '\u{24ea}' => '0',
            '\u{24d0}'..='\u{24e9}' => char::from_u32(c as u32 - 0x24d0 + 0x61).unwrap_or(c),
            '\u{24b6}'..='\u{24cf}' => char::from_u32(c as u32 - 0x24b6 + 0x61).unwrap_or(c),
            _ => c,
        };
        out.extend(c.to_lowercase());
    }
    let trimmed = out.trim_end_matches('.');
    trimmed.to_owned()
}

/// Why a userinfo part that a client might take for the host is internal.
fn classify_userinfo(host: &str) -> Option<&'static str> {
    let numeric =
        host.starts_with('[') || host.parse::<Ipv6Addr>().is_ok() || ip::parse_v4(host).is_some();
    let named = INTERNAL_NAMES
        .iter()
        .any(|(n, _)| *n == host && *n != "metadata")
        || (host.contains('.') && INTERNAL_SUFFIXES.iter().any(|(s, _)| host.ends_with(s)));
    if numeric || named {
        classify_host(host)
    } else {
        None
    }
}

/// Why a normalized host is internal.
fn classify_host(host: &str) -> Option<&'static str> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.trim_end_matches(']');
        let addr = inner.split('%').next().unwrap_or(inner);
        return match addr.parse::<Ipv6Addr>() {
            Ok(ip) => ip::classify_v6(ip),
            Err(_) => Some("malformed URL"),
        };
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        return ip::classify_v6(ip);
    }
    if let Some(ip) = ip::parse_v4(host) {
        return ip::classify_v4(ip);
    }
    if let Some((_, reason)) = INTERNAL_NAMES.iter().find(|(n, _)| *n == host) {
        return Some(reason);
    }
    if let Some((_, reason)) = INTERNAL_SUFFIXES.iter().find(|(s, _)| host.ends_with(s)) {
        return Some(reason);
    }
    if let Some(domain) = ECHO_DOMAINS.iter().find(|d| host.ends_with(*d)) {
        let name = host.get(..host.len() - domain.len()).unwrap_or_default();
        return echo_address(name);
    }
    if !host.is_empty() && !host.contains('.') {
        return Some("internal name");
    }
    // A name whose last label is all digits is an invalid IPv4 literal to WHATWG.
    let last = host.rsplit('.').next().unwrap_or_default();
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return Some("malformed URL");
    }
    None
}

/// The address a wildcard DNS name spells (`10.0.0.1.nip.io`, `app-127-0-0-1.sslip.io`).
fn echo_address(name: &str) -> Option<&'static str> {
    let dotted: Vec<&str> = name.rsplit(['.', '-']).take(4).collect();
    if dotted.len() == 4 {
        let spelled: Vec<&str> = dotted.into_iter().rev().collect();
        if let Some(ip) = ip::parse_v4(&spelled.join(".")) {
            return ip::classify_v4(ip);
        }
    }
    let last = name.rsplit(['.', '-']).next().unwrap_or_default();
    if let Ok(ip) = u32::from_str_radix(last, 16)
        && last.len() == 8
    {
        return ip::classify_v4(ip.into());
    }
    None
}

/// Whether `host` is on the allowlist (exact, or `*.suffix`).
fn allowed(host: &str, allow_hosts: &[String]) -> bool {
    allow_hosts.iter().any(|a| {
        let a = a.trim_end_matches('.');
        match a.strip_prefix("*.") {
            Some(suffix) => {
                host.len() > suffix.len() + 1
                    && host
                        .get(host.len() - suffix.len()..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
                    && host.as_bytes().get(host.len() - suffix.len() - 1) == Some(&b'.')
            }
            None => host.eq_ignore_ascii_case(a),
        }
    })
}

/// A field name that usually holds a URL (url, uri, href, link, webhook, callback, redirect,
/// endpoint..., in any case and with `_`/`-` separators).
pub fn is_url_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let n = n
        .strip_suffix('s')
        .filter(|s| {
            s.ends_with("url")
                || s.ends_with("uri")
                || s.ends_with("link")
                || s.ends_with("href")
                || s.ends_with("endpoint")
        })
        .unwrap_or(&n);
    [
        "url", "uri", "href", "link", "endpoint", "webhook", "callback", "redirect", "returnto",
    ]
    .iter()
    .any(|s| n.ends_with(s))
        || ["webhook", "callback", "redirect"]
            .iter()
            .any(|s| n.contains(s))
}

#[cfg(test)]
mod tests;
