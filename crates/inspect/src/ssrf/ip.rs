//! Host literals the way URL parsers read them (WHATWG's IPv4 parser: one to four parts, each
//! decimal, `0x` hex or `0` octal, the last filling the remaining bytes; IPv6 with embedded
//! IPv4) and what an address is (loopback, private, metadata...).

use std::net::{Ipv4Addr, Ipv6Addr};

/// The IPv4 address a host spells (`127.0.0.1`, `2130706433`, `0x7f.1`, `017700000001`,
/// `127.1`), or `None` when it is not an IPv4 literal.
pub(super) fn parse_v4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(4);
    for part in &parts {
        numbers.push(number(part)?);
    }
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) {
        return None;
    }
    let remaining = 4 - init.len();
    let limit = 1u64 << (8 * remaining as u64);
    if *last >= limit {
        return None;
    }
    let mut value: u64 = 0;
    for (i, &n) in init.iter().enumerate() {
        value |= n << (8 * (3 - i as u64));
    }
    value |= last;
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// One part: decimal, `0x` hex, or octal with a leading `0` (bounded length).
fn number(part: &str) -> Option<u64> {
    if part.is_empty() || part.len() > 40 {
        return None;
    }
    let (digits, radix) =
        if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (h, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (part.get(1..)?, 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 16 {
        return Some(u64::MAX);
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Why an IPv4 address must not be fetched, or `None` for a public one.
pub(super) fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    if matches!(
        (a, b, c, d),
        (169, 254, 169, 254)
            | (169, 254, 170, 2)
            | (100, 100, 100, 200)
            | (192, 0, 0, 192)
            | (168, 63, 129, 16)
    ) {
        return Some("cloud metadata address");
    }
    match (a, b) {
        (0, _) => Some("unspecified address"),
        (127, _) => Some("loopback address"),
        (10, _) | (192, 168) => Some("private address"),
        (172, 16..=31) => Some("private address"),
        (169, 254) => Some("link-local address"),
        (100, 64..=127) => Some("shared (CGNAT) address"),
        (192, 0) if c == 0 || c == 2 => Some("reserved address"),
        (198, 18..=19) => Some("reserved address"),
        (198, 51) if c == 100 => Some("reserved address"),
        (203, 0) if c == 113 => Some("reserved address"),
        (224..=239, _) => Some("multicast address"),
        (240..=255, _) => Some("reserved address"),
        _ => None,
    }
}

/// Why an IPv6 address must not be fetched (embedded IPv4 addresses judged as IPv4).
pub(super) fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let [s0, s1, s2, s3, s4, s5, s6, s7] = s;
    if s == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
        return Some("cloud metadata address");
    }
    if ip.is_loopback() {
        return Some("loopback address");
    }
    if ip.is_unspecified() {
        return Some("unspecified address");
    }
    let embedded = Ipv4Addr::new((s6 >> 8) as u8, s6 as u8, (s7 >> 8) as u8, s7 as u8);
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), SIIT (::ffff:0:a.b.c.d).
    let prefix_zero = s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0;
    if prefix_zero && ((s4 == 0 && (s5 == 0xffff || s5 == 0)) || (s4 == 0xffff && s5 == 0)) {
        return classify_v4(embedded).or(Some("IPv4-compatible address"));
    }
    // NAT64 (64:ff9b::/96 and 64:ff9b:1::/48).
    if s0 == 0x64 && s1 == 0xff9b {
        return classify_v4(embedded);
    }
    // 6to4 (2002:AABB:CCDD::/48).
    if s0 == 0x2002 {
        let v4 = Ipv4Addr::new((s1 >> 8) as u8, s1 as u8, (s2 >> 8) as u8, s2 as u8);
        return classify_v4(v4);
    }
    match s0 & 0xffc0 {
        0xfe80 => return Some("link-local address"),
        0xfec0 => return Some("private address"),
        _ => {}
    }
    if s0 & 0xfe00 == 0xfc00 {
        return Some("private address");
    }
    if s0 & 0xff00 == 0xff00 {
        return Some("multicast address");
    }
    if s0 == 0x2001 && s1 == 0xdb8 {
        return Some("reserved address");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatwg_ipv4_spellings() {
        let lo = Some(Ipv4Addr::new(127, 0, 0, 1));
        for s in [
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "017700000001",
            "127.1",
            "0x7f000001",
            "0177.0.0.01",
            "127.0.1",
            "0x7F.0.0.0x1",
        ] {
            assert_eq!(parse_v4(s), lo, "{s}");
        }
        assert_eq!(parse_v4("0"), Some(Ipv4Addr::new(0, 0, 0, 0)));
        for s in [
            "example.com",
            "256.1.1.1",
            "1.2.3.4.5",
            "",
            "4294967296",
            "1.2.3.x",
        ] {
            assert_eq!(parse_v4(s), None, "{s}");
        }
    }

    #[test]
    fn classes() {
        assert_eq!(classify_v4(Ipv4Addr::new(8, 8, 8, 8)), None);
        assert_eq!(classify_v4(Ipv4Addr::new(172, 32, 0, 1)), None);
        assert!(classify_v4(Ipv4Addr::new(172, 31, 0, 1)).is_some());
        assert!(classify_v4(Ipv4Addr::new(100, 64, 0, 1)).is_some());
        assert_eq!(classify_v6("2606:4700::1111".parse().unwrap()), None);
        for s in [
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
        ] {
            assert!(classify_v6(s.parse().unwrap()).is_some(), "{s}");
        }
    }
}
