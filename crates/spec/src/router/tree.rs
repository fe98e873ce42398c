//! The segment tree: a radix tree whose edges are whole path segments.
//!
//! Each tree node has up to three kinds of children, tried in this order:
//!
//! 1. **literal** segments (`/pets/mine`), found by a scan of a few or a hash lookup;
//! 2. **patterns**, segments mixing literal text and parameters (`{name}.json`, `v{major}.{minor}`,
//!    `/{owner}:{repo}`), most literal bytes first, then in insertion order;
//! 3. one **bare parameter** (`/pets/{id}`).
//!
//! A lookup walks the path's segments depth first and returns the first template that
//! matches to the end. Since children are tried from the most to the least specific, that is
//! the template whose per-segment specificity ([`Segment::rank`]) is greatest left to right,
//! which is what OpenAPI asks ("concrete beats templated") and what the property tests check
//! against a brute-force model. A literal branch that fails deeper does not hide a parameter
//! branch that matches: the walk backtracks.
//!
//! Cost: each tree node is entered at most once per lookup (the segment it reads is fixed by
//! its depth, and each child's match is deterministic), so a lookup is bounded by the size of
//! the tree and in practice is one short comparison or hash lookup per segment. The walk recurses once per
//! segment; a template has at most [`MAX_SEGMENTS`](crate::normalize::MAX_SEGMENTS)
//! segments, so the depth is bounded. Nothing is allocated: parameter values are borrowed
//! from the path into an inline vector (up to [`INLINE_PARAMS`] of them).

use std::collections::HashMap;

use smallvec::SmallVec;

use super::template::{Piece, Segment, Template};

/// How many parameter values a lookup holds without allocating.
pub(crate) const INLINE_PARAMS: usize = 8;

/// Parameter values in template order, borrowed from the path.
pub(crate) type Values<'p> = SmallVec<[&'p str; INLINE_PARAMS]>;

/// A segment with literal text and at least one parameter, and where it leads.
#[derive(Debug)]
struct Pattern {
    /// The pieces, parameter names blanked (equivalent patterns compare equal).
    segment: Segment,
    /// Its specificity.
    rank: (u8, usize),
    /// The tree node it leads to.
    child: usize,
}

/// Above this many literal children, a node looks them up in a hash map instead of
/// scanning them.
const SCAN_LITERALS: usize = 6;

/// The literal children of a node.
#[derive(Debug)]
enum Literals {
    /// A few, scanned (most nodes have one to three).
    Few(Vec<(Box<str>, usize)>),
    /// Many (`/accounts/{id}/...` of a large API has a hundred), hashed with foldhash,
    /// seeded per process.
    Many(HashMap<Box<str>, usize, foldhash::fast::RandomState>),
}

impl Default for Literals {
    fn default() -> Self {
        Literals::Few(Vec::new())
    }
}

impl Literals {
    /// The child for the literal segment `text`.
    #[inline]
    fn get(&self, text: &str) -> Option<usize> {
        match self {
            Literals::Few(few) => few
                .iter()
                .find(|(k, _)| k.len() == text.len() && k.as_bytes() == text.as_bytes())
                .map(|&(_, child)| child),
            Literals::Many(many) => many.get(text).copied(),
        }
    }

    /// Adds a child (the text is not there yet).
    fn insert(&mut self, text: &str, child: usize) {
        match self {
            Literals::Few(few) if few.len() < SCAN_LITERALS => few.push((text.into(), child)),
            Literals::Few(few) => {
                let mut many: HashMap<_, _, _> = std::mem::take(few).into_iter().collect();
                many.insert(text.into(), child);
                *self = Literals::Many(many);
            }
            Literals::Many(many) => {
                many.insert(text.into(), child);
            }
        }
    }
}

/// A node of the tree: a place between two segments.
#[derive(Debug, Default)]
struct TreeNode {
    /// Literal segment text -> child.
    literals: Literals,
    /// Patterns, most specific first.
    patterns: Vec<Pattern>,
    /// The bare-parameter child.
    param: Option<usize>,
    /// The router node (path shape) ending here.
    leaf: Option<usize>,
}

/// The tree of every routed path shape.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Tree nodes; the root is the first.
    nodes: Vec<TreeNode>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: vec![TreeNode::default()],
        }
    }
}

impl Tree {
    /// Adds a full template (base path included) whose router node is `leaf`. Returns the
    /// router node already there when an equivalent template was added before.
    pub(crate) fn insert(&mut self, template: &Template, leaf: usize) -> usize {
        let mut at = 0;
        for segment in &template.segments {
            at = self.child(at, segment);
        }
        match self.nodes.get_mut(at) {
            Some(node) => *node.leaf.get_or_insert(leaf),
            None => leaf,
        }
    }

