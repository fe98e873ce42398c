//! What a schema declares at every depth of a JSON value, compiled once at load for the checks
//! that walk bodies: which strings are free text (worth inspecting for injection) and which
//! are already constrained (enum, format, pattern...), which hold URLs, and which properties
//! are declared (for stripping undeclared ones from answers, and for NoSQL operator keys).
//!
//! `allOf`, `anyOf` and `oneOf` merge: a property any branch declares is declared; a string is
//! constrained only if every branch constrains it. Recursion is bounded ([`MAX_DEPTH`] and a
//! node budget): beyond, a value is [`Field::any`], which keeps everything and inspects every
//! string.

use std::collections::HashMap;

use portcullis_spec::Catalog;
use serde_json::Value;

/// The deepest schema nesting followed.
pub const MAX_DEPTH: usize = 24;
/// The most nodes compiled for one schema.
const BUDGET: usize = 20_000;

/// What a schema allows of one value.
#[derive(Debug, Clone, Default)]
pub struct Field {
    /// Nothing is known: keep every property, inspect every string.
    pub any: bool,
    /// When it may be an object.
    pub object: Option<Box<ObjectShape>>,
    /// When it may be an array: its items.
    pub items: Option<Box<Field>>,
    /// When it may be a string.
    pub string: Option<StrShape>,
}

/// An object's declared properties.
#[derive(Debug, Clone, Default)]
pub struct ObjectShape {
    /// Declared properties (foldhash: looked up for every key of every body the threat and
    /// response checks walk, where SipHash cost about 680 instructions per request; the keys
    /// come from the spec, so no request can grow this map).
    pub props: HashMap<String, Field, foldhash::fast::RandomState>,
    /// Undeclared properties are allowed by design (`additionalProperties` true or a schema,
    /// `patternProperties`): their values follow this.
    pub extra: Option<Box<Field>>,
}

/// A string's constraints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrShape {
    /// Held to an enum, a const, a format or a pattern: not free text.
    pub constrained: bool,
    /// Declared as a URL (`format: uri`, `url`, `iri`, `uri-reference`).
    pub uri: bool,
}

/// Formats that leave no room for an injection.
const TIGHT_FORMATS: &[&str] = &[
    "date",
    "date-time",
    "time",
    "duration",
    "uuid",
    "email",
    "idn-email",
    "ipv4",
    "ipv6",
    "hostname",
    "int32",
    "int64",
    "float",
    "double",
    "byte",
];

const URI_FORMATS: &[&str] = &["uri", "url", "iri", "uri-reference", "iri-reference"];

impl Field {
    /// A field about which nothing is known.
    pub fn anything() -> Field {
        Field {
            any: true,
            ..Field::default()
        }
    }

    /// Compiles `schema` (a catalog schema, `$ref`s followed).
    pub fn compile(catalog: &Catalog, schema: &Value) -> Field {
        let mut budget = BUDGET;
        compile(catalog, schema, 0, &mut budget)
    }

    /// The declared property `name` of an object value, or what undeclared ones follow;
    /// `None` when it is undeclared.
    pub fn property(&self, name: &str) -> Option<&Field> {
        if self.any {
            return Some(self);
        }
        let object = self.object.as_ref()?;
        object.props.get(name).or(object.extra.as_deref())
    }

    /// Whether the schema names property `name` itself (not through `additionalProperties`).
    pub fn declares(&self, name: &str) -> bool {
        self.object
            .as_ref()
            .is_some_and(|o| o.props.contains_key(name))
    }

    /// Whether undeclared properties are kept (unknown shape, or allowed by design).
    pub fn keeps_undeclared(&self) -> bool {
        self.any || self.object.as_ref().is_none_or(|o| o.extra.is_some())
    }

    /// The shape of an array's items.
    pub fn item(&self) -> Option<&Field> {
        if self.any {
            return Some(self);
        }
        self.items.as_deref()
    }

    /// Whether a string here is free text (to inspect).
    pub fn free_string(&self) -> bool {
        self.any || self.string.is_none_or(|s| !s.constrained)
    }

    /// Whether a string here is declared as a URL.
    pub fn uri(&self) -> bool {
        self.string.is_some_and(|s| s.uri)
    }

