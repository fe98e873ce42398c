//! YAML text to value and positions, from the `saphyr-parser` event stream.
//!
//! The builder keeps an explicit stack of open mappings and sequences, so nesting depth costs
//! heap, not stack, and is checked against [`Limits::max_depth`]. Every mapping member's
//! position is its key's; every sequence item's is the item's. Anchored nodes are remembered
//! with their size, and each alias adds that size to a budget ([`Limits::max_alias_expansion`])
//! before anything is copied, so exponential alias bombs stop at the first alias over budget.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::merge::merge;
use super::repair::{self, Indentation, Shifts};
use super::scalar::{self, CoreTag};
use super::{Failure, Limits, to_u32};
use crate::pointer;
use crate::source::{NodeId, Positions};

/// A child in the position tree with the line it starts on (for duplicate-key messages).
pub(crate) type Member = (NodeId, u32);

/// How many under-indented places (see the `repair` module) one document may have repaired.
const MAX_REPAIRS: usize = 64;

/// Parses the first document of a YAML stream.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<(Value, Positions), Failure> {
    let mut repaired: Option<(String, Shifts)> = None;
    let mut repairs = 0;
    loop {
        let (current, shifts) = match &repaired {
            Some((text, shifts)) => (text.as_str(), Some(shifts)),
            None => (text, None),
        };
        let (failure, indentation) = match parse_once(current, shifts, limits) {
            Ok(parsed) => return Ok(parsed),
            Err(e) => e,
        };
        let fixed = indentation
            .filter(|_| repairs < MAX_REPAIRS)
            .and_then(|what| repair::reindent(current, what));
        let Some((fixed, added)) = fixed else {
            return Err(failure);
        };
        let mut shifts = repaired.map(|r| r.1).unwrap_or_default();
        for (line, spaces) in added {
            *shifts.entry(line).or_default() += spaces;
        }
        repaired = Some((fixed, shifts));
        repairs += 1;
    }
}

/// One pass of the parser over `text`; a failure comes with the indentation error it is, when
/// it is one the `repair` module may fix.
fn parse_once(
    text: &str,
    shifts: Option<&Shifts>,
    limits: &Limits,
) -> Result<(Value, Positions), (Failure, Option<Indentation>)> {
    let mut builder = Builder {
        limits,
        shifts,
        positions: Positions::default(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        total: Size::default(),
        expanded: Size::default(),
        root: None,
        scratch: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0_usize;
    let mut first_end = 0_u32;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let marker = *e.marker();
            let (line, column) = builder.place(marker);
            let message = if e.info() == "recursion limit exceeded" {
                "nesting deeper than 255 flow levels (the YAML scanner's limit)"
            } else {
                e.info()
            };
            let indentation = Indentation::from_error(e.info(), marker.line(), marker.col());
            (builder.fail(line, column, message.to_owned()), indentation)
        })?;
        match event {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let (line, column) = builder.place(span.start);
                    let message = format!(
                        "more than one YAML document in the stream (the first one ends on line \
                         {first_end}); only one is allowed"
                    );
                    return Err((builder.fail(line, column, message), None));
                }
            }
            Event::DocumentEnd => first_end = builder.place(span.start).0,
            other => builder.event(other, span).map_err(|f| (f, None))?,
        }
    }
    let empty = Failure {
        line: 1,
        column: 1,
        pointer: String::new(),
        message: "empty document: no YAML content (only whitespace, comments or markers)"
            .to_owned(),
    };
    match builder.root {
        Some(Root::Value(value)) => Ok((value, builder.positions)),
        Some(Root::Empty) | None => Err((empty, None)),
    }
}

/// What the document's root turned out to be.
enum Root {
    /// A value.
    Value(Value),
    /// An untagged empty plain scalar: nothing at all.
    Empty,
}

/// A value copied by aliases.
struct Anchored {
    value: Value,
    children: Vec<Member>,
    /// Nodes in the value and bytes of text in its keys and strings, counted against the
    /// alias expansion budgets on each use.
    size: Size,
}

/// Nodes and bytes of text (keys and strings) in a value.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn since(self, start: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_sub(start.nodes),
            bytes: self.bytes.saturating_sub(start.bytes),
        }
    }
}

/// A mapping key read, waiting for its value.
struct Key {
    name: String,
    node: NodeId,
    line: u32,
    column: u32,
    /// The key is the plain `<<` merge key.
    merge: bool,
}

