//! Schema conversion to JSON Schema 2020-12, and the registry of schemas reached through
//! `$ref` (the catalog's `$defs` bundle).
//!
//! Schemas are never inlined: a `$ref` inside a schema is rewritten to `#/$defs/<key>` and its
//! target is queued once in the [`Registry`]; [`Builder::finish_schemas`] converts the queue
//! until it is empty. Conversion of one schema recurses through its subschemas with an
//! explicit depth limit, so neither recursive schemas nor very deep documents can loop or
//! overflow the stack.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::model::{Schema, SpecVersion};
use crate::pointer;

use super::node::{At, Builder, kind_of};
use super::refs::{describe, ref_of};

/// Deepest nesting of subschemas converted inside one schema. The corpus needs 24 at most;
/// 64 levels of the recursion below take about 600 KiB of stack in a debug build (much less
/// optimized), so a load fits any thread, tokio workers included.
const MAX_SCHEMA_DEPTH: usize = 64;

/// Subschema keywords that hold one schema.
const SINGLE: &[&str] = &[
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];

/// Subschema keywords that hold a mapping of name -> schema.
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "$defs",
    "definitions",
];

/// Subschema keywords that hold a list of schemas.
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Schemas reached through `$ref`: their keys, the converted ones, and those still waiting.
#[derive(Debug, Default)]
pub(crate) struct Registry<'a> {
    /// `(file, pointer)` of a target -> its key.
    by_target: HashMap<(usize, String), String>,
    /// Keys handed out so far.
    keys: HashSet<String>,
    /// Targets registered but not converted yet, in registration order.
    pending: VecDeque<(String, At<'a>)>,
    /// Converted schemas, in conversion order.
    pub done: IndexMap<String, Schema>,
    /// Keys of the enclosing schemas with `$recursiveAnchor: true`, innermost last.
    anchors: Vec<String>,
}

impl<'a> Builder<'a> {
    /// Converts the schema at `at` into a catalog [`Schema`] located at `at`.
    pub fn schema(&mut self, at: &At<'a>) -> Result<Schema, Error> {
        let value = self.convert(at.fid, at.value, &at.ptr, 0)?;
        Ok(Schema {
            value: Arc::new(value),
            location: at.location(),
        })
    }

    /// Converts every schema registered so far, and those they reach, into the registry.
    pub fn finish_schemas(&mut self) -> Result<(), Error> {
        while let Some((key, at)) = self.schemas.pending.pop_front() {
            let schema = self.schema(&at)?;
            self.schemas.done.insert(key, schema);
        }
        Ok(())
    }

    /// Converts `value`, a schema written in file `fid` at pointer `ptr` (which may be a
    /// schema synthesized from a 2.0 parameter; `ptr` then names that parameter).
    pub fn convert(
        &mut self,
        fid: usize,
        value: &Value,
        ptr: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        let Value::Object(map) = value else {
            return Ok(self.non_object(fid, value, ptr));
        };
        if depth > MAX_SCHEMA_DEPTH {
            return Err(Error::Invalid {
                location: self.files.locate(fid, ptr),
                message: format!("schemas nested more than {MAX_SCHEMA_DEPTH} levels deep"),
            });
        }
        if map.get("$recursiveAnchor") == Some(&Value::Bool(true)) {
            return self.convert_anchored(fid, map, ptr, depth);
        }
        self.convert_object(fid, map, ptr, depth)
    }

    /// A boolean schema is kept; any other non-mapping is read as `true` with a warning.
    #[inline(never)]
    fn non_object(&mut self, fid: usize, value: &Value, ptr: &str) -> Value {
        if value.is_boolean() {
            return value.clone();
        }
        let found = kind_of(value);
        self.warn(
            self.files.locate(fid, ptr),
            format!(
                "a schema must be a mapping or a boolean, found {found}; read as `{{}}` (anything)"
            ),
        );
        Value::Bool(true)
    }

    /// 2019-09 `$recursiveAnchor: true` marks the schema that a nested `$recursiveRef` means;
    /// that schema is registered so the reference can name it in `$defs`.
    #[inline(never)]
    fn convert_anchored(
        &mut self,
        fid: usize,
        map: &Map<String, Value>,
        ptr: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        let Some(target) = self.files.at(fid, ptr) else {
            // A synthesized schema has no node to name; read it without the anchor.
            return self.convert_object(fid, map, ptr, depth);
        };
        let Some(key) = self.register_target(target, fid, ptr)? else {
            // Its own `$ref` leads nowhere (tolerant load): read it without the anchor.
            return self.convert_object(fid, map, ptr, depth);
        };
        self.schemas.anchors.push(key);
        let converted = self.convert_object(fid, map, ptr, depth);
        self.schemas.anchors.pop();
        converted
    }

