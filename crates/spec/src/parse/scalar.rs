//! YAML 1.2 core schema: what a scalar's text means.
//!
//! Plain scalars resolve to null, booleans, integers (decimal, `0o` octal, `0x` hexadecimal)
//! or floats; anything else, and every quoted or block scalar, is a string. Numbers that cannot
//! be a JSON number (`.inf`, `.nan`, overflowing floats) keep their text as a string; integers
//! beyond 64 bits become floats when finite. Core tags (`!!str`, `!!int`, `!!float`, `!!bool`,
//! `!!null`) force a type; other tags are ignored.

use serde_json::{Number, Value};

/// The core-schema tag on a scalar, if it is one of those that change its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreTag {
    /// `!!str`, or the non-specific `!`: always a string.
    Str,
    /// `!!int`: must be an integer.
    Int,
    /// `!!float`: must be a number (an integer is read as a float).
    Float,
    /// `!!bool`: must be `true` or `false` in one of the core spellings.
    Bool,
    /// `!!null`: must be one of the core null spellings.
    Null,
}

impl CoreTag {
    /// The tag for a resolved handle and suffix as the YAML parser reports them
    /// (`tag:yaml.org,2002:` + `int`, or the non-specific `!`, which comes as `` + `!`);
    /// `None` for tags that leave the scalar's resolution alone.
    pub fn from_parts(handle: &str, suffix: &str) -> Option<CoreTag> {
        if handle.is_empty() && suffix == "!" {
            return Some(CoreTag::Str);
        }
        if handle != "tag:yaml.org,2002:" {
            return None;
        }
        match suffix {
            "str" => Some(CoreTag::Str),
            "int" => Some(CoreTag::Int),
            "float" => Some(CoreTag::Float),
            "bool" => Some(CoreTag::Bool),
            "null" => Some(CoreTag::Null),
            _ => None,
        }
    }

    /// The tag as written in short form, for messages.
    pub fn name(self) -> &'static str {
        match self {
            CoreTag::Str => "!!str",
            CoreTag::Int => "!!int",
            CoreTag::Float => "!!float",
            CoreTag::Bool => "!!bool",
            CoreTag::Null => "!!null",
        }
    }
}

/// The value of an untagged plain scalar under the core schema.
pub fn plain(text: &str) -> Value {
    let Some(&first) = text.as_bytes().first() else {
        return Value::Null;
    };
    match first {
        b'~' | b'n' | b'N' => null(text).unwrap_or_else(|| Value::String(text.to_owned())),
        b't' | b'T' | b'f' | b'F' => {
            boolean(text).map_or_else(|| Value::String(text.to_owned()), Value::Bool)
        }
        b'0'..=b'9' | b'-' | b'+' | b'.' => {
            number(text).unwrap_or_else(|| Value::String(text.to_owned()))
        }
        _ => Value::String(text.to_owned()),
    }
}

/// The value of a scalar carrying a core tag, or why the text does not fit the tag.
pub fn tagged(text: &str, tag: CoreTag) -> Result<Value, String> {
    let value = match tag {
        CoreTag::Str => Some(Value::String(text.to_owned())),
        CoreTag::Null => null(text),
        CoreTag::Bool => boolean(text).map(Value::Bool),
        CoreTag::Int => integer(text).and_then(|n| match n {
            Value::Number(ref x) if !x.is_f64() => Some(n),
            _ => None,
        }),
        CoreTag::Float => match number(text) {
            Some(Value::Number(n)) => n.as_f64().and_then(Number::from_f64).map(Value::Number),
            Some(other) => Some(other),
            None => None,
        },
    };
    value.ok_or_else(|| format!("{text:?} is not a valid {} value", tag.name()))
}

/// `~`, `null`, `Null`, `NULL` or the empty string.
fn null(text: &str) -> Option<Value> {
    matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null)
}

