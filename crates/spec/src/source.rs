//! Source files: the parsed value of every file a catalog was built from, with the line and
//! column of every node, so any JSON pointer can be turned into a [`Location`].
//!
//! Parsing itself lives in [`crate::parse`]; this module holds the result and answers
//! "where is this pointer?" in O(depth).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::model::Location;
use crate::pointer;

/// Line and column of every node of a parsed value, as a tree parallel to the value:
/// a mapping node's children are its members in document order, a sequence node's its items.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    nodes: Vec<PosNode>,
}

#[derive(Debug, Clone)]
struct PosNode {
    line: u32,
    column: u32,
    children: Box<[u32]>,
}

/// Identifies a node while [`Positions`] is being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(u32);

impl Positions {
    /// Adds a node at a 1-based line and column; its children are set later with
    /// [`Positions::set_children`]. The first node added is the root.
    pub fn push(&mut self, line: u32, column: u32) -> NodeId {
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(PosNode {
            line,
            column,
            children: Box::new([]),
        });
        NodeId(id)
    }

    /// Sets the children of `node`, in document order (mapping members or sequence items).
    pub fn set_children(&mut self, node: NodeId, children: &[NodeId]) {
        if let Some(n) = self.nodes.get_mut(node.0 as usize) {
            n.children = children.iter().map(|c| c.0).collect();
        }
    }

    /// Number of nodes recorded.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The line and column of the node at `pointer` in `value`, or of its nearest ancestor
    /// that exists. The boolean is true when the exact node was found.
    pub fn find(&self, value: &Value, pointer: &str) -> Option<(u32, u32, bool)> {
        let root = self.nodes.first()?;
        let mut node = root;
        let mut current = value;
        let Some(tokens) = pointer::tokens(pointer) else {
            return Some((root.line, root.column, false));
        };
        for token in tokens {
            // A member is found by hash; its index (the position tree is by index) by
            // comparing addresses, not strings: large mappings (`paths`, `schemas`) have
            // thousands of keys.
            let (index, next_value) = match current {
                Value::Object(map) => match map.get_key_value(token.as_ref()) {
                    Some((key, v)) => (map.keys().position(|k| std::ptr::eq(k, key)), Some(v)),
                    None => (None, None),
                },
                Value::Array(items) => {
                    let i = token.parse::<usize>().ok();
                    (i, i.and_then(|i| items.get(i)))
                }
                _ => (None, None),
            };
            let next_node = index
                .and_then(|i| node.children.get(i))
                .and_then(|id| self.nodes.get(*id as usize));
            match (next_value, next_node) {
                (Some(v), Some(n)) => {
                    current = v;
                    node = n;
                }
                _ => return Some((node.line, node.column, false)),
            }
        }
        Some((node.line, node.column, true))
    }
}

/// One parsed file.
#[derive(Debug)]
pub struct SourceFile {
    /// The name used in locations and messages (the path as given, or relative to the root
    /// document's folder for files reached through `$ref`).
    pub name: Arc<str>,
    /// The path it was read from (empty for documents loaded from a string).
    pub path: PathBuf,
    /// The parsed document, keys in document order.
    pub value: Value,
    /// Where every node of `value` is.
    pub positions: Positions,
    /// Size of the file in bytes.
    pub bytes: u64,
}

impl SourceFile {
    /// The value at `pointer`, if it exists.
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }

    /// The location of `pointer`: its own line and column when it exists, else those of its
    /// nearest existing ancestor (never fails, so a finding can always point somewhere).
    pub fn locate(&self, pointer: &str) -> Location {
        let (line, column) = self
            .positions
            .find(&self.value, pointer)
            .map(|(l, c, _)| (l, c))
            .unwrap_or((0, 0));
        Location {
            file: self.name.clone(),
            pointer: pointer.to_owned(),
            line,
            column,
        }
    }
}

/// Every file a catalog was built from, root document first.
#[derive(Debug, Default)]
pub struct SourceMap {
    /// The files, root first.
    pub files: Vec<Arc<SourceFile>>,
}

impl SourceMap {
    /// The file with this [`SourceFile::name`].
    pub fn file(&self, name: &str) -> Option<&SourceFile> {
        self.files.iter().find(|f| &*f.name == name).map(|f| &**f)
    }

    /// The root document.
    pub fn root(&self) -> Option<&SourceFile> {
        self.files.first().map(|f| &**f)
    }

    /// The location of `pointer` in the file `name` (see [`SourceFile::locate`]); line and
    /// column are 0 when the file is unknown.
    pub fn locate(&self, name: &str, pointer: &str) -> Location {
        match self.file(name) {
            Some(f) => f.locate(pointer),
            None => Location {
                file: Arc::from(name),
                pointer: pointer.to_owned(),
                line: 0,
                column: 0,
            },
        }
    }

    /// The raw (unconverted) value at `pointer` in the file `name`.
    pub fn get(&self, name: &str, pointer: &str) -> Option<&Value> {
        self.file(name)?.get(pointer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_exact_nodes_and_nearest_ancestors() {
        // {"a": {"b": [1, 2]}} laid out as if on lines 1..=4.
        let value = json!({"a": {"b": [1, 2]}});
        let mut p = Positions::default();
        let root = p.push(1, 1);
        let a = p.push(2, 3);
        let b = p.push(3, 5);
        let one = p.push(3, 11);
        let two = p.push(4, 7);
        p.set_children(root, &[a]);
        p.set_children(a, &[b]);
        p.set_children(b, &[one, two]);
        assert_eq!(p.find(&value, ""), Some((1, 1, true)));
        assert_eq!(p.find(&value, "/a/b/1"), Some((4, 7, true)));
        assert_eq!(p.find(&value, "/a/b/7"), Some((3, 5, false)));
        assert_eq!(p.find(&value, "/a/zz/q"), Some((2, 3, false)));
        assert_eq!(p.find(&value, "nope"), Some((1, 1, false)));
    }
}
