//! Which operations the scan may call, in what order, and the request for one operation as
//! one identity: path, query and header parameters and a JSON body, from the caller's own
//! ids and harvested ids first, then the spec's examples, then generated values.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use portcullis_spec::{Catalog, Method, Operation, ParameterIn};
use serde_json::Value;

use crate::generate::{Generator, media_example, parameter_example};
use crate::harvest::{Harvest, norm, singular};
use crate::http::Request;
use crate::session::Who;

/// Characters kept as they are in a path segment or query value.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Words that make an operation look destructive (run only with `safe: false`, and last).
const DESTRUCTIVE: &[&str] = &[
    "reset", "drop", "createdb", "initdb", "purge", "wipe", "truncate", "flush", "destroy",
    "delete", "remove", "clear", "shutdown", "restart", "reboot", "erase",
];

/// True when the operation's id, path or summary contains a destructive-looking word.
pub fn is_destructive(op: &Operation) -> bool {
    let text = format!(
        "{} {} {}",
        op.id,
        op.path,
        op.summary.as_deref().unwrap_or("")
    )
    .to_ascii_lowercase()
    .replace(['_', '-'], "");
    DESTRUCTIVE.iter().any(|w| text.contains(w))
}

/// True when the scan may call `op`: always with `safe: false`; otherwise only GET, HEAD,
/// OPTIONS and POST operations that do not look destructive.
pub fn allowed(op: &Operation, safe: bool) -> bool {
    if !safe {
        return true;
    }
    matches!(
        op.method,
        Method::Get | Method::Head | Method::Options | Method::Post
    ) && !is_destructive(op)
}

/// The order operations are called in: reads without parameters, creations, reads with path
/// parameters (which can use harvested ids), updates, deletions; destructive-looking last.
pub fn order(catalog: &Catalog, safe: bool, skip: Option<usize>) -> Vec<usize> {
    let mut ops: Vec<(u8, usize)> = catalog
        .operations
        .iter()
        .enumerate()
        .filter(|(i, op)| Some(*i) != skip && allowed(op, safe))
        .filter(|(_, op)| !matches!(op.method, Method::Options | Method::Head | Method::Trace))
        .map(|(i, op)| {
            let has_path_params = op.path.contains('{');
            let phase = match op.method {
                _ if is_destructive(op) => 9,
                Method::Get if !has_path_params => 0,
                Method::Post => 1,
                Method::Get => 2,
                Method::Put | Method::Patch => 3,
                Method::Delete => 4,
                _ => 5,
            };
            (phase, i)
        })
        .collect();
    ops.sort();
    ops.into_iter().map(|(_, i)| i).collect()
}

/// A request for one operation, and whether it names one of the caller's own objects.
#[derive(Debug, Clone)]
pub struct Built {
    /// The request, without credentials.
    pub request: Request,
    /// True when a path parameter took one of the caller's own ids or a harvested id.
    pub owned: bool,
}

/// What [`build`] reads.
pub struct Inputs<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Harvested ids.
    pub harvest: &'a Harvest,
    /// Who the request is for (whose harvest and ids are used).
    pub who: Who,
    /// The caller's own ids.
    pub self_ids: &'a [String],
}