    /// The child of `at` for `segment`, created when missing.
    fn child(&mut self, at: usize, segment: &Segment) -> usize {
        let fresh = self.nodes.len();
        let Some(node) = self.nodes.get_mut(at) else {
            return at;
        };
        let existing = match segment.pieces.as_slice() {
            [Piece::Literal(text)] => match node.literals.get(text) {
                Some(child) => Some(child),
                None => {
                    node.literals.insert(text, fresh);
                    None
                }
            },
            [Piece::Param(_)] => match node.param {
                Some(child) => Some(child),
                None => {
                    node.param = Some(fresh);
                    None
                }
            },
            pieces => {
                let blank = Segment {
                    pieces: pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Param(_) => Piece::Param(String::new()),
                            literal => literal.clone(),
                        })
                        .collect(),
                };
                match node.patterns.iter().find(|p| p.segment == blank) {
                    Some(p) => Some(p.child),
                    None => {
                        let rank = blank.rank();
                        // After every pattern at least as specific: most specific first,
                        // then insertion order.
                        let i = node.patterns.partition_point(|p| p.rank >= rank);
                        node.patterns.insert(
                            i,
                            Pattern {
                                segment: blank,
                                rank,
                                child: fresh,
                            },
                        );
                        None
                    }
                }
            }
        };
        existing.unwrap_or_else(|| {
            self.nodes.push(TreeNode::default());
            fresh
        })
    }

    /// The router node of the most specific template matching `path` (a normalized path),
    /// with the parameter values pushed to `values` in template order.
    #[inline]
    pub(crate) fn find<'p>(&self, path: &'p str, values: &mut Values<'p>) -> Option<usize> {
        let rest = path.strip_prefix('/')?;
        self.walk(0, (!rest.is_empty()).then_some(rest), values)
    }

    /// Matches the segments of `rest` (`None`: no segment left) from tree node `at`.
    fn walk<'p>(&self, at: usize, rest: Option<&'p str>, values: &mut Values<'p>) -> Option<usize> {
        let node = self.nodes.get(at)?;
        let Some(rest) = rest else {
            return node.leaf;
        };
        // Segments are short: a plain loop beats a `memchr` call here.
        let (segment, next) = match rest.bytes().position(|b| b == b'/') {
            Some(slash) => (rest.get(..slash).unwrap_or_default(), rest.get(slash + 1..)),
            None => (rest, None),
        };
        if let Some(child) = node.literals.get(segment) {
            let found = self.walk(child, next, values);
            if found.is_some() {
                return found;
            }
        }
        if segment.is_empty() {
            return None;
        }
        let depth = values.len();
        for pattern in &node.patterns {
            if match_segment(&pattern.segment, segment, values) {
                let found = self.walk(pattern.child, next, values);
                if found.is_some() {
                    return found;
                }
            }
            values.truncate(depth);
        }
        let child = node.param?;
        values.push(segment);
        let found = self.walk(child, next, values);
        if found.is_none() {
            values.truncate(depth);
        }
        found
    }
}

