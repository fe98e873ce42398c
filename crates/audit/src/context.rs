//! What every rule reads: the catalog, plus an index built once per catalog.
//!
//! The index flattens every schema of the document into [`Node`]s: the schemas written inline in
//! operations and each schema of the `$defs` bundle ([`portcullis_spec::Catalog::schemas`]), each
//! walked exactly once, never through a `$ref`. Each node knows how the API uses it ([`Usage`]:
//! parameter, request body, response), propagated along `$ref`s, so a rule about request bodies
//! reports a weakness of a shared component once, at its definition, however many operations
//! use it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use indexmap::IndexMap;
use portcullis_spec::{Catalog, Operation, Schema, pointer};
use serde_json::{Map, Value};

use crate::names;

/// How the API uses a schema: bits of where it is reachable from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Usage(u8);

impl Usage {
    /// Not reachable from any operation.
    pub const NONE: Usage = Usage(0);
    /// A parameter's schema.
    pub const PARAM: Usage = Usage(1);
    /// A request body's schema.
    pub const BODY: Usage = Usage(2);
    /// A response of an operation that does not issue credentials.
    pub const RESPONSE: Usage = Usage(4);
    /// A response of an operation that issues credentials (login, token...).
    pub const AUTH_RESPONSE: Usage = Usage(8);

    /// True when any bit of `other` is set.
    pub fn any(self, other: Usage) -> bool {
        self.0 & other.0 != 0
    }

    /// Input: parameter or request body.
    pub fn input(self) -> bool {
        self.any(Usage(Usage::PARAM.0 | Usage::BODY.0))
    }

    /// Any response.
    pub fn output(self) -> bool {
        self.any(Usage(Usage::RESPONSE.0 | Usage::AUTH_RESPONSE.0))
    }

    /// Every bit of both.
    pub fn union(self, other: Usage) -> Usage {
        Usage(self.0 | other.0)
    }

    fn with(self, other: Usage) -> Usage {
        self.union(other)
    }
}

/// One schema object of the document, with where it is in the source.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    /// The (converted, JSON Schema 2020-12) schema object.
    pub schema: &'a Map<String, Value>,
    /// The file it is written in.
    pub file: &'a Arc<str>,
    /// Pointer of the node in `file` (the nearest node that exists in the source when the
    /// converter synthesized structure, e.g. the `anyOf` of a 3.0 `nullable` reference).
    pub pointer: String,
    /// The property name when the node is a member of `properties`.
    pub property: Option<&'a str>,
    /// True when that property is listed in its parent's `required`.
    pub required: bool,
    /// How the API uses the schema this node belongs to.
    pub usage: Usage,
}

impl Node<'_> {
    /// True when `type` is, or includes, `name`.
    pub fn has_type(&self, name: &str) -> bool {
        match self.schema.get("type") {
            Some(Value::String(t)) => t == name,
            Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some(name)),
            _ => false,
        }
    }

    /// True when the keyword is present.
    pub fn has(&self, keyword: &str) -> bool {
        self.schema.contains_key(keyword)
    }

    /// The string value of `keyword`.
    pub fn str(&self, keyword: &str) -> Option<&str> {
        self.schema.get(keyword).and_then(Value::as_str)
    }

    /// True when `keyword` is the boolean `true`.
    pub fn flag(&self, keyword: &str) -> bool {
        self.schema.get(keyword) == Some(&Value::Bool(true))
    }

    /// The pointer of `keyword` in this node (for a finding about a keyword that exists).
    pub fn at(&self, keyword: &str) -> String {
        pointer::push(&self.pointer, keyword)
    }

    /// A short label for messages: the property name or the pointer.
    pub fn label(&self) -> String {
        match self.property {
            Some(p) => format!("property `{p}`"),
            None => format!("schema at {}", display_pointer(&self.pointer)),
        }
    }
}

/// A pointer as shown in messages (`#` for the root).
pub fn display_pointer(p: &str) -> &str {
    if p.is_empty() { "#" } else { p }
}

/// The catalog and the index every rule shares.
#[derive(Debug)]
pub struct Context<'a> {
    /// The catalog under audit.
    pub catalog: &'a Catalog,
    /// Every schema object of the document, each once.
    pub nodes: Vec<Node<'a>>,
    /// Usage of each `$defs` key.
    pub def_usage: HashMap<&'a str, Usage>,
    /// Every `x-portcullis-ignore` entry of the document's files.
    pub suppressions: Vec<crate::suppress::Suppression>,
}

/// Subschema keywords that hold data shapes, walked by the index.
const SINGLE: &[&str] = &["items", "additionalProperties", "unevaluatedProperties"];
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
const MAPS: &[&str] = &["properties", "patternProperties"];

