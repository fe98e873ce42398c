//! A strict JSON body reader: standard JSON (serde_json) plus a nesting limit and refusal of
//! duplicate object keys, which parsers disagree on (first wins, last wins) and attackers use
//! to slip a value past a check.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};
use smallvec::SmallVec;

/// Parses `bytes` as one JSON value nested at most `max_depth` deep, refusing duplicate keys.
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed {
        depth: 0,
        max_depth,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Seed {
    depth: usize,
    max_depth: usize,
}

impl Seed {
    fn deeper<E: serde::de::Error>(self) -> Result<Seed, E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(format!(
                "the JSON is nested deeper than the limit of {}",
                self.max_depth
            )));
        }
        Ok(Seed {
            depth: self.depth + 1,
            max_depth: self.max_depth,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut gathered: SmallVec<[(String, Value); GATHERED_KEYS]> = SmallVec::new();
        while let Some(key) = access.next_key::<String>()? {
            if gathered.len() == GATHERED_KEYS {
                let mut map = Map::with_capacity(2 * GATHERED_KEYS);
                map.extend(gathered.drain(..));
                return hashed(map, key, access, inner).map(Value::Object);
            }
            if gathered.iter().any(|(taken, _)| *taken == key) {
                return Err(duplicate(&key));
            }
            let value = access.next_value_seed(inner)?;
            gathered.push((key, value));
        }
        // Drained, not moved: the gathered entries sit in a kilobyte of stack.
        let mut map = Map::with_capacity(gathered.len());
        map.extend(gathered.drain(..));
        Ok(Value::Object(map))
    }
}

/// Objects with up to this many keys are gathered before their map is built: a duplicate is
/// found by comparing keys, and the map is made at its final size (no regrowth or rehash, about
/// a sixth of a small body's parse before). Larger objects go on in a map.
const GATHERED_KEYS: usize = 8;

/// Reads the rest of a large object, from `key` on, into `map` (one lookup per key: the slot
/// found free is the one filled).
fn hashed<'de, A: MapAccess<'de>>(
    mut map: Map<String, Value>,
    mut key: String,
    mut access: A,
    inner: Seed,
) -> Result<Map<String, Value>, A::Error> {
    loop {
        match map.entry(key) {
            Entry::Occupied(taken) => return Err(duplicate(taken.key())),
            Entry::Vacant(slot) => {
                slot.insert(access.next_value_seed(inner)?);
            }
        }
        match access.next_key::<String>()? {
            Some(next) => key = next,
            None => return Ok(map),
        }
    }
}

fn duplicate<E: serde::de::Error>(key: &str) -> E {
    E::custom(format!("duplicate key {key:?} in one object"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_json_parses() {
        let v = parse_strict(br#"{"a":[1,2,{"b":null}],"c":"x","d":1.5,"e":true}"#, 32).unwrap();
        assert_eq!(v["a"][2]["b"], Value::Null);
        assert_eq!(v["d"], 1.5);
    }

    #[test]
    fn duplicates_depth_and_trailing_data_are_refused() {
        let e = parse_strict(br#"{"role":"user","role":"admin"}"#, 32).unwrap_err();
        assert!(e.contains("duplicate key \"role\""), "{e}");
        let e = parse_strict(b"[[[[1]]]]", 3).unwrap_err();
        assert!(e.contains("deeper than the limit of 3"), "{e}");
        assert!(parse_strict(b"[[[1]]]", 3).is_ok());
        assert!(parse_strict(b"{} {}", 3).is_err());
        assert!(parse_strict(b"", 3).is_err());
        assert!(parse_strict(b"{\"a\":", 3).is_err());
        let deep = "[".repeat(100_000);
        assert!(parse_strict(deep.as_bytes(), 32).is_err());
    }

    #[test]
    fn large_objects_keep_order_and_refuse_duplicates() {
        let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
        let text = format!(
            "{{{}}}",
            keys.iter()
                .map(|k| format!("\"{k}\":1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let v = parse_strict(text.as_bytes(), 4).unwrap();
        let got: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(got, keys.iter().collect::<Vec<_>>());
        for at in [1, 8, 9, 19] {
            let dup = text.replacen(&format!("\"k{at}\""), "\"k0\"", 1);
            let e = parse_strict(dup.as_bytes(), 4).unwrap_err();
            assert!(e.contains("duplicate key \"k0\""), "{at}: {e}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_strict(&bytes, 8);
        }

        #[test]
        fn objects_of_any_size_are_read_in_order_or_refused_for_a_duplicate(
            entries in proptest::collection::vec(("[a-e]{1,2}", any::<i32>()), 0..24)
        ) {
            let text = format!(
                "{{{}}}",
                entries.iter().map(|(k, n)| format!("\"{k}\":{n}")).collect::<Vec<_>>().join(",")
            );
            let mut seen = std::collections::HashSet::new();
            let first_duplicate = entries.iter().find(|(k, _)| !seen.insert(k.clone()));
            match (parse_strict(text.as_bytes(), 4), first_duplicate) {
                (Ok(v), None) => prop_assert_eq!(v, serde_json::from_str::<Value>(&text).unwrap()),
                (Err(e), Some((k, _))) => prop_assert!(e.contains(&format!("duplicate key {k:?}")), "{}", e),
                (got, dup) => prop_assert!(false, "{:?} for duplicate {:?}", got, dup),
            }
        }

        #[test]
        fn agrees_with_serde_json_on_duplicate_free_input(v in proptest::arbitrary::any::<i32>().prop_map(|n| serde_json::json!({"n": n, "l": [n, {"k": n}]}))) {
            let text = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(parse_strict(&text, 32).unwrap(), v);
        }
    }
}
