//! Path templates (`/pets/{petId}/photos/{name}.jpg`): parsed into segments whose literal
//! text is canonicalized with the rules of [`normalize_path`](crate::normalize_path), so a
//! template matches exactly the paths that normalization produces.

use crate::normalize::{Decoded, MAX_SEGMENTS, PathError, SegmentKind};

/// Why a path template cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template does not start with `/` (OpenAPI requires it).
    #[error("the template does not start with `/`")]
    MissingLeadingSlash,
    /// A `{` without its `}`, a `{` or `/` inside a parameter name, or a stray `}`.
    #[error("unbalanced or misplaced brace at byte {offset}")]
    Brace {
        /// Where the offending character is.
        offset: usize,
    },
    /// `{}`: a parameter without a name.
    #[error("parameter without a name at byte {offset}")]
    EmptyName {
        /// Where the `{` is.
        offset: usize,
    },
    /// Two parameters with no literal text between them (`{a}{b}`): where one ends is
    /// undecidable.
    #[error("two adjacent parameters at byte {offset}")]
    AdjacentParameters {
        /// Where the second `{` is.
        offset: usize,
    },
    /// A `?` or `#` in the template: a query string or fragment written into the path (some
    /// generated documents tell operations apart this way, `/#Action=List`). Requests are
    /// routed by path alone, so such operations cannot be told apart and are left out.
    #[error(
        "query or fragment in the template at byte {offset}: operations told apart by their query are not routable by path"
    )]
    QueryOrFragment {
        /// Where the `?` or `#` is.
        offset: usize,
    },
    /// A segment that is only `.` or `..`: no normalized path can contain it.
    #[error("dot segment at byte {offset}")]
    DotSegment {
        /// Where the segment starts.
        offset: usize,
    },
    /// More segments than a normalized path can have.
    #[error("more than {limit} segments")]
    TooManySegments {
        /// The limit ([`MAX_SEGMENTS`]).
        limit: usize,
    },
    /// Literal text that normalization would refuse (`%2F`, a control character, a bad
    /// escape, `..;`...), so no request could ever match it.
    #[error("literal text cannot occur in a normalized path: {0}")]
    Literal(PathError),
}

/// One piece of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Canonical (normalized, percent-encoded) literal text, never empty.
    Literal(String),
    /// A parameter, by its name in the template.
    Param(String),
}

/// One segment of a template: its pieces, never empty, never two params in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) pieces: Vec<Piece>,
}

impl Segment {
    /// How many parameters the segment holds.
    pub(crate) fn param_count(&self) -> usize {
        self.pieces
            .iter()
            .filter(|p| matches!(p, Piece::Param(_)))
            .count()
    }

    /// Specificity for "concrete beats templated": (2, _) for literal text only, (1, literal
    /// bytes) for a parameter with literal text around it, (0, 0) for a bare parameter.
    pub(crate) fn rank(&self) -> (u8, usize) {
        let literal: usize = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.len(),
                Piece::Param(_) => 0,
            })
            .sum();
        match (self.param_count(), literal) {
            (0, _) => (2, 0),
            (_, 0) => (0, 0),
            (_, n) => (1, n),
        }
    }
}