/// Matches one path segment against a template segment, pushing parameter values.
///
/// Within a segment each parameter takes the shortest non-empty text that the next literal
/// piece follows; a parameter before the end of the segment (or before a final literal
/// suffix) takes everything up to it. No backtracking: at most a linear scan of the segment
/// per piece.
pub(crate) fn match_segment<'p>(pattern: &Segment, text: &'p str, values: &mut Values<'p>) -> bool {
    let mut pos = 0;
    let mut pieces = pattern.pieces.iter().peekable();
    while let Some(piece) = pieces.next() {
        let Some(rest) = text.get(pos..) else {
            return false;
        };
        match piece {
            Piece::Literal(literal) => {
                if !rest.starts_with(literal.as_str()) {
                    return false;
                }
                pos += literal.len();
            }
            Piece::Param(_) => {
                let end = match pieces.peek() {
                    // The last piece: the rest of the segment.
                    None => rest.len(),
                    Some(Piece::Literal(next)) => {
                        let is_suffix = pieces.len() == 1;
                        let found = if is_suffix {
                            rest.strip_suffix(next.as_str()).map(str::len)
                        } else {
                            // The shortest non-empty value followed by `next`.
                            let skip = rest.chars().next().map_or(0, char::len_utf8);
                            rest.get(skip..)
                                .and_then(|r| r.find(next.as_str()))
                                .map(|i| i + skip)
                        };
                        match found {
                            Some(end) => end,
                            None => return false,
                        }
                    }
                    // Two parameters in a row never come out of the template parser.
                    Some(Piece::Param(_)) => return false,
                };
                let Some(value) = rest.get(..end) else {
                    return false;
                };
                if value.is_empty() {
                    return false;
                }
                values.push(value);
                pos += end;
            }
        }
    }
    pos == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(t: &str) -> Segment {
        Template::parse(t).unwrap().segments.remove(0)
    }

    fn values<'p>(pattern: &str, text: &'p str) -> Option<Vec<&'p str>> {
        let mut v = Values::new();
        match_segment(&segment(pattern), text, &mut v).then(|| v.to_vec())
    }

    fn tree(templates: &[&str]) -> Tree {
        let mut tree = Tree::default();
        for (i, t) in templates.iter().enumerate() {
            assert_eq!(tree.insert(&Template::parse(t).unwrap(), i), i, "{t}");
        }
        tree
    }

    fn find<'p>(tree: &Tree, path: &'p str) -> Option<(usize, Vec<&'p str>)> {
        let mut v = Values::new();
        tree.find(path, &mut v).map(|leaf| (leaf, v.to_vec()))
    }

    #[test]
    fn segments_with_several_parameters() {
        assert_eq!(
            values("/{owner}:{repo}", "me:tool"),
            Some(vec!["me", "tool"])
        );
        assert_eq!(values("/{owner}:{repo}", "me:a:b"), Some(vec!["me", "a:b"]));
        assert_eq!(values("/{owner}:{repo}", ":tool"), None);
        assert_eq!(values("/{owner}:{repo}", "me:"), None);
        assert_eq!(values("/{owner}:{repo}", "metool"), None);
        assert_eq!(
            values("/{a}.{b}.json", "x.y.z.json"),
            Some(vec!["x", "y.z"])
        );
        assert_eq!(values("/{a}.{b}.json", "x.json"), None);
        assert_eq!(values("/v{major}.{minor}", "v1.2"), Some(vec!["1", "2"]));
        assert_eq!(values("/v{major}.{minor}", "x1.2"), None);
        assert_eq!(values("/{a}-{b}", "é-ü"), Some(vec!["é", "ü"]));
        assert_eq!(values("/{a}..{b}", "x...y"), Some(vec!["x", ".y"]));
    }

    #[test]
    fn single_parameter_shapes() {
        assert_eq!(values("/{id}", "42"), Some(vec!["42"]));
        assert_eq!(values("/{name}.json", "a.json"), Some(vec!["a"]));
        assert_eq!(values("/{name}.json", ".json"), None);
        assert_eq!(values("/img-{id}", "img-7"), Some(vec!["7"]));
        assert_eq!(values("/img-{id}", "img-"), None);
        assert_eq!(values("/static", "static"), Some(vec![]));
        assert_eq!(values("/static", "statics"), None);
    }

    #[test]
    fn most_specific_template_wins() {
        let t = tree(&["/{a}:{b}/x", "/{a}:{b}/{c}", "/v{a}:{b}/{c}", "/{a}/x"]);
        assert_eq!(find(&t, "/1:2/x"), Some((0, vec!["1", "2"])));
        assert_eq!(find(&t, "/v1:2/y"), Some((2, vec!["1", "2", "y"])));
        assert_eq!(find(&t, "/v1:2/x"), Some((2, vec!["1", "2", "x"])));
        assert_eq!(find(&t, "/12/x"), Some((3, vec!["12"])));
        assert_eq!(find(&t, "/1:2"), None);
        assert_eq!(find(&t, "1:2/x"), None);
        assert_eq!(find(&t, "/"), None);
    }

    #[test]
    fn equivalent_templates_share_a_leaf_and_backtracking_restores_values() {
        let mut t = tree(&["/a/{x}/b", "/{y}/{z}/c", "/"]);
        assert_eq!(t.insert(&Template::parse("/a/{other}/b/").unwrap(), 9), 0);
        assert_eq!(t.insert(&Template::parse("/{p}.{q}/x").unwrap(), 3), 3);
        assert_eq!(t.insert(&Template::parse("/{r}.{s}/x").unwrap(), 4), 3);
        // The literal branch `a` fails at `c`; the values it pushed are dropped.
        assert_eq!(find(&t, "/a/1/c"), Some((1, vec!["a", "1"])));
        assert_eq!(find(&t, "/a/1/b"), Some((0, vec!["1"])));
        assert_eq!(find(&t, "/"), Some((2, vec![])));
        assert_eq!(find(&t, "/1.2/x"), Some((3, vec!["1", "2"])));
        for odd in ["", "a", "//", "/a//", "/a/1/b/", "/a/1//b"] {
            assert_eq!(find(&t, odd), None, "{odd:?}");
        }
    }

    #[test]
    fn wide_nodes_are_hashed_and_still_beat_parameters() {
        let names: Vec<String> = (0..40).map(|i| format!("/r/res{i}")).collect();
        let mut templates: Vec<&str> = names.iter().map(String::as_str).collect();
        templates.push("/r/{id}");
        let t = tree(&templates);
        assert!(matches!(
            t.nodes.get(1).map(|n| &n.literals),
            Some(Literals::Many(_))
        ));
        for i in 0..40 {
            assert_eq!(find(&t, &format!("/r/res{i}")), Some((i, vec![])));
        }
        assert_eq!(find(&t, "/r/res40"), Some((40, vec!["res40"])));
        assert_eq!(find(&t, "/r/res1/x"), None);
    }
}
