//! Path templates for undocumented traffic, inferred from the paths seen.
//!
//! One [`Trie`] per API and method holds the paths seen, segment by segment. A segment that
//! looks like an identifier ([`crate::segment::classify`]: integers, UUIDs, hex and hashes,
//! emails) goes to the node's parameter child at once. Any other segment is a literal
//! until [`Trie::compact`] sees its position vary: when a node has at least
//! [`CONFIDENT_VALUES`] literal children that were each seen in at most [`RARE_HITS`] requests
//! (the long tail of slugs and usernames, not a fixed set of words each called again and
//! again), they merge into one parameter, and so do their subtrees. A parameter is
//! *confident* once it has seen [`CONFIDENT_VALUES`] distinct values.
//!
//! The trie is bounded: [`MAX_NODES`] nodes; a path that would grow it further once compacted
//! is refused (the caller counts it).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::segment::{Kind, classify};

/// Distinct values a position needs before it becomes a parameter (and before a parameter is
/// confident).
pub const CONFIDENT_VALUES: usize = 3;
/// A literal child seen in at most this many requests may be one value of a varying position.
pub const RARE_HITS: u64 = 2;
/// The most nodes one trie holds.
pub const MAX_NODES: usize = 4096;
/// A segment longer than this is a value (an opaque token or id), never a literal, so a
/// node never holds more than this many bytes of text.
pub const MAX_LITERAL: usize = 128;

/// A parameter position: its subtree, the kinds of values seen and a few distinct values.
#[derive(Debug, Clone, Default)]
struct Param {
    node: Node,
    kinds: Vec<Kind>,
    /// Literal values were merged in: the position varies, so a new word here is a value.
    varies: bool,
    /// Hashes of the first distinct values, up to [`CONFIDENT_VALUES`].
    distinct: Vec<u64>,
}

impl Param {
    fn note(&mut self, kind: Kind, value: &str) {
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
        if self.distinct.len() < CONFIDENT_VALUES {
            let h = hash(value);
            if !self.distinct.contains(&h) {
                self.distinct.push(h);
            }
        }
    }

    /// The kind named in templates: the most specific one when all values agree, else `Name`.
    fn kind(&self) -> Kind {
        match self.kinds.as_slice() {
            [one] => *one,
            _ => Kind::Name,
        }
    }

    fn merge(&mut self, other: Param) {
        self.varies |= other.varies;
        for k in other.kinds {
            if !self.kinds.contains(&k) {
                self.kinds.push(k);
            }
        }
        for h in other.distinct {
            if self.distinct.len() < CONFIDENT_VALUES && !self.distinct.contains(&h) {
                self.distinct.push(h);
            }
        }
        self.node.merge(other.node);
    }
}

fn hash(value: &str) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Requests that went through this node.
    hits: u64,
    literals: BTreeMap<String, Node>,
    param: Option<Box<Param>>,
}

impl Node {
    fn size(&self) -> usize {
        1 + self.literals.values().map(Node::size).sum::<usize>()
            + self.param.as_ref().map_or(0, |p| p.node.size())
    }

    fn merge(&mut self, other: Node) {
        self.hits += other.hits;
        for (k, v) in other.literals {
            match self.literals.get_mut(&k) {
                Some(mine) => mine.merge(v),
                None => {
                    self.literals.insert(k, v);
                }
            }
        }
        if let Some(p) = other.param {
            match &mut self.param {
                Some(mine) => mine.merge(*p),
                None => self.param = Some(p),
            }
        }
    }