/// A parsed path template (optionally prefixed by a base path).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Template {
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    /// Parses and canonicalizes a template as written in a document.
    pub(crate) fn parse(template: &str) -> Result<Template, TemplateError> {
        let Some(rest) = template.strip_prefix('/') else {
            return Err(TemplateError::MissingLeadingSlash);
        };
        let mut parser = Parser::default();
        let mut decoded = Decoded::default();
        let offset = 1;
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = offset + i;
            match c {
                '/' => parser.end_segment(&mut decoded)?,
                '{' => {
                    parser.flush_literal(&mut decoded)?;
                    if matches!(parser.current.last(), Some(Piece::Param(_))) {
                        return Err(TemplateError::AdjacentParameters { offset: at });
                    }
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((j, '{' | '/')) => {
                                return Err(TemplateError::Brace { offset: offset + j });
                            }
                            Some((_, ch)) => name.push(ch),
                            None => return Err(TemplateError::Brace { offset: at }),
                        }
                    }
                    if name.is_empty() {
                        return Err(TemplateError::EmptyName { offset: at });
                    }
                    parser.current.push(Piece::Param(name));
                }
                '}' => return Err(TemplateError::Brace { offset: at }),
                '?' | '#' => return Err(TemplateError::QueryOrFragment { offset: at }),
                _ => {
                    if parser.literal.is_empty() {
                        parser.literal_start = at;
                    }
                    parser.literal.push(c);
                }
            }
        }
        parser.end_segment(&mut decoded)?;
        if parser.segments.len() > MAX_SEGMENTS {
            return Err(TemplateError::TooManySegments {
                limit: MAX_SEGMENTS,
            });
        }
        Ok(Template {
            segments: parser.segments,
        })
    }

    /// A template of literal segments only, from a path that is already canonical (the
    /// output of `normalize_path`, or `""` for no base path).
    pub(crate) fn literal(canonical: &str) -> Template {
        let segments = canonical
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| Segment {
                pieces: vec![Piece::Literal(s.to_owned())],
            })
            .collect();
        Template { segments }
    }

    /// This template appended to `base`.
    pub(crate) fn under(&self, base: &Template) -> Template {
        let mut segments = base.segments.clone();
        segments.extend(self.segments.iter().cloned());
        Template { segments }
    }

    /// The parameter names in order of appearance.
    pub(crate) fn param_names(&self) -> Vec<Box<str>> {
        self.segments
            .iter()
            .flat_map(|s| &s.pieces)
            .filter_map(|p| match p {
                Piece::Param(name) => Some(name.as_str().into()),
                Piece::Literal(_) => None,
            })
            .collect()
    }

    /// The shape of the template with positional parameter names (`/pets/{p0}`): equal for
    /// equivalent templates, and unambiguous (canonical literal text never holds `{` or `}`,
    /// which are percent-encoded).
    pub(crate) fn key(&self) -> String {
        let mut out = String::new();
        let mut index = 0;
        for segment in &self.segments {
            out.push('/');
            for piece in &segment.pieces {
                match piece {
                    Piece::Literal(text) => out.push_str(text),
                    Piece::Param(_) => {
                        out.push_str(&format!("{{p{index}}}"));
                        index += 1;
                    }
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// Parser state: finished segments, pieces of the current one, pending literal text.
#[derive(Default)]
struct Parser {
    segments: Vec<Segment>,
    current: Vec<Piece>,
    literal: String,
    literal_start: usize,
}

impl Parser {
    /// Canonicalizes the pending literal text into a piece of the current segment.
    fn flush_literal(&mut self, decoded: &mut Decoded) -> Result<(), TemplateError> {
        if self.literal.is_empty() {
            return Ok(());
        }
        decoded
            .decode(&self.literal, self.literal_start)
            .map_err(TemplateError::Literal)?;
        let mut text = String::new();
        decoded.encode_into(&mut text);
        self.literal.clear();
        self.current.push(Piece::Literal(text));
        Ok(())
    }

    /// Ends the current segment at a `/` or at the end; an empty one is dropped, like
    /// `normalize_path` drops empty segments.
    fn end_segment(&mut self, decoded: &mut Decoded) -> Result<(), TemplateError> {
        let literal_only = self.current.is_empty();
        let start = self.literal_start;
        if literal_only && !self.literal.is_empty() {
            decoded
                .decode(&self.literal, start)
                .map_err(TemplateError::Literal)?;
            match decoded.kind(start).map_err(TemplateError::Literal)? {
                SegmentKind::Normal => {}
                SegmentKind::Dot | SegmentKind::DotDot => {
                    return Err(TemplateError::DotSegment { offset: start });
                }
            }
        }
        self.flush_literal(decoded)?;
        if !self.current.is_empty() {
            self.segments.push(Segment {
                pieces: std::mem::take(&mut self.current),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str) -> String {
        Template::parse(t).unwrap().key()
    }

    #[test]
    fn keys_are_positional_and_canonical() {
        assert_eq!(key("/"), "/");
        assert_eq!(key("/pets"), "/pets");
        assert_eq!(key("/pets/"), "/pets");
        assert_eq!(key("//pets//{id}/"), "/pets/{p0}");
        assert_eq!(key("/pets/{petId}"), key("/pets/{id}"));
        assert_eq!(key("/a/{x}/b/{y}"), "/a/{p0}/b/{p1}");
        assert_eq!(key("/files/{name}.json"), "/files/{p0}.json");
        assert_eq!(key("/{owner}:{repo}"), "/{p0}:{p1}");
        assert_eq!(key("/caf%c3%a9/%7e"), "/caf%C3%A9/~");
        assert_eq!(key("/café"), "/caf%C3%A9");
        assert_eq!(key("/a b/{x}"), "/a%20b/{p0}");
        assert_eq!(key("/{x}/%7Bliteral%7d"), "/{p0}/%7Bliteral%7D");
    }

    #[test]
    fn names_and_shapes() {
        let t = Template::parse("/repos/{owner}/{repo}/x-{id}.{ext}").unwrap();
        assert_eq!(
            t.param_names(),
            ["owner", "repo", "id", "ext"].map(Box::<str>::from)
        );
        let ranks: Vec<_> = t.segments.iter().map(Segment::rank).collect();
        assert_eq!(ranks, vec![(2, 0), (0, 0), (0, 0), (1, 3)]);
        let counts: Vec<_> = t.segments.iter().map(Segment::param_count).collect();
        assert_eq!(counts, vec![0, 1, 1, 2]);
    }

    #[test]
    fn invalid_templates() {
        use TemplateError as E;
        let cases: &[(&str, TemplateError)] = &[
            ("pets", E::MissingLeadingSlash),
            ("", E::MissingLeadingSlash),
            ("/pets/{id", E::Brace { offset: 6 }),
            ("/pets/{a/b}", E::Brace { offset: 8 }),
            ("/pets/{a{b}}", E::Brace { offset: 8 }),
            ("/pets/id}", E::Brace { offset: 8 }),
            ("/pets/{}", E::EmptyName { offset: 6 }),
            ("/{a}{b}", E::AdjacentParameters { offset: 4 }),
            ("/a/../b", E::DotSegment { offset: 3 }),
            ("/a/./b", E::DotSegment { offset: 3 }),
            ("/a%2Fb", E::Literal(PathError::EncodedSlash { offset: 2 })),
            (
                "/a/{x}%2f",
                E::Literal(PathError::EncodedSlash { offset: 6 }),
            ),
            ("/search?q={q}", E::QueryOrFragment { offset: 7 }),
            ("/#Action=List", E::QueryOrFragment { offset: 1 }),
            ("/tags/{arn}#tagKeys", E::QueryOrFragment { offset: 11 }),
            (
                "/a/..;x",
                E::Literal(PathError::DotSegmentWithParameters { offset: 3 }),
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(
                Template::parse(template).as_ref(),
                Err(expected),
                "{template:?}"
            );
        }
        let long = "/a".repeat(MAX_SEGMENTS + 1);
        assert_eq!(
            Template::parse(&long),
            Err(E::TooManySegments {
                limit: MAX_SEGMENTS
            })
        );
    }

    #[test]
    fn base_paths_prefix_templates() {
        let base = Template::literal("/v1/api");
        let t = Template::parse("/pets/{id}").unwrap().under(&base);
        assert_eq!(t.key(), "/v1/api/pets/{p0}");
        assert_eq!(Template::parse("/").unwrap().under(&base).key(), "/v1/api");
        assert_eq!(Template::literal("").key(), "/");
    }
}