    /// Adds what `other` allows (a union, as for the branches of `anyOf`).
    pub fn merge(&mut self, other: Field) {
        self.any |= other.any;
        match (&mut self.object, other.object) {
            (Some(a), Some(b)) => {
                for (k, v) in b.props {
                    match a.props.get_mut(&k) {
                        Some(mine) => mine.merge(v),
                        None => {
                            a.props.insert(k, v);
                        }
                    }
                }
                match (&mut a.extra, b.extra) {
                    (Some(x), Some(y)) => x.merge(*y),
                    (None, Some(y)) => a.extra = Some(y),
                    _ => {}
                }
            }
            (None, Some(b)) => self.object = Some(b),
            _ => {}
        }
        match (&mut self.items, other.items) {
            (Some(a), Some(b)) => a.merge(*b),
            (None, Some(b)) => self.items = Some(b),
            _ => {}
        }
        match (&mut self.string, other.string) {
            (Some(a), Some(b)) => {
                a.constrained &= b.constrained;
                a.uri |= b.uri;
            }
            (None, Some(b)) => self.string = Some(b),
            _ => {}
        }
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn compile(catalog: &Catalog, schema: &Value, depth: usize, budget: &mut usize) -> Field {
    if depth > MAX_DEPTH || *budget == 0 {
        return Field::anything();
    }
    *budget -= 1;
    let schema = catalog.deref_schema(schema);
    let Some(map) = schema.as_object() else {
        // `true`, `false` or not a schema: nothing to learn.
        return Field::anything();
    };
    let mut field = Field::default();
    let mut described = false;
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = map.get(key).and_then(Value::as_array) {
            for b in branches {
                field.merge(compile(catalog, b, depth + 1, budget));
                described = true;
            }
        }
    }
    let types = types_of(schema);
    let has = |t: &str| types.contains(&t);
    let props = map.get("properties").and_then(Value::as_object);
    let is_object = has("object") || props.is_some() || map.contains_key("additionalProperties");
    if is_object {
        let mut object = ObjectShape::default();
        for (k, v) in props.into_iter().flatten() {
            object
                .props
                .insert(k.clone(), compile(catalog, v, depth + 1, budget));
        }
        object.extra = match map.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(Box::new(Field::anything())),
            Some(s @ Value::Object(_)) => Some(Box::new(compile(catalog, s, depth + 1, budget))),
            // Absent: undeclared properties are what `strip` removes.
            _ if map.contains_key("patternProperties") => Some(Box::new(Field::anything())),
            _ => None,
        };
        field.merge(Field {
            object: Some(Box::new(object)),
            ..Field::default()
        });
        described = true;
    }
    if has("array") || map.contains_key("items") {
        let items = map
            .get("items")
            .map_or_else(Field::anything, |i| compile(catalog, i, depth + 1, budget));
        field.merge(Field {
            items: Some(Box::new(items)),
            ..Field::default()
        });
        described = true;
    }
    let enumerated = map.contains_key("enum") || map.contains_key("const");
    if has("string") || (enumerated && types.is_empty()) {
        let format = map.get("format").and_then(Value::as_str).unwrap_or("");
        let pattern = map.get("pattern").and_then(Value::as_str).unwrap_or("");
        let trivial_pattern = matches!(pattern, "" | ".*" | "^.*$" | ".+" | "^.+$");
        field.merge(Field {
            string: Some(StrShape {
                constrained: enumerated || TIGHT_FORMATS.contains(&format) || !trivial_pattern,
                uri: URI_FORMATS.contains(&format),
            }),
            ..Field::default()
        });
        described = true;
    }
    if ["integer", "number", "boolean", "null"]
        .iter()
        .any(|t| has(t))
    {
        described = true;
    }
    if !described {
        return Field::anything();
    }
    field
}

/// Removes, at every depth, the properties `field` does not declare; returns how many.
pub fn strip(value: &mut Value, field: &Field) -> usize {
    if field.any {
        return 0;
    }
    let mut removed = 0;
    match value {
        Value::Object(map) => {
            if !field.keeps_undeclared() {
                let before = map.len();
                map.retain(|k, _| field.property(k).is_some());
                removed += before - map.len();
            }
            for (k, v) in map.iter_mut() {
                if let Some(f) = field.property(k) {
                    removed += strip(v, f);
                }
            }
        }
        Value::Array(items) => {
            if let Some(f) = field.item() {
                for v in items {
                    removed += strip(v, f);
                }
            }
        }
        _ => {}
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        let doc = r##"{"openapi":"3.1.0","info":{"title":"t","version":"1"},
          "paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":
            {"type":"array","items":{"allOf":[
              {"$ref":"#/components/schemas/Base"},
              {"type":"object","properties":{"owner":{"type":"object","properties":{"name":{"type":"string"}}},
                "tags":{"type":"object","additionalProperties":{"type":"string"}}}}]}}}}},
            "201":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Node"}}}}}}}},
          "components":{"schemas":{
            "Base":{"type":"object","properties":{"id":{"type":"string","format":"uuid"}}},
            "Node":{"type":"object","properties":{"child":{"$ref":"#/components/schemas/Node"},"name":{"type":"string"}}}
          }}}"##;
        portcullis_spec::load_str("t.json", doc).unwrap()
    }

    /// The schema of the `status` answer of GET /x.
    fn answer(c: &Catalog, status: &str) -> Field {
        let op = &c.operations[0];
        let schema = op.responses[status].content["application/json"]
            .schema
            .as_ref()
            .unwrap();
        Field::compile(c, &schema.value)
    }

    #[test]
    fn free_and_constrained_strings_and_urls() {
        let c = catalog();
        let f = Field::compile(
            &c,
            &json!({"type":"object","properties":{
                "note":{"type":"string"},
                "kind":{"type":"string","enum":["a","b"]},
                "when":{"type":"string","format":"date-time"},
                "code":{"type":"string","pattern":"^[A-Z]{3}$"},
                "hook":{"type":"string","format":"uri"},
                "n":{"type":"integer"}}}),
        );
        let p = |n: &str| f.property(n).unwrap();
        assert!(p("note").free_string());
        assert!(!p("kind").free_string() && !p("when").free_string() && !p("code").free_string());
        assert!(p("hook").uri() && !p("note").uri());
        assert!(f.property("other").is_none());
    }

    #[test]
    fn strip_keeps_what_any_branch_declares_at_every_depth() {
        let c = catalog();
        let f = answer(&c, "200");
        let mut v = json!([{"id":"x","owner":{"name":"a","password_hash":"$2b$..."},
            "tags":{"any":"kept"},"secret":"s"}]);
        assert_eq!(strip(&mut v, &f), 2);
        assert_eq!(
            v,
            json!([{"id":"x","owner":{"name":"a"},"tags":{"any":"kept"}}])
        );
    }

    #[test]
    fn recursive_schemas_compile_within_bounds() {
        let c = catalog();
        let f = answer(&c, "201");
        let mut deep = &f;
        for _ in 0..10 {
            assert!(!deep.any && deep.property("other").is_none());
            deep = deep.property("child").unwrap();
        }
        assert!(deep.property("name").unwrap().free_string());
        // An unknown schema keeps everything.
        let mut v = json!({"a":1});
        assert_eq!(strip(&mut v, &Field::compile(&c, &json!({}))), 0);
    }
}
