//! Values for requests: the spec's own examples first, then values generated from the
//! schemas (types, formats, bounds, enums, patterns), so that a well-behaved API accepts them.

use portcullis_spec::{Catalog, Location, MediaType, Parameter};
use serde_json::{Map, Value, json};

/// How deep generation follows nested schemas.
const MAX_DEPTH: usize = 8;

/// Makes values; strings it invents are unique within a scan (`pcscan-<tag>-<n>`).
#[derive(Debug)]
pub struct Generator {
    tag: String,
    counter: u64,
    /// The spec's `pattern`s, compiled once each (`None`: not a valid regex here).
    patterns: std::collections::HashMap<String, Option<regex::Regex>>,
}

/// The most distinct patterns kept compiled.
const MAX_PATTERNS: usize = 1024;

impl Generator {
    /// A generator whose invented strings carry `tag` (a few random letters per scan).
    pub fn new(tag: impl Into<String>) -> Generator {
        Generator {
            tag: tag.into(),
            counter: 0,
            patterns: std::collections::HashMap::new(),
        }
    }

    /// A fresh unique word (`pcscan-ab12-3`), for names that must not collide.
    pub fn unique(&mut self) -> String {
        self.counter += 1;
        format!("pcscan-{}-{}", self.tag, self.counter)
    }

    /// The example a schema declares (`const`, `examples`, `example`, `default`, first `enum`).
    pub fn example(catalog: &Catalog, schema: &Value) -> Option<Value> {
        let schema = catalog.deref_schema(schema);
        if let Some(v) = schema.get("const") {
            return Some(v.clone());
        }
        if let Some(v) = schema
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return Some(v.clone());
        }
        for key in ["example", "default"] {
            if let Some(v) = schema.get(key) {
                return Some(v.clone());
            }
        }
        schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
    }

    /// A value for `schema`: its example when it has one, else one generated from it.
    pub fn value(&mut self, catalog: &Catalog, schema: &Value) -> Value {
        self.value_at(catalog, schema, 0)
    }

    fn value_at(&mut self, catalog: &Catalog, schema: &Value, depth: usize) -> Value {
        if let Some(v) = Self::example(catalog, schema) {
            return v;
        }
        let schema = catalog.deref_schema(schema);
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(m) = self.value_at(catalog, part, depth + 1) {
                    merged.extend(m);
                }
            }
            if let Some(Value::Object(own)) = self.object(catalog, schema, depth) {
                merged.extend(own);
            }
            return Value::Object(merged);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(first) = schema
                .get(key)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
            {
                return self.value_at(catalog, first, depth + 1);
            }
        }
        match schema_type(schema).as_deref() {
            Some("string") => Value::String(self.string(schema)),
            Some("integer") => json!(integer(schema)),
            Some("number") => number(schema),
            Some("boolean") => Value::Bool(true),
            Some("array") => {
                let item = schema.get("items").map_or(Value::Null, |items| {
                    self.value_at(catalog, items, depth + 1)
                });
                Value::Array(vec![item])
            }
            Some("null") => Value::Null,
            _ => self
                .object(catalog, schema, depth)
                .unwrap_or_else(|| Value::String(self.unique())),
        }
    }

    /// The object for a schema with `properties`: its required properties, or all of them
    /// when none is required. `None` when the schema declares no properties.
    fn object(&mut self, catalog: &Catalog, schema: &Value, depth: usize) -> Option<Value> {
        let properties = schema.get("properties").and_then(Value::as_object)?;
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        for (name, property) in properties {
            let read_only = catalog
                .deref_schema(property)
                .get("readOnly")
                .and_then(Value::as_bool)
                == Some(true);
            let wanted = required.contains(&name.as_str()) || (required.is_empty() && !read_only);
            if wanted {
                out.insert(name.clone(), self.value_at(catalog, property, depth + 1));
            }
        }
        Some(Value::Object(out))
    }

    /// A string that fits the schema's format, length and pattern as well as it can.
    fn string(&mut self, schema: &Value) -> String {
        let word = self.unique();
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let candidates: Vec<String> = match format {
            "email" => vec![format!("{word}@example.com")],
            "uuid" => vec![format!("00000000-0000-4000-8000-{:012}", self.counter)],
            "date-time" => vec!["2026-01-01T00:00:00Z".to_owned()],
            "date" => vec!["2026-01-01".to_owned()],
            "time" => vec!["00:00:00Z".to_owned()],
            "uri" | "url" | "uri-reference" => vec![format!("https://example.com/{word}")],
            "ipv4" => vec!["192.0.2.1".to_owned()],
            "ipv6" => vec!["2001:db8::1".to_owned()],
            "hostname" => vec![format!("{word}.example.com")],
            "byte" => vec!["cGNzY2Fu".to_owned()],
            _ => vec![
                word.clone(),
                word.replace('-', ""),
                word.replace('-', "_"),
                format!("Pc{}", word.replace('-', "")),
                self.counter.to_string(),
                word.to_uppercase().replace('-', ""),
            ],
        };
        let min = schema
            .get("minLength")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(256) as usize;
        let max = schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m.min(4096) as usize);
        let pattern = schema
            .get("pattern")
            .and_then(Value::as_str)
            .and_then(|p| self.pattern(p));
        let fit = |s: &str| -> String {
            let mut s: String = s.to_owned();
            while s.chars().count() < min {
                s.push('x');
            }
            if let Some(max) = max {
                s = s.chars().take(max).collect();
            }
            s
        };
        let fitted: Vec<String> = candidates.iter().map(|c| fit(c)).collect();
        match &pattern {
            Some(re) => fitted
                .iter()
                .find(|c| re.is_match(c))
                .cloned()
                .or_else(|| fitted.first().cloned())
                .unwrap_or_default(),
            None => fitted.first().cloned().unwrap_or_default(),
        }
    }
}

