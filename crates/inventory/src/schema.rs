//! JSON Schemas inferred from sampled bodies, bounded: at most [`MAX_NODES`] nodes per schema,
//! [`MAX_PROPERTIES`] properties per object, [`MAX_DEPTH`] levels (deeper values only say their
//! type), [`MAX_ITEMS`] items looked at per array, [`MAX_SAMPLES`] samples per endpoint, and
//! [`MAX_STATUSES`] response codes. Only types, formats and property names are kept, never a
//! value: a sampled body may carry personal data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Nodes (values described) per schema.
pub const MAX_NODES: u32 = 256;
/// Properties kept per object.
pub const MAX_PROPERTIES: usize = 64;
/// Levels of nesting described.
pub const MAX_DEPTH: usize = 6;
/// Items of an array looked at.
pub const MAX_ITEMS: usize = 16;
/// Samples learned per endpoint.
pub const MAX_SAMPLES: u32 = 100;
/// Response codes with a schema per endpoint.
pub const MAX_STATUSES: usize = 8;

const TYPES: [&str; 7] = [
    "null", "boolean", "integer", "number", "string", "array", "object",
];

/// What the values seen at one place had in common.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// Types seen (bits in the order of `TYPES`).
    #[serde(default)]
    types: u8,
    /// Times a value was seen here.
    #[serde(default)]
    seen: u32,
    /// The string format every string here had (`date-time`, `uuid`...); `Some("")` once two
    /// formats, or a string without one, were seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    /// An object's properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    properties: BTreeMap<String, Shape>,
    /// Objects seen here (a property seen in all of them is required).
    #[serde(default)]
    objects: u32,
    /// An array's items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Box<Shape>>,
}

/// A bounded schema: its root and how many nodes it holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    root: Shape,
    nodes: u32,
    /// Samples described.
    pub samples: u32,
}

fn type_bit(v: &Value) -> u8 {
    match v {
        Value::Null => 1,
        Value::Bool(_) => 1 << 1,
        Value::Number(n) if n.is_i64() || n.is_u64() => 1 << 2,
        Value::Number(_) => 1 << 3,
        Value::String(_) => 1 << 4,
        Value::Array(_) => 1 << 5,
        Value::Object(_) => 1 << 6,
    }
}

/// The format a string has, if one of the common ones.
fn format_of(s: &str) -> &'static str {
    use crate::segment::Kind;
    match crate::segment::classify(s) {
        Some(Kind::Uuid) => "uuid",
        Some(Kind::Email) => "email",
        Some(Kind::Date) if s.len() == 10 => "date",
        Some(Kind::Date) => "date-time",
        _ if s.starts_with("https://") || s.starts_with("http://") => "uri",
        _ => "",
    }
}

impl Shape {
    fn observe(&mut self, v: &Value, depth: usize, budget: &mut u32) {
        self.seen = self.seen.saturating_add(1);
        self.types |= type_bit(v);
        match v {
            Value::String(s) => {
                let f = format_of(s);
                match &self.format {
                    None => self.format = Some(f.to_owned()),
                    Some(old) if old != f => self.format = Some(String::new()),
                    Some(_) => {}
                }
            }
            Value::Object(map) if depth < MAX_DEPTH => {
                self.objects = self.objects.saturating_add(1);
                for (k, child) in map {
                    if !self.properties.contains_key(k) {
                        if self.properties.len() >= MAX_PROPERTIES || *budget == 0 {
                            continue;
                        }
                        *budget -= 1;
                    }
                    if let Some(p) = self.properties.get_mut(k) {
                        p.observe(child, depth + 1, budget);
                    } else {
                        let mut p = Shape::default();
                        p.observe(child, depth + 1, budget);
                        self.properties.insert(k.clone(), p);
                    }
                }
            }
            Value::Array(items) if depth < MAX_DEPTH => {
                if self.items.is_none() && !items.is_empty() {
                    if *budget == 0 {
                        return;
                    }
                    *budget -= 1;
                    self.items = Some(Box::default());
                }
                if let Some(shape) = self.items.as_deref_mut() {
                    for item in items.iter().take(MAX_ITEMS) {
                        shape.observe(item, depth + 1, budget);
                    }
                }
            }
            _ => {}
        }
    }

    fn merge(&mut self, o: &Shape, budget: &mut u32) {
        self.types |= o.types;
        self.seen = self.seen.saturating_add(o.seen);
        self.objects = self.objects.saturating_add(o.objects);
        self.format = match (self.format.take(), &o.format) {
            (None, f) => f.clone(),
            (f, None) => f,
            (Some(a), Some(b)) if &a == b => Some(a),
            _ => Some(String::new()),
        };
        for (k, p) in &o.properties {
            if let Some(mine) = self.properties.get_mut(k) {
                mine.merge(p, budget);
            } else if self.properties.len() < MAX_PROPERTIES && *budget > 0 {
                *budget -= 1;
                let mut fresh = Shape::default();
                fresh.merge(p, budget);
                self.properties.insert(k.clone(), fresh);
            }
        }
        if let Some(items) = &o.items {
            if let Some(mine) = self.items.as_deref_mut() {
                mine.merge(items, budget);
            } else if *budget > 0 {
                *budget -= 1;
                let mut fresh = Shape::default();
                fresh.merge(items, budget);
                self.items = Some(Box::new(fresh));
            }
        }
    }