    /// Merges the long tail of literal children into the parameter child, then recurses.
    fn compact(&mut self) {
        let varies = self.param.as_ref().is_some_and(|p| p.varies);
        let rare: Vec<String> = self
            .literals
            .iter()
            .filter(|(k, n)| n.hits <= RARE_HITS && !k.starts_with(SUFFIX))
            .map(|(k, _)| k.clone())
            .collect();
        if rare.len() >= CONFIDENT_VALUES || (varies && !rare.is_empty()) {
            let param = self.param.get_or_insert_with(Box::default);
            param.varies = true;
            for key in rare {
                if let Some(child) = self.literals.remove(&key) {
                    param.note(literal_kind(&key), &key);
                    param.node.merge(child);
                }
            }
        }
        // Identifiers kept literal (dates, short integers) join a parameter of their kind,
        // or one whose position varies, however often they were called.
        if let Some(param) = &mut self.param {
            let idlike: Vec<String> = self
                .literals
                .keys()
                .filter(|k| {
                    classify(k).is_some_and(|kind| param.varies || param.kinds.contains(&kind))
                })
                .cloned()
                .collect();
            for key in idlike {
                if let Some(child) = self.literals.remove(&key) {
                    param.note(literal_kind(&key), &key);
                    param.node.merge(child);
                }
            }
        }
        for child in self.literals.values_mut() {
            child.compact();
        }
        if let Some(p) = &mut self.param {
            p.node.compact();
        }
    }
}

/// One piece of a path as the trie reads it.
enum Tok<'a> {
    /// A segment kept as written until its position varies.
    Literal(&'a str),
    /// An identifier (or a `{name}` of a learned template).
    Param(Kind, &'a str),
    /// A format extension or custom method glued to the segment before it (`.json`,
    /// `:cancel`): part of the template, never a value.
    Suffix(&'a str),
}

/// Format extensions that end a segment after an identifier (`/orders/42.json`).
const EXTENSIONS: &[&str] = &[
    "json", "xml", "csv", "txt", "html", "htm", "yaml", "yml", "pdf", "png", "jpg", "jpeg", "gif",
    "svg", "mp3", "wav", "mp4", "zip", "atom", "rss", "ics", "js", "geojson",
];

/// The key a suffix is held under among a node's literals (no segment starts with \x01).
const SUFFIX: char = '\u{1}';

/// Splits a trailing `.ext` (a known extension) or `:verb` off a segment.
fn split_suffix(segment: &str) -> (&str, Option<&str>) {
    if let Some(i) = segment.find(':') {
        let (core, verb) = (segment.get(..i), segment.get(i..));
        if let (Some(core), Some(verb)) = (core, verb)
            && !core.is_empty()
            && verb.len() > 1
            && verb.bytes().skip(1).all(|b| b.is_ascii_alphabetic())
        {
            return (core, Some(verb));
        }
    }
    if let Some(i) = segment.rfind('.') {
        let (core, ext) = (segment.get(..i), segment.get(i..));
        if let (Some(core), Some(ext)) = (core, ext)
            && !core.is_empty()
            && EXTENSIONS
                .iter()
                .any(|e| ext.get(1..).is_some_and(|x| x.eq_ignore_ascii_case(e)))
        {
            return (core, Some(ext));
        }
    }
    (segment, None)
}

fn read_core(core: &str) -> Tok<'_> {
    if let Some(name) = core.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let kind = match name.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "id" => Kind::Integer,
            "uuid" => Kind::Uuid,
            "hash" => Kind::Hex,
            "email" => Kind::Email,
            "date" => Kind::Date,
            _ => Kind::Name,
        };
        return Tok::Param(kind, core);
    }
    if core.len() > MAX_LITERAL {
        return Tok::Param(Kind::Name, core);
    }
    match classify(core) {
        // Dates are also API versions (`/2015-03-31/functions`) and short integers versions
        // or codes (`/api/3/`, `/status/404`): like words, they become a parameter only where
        // they vary.
        Some(Kind::Date) | None => Tok::Literal(core),
        Some(Kind::Integer) if core.len() <= 3 => Tok::Literal(core),
        Some(kind) => Tok::Param(kind, core),
    }
}

