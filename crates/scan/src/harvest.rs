//! Resource ids harvested from answers, per identity, so later calls can chain: alice creates
//! or lists an object, then the scan reads it back as alice, and tries it as bob.

use std::collections::HashMap;

use serde_json::Value;

use crate::session::Who;

/// The most values kept per key and identity.
const MAX_VALUES: usize = 20;
/// How deep answers are walked.
const MAX_DEPTH: usize = 6;
/// How many items of one array are walked.
const MAX_ITEMS: usize = 50;

/// A parameter or property name reduced to lower-case letters and digits
/// (`account_id`, `accountId` and `Account-ID` all become `accountid`).
pub fn norm(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A plural path segment made singular, as a resource name (`accounts` -> `account`).
pub fn singular(segment: &str) -> String {
    let s = norm(segment);
    if let Some(stem) = s.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = s.strip_suffix('s').filter(|_| !s.ends_with("ss")) {
        stem.to_owned()
    } else {
        s
    }
}

/// The resource a path template is about: its last literal segment, singular
/// (`/users/{userId}/accounts` -> `account`; `/users/me` -> `user`).
pub fn resource_of(template: &str) -> String {
    let literals: Vec<&str> = template
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .filter(|s| !matches!(*s, "me" | "self" | "current" | "search"))
        .filter(|s| !is_version(s))
        .collect();
    literals.last().map(|s| singular(s)).unwrap_or_default()
}

/// `v1`, `v2`, `V10`...
pub fn is_version(segment: &str) -> bool {
    let mut chars = segment.chars();
    matches!(chars.next(), Some('v' | 'V'))
        && segment.len() > 1
        && chars.all(|c| c.is_ascii_digit())
}

/// True for a key that names an identifier.
fn id_like(key: &str) -> bool {
    key.ends_with("id") || key.ends_with("uuid") || key == "username" || key == "owner"
}

/// Harvested values: identity -> normalized key -> values, in the order seen.
#[derive(Debug, Default)]
pub struct Harvest {
    values: HashMap<(Who, String), Vec<Value>>,
    /// Further keys worth keeping: the spec's path parameter names (normalized).
    watched: std::collections::HashSet<String>,
}

impl Harvest {
    /// Also keeps values under these keys (e.g. every path parameter name of the spec, so a
    /// `book_title` seen in an answer can fill `/books/{book_title}`).
    pub fn watch<'k>(&mut self, keys: impl IntoIterator<Item = &'k str>) {
        self.watched.extend(keys.into_iter().map(norm));
    }

    /// Records the ids in an answer that `who` got from an operation on `template`.
    pub fn collect(&mut self, who: Who, template: &str, json: &Value) {
        let resource = resource_of(template);
        self.walk(who, &resource, json, 0, false);
    }

    /// Records the ids of an object `who` created (the body it sent, or the creation's
    /// answer): they come before ids merely seen in listings, which may be anyone's.
    pub fn collect_created(&mut self, who: Who, template: &str, json: &Value) {
        let resource = resource_of(template);
        self.walk(who, &resource, json, 0, true);
    }

    fn walk(&mut self, who: Who, resource: &str, value: &Value, depth: usize, first: bool) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = norm(k);
                    match v {
                        Value::String(_) | Value::Number(_)
                            if id_like(&key) || self.watched.contains(&key) =>
                        {
                            if key == "id" && !resource.is_empty() {
                                self.add(who, format!("{resource}id"), v, first);
                            }
                            self.add(who, key, v, first);
                        }
                        Value::Object(_) | Value::Array(_) => {
                            self.walk(who, &singular(k), v, depth + 1, first);
                        }
                        _ => {}
                    }
                }
            }
            Value::Array(items) => {
                for item in items.iter().take(MAX_ITEMS) {
                    self.walk(who, resource, item, depth + 1, first);
                }
            }
            _ => {}
        }
    }

    fn add(&mut self, who: Who, key: String, value: &Value, first: bool) {
        let list = self.values.entry((who, key)).or_default();
        list.retain(|v| v != value);
        if first {
            list.insert(0, value.clone());
            list.truncate(MAX_VALUES);
        } else if list.len() < MAX_VALUES {
            list.push(value.clone());
        }
    }

    /// The first value `who` saw under `key` (normalized).
    pub fn get(&self, who: Who, key: &str) -> Option<&Value> {
        self.values.get(&(who, key.to_owned()))?.first()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_keyed_by_name_and_resource() {
        let mut h = Harvest::default();
        h.collect(
            Who::User(0),
            "/users/{userId}/accounts",
            &json!([{"id": 3, "owner": "alice", "name": "Checking"}, {"id": 4}]),
        );
        assert_eq!(h.get(Who::User(0), "accountid"), Some(&json!(3)));
        assert_eq!(h.get(Who::User(0), "owner"), Some(&json!("alice")));
        assert_eq!(h.get(Who::User(1), "accountid"), None);
        h.collect(
            Who::User(1),
            "/orders",
            &json!({"order": {"id": "o-1", "customer_id": 9}}),
        );
        assert_eq!(h.get(Who::User(1), "orderid"), Some(&json!("o-1")));
        assert_eq!(h.get(Who::User(1), "customerid"), Some(&json!(9)));
        assert_eq!(resource_of("/v1/accounts/{accountId}"), "account");
        assert_eq!(resource_of("/users/me"), "user");
        assert_eq!(singular("categories"), "category");
        h.watch(["book_title"]);
        h.collect(
            Who::User(0),
            "/books",
            &json!({"book_title": "t1", "secret": "s"}),
        );
        assert_eq!(h.get(Who::User(0), "booktitle"), Some(&json!("t1")));
        assert_eq!(h.get(Who::User(0), "secret"), None);
        h.collect_created(Who::User(0), "/books", &json!({"book_title": "mine"}));
        assert_eq!(h.get(Who::User(0), "booktitle"), Some(&json!("mine")));
    }
}