impl<'a> Context<'a> {
    /// Builds the index of `catalog`.
    pub fn new(catalog: &'a Catalog) -> Context<'a> {
        // Inline schemas of operations, deduplicated by place (path-level parameters and
        // shared responses appear in several operations).
        let mut roots: IndexMap<(&'a str, &'a str), (&'a Schema, Usage)> = IndexMap::new();
        let mut add = |schema: &'a Schema, usage: Usage| {
            let key = (&*schema.location.file, schema.location.pointer.as_str());
            let entry = roots.entry(key).or_insert((schema, Usage::NONE));
            entry.1 = entry.1.with(usage);
        };
        for op in &catalog.operations {
            for p in &op.parameters {
                if let Some(s) = &p.schema {
                    add(s, Usage::PARAM);
                }
            }
            if let Some(body) = &op.request_body {
                for media in body.content.values() {
                    if let Some(s) = &media.schema {
                        add(s, Usage::BODY);
                    }
                }
            }
            let out = if names::issues_credentials(op) {
                Usage::AUTH_RESPONSE
            } else {
                Usage::RESPONSE
            };
            for response in op.responses.values() {
                for media in response.content.values() {
                    if let Some(s) = &media.schema {
                        add(s, out);
                    }
                }
            }
        }

        // Usage of `$defs`, propagated along references (each key re-queued only when it
        // gains a usage bit, so at most four times).
        let mut def_usage: HashMap<&'a str, Usage> = HashMap::new();
        let mut refs_cache: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
        let mut queue: VecDeque<(&'a str, Usage)> = VecDeque::new();
        for (schema, usage) in roots.values() {
            let mut found = Vec::new();
            collect_refs(catalog, &schema.value, &mut found);
            queue.extend(found.into_iter().map(|k| (k, *usage)));
        }
        while let Some((key, usage)) = queue.pop_front() {
            let current = def_usage.entry(key).or_default();
            let next = current.with(usage);
            if next == *current && current.0 != 0 {
                continue;
            }
            *current = next;
            let refs = refs_cache.entry(key).or_insert_with(|| {
                let mut found = Vec::new();
                if let Some(s) = catalog.schemas.get(key) {
                    collect_refs(catalog, &s.value, &mut found);
                }
                found
            });
            queue.extend(refs.iter().map(|k| (*k, next)));
        }

        let mut nodes = Vec::new();
        for (schema, usage) in roots.values() {
            walk(catalog, schema, *usage, &mut nodes);
        }
        for (key, schema) in &catalog.schemas {
            let usage = def_usage.get(key.as_str()).copied().unwrap_or_default();
            walk(catalog, schema, usage, &mut nodes);
        }
        Context {
            catalog,
            nodes,
            def_usage,
            suppressions: crate::suppress::collect(catalog),
        }
    }

    /// The file of the root document.
    pub fn root_file(&self) -> &'a Arc<str> {
        &self.catalog.root_file
    }

    /// The raw (unconverted) source value of an operation.
    pub fn raw_operation(&self, op: &Operation) -> Option<&'a Value> {
        self.catalog
            .sources
            .get(&op.location.file, &op.location.pointer)
    }
}

/// The `$defs` keys referenced anywhere inside `value` (without following them).
fn collect_refs<'a>(catalog: &'a Catalog, value: &'a Value, out: &mut Vec<&'a str>) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && let Some(key) = r.strip_prefix("#/$defs/")
                {
                    let key = pointer::unescape_token(key);
                    if let Some((k, _)) = catalog.schemas.get_key_value(key.as_ref()) {
                        out.push(k.as_str());
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
}

/// A node still to visit: converted value, the source value at the pointer when it exists,
/// the pointer, the property name, and whether the property is required.
type Pending<'a> = (&'a Value, Option<&'a Value>, String, Option<&'a str>, bool);

/// Adds every schema object inside `schema` (not following `$ref`) to `out`.
fn walk<'a>(catalog: &'a Catalog, schema: &'a Schema, usage: Usage, out: &mut Vec<Node<'a>>) {
    let file = &schema.location.file;
    let source = catalog.sources.get(file, &schema.location.pointer);
    let mut stack: Vec<Pending<'a>> = vec![(
        &schema.value,
        source,
        schema.location.pointer.clone(),
        None,
        false,
    )];
    while let Some((value, src, ptr, property, required)) = stack.pop() {
        let Value::Object(map) = value else { continue };
        // Children, pushed in reverse so nodes come out in document order.
        let mut children = Vec::new();
        for (key, sub) in map {
            let k = key.as_str();
            if SINGLE.contains(&k) {
                let (s, p) = descend(src, &ptr, k);
                children.push((sub, s, p, None, false));
            } else if LISTS.contains(&k) {
                // 2.0/3.0 `items: [..]` became `prefixItems`.
                let source_key =
                    if k == "prefixItems" && src.is_some_and(|s| s.get("prefixItems").is_none()) {
                        "items"
                    } else {
                        k
                    };
                let (s, p) = descend(src, &ptr, source_key);
                if let Value::Array(items) = sub {
                    for (i, item) in items.iter().enumerate() {
                        let (si, pi) = descend(s, &p, &i.to_string());
                        children.push((item, si, pi, None, false));
                    }
                }
            } else if MAPS.contains(&k) {
                let (s, p) = descend(src, &ptr, k);
                if let Value::Object(members) = sub {
                    let req = map.get("required").and_then(Value::as_array);
                    for (name, item) in members {
                        let (si, pi) = descend(s, &p, name);
                        let is_required = k == "properties"
                            && req.is_some_and(|r| r.iter().any(|x| x.as_str() == Some(name)));
                        let prop = (k == "properties").then_some(name.as_str());
                        children.push((item, si, pi, prop, is_required));
                    }
                }
            }
        }
        out.push(Node {
            schema: map,
            file,
            pointer: ptr,
            property,
            required,
            usage,
        });
        stack.extend(children.into_iter().rev());
    }
}

/// The source value and pointer of child `key` of a node: the child when the source has it,
/// otherwise the node itself (synthesized structure has no place of its own).
fn descend<'a>(src: Option<&'a Value>, ptr: &str, key: &str) -> (Option<&'a Value>, String) {
    let child = src.and_then(|s| match s {
        Value::Object(m) => m.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    });
    match child {
        Some(c) => (Some(c), pointer::push(ptr, key)),
        None => (None, ptr.to_owned()),
    }
}