/// `true`, `True`, `TRUE`, `false`, `False`, `FALSE`.
fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A core-schema integer or float; `.inf` and `.nan` and floats out of range keep their text.
fn number(text: &str) -> Option<Value> {
    if let Some(n) = integer(text) {
        return Some(n);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || (unsigned.len() == text.len() && matches!(text, ".nan" | ".NaN" | ".NAN"))
    {
        return Some(Value::String(text.to_owned()));
    }
    if !is_float(unsigned) {
        return None;
    }
    let parsed: f64 = text.strip_prefix('+').unwrap_or(text).parse().ok()?;
    Some(Number::from_f64(parsed).map_or_else(|| Value::String(text.to_owned()), Value::Number))
}

/// A core-schema integer: `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`. Decimal integers
/// beyond 64 bits become floats when finite, strings otherwise; octal and hexadecimal ones
/// beyond 64 bits stay strings.
fn integer(text: &str) -> Option<Value> {
    if let Some(digits) = text.strip_prefix("0x") {
        return radix(text, digits, 16);
    }
    if let Some(digits) = text.strip_prefix("0o") {
        return radix(text, digits, 8);
    }
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = if negative {
        text.parse::<i64>().ok().map(Number::from)
    } else {
        digits.parse::<u64>().ok().map(Number::from)
    };
    if let Some(n) = number {
        return Some(Value::Number(n));
    }
    let float: f64 = text.strip_prefix('+').unwrap_or(text).parse().ok()?;
    Some(Number::from_f64(float).map_or_else(|| Value::String(text.to_owned()), Value::Number))
}

/// An octal or hexadecimal integer; too large ones keep their text.
fn radix(text: &str, digits: &str, radix: u32) -> Option<Value> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(u64::from_str_radix(digits, radix).map_or_else(
        |_| Value::String(text.to_owned()),
        |n| Value::Number(n.into()),
    ))
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (the sign already removed).
fn is_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let whole = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        let fraction = digits(&mut i);
        if whole == 0 && fraction == 0 {
            return false;
        }
    } else if whole == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_booleans() {
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(plain(t), Value::Null, "{t:?}");
        }
        for t in ["true", "True", "TRUE"] {
            assert_eq!(plain(t), json!(true));
        }
        for t in ["false", "False", "FALSE"] {
            assert_eq!(plain(t), json!(false));
        }
        for t in ["nULL", "yes", "no", "on", "off", "y", "tRUE", "nul", "~~"] {
            assert_eq!(plain(t), json!(t), "{t:?} is a string in YAML 1.2");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(plain("0"), json!(0));
        assert_eq!(plain("200"), json!(200));
        assert_eq!(plain("+12"), json!(12));
        assert_eq!(plain("-12"), json!(-12));
        assert_eq!(plain("012"), json!(12));
        assert_eq!(plain("0x1F"), json!(31));
        assert_eq!(plain("0o17"), json!(15));
        assert_eq!(plain("18446744073709551615"), json!(u64::MAX));
        assert_eq!(plain("-9223372036854775808"), json!(i64::MIN));
        assert_eq!(
            plain("18446744073709551616"),
            json!(18446744073709551616.0_f64)
        );
        assert_eq!(
            plain("-9223372036854775809"),
            json!(-9223372036854775809.0_f64)
        );
        let huge = "9".repeat(400);
        assert_eq!(plain(&huge), json!(huge), "an infinite float stays text");
        assert_eq!(plain("0x1FFFFFFFFFFFFFFFF"), json!("0x1FFFFFFFFFFFFFFFF"));
        for t in [
            "0x", "0o8", "0xG", "1_000", "12a", "-", "+", "0b101", "1,000",
        ] {
            assert_eq!(plain(t), json!(t), "{t:?}");
        }
    }

    #[test]
    fn floats() {
        assert_eq!(plain("1.5"), json!(1.5));
        assert_eq!(plain("-1.5"), json!(-1.5));
        assert_eq!(plain("+.5"), json!(0.5));
        assert_eq!(plain("1."), json!(1.0));
        assert_eq!(plain("1e3"), json!(1000.0));
        assert_eq!(plain("2.5E-3"), json!(0.0025));
        assert_eq!(plain("3.0"), json!(3.0));
        for t in [
            ".inf", "-.inf", "+.Inf", ".INF", ".nan", ".NaN", ".NAN", "1e400",
        ] {
            assert_eq!(plain(t), json!(t), "{t:?} keeps its text");
        }
        for t in [
            ".", "1.2.3", "e3", "1e", "1e+", "3.0.0", "-.nan", ".5.", "1.5x",
        ] {
            assert_eq!(plain(t), json!(t), "{t:?}");
        }
    }

    #[test]
    fn strings() {
        for t in [
            "hello",
            "application/json",
            "#/x",
            "2020-01-01",
            "@x",
            "v1.0",
        ] {
            assert_eq!(plain(t), json!(t));
        }
    }

    #[test]
    fn core_tags_force_types() {
        assert_eq!(tagged("12", CoreTag::Str), Ok(json!("12")));
        assert_eq!(tagged("true", CoreTag::Str), Ok(json!("true")));
        assert_eq!(tagged("12", CoreTag::Int), Ok(json!(12)));
        assert_eq!(tagged("0x10", CoreTag::Int), Ok(json!(16)));
        assert_eq!(tagged("12", CoreTag::Float), Ok(json!(12.0)));
        assert_eq!(tagged("1.5", CoreTag::Float), Ok(json!(1.5)));
        assert_eq!(tagged(".inf", CoreTag::Float), Ok(json!(".inf")));
        assert_eq!(tagged("True", CoreTag::Bool), Ok(json!(true)));
        assert_eq!(tagged("~", CoreTag::Null), Ok(Value::Null));
        assert!(tagged("1.5", CoreTag::Int).is_err());
        assert!(tagged("abc", CoreTag::Float).is_err());
        assert!(tagged("yes", CoreTag::Bool).is_err());
        let err = tagged("x", CoreTag::Null).err().unwrap_or_default();
        assert!(err.contains("!!null") && err.contains("\"x\""), "{err}");
    }

    #[test]
    fn tag_names_resolve() {
        let core = "tag:yaml.org,2002:";
        assert_eq!(CoreTag::from_parts(core, "str"), Some(CoreTag::Str));
        assert_eq!(CoreTag::from_parts(core, "int"), Some(CoreTag::Int));
        assert_eq!(CoreTag::from_parts(core, "binary"), None);
        assert_eq!(CoreTag::from_parts("", "!"), Some(CoreTag::Str));
        assert_eq!(CoreTag::from_parts("!", "custom"), None);
    }
}
