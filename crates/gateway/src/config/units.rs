//! Human units in the configuration: sizes (`1MiB`, `16KiB`, `512`) and durations (`30s`,
//! `500ms`, `1m`, `1h`, `1d`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A size in bytes, written as a number or with a unit: `B`, `KB`/`MB`/`GB` (powers of 1000),
/// `KiB`/`MiB`/`GiB` (powers of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// The longest duration a configuration may give (100 years): longer ones overflow the clock
/// arithmetic of timers and deadlines, and mean "never" anyway.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A duration written with a unit: `ms`, `s`, `m`, `h`, `d` (`30s`, `1m`, `500ms`), at most
/// [`MAX_DURATION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

/// Splits `"16KiB"` into `(16, "KiB")`.
fn split_number(text: &str) -> Option<(u64, &str)> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = (text.get(..digits)?, text.get(digits..)?);
    Some((number.parse().ok()?, unit.trim()))
}

impl ByteSize {
    /// Parses a size; `None` when the text is not one.
    pub fn parse(text: &str) -> Option<ByteSize> {
        let (n, unit) = split_number(text)?;
        let factor: u64 = match unit {
            "" | "B" => 1,
            "KB" | "kB" => 1000,
            "MB" => 1000 * 1000,
            "GB" => 1000 * 1000 * 1000,
            "KiB" => 1024,
            "MiB" => 1024 * 1024,
            "GiB" => 1024 * 1024 * 1024,
            _ => return None,
        };
        n.checked_mul(factor).map(ByteSize)
    }

    /// The size as `usize`, saturating.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl Dur {
    /// Parses a duration; `None` when the text is not one (a bare number is refused: the unit
    /// is what makes `30` unambiguous).
    pub fn parse(text: &str) -> Option<Dur> {
        let (n, unit) = split_number(text)?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            "d" => Duration::from_secs(n.checked_mul(86_400)?),
            _ => return None,
        };
        Some(Dur(d))
    }

    /// Whole seconds, at least 1.
    pub fn secs_at_least_one(self) -> u64 {
        self.0.as_secs().max(1)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = match &v {
            serde_json::Value::Number(n) => n.as_u64().map(ByteSize),
            serde_json::Value::String(s) => ByteSize::parse(s),
            _ => None,
        };
        parsed.ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{v} is not a size (write e.g. 1048576, 512KiB, 1MiB, 2MB)"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let parsed = v.as_str().and_then(Dur::parse).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{v} is not a duration (write e.g. 500ms, 30s, 1m, 1h, 1d)"
            ))
        })?;
        if parsed.0 > MAX_DURATION {
            return Err(serde::de::Error::custom(format!(
                "{v} is longer than the longest duration accepted ({}d)",
                MAX_DURATION.as_secs() / 86_400
            )));
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("1MiB"), Some(ByteSize(1 << 20)));
        assert_eq!(ByteSize::parse("16KiB"), Some(ByteSize(16 * 1024)));
        assert_eq!(ByteSize::parse("2MB"), Some(ByteSize(2_000_000)));
        assert_eq!(ByteSize::parse("512"), Some(ByteSize(512)));
        assert_eq!(ByteSize::parse("1 MiB"), Some(ByteSize(1 << 20)));
        assert_eq!(ByteSize::parse("1TiB"), None);
        assert_eq!(ByteSize::parse("MiB"), None);
        assert_eq!(ByteSize::parse("99999999999999999999GiB"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(Dur::parse("30s"), Some(Dur(Duration::from_secs(30))));
        assert_eq!(Dur::parse("500ms"), Some(Dur(Duration::from_millis(500))));
        assert_eq!(Dur::parse("1m"), Some(Dur(Duration::from_secs(60))));
        assert_eq!(Dur::parse("1d"), Some(Dur(Duration::from_secs(86_400))));
        assert_eq!(Dur::parse("30"), None);
        assert_eq!(Dur::parse("1w"), None);
        assert_eq!(Dur(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Dur(Duration::from_secs(60)).to_string(), "60s");
    }

    /// A duration past the clock's range was accepted and panicked at the first request that
    /// armed a timer with it; now it is refused with the bound.
    #[test]
    fn absurd_durations_are_refused_with_the_bound() {
        let de = |text: &str| serde_json::from_value::<Dur>(serde_json::json!(text));
        let e = de("10000000000000000000s").unwrap_err().to_string();
        assert!(e.contains("longest duration accepted (36500d)"), "{e}");
        assert!(de("36500d").is_ok());
        assert!(de("36501d").is_err());
    }
}