/// An open mapping or sequence.
enum Frame {
    Map {
        map: Map<String, Value>,
        members: Vec<Member>,
        node: NodeId,
        anchor: usize,
        /// Size of the document when the mapping started (its size is the difference at
        /// its end).
        start: Size,
        key: Option<Key>,
        /// Mappings to merge, with the number of explicit members before the `<<` key.
        merges: Vec<(usize, Vec<Source>)>,
    },
    Seq {
        items: Vec<Value>,
        members: Vec<Member>,
        node: NodeId,
        anchor: usize,
        start: Size,
        /// The children of each item, kept when this sequence is the value of a `<<` key.
        kept: Option<Vec<Vec<Member>>>,
    },
}

/// A mapping merged into another with `<<`, with the positions of its members.
pub(crate) type Source = (Map<String, Value>, Vec<Member>);

/// A finished node handed to its parent.
struct Done {
    value: Value,
    id: NodeId,
    line: u32,
    children: Vec<Member>,
    kept: Option<Vec<Vec<Member>>>,
}

struct Builder<'l> {
    limits: &'l Limits,
    /// Spaces added to lines by the `repair` module, taken off reported columns.
    shifts: Option<&'l Shifts>,
    positions: Positions,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    /// Nodes and text created so far, alias copies included.
    total: Size,
    /// Nodes and text created by aliases so far.
    expanded: Size,
    root: Option<Root>,
    /// Reused buffer for [`Positions::set_children`].
    scratch: Vec<NodeId>,
}

