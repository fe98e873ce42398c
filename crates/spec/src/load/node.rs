//! The builder's view of a document: a node ([`At`]) is a value together with the file and JSON
//! pointer it sits at, so every item built from it can carry its [`Location`], and every
//! `$ref` inside it resolves against the right file.

use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::model::{Extensions, Location, SpecVersion, UnresolvedRef, Warning};
use crate::pointer;
use crate::source::SourceFile;

use super::refs::Files;
use super::schema::Registry;

/// One node of one parsed file.
#[derive(Debug, Clone)]
pub(crate) struct At<'a> {
    /// Index of the file in [`Files`].
    pub fid: usize,
    /// The file.
    pub file: &'a Arc<SourceFile>,
    /// The value at `ptr`.
    pub value: &'a Value,
    /// RFC 6901 pointer of the value in its file.
    pub ptr: String,
}

impl<'a> At<'a> {
    /// Where this node is.
    pub fn location(&self) -> Location {
        self.file.locate(&self.ptr)
    }

    /// Where the member `key` of this node is (or would be: the nearest existing ancestor).
    pub fn location_of(&self, key: &str) -> Location {
        self.file.locate(&pointer::push(&self.ptr, key))
    }

    /// The member `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        let value = self.value.as_object()?.get(key)?;
        Some(At {
            fid: self.fid,
            file: self.file,
            value,
            ptr: pointer::push(&self.ptr, key),
        })
    }

    /// The member `key` when it exists and is not `null` (YAML `key:` with no value).
    pub fn get_present(&self, key: &str) -> Option<At<'a>> {
        self.get(key).filter(|at| !at.value.is_null())
    }

    /// The members of a mapping, in document order (nothing for other values).
    pub fn members(&self) -> impl Iterator<Item = (&'a str, At<'a>)> + '_ {
        self.value.as_object().into_iter().flatten().map(|(k, v)| {
            (
                k.as_str(),
                At {
                    fid: self.fid,
                    file: self.file,
                    value: v,
                    ptr: pointer::push(&self.ptr, k),
                },
            )
        })
    }

    /// The items of a sequence, in order (nothing for other values).
    pub fn items(&self) -> impl Iterator<Item = At<'a>> + '_ {
        self.value
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| At {
                fid: self.fid,
                file: self.file,
                value: v,
                ptr: format!("{}/{i}", self.ptr),
            })
    }

    /// The string member `key`, if it is a string.
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.value.get(key).and_then(Value::as_str)
    }

    /// The `x-` members, in document order.
    pub fn extensions(&self) -> Extensions {
        self.value
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("x-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// An [`Error::Invalid`] at this node.
    pub fn invalid(&self, message: impl Into<String>) -> Error {
        Error::Invalid {
            location: self.location(),
            message: message.into(),
        }
    }

    /// Requires a mapping: an [`Error::Invalid`] naming `what` otherwise.
    pub fn expect_object(&self, what: &str) -> Result<(), Error> {
        if self.value.is_object() {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "{what} must be a mapping, found {}",
                kind_of(self.value)
            )))
        }
    }

    /// Requires a sequence: an [`Error::Invalid`] naming `what` otherwise.
    pub fn expect_array(&self, what: &str) -> Result<(), Error> {
        if self.value.is_array() {
            Ok(())
        } else {
            Err(self.invalid(format!(
                "{what} must be a list, found {}",
                kind_of(self.value)
            )))
        }
    }
}

/// A short name for the JSON type of a value, for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Everything the catalog builder carries while it walks a document.
pub(crate) struct Builder<'a> {
    /// Every parsed file, root first.
    pub files: &'a Files,
    /// The root document's version; external files are read in the same dialect.
    pub version: SpecVersion,
    /// Schemas reached through `$ref`, converted or waiting to be.
    pub schemas: Registry<'a>,
    /// Non-fatal problems so far.
    pub warnings: Vec<Warning>,
    /// When true (an audit's tolerant load), a `$ref` that cannot be resolved is recorded in
    /// `unresolved` and the part it names is read as unknown; when false it is an error.
    pub tolerant: bool,
    /// `$ref`s that could not be resolved (tolerant loads only).
    pub unresolved: Vec<UnresolvedRef>,
}