/// True for a parameter that names a user.
fn user_like(name: &str) -> bool {
    let n = norm(name);
    n.contains("user") || matches!(n.as_str(), "owner" | "uid" | "login" | "me")
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Builds the request for `op` as `inputs.who`.
pub fn build(inputs: &Inputs<'_>, values: &mut Generator, op: &Operation) -> Built {
    let catalog = inputs.catalog;
    let mut owned = false;
    let mut path = String::new();
    let segments: Vec<&str> = op.path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            path.push('/');
        }
        let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            path.push_str(segment);
            continue;
        };
        let parameter = op
            .parameters
            .iter()
            .find(|p| p.location_in == ParameterIn::Path && p.name == name);
        let previous = i
            .checked_sub(1)
            .and_then(|j| segments.get(j))
            .filter(|s| !s.starts_with('{'))
            .map(|s| singular(s))
            .unwrap_or_default();
        let harvested = if user_like(name) {
            inputs.self_ids.first().map(|s| Value::String(s.clone()))
        } else {
            None
        }
        .or_else(|| inputs.harvest.get(inputs.who, &norm(name)).cloned())
        .or_else(|| {
            (norm(name) == "id")
                .then(|| {
                    inputs
                        .harvest
                        .get(inputs.who, &format!("{previous}id"))
                        .cloned()
                })
                .flatten()
        });
        let value = match harvested {
            Some(v) => {
                owned = true;
                v
            }
            None => parameter
                .and_then(|p| parameter_example(catalog, p))
                .or_else(|| {
                    parameter
                        .and_then(|p| p.schema.as_ref())
                        .map(|s| values.value(catalog, &s.value))
                })
                .unwrap_or(Value::from(1)),
        };
        path.push_str(&utf8_percent_encode(&scalar_text(&value), KEEP).to_string());
    }
    let mut query = Vec::new();
    let mut request = Request::new(op.method.as_str(), String::new());
    for p in &op.parameters {
        let example = parameter_example(catalog, p);
        if !p.required && example.is_none() {
            continue;
        }
        let value = example
            .or_else(|| p.schema.as_ref().map(|s| values.value(catalog, &s.value)))
            .unwrap_or_else(|| Value::String(values.unique()));
        match p.location_in {
            ParameterIn::Query => query.push(format!(
                "{}={}",
                utf8_percent_encode(&p.name, KEEP),
                utf8_percent_encode(&scalar_text(&value), KEEP)
            )),
            ParameterIn::Header
                if !matches!(
                    p.name.to_ascii_lowercase().as_str(),
                    "authorization" | "content-type" | "accept" | "host" | "content-length"
                ) =>
            {
                request.set_header(&p.name, scalar_text(&value));
            }
            _ => {}
        }
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    request.path = path;
    if let Some(body) = &op.request_body {
        let json = body
            .content
            .iter()
            .find(|(media, _)| media.starts_with("application/json") || media.contains("+json"));
        if let Some((_, media)) = json {
            let value = media_example(catalog, media)
                .or_else(|| {
                    media
                        .schema
                        .as_ref()
                        .map(|s| values.value(catalog, &s.value))
                })
                .unwrap_or(Value::Object(serde_json::Map::new()));
            request.body = Some(value);
        }
    }
    Built { request, owned }
}

/// Gives the naming members of a creation's body (`username`, `email`, `name`, `title`...)
/// fresh values, so that creating does not collide with an existing object (spec examples
/// such as `username: name1` often name one).
pub fn uniquify(request: &mut Request, values: &mut Generator) {
    let Some(Value::Object(body)) = request.body.as_mut() else {
        return;
    };
    for (key, value) in body.iter_mut() {
        if !value.is_string() {
            continue;
        }
        let k = norm(key);
        if k.contains("mail") {
            *value = Value::String(format!("{}@example.com", values.unique()));
        } else if k.contains("name")
            || k.contains("title")
            || k == "login"
            || k == "user"
            || k == "slug"
        {
            *value = Value::String(values.unique());
        }
    }
}

/// `path` (built from `template`) with path parameter `name` set to `value` (encoded);
/// `None` when the template has no such parameter or the shapes differ.
pub fn with_path_param(template: &str, path: &str, name: &str, value: &str) -> Option<String> {
    let (base, query) = match path.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (path, None),
    };
    let t: Vec<&str> = template.split('/').collect();
    let mut p: Vec<String> = base.split('/').map(str::to_owned).collect();
    if t.len() != p.len() {
        return None;
    }
    let i = t.iter().position(|s| *s == format!("{{{name}}}"))?;
    *p.get_mut(i)? = utf8_percent_encode(value, KEEP).to_string();
    let joined = p.join("/");
    Some(match query {
        Some(q) => format!("{joined}?{q}"),
        None => joined,
    })
}