/// The pieces of a path, in order.
fn tokens(path: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (core, suffix) = split_suffix(segment);
        out.push(read_core(core));
        if let Some(suffix) = suffix {
            out.push(Tok::Suffix(suffix));
        }
    }
    out
}

/// The kind of a literal merged into a parameter.
fn literal_kind(text: &str) -> Kind {
    match classify(text) {
        Some(Kind::Date) => Kind::Date,
        Some(Kind::Integer) => Kind::Integer,
        _ => Kind::Name,
    }
}

/// The path with identifiers replaced by their kind (`/users/{id}.json`): the key of a path's
/// counters before templates are inferred.
pub fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for t in tokens(path) {
        match t {
            Tok::Literal(text) => {
                out.push('/');
                out.push_str(text);
            }
            Tok::Param(kind, _) => {
                out.push_str("/{");
                out.push_str(kind.param_name());
                out.push('}');
            }
            Tok::Suffix(text) => out.push_str(text),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// A template a path resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The template (`/users/{name}/orders/{id}`; names made unique with a digit).
    pub template: String,
    /// Each parameter's name and kind, in order.
    pub params: Vec<(String, Kind)>,
    /// Every parameter has seen [`CONFIDENT_VALUES`] distinct values.
    pub confident: bool,
}

/// The paths seen for one API and method.
#[derive(Debug, Clone, Default)]
pub struct Trie {
    root: Node,
    nodes: usize,
}

impl Trie {
    /// Records one path; false when the trie is full (the path is not recorded).
    pub fn insert(&mut self, path: &str) -> bool {
        if self.nodes >= MAX_NODES {
            self.compact();
            if self.nodes >= MAX_NODES {
                return false;
            }
        }
        let mut node = &mut self.root;
        node.hits += 1;
        let mut added = 0;
        for tok in tokens(path) {
            let next = match tok {
                Tok::Param(kind, value) => {
                    let p = node.param.get_or_insert_with(|| {
                        added += 1;
                        Box::default()
                    });
                    p.note(kind, value);
                    &mut p.node
                }
                Tok::Suffix(text) => {
                    let key = format!("{SUFFIX}{text}");
                    if !node.literals.contains_key(&key) {
                        added += 1;
                    }
                    node.literals.entry(key).or_default()
                }
                Tok::Literal(text) => {
                    let known = node.literals.contains_key(text);
                    let joins = node.param.as_ref().is_some_and(|p| {
                        p.varies || classify(text).is_some_and(|k| p.kinds.contains(&k))
                    });
                    match (known, joins, node.param.as_mut()) {
                        (false, true, Some(p)) => {
                            p.note(literal_kind(text), text);
                            &mut p.node
                        }
                        _ => {
                            if !known {
                                added += 1;
                            }
                            node.literals.entry(text.to_owned()).or_default()
                        }
                    }
                }
            };
            next.hits += 1;
            node = next;
        }
        self.nodes += added;
        true
    }

    /// Merges varying positions into parameters (see the module's documentation).
    pub fn compact(&mut self) {
        self.root.compact();
        self.nodes = self.root.size();
    }

    /// The template `path` falls under now (literal where the trie has the literal, else the
    /// parameter); `None` when the trie has no such path.
    pub fn resolve(&self, path: &str) -> Option<Resolved> {
        let mut node = &self.root;
        let mut template = String::new();
        let mut params: Vec<(String, Kind)> = Vec::new();
        let mut confident = true;
        for tok in tokens(path) {
            let literal = match &tok {
                Tok::Literal(text) => node.literals.get_key_value(*text),
                Tok::Suffix(text) => {
                    let child = node.literals.get(&format!("{SUFFIX}{text}"))?;
                    template.push_str(text);
                    node = child;
                    continue;
                }
                Tok::Param(..) => None,
            };
            template.push('/');
            node = match literal {
                Some((text, child)) => {
                    template.push_str(text);
                    child
                }
                None => {
                    let p = node.param.as_deref()?;
                    let kind = p.kind();
                    let base = kind.param_name();
                    let same = params
                        .iter()
                        .filter(|(_, k)| k.param_name() == base)
                        .count();
                    let name = if same == 0 {
                        base.to_owned()
                    } else {
                        format!("{base}{}", same + 1)
                    };
                    template.push('{');
                    template.push_str(&name);
                    template.push('}');
                    params.push((name, kind));
                    confident &= p.distinct.len() >= CONFIDENT_VALUES;
                    &p.node
                }
            };
        }
        if template.is_empty() {
            template.push('/');
        }
        Some(Resolved {
            template,
            params,
            confident,
        })
    }

    /// Nodes held.
    pub fn len(&self) -> usize {
        self.nodes
    }

    /// True before the first path.
    pub fn is_empty(&self) -> bool {
        self.root.hits == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learn(paths: &[&str]) -> Trie {
        let mut t = Trie::default();
        for p in paths {
            assert!(t.insert(p));
        }
        t.compact();
        t
    }

    #[test]
    fn identifiers_become_parameters_at_once() {
        let t = learn(&[
            "/orders/4242",
            "/orders/4343/items/3fa85f64-5717-4562-b3fc-2c963f66afa6",
        ]);
        let r = t.resolve("/orders/4343/items/3fa85f64-5717-4562-b3fc-2c963f66afa6");
        assert_eq!(
            r.map(|r| r.template).as_deref(),
            Some("/orders/{id}/items/{uuid}")
        );
        // Two values only: not confident yet.
        assert!(!t.resolve("/orders/4242").is_some_and(|r| r.confident));
    }

    #[test]
    fn names_need_three_distinct_values() {
        let two = learn(&["/users/alice/repos", "/users/bob/repos"]);
        assert_eq!(
            two.resolve("/users/alice/repos")
                .map(|r| r.template)
                .as_deref(),
            Some("/users/alice/repos")
        );
        let three = learn(&[
            "/users/alice/repos",
            "/users/bob/repos",
            "/users/carol/repos",
        ]);
        let r = three.resolve("/users/alice/repos");
        assert_eq!(
            r.as_ref().map(|r| r.template.as_str()),
            Some("/users/{name}/repos")
        );
        assert!(r.is_some_and(|r| r.confident));
        // A new value at a position known to vary joins the parameter.
        let mut t = three;
        assert!(t.insert("/users/dave/repos"));
        assert_eq!(
            t.resolve("/users/dave/repos")
                .map(|r| r.template)
                .as_deref(),
            Some("/users/{name}/repos")
        );
    }

    #[test]
    fn words_called_again_and_again_stay_literal() {
        let mut paths = Vec::new();
        for _ in 0..5 {
            paths.extend([
                "/repos/issues",
                "/repos/pulls",
                "/repos/commits",
                "/users/me",
            ]);
        }
        paths.extend(["/users/u-1a", "/users/u-2b", "/users/u-3c"]);
        let t = learn(&paths);
        assert_eq!(
            t.resolve("/repos/pulls").map(|r| r.template).as_deref(),
            Some("/repos/pulls")
        );
        assert_eq!(
            t.resolve("/users/me").map(|r| r.template).as_deref(),
            Some("/users/me")
        );
        assert_eq!(
            t.resolve("/users/u-2b").map(|r| r.template).as_deref(),
            Some("/users/{name}")
        );
    }

    #[test]
    fn bounded() {
        let mut t = Trie::default();
        let mut refused = 0;
        for i in 0..20_000 {
            // Distinct, rarely repeated literals in two levels: merged on compaction.
            if !t.insert(&format!("/x{i}/y{}", i % 7)) {
                refused += 1;
            }
        }
        assert!(t.len() <= MAX_NODES, "{}", t.len());
        assert_eq!(refused, 0);
        assert_eq!(
            t.resolve("/x5/y5").map(|r| r.template).as_deref(),
            Some("/{name}/y5")
        );
    }
}
