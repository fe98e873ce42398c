//! Parameters (path, query, header, cookie): raw strings turned into JSON values by the
//! schema's type and the parameter's style/explode, then validated against the schema.

use std::collections::HashMap;

use jsonschema::Validator;
use portcullis_spec::{Catalog, Parameter, ParameterIn};
use serde_json::{Map, Value};

use super::schema::{SchemaError, compile};

/// How a raw string becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Kept as a string.
    String,
    /// `123`.
    Integer,
    /// `1.5`.
    Number,
    /// `true` / `false`.
    Boolean,
    /// A list of items of this scalar shape.
    Array(Scalar),
    /// An object (`form` + explode: the query's other keys; otherwise `k,v,k,v`).
    Object,
}

/// The scalar shape of array items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// Strings.
    String,
    /// Integers.
    Integer,
    /// Numbers.
    Number,
    /// Booleans.
    Boolean,
}

fn scalar_of(t: Option<&str>) -> Scalar {
    match t {
        Some("integer") => Scalar::Integer,
        Some("number") => Scalar::Number,
        Some("boolean") => Scalar::Boolean,
        _ => Scalar::String,
    }
}

/// The `type` of a schema, following `$ref` and single-type lists (`[integer, "null"]`).
fn type_of<'a>(catalog: &'a Catalog, schema: &'a Value) -> Option<&'a str> {
    let s = catalog.deref_schema(schema);
    match s.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// The shape of a schema.
pub fn shape_of(catalog: &Catalog, schema: &Value) -> Shape {
    match type_of(catalog, schema) {
        Some("integer") => Shape::Integer,
        Some("number") => Shape::Number,
        Some("boolean") => Shape::Boolean,
        Some("object") => Shape::Object,
        Some("array") => {
            let s = catalog.deref_schema(schema);
            let items = s.get("items").map(|i| type_of(catalog, i));
            Shape::Array(scalar_of(items.flatten()))
        }
        _ => Shape::String,
    }
}

/// One parameter to check on every request of an operation.
#[derive(Debug)]
pub struct ParamCheck {
    /// Its name (headers: lower-cased).
    pub name: String,
    /// Where it is carried.
    pub location: ParameterIn,
    /// Must be present.
    pub required: bool,
    /// `form`, `simple`, `spaceDelimited`, `pipeDelimited`, `deepObject`...
    pub style: String,
    /// `explode`.
    pub explode: bool,
    /// How to read it.
    pub shape: Shape,
    /// The compiled schema (none when the parameter has no schema).
    pub validator: Option<Validator>,
}

impl ParamCheck {
    /// Compiles one parameter.
    pub fn new(catalog: &Catalog, p: &Parameter) -> Result<ParamCheck, SchemaError> {
        let (shape, validator) = match &p.schema {
            Some(schema) => (
                shape_of(catalog, &schema.value),
                Some(compile(catalog, schema, false)?),
            ),
            None => (Shape::String, None),
        };
        let name = match p.location_in {
            ParameterIn::Header => p.name.to_ascii_lowercase(),
            _ => p.name.clone(),
        };
        Ok(ParamCheck {
            name,
            location: p.location_in,
            required: p.required,
            style: p.style.clone(),
            explode: p.explode,
            shape,
            validator,
        })
    }

    /// Whether the parameter takes one value (a scalar, or an object not spread over the
    /// query): sent more than once, it is refused.
    pub fn single_valued(&self) -> bool {
        !matches!(self.shape, Shape::Array(_))
            && !(self.shape == Shape::Object
                && self.location == ParameterIn::Query
                && (self.style == "deepObject" || self.explode))
    }

    /// A human name: `query parameter "limit"`.
    pub fn describe(&self) -> String {
        let place = match self.location {
            ParameterIn::Path => "path",
            ParameterIn::Query => "query",
            ParameterIn::Header => "header",
            ParameterIn::Cookie => "cookie",
        };
        format!("{place} parameter {:?}", self.name)
    }
}

/// Reads one scalar.
pub fn scalar(raw: &str, shape: Scalar) -> Value {
    let parsed = match shape {
        Scalar::String => None,
        Scalar::Integer => raw.parse::<i64>().ok().map(Value::from),
        Scalar::Number => raw
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        Scalar::Boolean => match raw {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    };
    // Unreadable as the schema's type: kept as a string, which the schema then refuses with
    // a precise message ("\"abc\" is not of type integer").
    parsed.unwrap_or_else(|| Value::String(raw.to_owned()))
}

fn delimiter(style: &str) -> char {
    match style {
        "spaceDelimited" => ' ',
        "pipeDelimited" => '|',
        _ => ',',
    }
}

/// The JSON value of a parameter from its raw occurrences (several for an exploded query
/// array), or `None` when absent.
pub fn value_of(check: &ParamCheck, raw: &[&str], query: &[(String, String)]) -> Option<Value> {
    match check.shape {
        Shape::Array(item) => {
            if raw.is_empty() {
                return None;
            }
            let exploded = check.location == ParameterIn::Query && check.explode;
            let parts: Vec<Value> = if exploded {
                raw.iter().map(|r| scalar(r, item)).collect()
            } else {
                raw.iter()
                    .flat_map(|r| r.split(delimiter(&check.style)))
                    .map(|r| scalar(r, item))
                    .collect()
            };
            Some(Value::Array(parts))
        }
        Shape::Object => {
            if check.location == ParameterIn::Query && check.style == "deepObject" {
                let prefix = format!("{}[", check.name);
                let mut map = Map::new();
                for (k, v) in query {
                    if let Some(field) = k.strip_prefix(&prefix).and_then(|r| r.strip_suffix(']')) {
                        map.insert(field.to_owned(), Value::String(v.clone()));
                    }
                }
                return (!map.is_empty()).then_some(Value::Object(map));
            }
            let first = raw.first()?;
            let mut map = Map::new();
            let items: Vec<&str> = first.split(',').collect();
            for pair in items.chunks(2) {
                if let [k, v] = pair {
                    map.insert((*k).to_owned(), Value::String((*v).to_owned()));
                } else if let [k] = pair
                    && let Some((k, v)) = k.split_once('=')
                {
                    map.insert(k.to_owned(), Value::String(v.to_owned()));
                }
            }
            Some(Value::Object(map))
        }
        Shape::Integer => raw.first().map(|r| scalar(r, Scalar::Integer)),
        Shape::Number => raw.first().map(|r| scalar(r, Scalar::Number)),
        Shape::Boolean => raw.first().map(|r| scalar(r, Scalar::Boolean)),
        Shape::String => raw.first().map(|r| Value::String((*r).to_owned())),
    }
}

/// Parses `a=1; b=2` cookies.
pub fn cookies(header: &str) -> HashMap<&str, &str> {
    cookies_in_order(header).collect()
}

/// A `Cookie` field that is not UTF-8 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNotUtf8;

/// Every cookie of every `Cookie` field, in order and with repeats (a name sent twice is seen
/// twice); `Err` when a field is not UTF-8 text.
pub fn cookie_pairs(headers: &http::HeaderMap) -> Result<Vec<(String, String)>, CookieNotUtf8> {
    let mut out = Vec::new();
    for field in headers.get_all(http::header::COOKIE) {
        let text = std::str::from_utf8(field.as_bytes()).map_err(|_| CookieNotUtf8)?;
        out.extend(cookies_in_order(text).map(|(k, v)| (k.to_owned(), v.to_owned())));
    }
    Ok(out)
}

/// The `name=value` pairs of one `Cookie` field, in order.
fn cookies_in_order(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
}

/// Validates `value` against the parameter's schema: `Err` carries the first problem.
pub fn validate(check: &ParamCheck, value: &Value) -> Result<(), String> {
    let Some(v) = &check.validator else {
        return Ok(());
    };
    match v.iter_errors(value).next() {
        None => Ok(()),
        Some(e) => Err(format!("{}: {}", check.describe(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_follow_the_type_and_keep_unreadable_text() {
        assert_eq!(scalar("42", Scalar::Integer), json!(42));
        assert_eq!(scalar("4x", Scalar::Integer), json!("4x"));
        assert_eq!(scalar("1.5", Scalar::Number), json!(1.5));
        assert_eq!(scalar("NaN", Scalar::Number), json!("NaN"));
        assert_eq!(scalar("true", Scalar::Boolean), json!(true));
        assert_eq!(scalar("True", Scalar::Boolean), json!("True"));
    }

    fn check(shape: Shape, style: &str, explode: bool) -> ParamCheck {
        ParamCheck {
            name: "ids".into(),
            location: ParameterIn::Query,
            required: false,
            style: style.into(),
            explode,
            shape,
            validator: None,
        }
    }

    #[test]
    fn arrays_by_style_and_explode() {
        let c = check(Shape::Array(Scalar::Integer), "form", true);
        assert_eq!(value_of(&c, &["1", "2"], &[]), Some(json!([1, 2])));
        let c = check(Shape::Array(Scalar::Integer), "form", false);
        assert_eq!(value_of(&c, &["1,2,x"], &[]), Some(json!([1, 2, "x"])));
        let c = check(Shape::Array(Scalar::String), "pipeDelimited", false);
        assert_eq!(value_of(&c, &["a|b"], &[]), Some(json!(["a", "b"])));
        assert_eq!(value_of(&c, &[], &[]), None);
    }

    #[test]
    fn deep_objects_and_cookies() {
        let mut c = check(Shape::Object, "deepObject", true);
        c.name = "filter".into();
        let q = vec![
            ("filter[color]".to_owned(), "red".to_owned()),
            ("other".to_owned(), "x".to_owned()),
        ];
        assert_eq!(value_of(&c, &[], &q), Some(json!({"color": "red"})));
        let jar = cookies("a=1; session=\"xyz\";b");
        assert_eq!(jar.get("session"), Some(&"xyz"));
        assert_eq!(jar.get("b"), None);
    }
}