/// The decoded value of path parameter `name` in `path` (built from `template`).
pub fn path_param(template: &str, path: &str, name: &str) -> Option<String> {
    let base = path_only(path);
    let i = template
        .split('/')
        .position(|s| s == format!("{{{name}}}"))?;
    let raw = base.split('/').nth(i)?;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The path of a request without its query string.
pub fn path_only(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// Replaces the value of query parameter `name` in `path` (added when absent).
pub fn with_query(path: &str, name: &str, value: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let encoded_name = utf8_percent_encode(name, KEEP).to_string();
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| p.split('=').next() != Some(encoded_name.as_str()))
        .map(str::to_owned)
        .collect();
    pairs.push(format!(
        "{encoded_name}={}",
        utf8_percent_encode(value, KEEP)
    ));
    format!("{base}?{}", pairs.join("&"))
}

/// The current value of query parameter `name` in `path`, decoded.
pub fn query_value(path: &str, name: &str) -> Option<String> {
    let (_, query) = path.split_once('?')?;
    let encoded_name = utf8_percent_encode(name, KEEP).to_string();
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == encoded_name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    const SPEC: &str = r#"
openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /users/{userId}/accounts:
    get:
      operationId: list
      parameters:
        - {name: userId, in: path, required: true, schema: {type: string}}
      responses: {'200': {description: ok}}
  /accounts/{accountId}:
    get:
      operationId: one
      parameters:
        - {name: accountId, in: path, required: true, schema: {type: integer, minimum: 1}}
        - {name: q, in: query, required: true, schema: {type: string}, example: "a b"}
      responses: {'200': {description: ok}}
  /admin/reset:
    post: {operationId: resetAll, responses: {'200': {description: ok}}}
  /things/{id}:
    delete: {operationId: del, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {'204': {description: ok}}}
"#;

    #[test]
    fn own_ids_then_harvest_then_examples() {
        let c = portcullis_spec::load_str("t.yaml", SPEC).unwrap();
        let mut g = Generator::new("t");
        let mut h = Harvest::default();
        let ids = vec!["alice".to_string()];
        let inputs = |h: &Harvest| -> Built {
            let i = Inputs {
                catalog: &c,
                harvest: h,
                who: Who::User(0),
                self_ids: &ids,
            };
            build(&i, &mut Generator::new("t"), &c.operations[1])
        };
        let b = inputs(&h);
        assert_eq!(b.request.path, "/accounts/1?q=a%20b");
        assert!(!b.owned);
        h.collect(
            Who::User(0),
            "/users/{userId}/accounts",
            &json!([{"id": 7}]),
        );
        let b = inputs(&h);
        assert_eq!(b.request.path, "/accounts/7?q=a%20b");
        assert!(b.owned);
        let i = Inputs {
            catalog: &c,
            harvest: &h,
            who: Who::User(0),
            self_ids: &ids,
        };
        let b = build(&i, &mut g, &c.operations[0]);
        assert_eq!(b.request.path, "/users/alice/accounts");
        assert_eq!(with_query("/a?q=1&r=2", "q", "x'"), "/a?r=2&q=x%27");
        assert_eq!(query_value("/a?q=a%20b", "q").as_deref(), Some("a b"));
        let t = "/users/{name}/x";
        assert_eq!(
            with_path_param(t, "/users/bob/x?y=1", "name", "b'o").as_deref(),
            Some("/users/b%27o/x?y=1")
        );
        assert_eq!(
            path_param(t, "/users/b%27o/x", "name").as_deref(),
            Some("b'o")
        );
    }

    #[test]
    fn creations_get_fresh_names() {
        let mut r = Request::new("POST", "/users");
        r.body = Some(json!({"username": "name1", "email": "a@b.c", "password": "pass1", "n": 1}));
        uniquify(&mut r, &mut Generator::new("t"));
        let body = r.body.unwrap();
        assert_ne!(body["username"], "name1");
        assert!(body["email"].as_str().unwrap().ends_with("@example.com"));
        assert_eq!(body["password"], "pass1");
        assert_eq!(body["n"], 1);
    }

    #[test]
    fn safe_mode_keeps_destructive_operations_out() {
        let c = portcullis_spec::load_str("t.yaml", SPEC).unwrap();
        assert!(is_destructive(&c.operations[2]));
        assert_eq!(order(&c, true, None), vec![0, 1]);
        // Unsafe: everything, destructive-looking last.
        assert_eq!(order(&c, false, None), vec![0, 1, 3, 2]);
    }
}