    // The recursion goes convert -> convert_object -> subschema -> convert; each
    // of these keeps a small frame (work that does not recurse lives in `leaf`, `schema_ref`
    // and `finish`), so the depth limit holds in a 2 MiB thread even in debug builds.
    fn convert_object(
        &mut self,
        fid: usize,
        map: &Map<String, Value>,
        ptr: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        let legacy = self.version != SpecVersion::OpenApi31;
        let mut reference = match self.schema_ref(fid, map, ptr, legacy)? {
            RefOutcome::Replaced(value) => return Ok(value),
            RefOutcome::Sibling(r) => Some(r),
            RefOutcome::None => None,
        };
        let mut out = Map::new();
        for (key, v) in map {
            if is_subschema_keyword(key) {
                if let Some(value) = self.subschema(fid, map, key, v, ptr, depth, &mut out)? {
                    out.insert(key.clone(), value);
                }
            } else {
                self.leaf(fid, map, key, v, ptr, &mut out, &mut reference);
            }
        }
        Ok(finish(map, out, legacy))
    }

    /// A `$ref` in a schema: its target registered, the reference rewritten. Before 3.1 the
    /// siblings are dropped (the result replaces the whole schema).
    #[inline(never)]
    fn schema_ref(
        &mut self,
        fid: usize,
        map: &Map<String, Value>,
        ptr: &str,
        legacy: bool,
    ) -> Result<RefOutcome, Error> {
        match map.get("$ref") {
            Some(Value::String(r)) => {
                let Some(key) = self.register(fid, r, &pointer::push(ptr, "$ref"))? else {
                    // Unresolvable (tolerant load): the reference says nothing, so before
                    // 3.1 the schema is `{}` (anything) and in 3.1 its siblings remain.
                    return Ok(if legacy {
                        RefOutcome::Replaced(Value::Object(Map::new()))
                    } else {
                        RefOutcome::None
                    });
                };
                let rewritten = Value::String(format!("#/$defs/{key}"));
                if !legacy {
                    return Ok(RefOutcome::Sibling(rewritten));
                }
                // 2.0 and 3.0: siblings of `$ref` are ignored, except `nullable`.
                let only = json!({ "$ref": rewritten });
                Ok(RefOutcome::Replaced(if is_nullable(map, legacy) {
                    json!({ "anyOf": [only, { "type": "null" }] })
                } else {
                    only
                }))
            }
            Some(other) => {
                let found = kind_of(other);
                self.warn(
                    self.files.locate(fid, &pointer::push(ptr, "$ref")),
                    format!("`$ref` must be a string, found {found}; ignored"),
                );
                Ok(RefOutcome::None)
            }
            None => Ok(RefOutcome::None),
        }
    }

    /// A keyword that holds subschemas: converted (returned), or written to `out` itself
    /// when it becomes other keywords (`items` lists, `dependencies`).
    #[allow(clippy::too_many_arguments)]
    fn subschema(
        &mut self,
        fid: usize,
        map: &Map<String, Value>,
        key: &str,
        v: &Value,
        ptr: &str,
        depth: usize,
        out: &mut Map<String, Value>,
    ) -> Result<Option<Value>, Error> {
        let here = pointer::push(ptr, key);
        Ok(Some(match (key, v) {
            // The array form of `items` is `prefixItems` in 2020-12, and `additionalItems`
            // then becomes `items`.
            ("items", Value::Array(list)) => {
                let converted = self.convert_list(fid, list, &here, depth)?;
                out.insert("prefixItems".to_owned(), converted);
                if let Some(extra) = map.get("additionalItems") {
                    let extra_ptr = pointer::push(ptr, "additionalItems");
                    let converted = self.convert(fid, extra, &extra_ptr, depth + 1)?;
                    out.insert("items".to_owned(), converted);
                }
                return Ok(None);
            }
            ("dependencies", _) => {
                self.convert_dependencies(fid, v, &here, depth, out)?;
                return Ok(None);
            }
            (_, Value::Object(members)) if MAPS.contains(&key) => {
                self.convert_map(fid, members, &here, depth)?
            }
            (_, Value::Array(list)) if LISTS.contains(&key) => {
                self.convert_list(fid, list, &here, depth)?
            }
            (_, other) if MAPS.contains(&key) || LISTS.contains(&key) => other.clone(),
            _ => self.convert(fid, v, &here, depth + 1)?,
        }))
    }

