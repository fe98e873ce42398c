//! What a path segment looks like: an identifier of a recognizable kind (integer, UUID, hex
//! or hash, email, date) becomes a parameter at once; anything else is a literal until its
//! position is seen to vary ([`crate::template`]).

/// The kind of an identifier-like path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Decimal digits (`42`).
    Integer,
    /// A UUID (`3fa85f64-5717-4562-b3fc-2c963f66afa6`).
    Uuid,
    /// Hexadecimal of 8 digits or more with at least one digit (`5f2b1c9e`, hashes, object ids).
    Hex,
    /// An email address.
    Email,
    /// A date or date-time (`2026-12-07`, `2026-12-07T01:00:00Z`).
    Date,
    /// A value whose position was seen to vary (slugs, usernames, opaque ids).
    Name,
}

impl Kind {
    /// The parameter name given in learned templates.
    pub fn param_name(self) -> &'static str {
        match self {
            Kind::Integer => "id",
            Kind::Uuid => "uuid",
            Kind::Hex => "hash",
            Kind::Email => "email",
            Kind::Date => "date",
            Kind::Name => "name",
        }
    }

    /// The JSON schema of such a parameter.
    pub fn schema(self) -> serde_json::Value {
        match self {
            Kind::Integer => serde_json::json!({"type": "integer"}),
            Kind::Uuid => serde_json::json!({"type": "string", "format": "uuid"}),
            Kind::Hex => serde_json::json!({"type": "string", "pattern": "^[0-9a-fA-F]+$"}),
            Kind::Email => serde_json::json!({"type": "string", "format": "email"}),
            Kind::Date => serde_json::json!({"type": "string", "format": "date"}),
            Kind::Name => serde_json::json!({"type": "string"}),
        }
    }
}

/// The kind of `segment` when it is an identifier of a recognizable shape.
pub fn classify(segment: &str) -> Option<Kind> {
    let b = segment.as_bytes();
    if b.is_empty() {
        return None;
    }
    if b.iter().all(u8::is_ascii_digit) {
        return Some(Kind::Integer);
    }
    if is_uuid(b) {
        return Some(Kind::Uuid);
    }
    if b.len() >= 8 && b.iter().all(u8::is_ascii_hexdigit) && b.iter().any(u8::is_ascii_digit) {
        // Hexadecimal with letters and digits: hashes, object ids. Words made of a-f only
        // (`facade`, `decade`) have no digit.
        return Some(Kind::Hex);
    }
    if is_email(segment) {
        return Some(Kind::Email);
    }
    if is_date(b) {
        return Some(Kind::Date);
    }
    None
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
}

/// `YYYY-MM-DD`, optionally followed by `T` and a time.
fn is_date(b: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| {
        b.get(r)
            .is_some_and(|s| !s.is_empty() && s.iter().all(u8::is_ascii_digit))
    };
    let dash = |i: usize| b.get(i) == Some(&b'-');
    let date = digits(0..4) && dash(4) && digits(5..7) && dash(7) && digits(8..10);
    date && (b.len() == 10 || matches!(b.get(10), Some(b'T' | b't' | b' ')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(classify("42"), Some(Kind::Integer));
        assert_eq!(
            classify("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
            Some(Kind::Uuid)
        );
        assert_eq!(classify("5f2b1c9e0a"), Some(Kind::Hex));
        assert_eq!(
            classify("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            Some(Kind::Hex)
        );
        assert_eq!(classify("alice@example.com"), Some(Kind::Email));
        assert_eq!(classify("2026-12-07"), Some(Kind::Date));
        assert_eq!(classify("2026-12-07T01:00:00Z"), Some(Kind::Date));
        for literal in ["users", "v1", "facade", "me", "oauth2", "", "a@b", "2026-1"] {
            assert_eq!(classify(literal), None, "{literal}");
        }
    }
}