    fn to_json(&self) -> Value {
        let types: Vec<&str> = TYPES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.types & (1 << i) != 0)
            // An integer is a number: "number" alone says both.
            .filter(|(i, _)| !(*i == 2 && self.types & (1 << 3) != 0))
            .map(|(_, t)| *t)
            .collect();
        let mut out = Map::new();
        match types.as_slice() {
            [] => {}
            [one] => {
                out.insert("type".into(), json!(one));
            }
            many => {
                out.insert("type".into(), json!(many));
            }
        }
        if let Some(f) = self.format.as_deref().filter(|f| !f.is_empty()) {
            out.insert("format".into(), json!(f));
        }
        if !self.properties.is_empty() {
            let props: Map<String, Value> = self
                .properties
                .iter()
                .map(|(k, p)| (k.clone(), p.to_json()))
                .collect();
            let required: Vec<&String> = self
                .properties
                .iter()
                .filter(|(_, p)| p.seen >= self.objects && self.objects > 0)
                .map(|(k, _)| k)
                .collect();
            out.insert("properties".into(), Value::Object(props));
            if !required.is_empty() {
                out.insert("required".into(), json!(required));
            }
        }
        if let Some(items) = &self.items {
            out.insert("items".into(), items.to_json());
        }
        Value::Object(out)
    }
}

impl Schema {
    /// Describes one more value.
    pub fn observe(&mut self, v: &Value) {
        let mut budget = MAX_NODES.saturating_sub(self.nodes);
        let before = budget;
        self.root.observe(v, 0, &mut budget);
        self.nodes += before - budget;
        self.samples = self.samples.saturating_add(1);
    }

    /// Adds what another schema describes (within the same bounds).
    pub fn merge(&mut self, o: &Schema) {
        let mut budget = MAX_NODES.saturating_sub(self.nodes);
        let before = budget;
        self.root.merge(&o.root, &mut budget);
        self.nodes += before - budget;
        self.samples = self.samples.saturating_add(o.samples);
    }

    /// As JSON Schema (OpenAPI 3.1's dialect).
    pub fn to_json(&self) -> Value {
        self.root.to_json()
    }
}

/// The bodies learned for one endpoint: the request's and each status's answer's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bodies {
    /// Samples learned (request and answer count as one).
    pub samples: u32,
    /// The JSON request bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Schema>,
    /// The JSON answers by status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub responses: BTreeMap<u16, Schema>,
}

impl Bodies {
    /// Learns one request's bodies (each parsed as JSON; what does not parse is skipped).
    /// False once [`MAX_SAMPLES`] were learned.
    pub fn learn(&mut self, status: u16, request: Option<&[u8]>, response: Option<&[u8]>) -> bool {
        if self.samples >= MAX_SAMPLES {
            return false;
        }
        let parse = |b: Option<&[u8]>| b.and_then(|b| serde_json::from_slice::<Value>(b).ok());
        let (req, resp) = (parse(request), parse(response));
        if req.is_none() && resp.is_none() {
            return false;
        }
        self.samples += 1;
        if let Some(v) = req {
            self.request.get_or_insert_with(Schema::default).observe(&v);
        }
        if let Some(v) = resp
            && (self.responses.len() < MAX_STATUSES || self.responses.contains_key(&status))
        {
            self.responses.entry(status).or_default().observe(&v);
        }
        true
    }

    /// Adds another endpoint's (or replica's) bodies.
    pub fn merge(&mut self, o: &Bodies) {
        self.samples = self.samples.saturating_add(o.samples);
        if let Some(r) = &o.request {
            self.request.get_or_insert_with(Schema::default).merge(r);
        }
        for (status, s) in &o.responses {
            if self.responses.len() < MAX_STATUSES || self.responses.contains_key(status) {
                self.responses.entry(*status).or_default().merge(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_formats_required_and_items_without_values() {
        let mut b = Bodies::default();
        let one = br#"{"id":1,"email":"a@example.com","at":"2026-12-07T04:00:00Z","tags":["x"],"card":"4111111111111111"}"#;
        let two = br#"{"id":2,"email":"b@example.com","at":"2026-12-07T05:00:00Z","tags":[],"extra":1.5}"#;
        assert!(b.learn(200, Some(br#"{"name":"n"}"#), Some(one)));
        assert!(b.learn(200, None, Some(two)));
        assert!(!b.learn(200, Some(b"not json"), None));
        let s = b.responses[&200].to_json();
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["id"]["type"], "integer");
        assert_eq!(s["properties"]["email"]["format"], "email");
        assert_eq!(s["properties"]["at"]["format"], "date-time");
        assert_eq!(s["properties"]["tags"]["items"]["type"], "string");
        assert_eq!(s["properties"]["extra"]["type"], "number");
        assert_eq!(s["required"], json!(["at", "email", "id", "tags"]));
        assert!(!s.to_string().contains("4111"), "a value leaked: {s}");
        assert_eq!(b.request.as_ref().map(|r| r.samples), Some(1));
        // Merging two learned sets adds them up.
        let mut c = b.clone();
        c.merge(&b);
        assert_eq!(c.samples, 4);
        assert_eq!(c.responses[&200].to_json()["required"], s["required"]);
    }

    #[test]
    fn stays_within_its_bounds() {
        let mut deep = json!(1);
        for _ in 0..50 {
            deep = json!({ "d": deep });
        }
        let wide: Map<String, Value> = (0..1000).map(|i| (format!("p{i}"), json!(i))).collect();
        let mut s = Schema::default();
        s.observe(&deep);
        s.observe(&Value::Object(wide));
        assert!(s.nodes <= MAX_NODES);
        let text = s.to_json().to_string();
        assert!(text.matches("\"d\":{").count() <= MAX_DEPTH, "{text}");
        let props = s.to_json()["properties"].as_object().map_or(0, Map::len);
        assert!(props <= MAX_PROPERTIES, "{props}");
        let mut b = Bodies::default();
        for i in 0..200u16 {
            b.learn(200 + i, None, Some(b"{}"));
        }
        assert_eq!(b.samples, MAX_SAMPLES);
        assert!(b.responses.len() <= MAX_STATUSES);
    }
}