    /// A keyword that holds no subschema: kept, rewritten or dropped.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        fid: usize,
        map: &Map<String, Value>,
        key: &str,
        v: &Value,
        ptr: &str,
        out: &mut Map<String, Value>,
        reference: &mut Option<Value>,
    ) {
        let legacy = self.version != SpecVersion::OpenApi31;
        let here = || pointer::push(ptr, key);
        match key {
            "$ref" => {
                if let Some(r) = reference.take() {
                    out.insert(key.to_owned(), r);
                }
            }
            // Resource identifiers would change what `#/$defs/...` means downstream.
            "$id" | "$schema" | "$recursiveAnchor" => {}
            "$recursiveRef" => match self.schemas.anchors.last() {
                Some(anchor) => {
                    out.insert(
                        "$ref".to_owned(),
                        Value::String(format!("#/$defs/{anchor}")),
                    );
                }
                None => self.warn(
                    self.files.locate(fid, &here()),
                    "`$recursiveRef` outside a schema with `$recursiveAnchor: true`; ignored",
                ),
            },
            "nullable" | "example" if legacy => {}
            "exclusiveMinimum" | "exclusiveMaximum" if v.is_boolean() => {
                if !legacy {
                    self.warn(
                        self.files.locate(fid, &here()),
                        format!(
                            "`{key}` is a number in OpenAPI 3.1, found a boolean; read as in 3.0"
                        ),
                    );
                }
            }
            "minimum" | "maximum" => {
                let exclusive = if key == "minimum" {
                    "exclusiveMinimum"
                } else {
                    "exclusiveMaximum"
                };
                let name = if map.get(exclusive) == Some(&Value::Bool(true)) {
                    exclusive
                } else {
                    key
                };
                out.insert(name.to_owned(), v.clone());
            }
            "type" if v.as_str() == Some("file") => {
                if self.version != SpecVersion::Swagger2 {
                    self.warn(
                        self.files.locate(fid, &here()),
                        "`type: file` exists only in Swagger 2.0; read as a binary string",
                    );
                }
                out.insert(key.to_owned(), json!("string"));
                out.insert("format".to_owned(), json!("binary"));
            }
            "format" if map.get("type").and_then(Value::as_str) == Some("file") => {}
            // Meaningful only next to an `items` list (handled there).
            "additionalItems" => {}
            "required" => {
                if let Some(list) = self.required_list(fid, v, &here()) {
                    out.insert(key.to_owned(), list);
                }
            }
            // Everything else (validation keywords, annotations such as `readOnly`,
            // `format`, `discriminator`, `x-*`, and data such as `enum`/`default`) is kept
            // as written.
            _ => {
                out.insert(key.to_owned(), v.clone());
            }
        }
    }

    /// A mapping of name -> schema (`properties`, `$defs`...). A `$ref` in place of the whole
    /// mapping (`properties: {$ref: attributes.yaml#/pet}`, seen in multi-file documents that
    /// a bundler pastes together) is followed: no property can be named by a string schema.
    fn convert_map(
        &mut self,
        fid: usize,
        members: &Map<String, Value>,
        ptr: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        if let Some(Value::String(_)) = members.get("$ref")
            && let Some(at) = self.files.at(fid, ptr)
        {
            return match self.map_target(at)? {
                Some(target) => {
                    let Value::Object(target_members) = target.value else {
                        return Ok(Value::Object(Map::new()));
                    };
                    self.convert_map_members(target.fid, target_members, &target.ptr, depth)
                }
                // Unresolvable (tolerant load): no member is known.
                None => Ok(Value::Object(Map::new())),
            };
        }
        self.convert_map_members(fid, members, ptr, depth)
    }

    /// Where a `$ref` in place of a mapping of schemas (at `at`) leads (a warning when not
    /// a mapping); `None` when a tolerant load cannot resolve it.
    #[inline(never)]
    fn map_target(&mut self, at: At<'a>) -> Result<Option<At<'a>>, Error> {
        let location = at.location();
        let Some(target) = self.deref(at)? else {
            return Ok(None);
        };
        if !target.value.is_object() {
            let found = kind_of(target.value);
            self.warn(
                location,
                format!("a `$ref` in place of a mapping of schemas leads to {found}; ignored"),
            );
        }
        Ok(Some(target))
    }

    fn convert_map_members(
        &mut self,
        fid: usize,
        members: &Map<String, Value>,
        ptr: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        let mut converted = Map::new();
        for (name, sub) in members {
            let sub_ptr = pointer::push(ptr, name);
            let c = self.convert(fid, sub, &sub_ptr, depth + 1)?;
            converted.insert(name.clone(), c);
        }
        Ok(Value::Object(converted))
    }

    fn convert_list(
        &mut self,
        fid: usize,
        list: &[Value],
        ptr: &str,
        depth: usize,
    ) -> Result<Value, Error> {
        let mut out = Vec::with_capacity(list.len());
        for (i, sub) in list.iter().enumerate() {
            out.push(self.convert(fid, sub, &format!("{ptr}/{i}"), depth + 1)?);
        }
        Ok(Value::Array(out))
    }

    /// `required`: a list of unique property names in JSON Schema. Anything else (`required:
    /// true` on a property, repeated names) would make the whole bundle invalid, so it is
    /// repaired with a warning: non-lists are dropped, non-strings and repeats removed.
    fn required_list(&mut self, fid: usize, value: &Value, ptr: &str) -> Option<Value> {
        let Value::Array(items) = value else {
            let found = kind_of(value);
            self.warn(
                self.files.locate(fid, ptr),
                format!("`required` in a schema must be a list of property names, found {found}; ignored"),
            );
            return None;
        };
        let mut seen = HashSet::with_capacity(items.len());
        let mut names: Vec<Value> = Vec::with_capacity(items.len());
        let mut repaired = false;
        for item in items {
            match item.as_str() {
                Some(name) if seen.insert(name) => names.push(item.clone()),
                _ => repaired = true,
            }
        }
        if repaired {
            self.warn(
                self.files.locate(fid, ptr),
                "`required` lists a name twice or a value that is not a string; kept each name once",
            );
        }
        Some(Value::Array(names))
    }

    /// Draft-7 `dependencies`: lists become `dependentRequired`, schemas `dependentSchemas`.
    fn convert_dependencies(
        &mut self,
        fid: usize,
        value: &Value,
        ptr: &str,
        depth: usize,
        out: &mut Map<String, Value>,
    ) -> Result<(), Error> {
        let Value::Object(members) = value else {
            out.insert("dependencies".to_owned(), value.clone());
            return Ok(());
        };
        for (name, dep) in members {
            let (keyword, converted) = match dep {
                Value::Array(_) => ("dependentRequired", dep.clone()),
                _ => {
                    let sub_ptr = pointer::push(ptr, name);
                    (
                        "dependentSchemas",
                        self.convert(fid, dep, &sub_ptr, depth + 1)?,
                    )
                }
            };
            if let Value::Object(target) = out
                .entry(keyword)
                .or_insert_with(|| Value::Object(Map::new()))
            {
                target.insert(name.clone(), converted);
            }
        }
        Ok(())
    }

    /// Registers the target of the schema reference `reference` (written in file `fid` at
    /// `ref_ptr`) and returns its key in [`crate::Catalog::schemas`]; `None` when a tolerant
    /// load cannot resolve it.
    fn register(
        &mut self,
        fid: usize,
        reference: &str,
        ref_ptr: &str,
    ) -> Result<Option<String>, Error> {
        let files = self.files;
        match files.resolve(fid, reference) {
            Ok(target) => self.register_target(target, fid, ref_ptr),
            Err(why) => {
                self.tolerate(Error::Ref {
                    location: files.locate(fid, ref_ptr),
                    reference: reference.to_owned(),
                    message: why,
                })?;
                Ok(None)
            }
        }
    }

    /// Registers a schema node (reached from file `fid` at `ref_ptr`) and returns its key;
    /// `None` when the node is a chain of references that a tolerant load cannot resolve.
    fn register_target(
        &mut self,
        target: At<'a>,
        fid: usize,
        ref_ptr: &str,
    ) -> Result<Option<String>, Error> {
        let files = self.files;
        let id = (target.fid, target.ptr.clone());
        if let Some(key) = self.schemas.by_target.get(&id) {
            return Ok(Some(key.clone()));
        }
        if ref_of(target.value).is_some() {
            // A target that is itself a reference: refuse chains that never reach a schema.
            if let Err(e) = files.deref(target.clone()) {
                let e = match e {
                    Error::Ref {
                        message, reference, ..
                    } => Error::Ref {
                        location: files.locate(fid, ref_ptr),
                        reference,
                        message: format!("{message}, starting from {}", describe(&target)),
                    },
                    other => other,
                };
                self.tolerate(e)?;
                return Ok(None);
            }
        }
        let key = self.schemas.new_key(&target);
        self.schemas.by_target.insert(id, key.clone());
        self.schemas.pending.push_back((key.clone(), target));
        Ok(Some(key))
    }
}