impl Builder<'_> {
    /// The 1-based line and column of a marker, in the original text.
    fn place(&self, marker: Marker) -> (u32, u32) {
        let line = to_u32(marker.line());
        let mut column = to_u32(marker.col().saturating_add(1));
        if let Some(added) = self.shifts.and_then(|s| s.get(&line)) {
            column = column.saturating_sub(*added).max(1);
        }
        (line, column)
    }

    /// A failure at `line`:`column` with the pointer of where the builder is.
    fn fail(&self, line: u32, column: u32, message: String) -> Failure {
        let mut at = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Map { key: Some(k), .. } => at = pointer::push(&at, &k.name),
                Frame::Map { key: None, .. } => {}
                Frame::Seq { items, .. } => at = pointer::push(&at, &items.len().to_string()),
            }
        }
        Failure {
            line,
            column,
            pointer: at,
            message,
        }
    }

    /// True when the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// The position node of a value starting at `line`:`column`: its member's node when it is
    /// a mapping value, else a new node.
    fn slot(&mut self, line: u32, column: u32) -> (NodeId, u32) {
        match self.stack.last() {
            Some(Frame::Map { key: Some(k), .. }) => (k.node, k.line),
            _ => (self.positions.push(line, column), line),
        }
    }

    /// Counts `nodes` new nodes (against [`Limits::max_nodes`]) and `bytes` of new text.
    fn count(&mut self, nodes: usize, bytes: usize, line: u32, column: u32) -> Result<(), Failure> {
        self.total.nodes = self.total.nodes.saturating_add(nodes);
        self.total.bytes = self.total.bytes.saturating_add(bytes);
        if self.total.nodes > self.limits.max_nodes {
            return Err(self.fail(
                line,
                column,
                format!(
                    "the document has more than {} nodes (the limit)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn set_children(&mut self, node: NodeId, children: &[Member]) {
        if children.is_empty() {
            return;
        }
        self.scratch.clear();
        self.scratch.extend(children.iter().map(|m| m.0));
        self.positions.set_children(node, &self.scratch);
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Failure> {
        let (line, column) = self.place(span.start);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if self.expects_key() {
                    let merge = style == ScalarStyle::Plain
                        && text == "<<"
                        && tag.as_ref().is_none_or(|t| is_core(t, "merge"));
                    let name = text.into_owned();
                    let size = Size {
                        nodes: 1,
                        bytes: name.len(),
                    };
                    self.count(0, name.len(), line, column)?;
                    if anchor != 0 {
                        self.remember(anchor, Value::String(name.clone()), Vec::new(), size);
                    }
                    return self.key(name, merge, line, column);
                }
                let empty = text.is_empty();
                let core = tag
                    .as_deref()
                    .and_then(|t| CoreTag::from_parts(&t.handle, &t.suffix));
                let value = match core {
                    Some(tag) => {
                        scalar::tagged(&text, tag).map_err(|m| self.fail(line, column, m))?
                    }
                    None if style == ScalarStyle::Plain => scalar::plain(&text),
                    None => Value::String(text.into_owned()),
                };
                if self.stack.is_empty()
                    && empty
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && anchor == 0
                {
                    self.root = Some(Root::Empty);
                    return Ok(());
                }
                let size = Size {
                    nodes: 1,
                    bytes: value.as_str().map_or(0, str::len),
                };
                self.count(size.nodes, size.bytes, line, column)?;
                if anchor != 0 {
                    self.remember(anchor, value.clone(), Vec::new(), size);
                }
                let (id, line) = self.slot(line, column);
                self.complete(Done {
                    value,
                    id,
                    line,
                    children: Vec::new(),
                    kept: None,
                })
            }
            Event::Alias(anchor) => self.alias(anchor, line, column),
            Event::SequenceStart(anchor, tag) => {
                self.open(
                    line,
                    column,
                    "sequence",
                    tag.as_ref(),
                    &["seq", "omap", "pairs"],
                )?;
                let merging =
                    matches!(self.stack.last(), Some(Frame::Map { key: Some(k), .. }) if k.merge);
                let start = self.total;
                self.count(1, 0, line, column)?;
                let (node, _) = self.slot(line, column);
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    members: Vec::new(),
                    node,
                    anchor,
                    start,
                    kept: merging.then(Vec::new),
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                self.open(line, column, "mapping", tag.as_ref(), &["map", "set"])?;
                let start = self.total;
                self.count(1, 0, line, column)?;
                let (node, _) = self.slot(line, column);
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    members: Vec::new(),
                    node,
                    anchor,
                    start,
                    key: None,
                    merges: Vec::new(),
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    members,
                    node,
                    anchor,
                    start,
                    kept,
                }) => {
                    self.set_children(node, &members);
                    let value = Value::Array(items);
                    self.finish(value, node, members, kept, anchor, start)
                }
                _ => Err(self.fail(line, column, "unbalanced end of sequence".to_owned())),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    map,
                    members,
                    node,
                    anchor,
                    start,
                    merges,
                    ..
                }) => {
                    let (map, members) = if merges.is_empty() {
                        (map, members)
                    } else {
                        merge(map, members, merges)
                    };
                    self.set_children(node, &members);
                    self.finish(Value::Object(map), node, members, None, anchor, start)
                }
                _ => Err(self.fail(line, column, "unbalanced end of mapping".to_owned())),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => Ok(()),
        }
    }

    /// Checks that a mapping or sequence may start here: not as a key, within the depth limit,
    /// with a fitting core tag.
    fn open(
        &self,
        line: u32,
        column: u32,
        kind: &str,
        tag: Option<&Cow<'_, Tag>>,
        fitting: &[&str],
    ) -> Result<(), Failure> {
        if self.expects_key() {
            return Err(self.fail(
                line,
                column,
                format!("a {kind} cannot be a mapping key (keys must be scalars)"),
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.fail(
                line,
                column,
                format!(
                    "nesting deeper than {} levels (the limit)",
                    self.limits.max_depth
                ),
            ));
        }
        if let Some(t) = tag {
            let misfit = t.is_yaml_core_schema()
                && !fitting.contains(&t.suffix.as_str())
                && CoreTag::from_parts(&t.handle, &t.suffix).is_some();
            if misfit {
                return Err(self.fail(
                    line,
                    column,
                    format!("the tag !!{} cannot be applied to a {kind}", t.suffix),
                ));
            }
        }
        Ok(())
    }

    /// Records a mapping key, refusing duplicates.
    fn key(&mut self, name: String, merge: bool, line: u32, column: u32) -> Result<(), Failure> {
        let Some(Frame::Map { map, members, .. }) = self.stack.last() else {
            return Ok(());
        };
        if !merge && map.contains_key(&name) {
            let first = map
                .keys()
                .position(|k| *k == name)
                .and_then(|i| members.get(i))
                .map_or(0, |m| m.1);
            return Err(self.fail(
                line,
                column,
                format!(
                    "duplicate key {name:?} in one mapping (first on line {first}, again on \
                     line {line})"
                ),
            ));
        }
        let node = self.positions.push(line, column);
        if let Some(Frame::Map { key, merges, .. }) = self.stack.last_mut() {
            if merge && !merges.is_empty() {
                return Err(self.fail(
                    line,
                    column,
                    "duplicate merge key \"<<\" in one mapping (merge several mappings with \
                     a sequence: `<<: [*a, *b]`)"
                        .to_owned(),
                ));
            }
            *key = Some(Key {
                name,
                node,
                line,
                column,
                merge,
            });
        }
        Ok(())
    }

    /// Expands an alias as a key or a value.
    fn alias(&mut self, anchor: usize, line: u32, column: u32) -> Result<(), Failure> {
        let Some(found) = self.anchors.get(&anchor) else {
            return Err(self.fail(
                line,
                column,
                "alias to an anchor that is not defined yet (or to a node that contains the \
                 alias itself)"
                    .to_owned(),
            ));
        };
        if self.expects_key() {
            let name = match &found.value {
                Value::String(s) => s.clone(),
                Value::Null => "null".to_owned(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(self.fail(
                        line,
                        column,
                        "an alias to a mapping or sequence cannot be a mapping key".to_owned(),
                    ));
                }
            };
            self.expand(
                Size {
                    nodes: 0,
                    bytes: name.len(),
                },
                line,
                column,
            )?;
            return self.key(name, false, line, column);
        }
        let size = found.size;
        self.expand(size, line, column)?;
        let (value, children) = match self.anchors.get(&anchor) {
            Some(found) => (found.value.clone(), found.children.clone()),
            None => (Value::Null, Vec::new()),
        };
        let (id, line) = self.slot(line, column);
        self.set_children(id, &children);
        self.complete(Done {
            value,
            id,
            line,
            children,
            kept: None,
        })
    }

    /// Counts what one alias copies against the alias budgets: [`Limits::max_alias_expansion`]
    /// nodes, and as many bytes of text as one file may hold ([`Limits::max_bytes`]).
    fn expand(&mut self, size: Size, line: u32, column: u32) -> Result<(), Failure> {
        self.expanded.nodes = self.expanded.nodes.saturating_add(size.nodes);
        self.expanded.bytes = self.expanded.bytes.saturating_add(size.bytes);
        let max_bytes = usize::try_from(self.limits.max_bytes).unwrap_or(usize::MAX);
        if self.expanded.nodes > self.limits.max_alias_expansion {
            return Err(self.fail(
                line,
                column,
                format!(
                    "aliases expand to more than {} nodes (the limit); the document repeats \
                     anchors exponentially (a \"billion laughs\" document?)",
                    self.limits.max_alias_expansion
                ),
            ));
        }
        if self.expanded.bytes > max_bytes {
            return Err(self.fail(
                line,
                column,
                format!(
                    "aliases copy more than {max_bytes} bytes of text (the file size limit); \
                     the document repeats large anchored values"
                ),
            ));
        }
        self.count(size.nodes, size.bytes, line, column)
    }

    fn remember(&mut self, anchor: usize, value: Value, children: Vec<Member>, size: Size) {
        self.anchors.insert(
            anchor,
            Anchored {
                value,
                children,
                size,
            },
        );
    }

    /// Hands a finished mapping or sequence to its parent, remembering it if anchored.
    fn finish(
        &mut self,
        value: Value,
        id: NodeId,
        children: Vec<Member>,
        kept: Option<Vec<Vec<Member>>>,
        anchor: usize,
        start: Size,
    ) -> Result<(), Failure> {
        if anchor != 0 {
            let size = self.total.since(start);
            self.remember(anchor, value.clone(), children.clone(), size);
        }
        let line = match self.stack.last() {
            Some(Frame::Map { key: Some(k), .. }) => k.line,
            _ => 0,
        };
        self.complete(Done {
            value,
            id,
            line,
            children,
            kept,
        })
    }

    /// Adds a finished node to the open mapping or sequence, or makes it the root.
    fn complete(&mut self, done: Done) -> Result<(), Failure> {
        match self.stack.last_mut() {
            None => self.root = Some(Root::Value(done.value)),
            Some(Frame::Seq {
                items,
                members,
                kept,
                ..
            }) => {
                items.push(done.value);
                members.push((done.id, done.line));
                if let Some(kept) = kept {
                    kept.push(done.children);
                }
            }
            Some(Frame::Map {
                map,
                members,
                key,
                merges,
                ..
            }) => {
                let Some(k) = key.take() else {
                    return Ok(());
                };
                if !k.merge {
                    map.insert(k.name, done.value);
                    members.push((k.node, k.line));
                    return Ok(());
                }
                let at = map.len();
                let sources = match (done.value, done.kept) {
                    (Value::Object(source), _) => Some(vec![(source, done.children)]),
                    (Value::Array(items), Some(kept)) => items
                        .into_iter()
                        .zip(kept)
                        .map(|(item, children)| match item {
                            Value::Object(source) => Some((source, children)),
                            _ => None,
                        })
                        .collect(),
                    _ => None,
                };
                match sources {
                    Some(sources) => merges.push((at, sources)),
                    None => {
                        let (line, column) = (k.line, k.column);
                        *key = Some(k);
                        return Err(self.fail(
                            line,
                            column,
                            "the merge key \"<<\" takes a mapping or a sequence of mappings"
                                .to_owned(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// True when `tag` is `!!suffix`.
fn is_core(tag: &Tag, suffix: &str) -> bool {
    tag.is_yaml_core_schema() && tag.suffix == suffix
}

#[cfg(test)]
mod tests;
