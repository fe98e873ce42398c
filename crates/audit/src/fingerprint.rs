//! Where a finding is, in words that survive unrelated edits: what baselines and `audit diff`
//! match findings on.
//!
//! A finding's JSON pointer already ignores key order, comments, descriptions and line
//! numbers. Two parts of a pointer still move when something unrelated changes, and are
//! replaced here:
//!
//! * array indexes of named elements: `/parameters/2` becomes `/parameters/[query:limit]`
//!   (the parameter's `in` and `name`; a `$ref` element by its reference, a server by its
//!   `url`, a security requirement by its scheme names), so adding a parameter before it does
//!   not move it;
//! * path template variables: `/paths/~1users~1{id}` and `/paths/~1users~1{userId}` are the
//!   same operation (`{}`).
//!
//! The file is named relative to the root document's folder (`""` for the root itself), so a
//! document that moves, or that `audit diff` reads from a git revision, keeps its fingerprints.

use portcullis_report::fingerprint::digest;
use portcullis_spec::{Catalog, pointer};
use serde_json::Value;

/// The fingerprint of a finding of `rule` at `pointer` in `file` of `catalog`.
pub fn fingerprint(catalog: &Catalog, rule: &str, file: &str, pointer: &str) -> String {
    let source = catalog.sources.get(file, "");
    digest(&[
        rule,
        &relative_file(&catalog.root_file, file),
        &stable_pointer(source, pointer),
    ])
}

/// `file` relative to the folder of `root` (`""` for the root document itself).
pub fn relative_file(root: &str, file: &str) -> String {
    if file == root {
        return String::new();
    }
    let folder = root.rfind(['/', '\\']).and_then(|i| root.get(..=i));
    match folder.and_then(|f| file.strip_prefix(f)) {
        Some(rest) => rest.to_owned(),
        None => file.to_owned(),
    }
}

/// `pointer` with named array elements named and path template variables blanked (see the
/// module doc). `source` is the file's parsed value; without it only the path templates are
/// blanked.
pub fn stable_pointer(source: Option<&Value>, ptr: &str) -> String {
    let Some(tokens) = pointer::tokens(ptr) else {
        return ptr.to_owned();
    };
    let mut out = String::with_capacity(ptr.len() + 16);
    let mut current = source;
    let mut under_paths = false;
    for (i, token) in tokens.iter().enumerate() {
        let token = token.as_ref();
        let label = match current {
            Some(Value::Array(items)) => token
                .parse::<usize>()
                .ok()
                .and_then(|n| items.get(n))
                .and_then(element_label),
            _ if under_paths && i == 1 => Some(blank_template(token)),
            _ => None,
        };
        under_paths = i == 0 && token == "paths";
        out = pointer::push(&out, label.as_deref().unwrap_or(token));
        current = current.and_then(|v| match v {
            Value::Object(map) => map.get(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|n| items.get(n)),
            _ => None,
        });
    }
    out
}

/// A name for an array element that stays with it when the array is reordered.
fn element_label(item: &Value) -> Option<String> {
    let Value::Object(map) = item else {
        return None;
    };
    let text = |key: &str| map.get(key).and_then(Value::as_str);
    if let (Some(name), Some(location)) = (text("name"), text("in")) {
        // Header names are case-insensitive.
        let name = if location.eq_ignore_ascii_case("header") {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        };
        return Some(format!("[{location}:{name}]"));
    }
    if let Some(reference) = text("$ref") {
        return Some(format!("[ref:{reference}]"));
    }
    if let Some(url) = text("url") {
        return Some(format!("[url:{url}]"));
    }
    // A security requirement: scheme name -> list of scopes.
    if !map.is_empty() && map.values().all(Value::is_array) {
        let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
        names.sort_unstable();
        return Some(format!("[security:{}]", names.join("+")));
    }
    None
}

/// A path template with every `{variable}` written `{}`.
pub fn blank_template(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for ch in path.chars() {
        match ch {
            '{' => {
                if depth == 0 {
                    out.push('{');
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push('}');
                }
            }
            _ if depth > 0 => {}
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_parameters_and_blanks_templates() {
        let doc = json!({"paths": {"/users/{id}": {"get": {"parameters": [
            {"name": "X-Trace", "in": "header"},
            {"$ref": "#/components/parameters/Limit"},
            {"name": "q", "in": "query", "schema": {"type": "string"}}
        ]}}}});
        let p = "/paths/~1users~1{id}/get/parameters/2/schema";
        assert_eq!(
            stable_pointer(Some(&doc), p),
            "/paths/~1users~1{}/get/parameters/[query:q]/schema"
        );
        assert_eq!(
            stable_pointer(Some(&doc), "/paths/~1users~1{id}/get/parameters/0"),
            "/paths/~1users~1{}/get/parameters/[header:x-trace]"
        );
        assert_eq!(
            stable_pointer(Some(&doc), "/paths/~1users~1{id}/get/parameters/1"),
            "/paths/~1users~1{}/get/parameters/[ref:#~1components~1parameters~1Limit]"
        );
        // Past the end of the document, tokens are kept as they are.
        assert_eq!(
            stable_pointer(Some(&doc), "/paths/~1users~1{id}/get/parameters/7/x"),
            "/paths/~1users~1{}/get/parameters/7/x"
        );
        assert_eq!(stable_pointer(None, ""), "");
    }

    #[test]
    fn reordered_parameters_keep_their_place() {
        let a = json!({"parameters": [{"name": "a", "in": "query"}, {"name": "b", "in": "path"}]});
        let b = json!({"parameters": [{"name": "b", "in": "path"}, {"name": "a", "in": "query"}]});
        assert_eq!(
            stable_pointer(Some(&a), "/parameters/1"),
            stable_pointer(Some(&b), "/parameters/0")
        );
    }

    #[test]
    fn security_and_templates() {
        let doc = json!({"security": [{"oauth": ["a"], "key": []}, {}]});
        assert_eq!(
            stable_pointer(Some(&doc), "/security/0"),
            "/security/[security:key+oauth]"
        );
        assert_eq!(stable_pointer(Some(&doc), "/security/1"), "/security/1");
        assert_eq!(blank_template("/a/{x}/b/{y{z}}c"), "/a/{}/b/{}c");
        assert_eq!(blank_template("/a}{"), "/a}{");
    }

    #[test]
    fn files_relative_to_the_root_folder() {
        assert_eq!(relative_file("specs/api.yaml", "specs/api.yaml"), "");
        assert_eq!(
            relative_file("specs/api.yaml", "specs/common/x.yaml"),
            "common/x.yaml"
        );
        assert_eq!(
            relative_file("/tmp/a/api.yaml", "/tmp/a/m/x.yaml"),
            "m/x.yaml"
        );
        assert_eq!(relative_file("api.yaml", "common/x.yaml"), "common/x.yaml");
    }
}