impl Registry<'_> {
    /// A fresh key for `target`, made of `[A-Za-z0-9._-]` only.
    fn new_key(&mut self, target: &At<'_>) -> String {
        let base = key_base(target);
        let mut key = base.clone();
        let mut n = 2;
        while self.keys.contains(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        self.keys.insert(key.clone());
        key
    }
}

/// The key a target would get before deduplication: its name under `components/schemas` or
/// `definitions` (with any deeper tokens joined by `.`), else its last pointer tokens, and
/// the file name as a prefix when the target is in another file than the root.
fn key_base(target: &At<'_>) -> String {
    let tokens = pointer::tokens(&target.ptr).unwrap_or_default();
    let tokens: Vec<&str> = tokens.iter().map(|t| t.as_ref()).collect();
    let named = match tokens.as_slice() {
        ["components", "schemas", rest @ ..] | ["definitions" | "$defs", rest @ ..]
            if !rest.is_empty() =>
        {
            rest.to_vec()
        }
        all => all
            .get(all.len().saturating_sub(3)..)
            .unwrap_or_default()
            .to_vec(),
    };
    let file_name = || {
        std::path::Path::new(&*target.file.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let raw = match (target.fid, named.is_empty()) {
        (_, true) if target.fid != 0 => file_name(),
        (0, _) => named.join("."),
        _ => format!("{}-{}", file_name(), named.join(".")),
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "schema".to_owned()
    } else {
        clean
    }
}

/// True for the keywords whose values hold subschemas.
fn is_subschema_keyword(key: &str) -> bool {
    matches!(key, "items" | "dependencies")
        || SINGLE.contains(&key)
        || MAPS.contains(&key)
        || LISTS.contains(&key)
}

/// What a schema's `$ref` does to it.
enum RefOutcome {
    /// The whole schema is this (2.0 and 3.0: `$ref` siblings are ignored).
    Replaced(Value),
    /// The rewritten reference, kept beside its siblings (3.1).
    Sibling(Value),
    /// No usable `$ref`.
    None,
}

/// `nullable: true` (or 2.0 `x-nullable: true`) before 3.1.
fn is_nullable(map: &Map<String, Value>, legacy: bool) -> bool {
    let is_true = |key: &str| map.get(key) == Some(&Value::Bool(true));
    legacy && (is_true("nullable") || is_true("x-nullable"))
}

/// What a converted object needs once all keywords are in: 3.0 `example` as `examples`,
/// `nullable` as a `null` type.
#[inline(never)]
fn finish(map: &Map<String, Value>, mut out: Map<String, Value>, legacy: bool) -> Value {
    if let Some(example) = map.get("example").filter(|_| legacy) {
        match out.get_mut("examples") {
            Some(Value::Array(list)) => list.push(example.clone()),
            _ => {
                out.insert("examples".to_owned(), json!([example]));
            }
        }
    }
    if is_nullable(map, legacy) {
        return make_nullable(out);
    }
    Value::Object(out)
}

/// 3.0 `nullable: true`: `null` joins `type` (and `enum`); with no `type`, a composition
/// (`allOf`...) is wrapped so that `null` passes beside it.
fn make_nullable(mut out: Map<String, Value>) -> Value {
    let null = Value::String("null".to_owned());
    let has_type = match out.get_mut("type") {
        Some(Value::String(t)) if t == "null" => true,
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            out.insert("type".to_owned(), json!([t, "null"]));
            true
        }
        Some(Value::Array(types)) => {
            if !types.contains(&null) {
                types.push(null.clone());
            }
            true
        }
        _ => false,
    };
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    let composed = ["allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| out.contains_key(*k));
    if !has_type && composed {
        return json!({ "anyOf": [Value::Object(out), { "type": "null" }] });
    }
    Value::Object(out)
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