impl Generator {
    /// `pattern` compiled (once per distinct pattern, up to [`MAX_PATTERNS`]).
    fn pattern(&mut self, pattern: &str) -> Option<regex::Regex> {
        if let Some(re) = self.patterns.get(pattern) {
            return re.clone();
        }
        let re = regex::Regex::new(pattern).ok();
        if self.patterns.len() < MAX_PATTERNS {
            self.patterns.insert(pattern.to_owned(), re.clone());
        }
        re
    }
}

/// The first non-null `type` of a schema (inferred `object` from `properties`).
pub fn schema_type(schema: &Value) -> Option<String> {
    match schema.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .map(str::to_owned),
        _ if schema.get("properties").is_some() => Some("object".to_owned()),
        _ => None,
    }
}

fn integer(schema: &Value) -> i64 {
    let min = schema.get("minimum").and_then(Value::as_i64);
    let exclusive = schema.get("exclusiveMinimum").and_then(Value::as_i64);
    let max = schema.get("maximum").and_then(Value::as_i64);
    let mut v = match (min, exclusive) {
        (Some(m), _) => m.max(1),
        (None, Some(e)) => e.saturating_add(1).max(1),
        _ => 1,
    };
    if let Some(max) = max {
        v = v.min(max);
    }
    v
}

fn number(schema: &Value) -> Value {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let exclusive = schema.get("exclusiveMinimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let mut v = match (min, exclusive) {
        (Some(m), _) => m.max(1.0),
        (None, Some(e)) => (e + 1.0).max(1.0),
        _ => 1.0,
    };
    if let Some(max) = max {
        v = v.min(max);
    }
    json!(v)
}

/// The example written on a parameter object itself (`example`, or the first of `examples`).
pub fn parameter_example(catalog: &Catalog, parameter: &Parameter) -> Option<Value> {
    raw_example(catalog, &parameter.location)
}

/// The example written on a media type object (`example`, or the first of `examples`).
pub fn media_example(catalog: &Catalog, media: &MediaType) -> Option<Value> {
    raw_example(catalog, &media.location)
}

fn raw_example(catalog: &Catalog, location: &Location) -> Option<Value> {
    let object = catalog.sources.get(&location.file, &location.pointer)?;
    if let Some(v) = object.get("example") {
        return Some(v.clone());
    }
    object
        .get("examples")
        .and_then(Value::as_object)
        .and_then(|m| m.values().next())
        .and_then(|e| e.get("value"))
        .cloned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn catalog() -> Catalog {
        portcullis_spec::load_str(
            "t.yaml",
            "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
        )
        .unwrap()
    }

    #[test]
    fn examples_come_first_then_schemas() {
        let c = catalog();
        let mut g = Generator::new("t");
        assert_eq!(
            g.value(&c, &json!({"type": "integer", "examples": [7]})),
            json!(7)
        );
        assert_eq!(g.value(&c, &json!({"enum": ["a", "b"]})), json!("a"));
        assert_eq!(
            g.value(&c, &json!({"type": "integer", "minimum": 5})),
            json!(5)
        );
        let s = g.value(
            &c,
            &json!({"type": "string", "pattern": "^[a-z0-9-]+$", "maxLength": 32}),
        );
        assert!(
            regex::Regex::new("^[a-z0-9-]+$")
                .unwrap()
                .is_match(s.as_str().unwrap())
        );
        let p = g.value(&c, &json!({"type": "string", "minLength": 40}));
        assert!(p.as_str().unwrap().len() >= 40);
        let e = g.value(&c, &json!({"type": "string", "format": "email"}));
        assert!(e.as_str().unwrap().ends_with("@example.com"));
        let o = g.value(
            &c,
            &json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "boolean"}, "b": {"type": "string"}}}),
        );
        assert_eq!(o, json!({"a": true}));
        // Two invented strings never collide.
        assert_ne!(g.unique(), g.unique());
    }
}
