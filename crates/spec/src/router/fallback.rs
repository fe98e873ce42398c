//! The per-segment matcher for the few templates the radix tree cannot hold: several
//! parameters in one segment (`/{owner}:{repo}`, `/{name}.{ext}`), or a mix of prefixed
//! and suffixed parameters at one place that `matchit` refuses as ambiguous.
//!
//! Each such template is tried on every lookup the tree alone cannot settle, so they must
//! stay few: real documents have a handful at most.
//!
//! Within a segment each parameter takes the shortest non-empty text that the next literal
//! piece follows; a parameter before the end of the segment (or before a final literal
//! suffix) takes everything up to it. No backtracking: a lookup costs at most a linear scan
//! of the segment per piece.

use smallvec::SmallVec;

use super::template::{Piece, Segment, Template};

/// Parameter values in template order, borrowed from the path.
pub(crate) type Values<'p> = SmallVec<[&'p str; 4]>;

/// A fallback match: the node, the template's rank and the parameter values.
pub(crate) type Found<'s, 'p> = (usize, &'s [(u8, usize)], Values<'p>);

/// A template kept out of the tree.
#[derive(Debug)]
struct Entry {
    template: Template,
    rank: Vec<(u8, usize)>,
    node: usize,
}

/// The templates kept out of the tree.
#[derive(Debug, Default)]
pub(crate) struct Fallbacks {
    entries: Vec<Entry>,
}

impl Fallbacks {
    /// Adds a template whose path node is `node`.
    pub(crate) fn push(&mut self, template: Template, node: usize) {
        let rank = template.rank();
        self.entries.push(Entry {
            template,
            rank,
            node,
        });
    }

    /// True when there is none (the common case: lookups skip this matcher).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many templates are kept here.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The most specific matching template: its node, its rank and the parameter values.
    /// On equal rank the first added wins.
    pub(crate) fn find<'s, 'p>(&'s self, path: &'p str) -> Option<Found<'s, 'p>> {
        let rest = path.strip_prefix('/')?;
        let segments: SmallVec<[&str; 16]> = if rest.is_empty() {
            SmallVec::new()
        } else {
            rest.split('/').collect()
        };
        let mut best: Option<Found<'s, 'p>> = None;
        for entry in &self.entries {
            if entry.template.segments.len() != segments.len() {
                continue;
            }
            if best
                .as_ref()
                .is_some_and(|(_, rank, _)| entry.rank.as_slice() <= *rank)
            {
                continue;
            }
            let mut values = Values::new();
            let all = entry
                .template
                .segments
                .iter()
                .zip(&segments)
                .all(|(pattern, text)| match_segment(pattern, text, &mut values));
            if all {
                best = Some((entry.node, &entry.rank, values));
            }
        }
        best
    }
}

/// Matches one path segment against a template segment, pushing parameter values.
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
        let mut f = Fallbacks::default();
        f.push(Template::parse("/{a}:{b}/x").unwrap(), 0);
        f.push(Template::parse("/{a}:{b}/{c}").unwrap(), 1);
        f.push(Template::parse("/v{a}:{b}/{c}").unwrap(), 2);
        let (node, _, v) = f.find("/1:2/x").unwrap();
        assert_eq!((node, v.to_vec()), (0, vec!["1", "2"]));
        let (node, _, v) = f.find("/v1:2/y").unwrap();
        assert_eq!((node, v.to_vec()), (2, vec!["1", "2", "y"]));
        assert!(f.find("/1:2").is_none());
        assert!(f.find("1:2/x").is_none());
        assert!(f.find("/").is_none());
        assert_eq!(f.len(), 3);
    }
}