impl<'a> Builder<'a> {
    /// A builder over parsed files.
    pub fn new(files: &'a Files, version: SpecVersion, tolerant: bool) -> Self {
        Builder {
            files,
            version,
            schemas: Registry::default(),
            warnings: Vec::new(),
            tolerant,
            unresolved: Vec::new(),
        }
    }

    /// A tolerant load records an [`Error::Ref`] and goes on (`Ok`); anything else, or any
    /// error of a strict load, is returned as it is.
    pub fn tolerate(&mut self, error: Error) -> Result<(), Error> {
        match error {
            Error::Ref {
                location,
                reference,
                message,
            } if self.tolerant => {
                self.unresolved.push(UnresolvedRef {
                    location,
                    reference,
                    message,
                });
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Follows `$ref`s from `at` ([`Files::deref`]); in a tolerant load, a reference that
    /// cannot be resolved is recorded and gives `None` (the caller reads the part as absent).
    pub fn deref(&mut self, at: At<'a>) -> Result<Option<At<'a>>, Error> {
        match self.files.deref(at) {
            Ok(target) => Ok(Some(target)),
            Err(e) => self.tolerate(e).map(|()| None),
        }
    }

    /// Records a non-fatal problem.
    pub fn warn(&mut self, location: Location, message: impl Into<String>) {
        self.warnings.push(Warning {
            location,
            message: message.into(),
        });
    }

    /// The string member `key` of `at`; any other non-null type is reported as a warning and
    /// read as absent (descriptive fields are never worth refusing a document for).
    pub fn text(&mut self, at: &At<'a>, key: &str) -> Option<String> {
        match at.value.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                let found = kind_of(other);
                self.warn(
                    at.location_of(key),
                    format!("`{key}` should be a string, found {found}; ignored"),
                );
                None
            }
        }
    }

    /// The boolean member `key` of `at` (`default` when absent); a string `"true"`/`"false"`
    /// is accepted with a warning, any other type is a warning and gives `default`.
    pub fn flag(&mut self, at: &At<'a>, key: &str, default: bool) -> bool {
        match at.value.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "false" => {
                self.warn(
                    at.location_of(key),
                    format!("`{key}` should be a boolean, found the string {s:?}"),
                );
                s == "true"
            }
            Some(other) => {
                let found = kind_of(other);
                self.warn(
                    at.location_of(key),
                    format!("`{key}` should be a boolean, found {found}; ignored"),
                );
                default
            }
        }
    }

    /// The list of strings at `key` (non-string items are warned about and skipped).
    pub fn strings(&mut self, at: &At<'a>, key: &str) -> Vec<String> {
        let Some(list) = at.get_present(key) else {
            return Vec::new();
        };
        if !list.value.is_array() {
            let found = kind_of(list.value);
            self.warn(
                list.location(),
                format!("`{key}` should be a list of strings, found {found}; ignored"),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        for item in list.items() {
            match item.value.as_str() {
                Some(s) => out.push(s.to_owned()),
                None => {
                    let found = kind_of(item.value);
                    self.warn(
                        item.location(),
                        format!("`{key}` items should be strings, found {found}; skipped"),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Positions;
    use serde_json::json;

    fn file(value: Value) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: Arc::from("t.yaml"),
            path: Default::default(),
            value,
            positions: Positions::default(),
            bytes: 0,
        })
    }

    #[test]
    fn children_carry_escaped_pointers() {
        let f = file(json!({"paths": {"/a/{b}": {"get": {}}}, "list": [1, 2]}));
        let root = At {
            fid: 0,
            file: &f,
            value: &f.value,
            ptr: String::new(),
        };
        let item = root.get("paths").unwrap().get("/a/{b}").unwrap();
        assert_eq!(item.ptr, "/paths/~1a~1{b}");
        let ptrs: Vec<String> = root.get("list").unwrap().items().map(|a| a.ptr).collect();
        assert_eq!(ptrs, vec!["/list/0", "/list/1"]);
        assert!(root.get("list").unwrap().expect_object("list").is_err());
    }
}
