//! Document-level descriptions: `info` and `tags`.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::Error;
use crate::model::Info;

use super::node::{At, Builder, kind_of};

impl<'a> Builder<'a> {
    /// `info` (a `$ref` to another file is followed, as bundlers do).
    pub fn info(&mut self, root: &At<'a>) -> Result<Info, Error> {
        let Some(at) = root.get_present("info") else {
            self.warn(root.location(), "the document has no `info`");
            return Ok(Info {
                location: Some(root.location()),
                ..Info::default()
            });
        };
        let Some(at) = self.deref(at)? else {
            return Ok(Info {
                location: Some(root.location()),
                ..Info::default()
            });
        };
        if !at.value.is_object() {
            let found = kind_of(at.value);
            self.warn(
                at.location(),
                format!("`info` should be a mapping, found {found}; ignored"),
            );
            return Ok(Info {
                location: Some(at.location()),
                ..Info::default()
            });
        }
        Ok(Info {
            title: self.text(&at, "title"),
            version: self.text(&at, "version"),
            description: self.description(&at),
            contact: at.value.get("contact").cloned(),
            license: at.value.get("license").cloned(),
            location: Some(at.location()),
        })
    }

    /// Declared tags: name -> description, in document order.
    pub fn tags(&mut self, root: &At<'a>) -> IndexMap<String, Option<String>> {
        let mut tags = IndexMap::new();
        let Some(list) = root.get_present("tags") else {
            return tags;
        };
        if !list.value.is_array() {
            let found = kind_of(list.value);
            self.warn(
                list.location(),
                format!("`tags` should be a list, found {found}; ignored"),
            );
            return tags;
        }
        for tag in list.items() {
            let Some(name) = tag.str("name") else {
                self.warn(tag.location(), "a tag without a string `name`; skipped");
                continue;
            };
            let description = self.description(&tag);
            if tags.insert(name.to_owned(), description).is_some() {
                self.warn(
                    tag.location(),
                    format!("the tag {name:?} is declared twice"),
                );
            }
        }
        tags
    }

    /// `description`: a string, or (outside the specification, but seen in multi-file
    /// documents) a `$ref` to a string, which is followed.
    pub fn description(&mut self, at: &At<'a>) -> Option<String> {
        let desc = at.get_present("description")?;
        if desc.value.is_object() {
            return match self.files.deref(desc.clone()) {
                Ok(target) => match target.value {
                    Value::String(s) => Some(s.clone()),
                    _ => {
                        self.warn(desc.location(), "`description` should be a string; ignored");
                        None
                    }
                },
                Err(e) => {
                    self.warn(desc.location(), format!("`description` ignored: {e}"));
                    None
                }
            };
        }
        self.text(at, "description")
    }
}
