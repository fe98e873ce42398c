//! Tolerance for under-indented flow content, as libyaml (PyYAML, most YAML tooling) accepts it.
//!
//! `saphyr-parser` follows YAML 1.2 strictly: the continuation lines of a quoted scalar and the
//! lines of a flow collection must be indented more than the block they sit in. Published
//! specifications break that rule (a certificate in a quoted string with its lines at column 0;
//! a JSON-style example whose closing `}` sits under its key), and every other tool reads them.
//! When the parser reports such an indentation error, the offending lines are indented with
//! spaces and the text is parsed again. Leading spaces on those lines are not content (quoted
//! scalars and flow collections fold or skip them), so the value is unchanged; the added spaces
//! are recorded per line so that columns are reported as in the original text.

use std::collections::BTreeMap;

/// Spaces added at the start of lines: 1-based line -> number of spaces.
pub(crate) type Shifts = BTreeMap<u32, u32>;

/// What the YAML parser refused, in coordinates of the text it was given.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Indentation {
    /// A quoted scalar starting at this 1-based line and 0-based character column has a
    /// continuation line indented too little.
    Quoted { line: usize, column: usize },
    /// The token at this 1-based line and 0-based character column, inside a flow collection,
    /// is indented too little.
    Flow { line: usize, column: usize },
}

impl Indentation {
    /// The repairable error a parser message and place describe, if any.
    pub(crate) fn from_error(info: &str, line: usize, column: usize) -> Option<Indentation> {
        match info {
            "invalid indentation in quoted scalar" => Some(Indentation::Quoted { line, column }),
            "invalid indentation" | "invalid indentation in flow construct" => {
                Some(Indentation::Flow { line, column })
            }
            _ => None,
        }
    }
}

/// The text with the offending lines indented, and the spaces added per line; `None` when
/// nothing can be repaired (the error is then reported as it is).
pub(crate) fn reindent(text: &str, what: Indentation) -> Option<(String, Vec<(u32, u32)>)> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut added = Vec::new();
    match what {
        Indentation::Quoted { line, column } => {
            let first = lines.get(line.checked_sub(1)?)?;
            let offset: usize = lines.iter().take(line - 1).map(|l| l.len() + 1).sum();
            let quote_at = first.char_indices().nth(column)?.0;
            let end_line = line + closing_quote(text.get(offset + quote_at..)?)?;
            for n in line + 1..=end_line {
                let content = lines.get(n - 1)?;
                let indent = indentation(content);
                if indent < column && !content.trim().is_empty() {
                    added.push((n, column - indent));
                }
            }
        }
        Indentation::Flow { line, column } => {
            let previous = lines
                .iter()
                .take(line.checked_sub(1)?)
                .rev()
                .find(|l| !l.trim().is_empty())
                .map_or(0, |l| indentation(l));
            let target = previous.max(column + 1);
            added.push((line, target - column));
        }
    }
    if added.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + added.iter().map(|a| a.1).sum::<usize>());
    let mut pending = added.iter().peekable();
    for (i, content) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some((_, spaces)) = pending.next_if(|(n, _)| *n == i + 1) {
            out.extend(std::iter::repeat_n(' ', *spaces));
        }
        out.push_str(content);
    }
    let shifts = added
        .into_iter()
        .map(|(n, s)| (super::to_u32(n), super::to_u32(s)))
        .collect();
    Some((out, shifts))
}

/// Leading spaces and tabs of a line, in characters.
fn indentation(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// How many lines after its first the quoted scalar at the start of `from` ends on.
fn closing_quote(from: &str) -> Option<usize> {
    let mut chars = from.char_indices();
    let (_, quote) = chars.next()?;
    let mut newlines = 0;
    while let Some((_, c)) = chars.next() {
        match c {
            '\n' => newlines += 1,
            '\\' if quote == '"' && chars.next().is_some_and(|(_, e)| e == '\n') => {
                newlines += 1;
            }
            '\\' if quote == '"' => {}
            c if c == quote => {
                let doubled = quote == '\'' && chars.clone().next().is_some_and(|(_, n)| n == '\'');
                if !doubled {
                    return Some(newlines);
                }
                chars.next();
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_continuation_lines_are_indented_to_the_quote() {
        let text = "a:\n  b: \"x\nyy\n\n  z\"\nc: 1\n";
        let what = Indentation::Quoted { line: 2, column: 5 };
        let (fixed, shifts) = reindent(text, what).unwrap();
        assert_eq!(fixed, "a:\n  b: \"x\n     yy\n\n     z\"\nc: 1\n");
        assert_eq!(shifts, [(3, 5), (5, 3)]);
    }

    #[test]
    fn quotes_inside_the_scalar_are_skipped() {
        assert_eq!(closing_quote("\"a\\\"\nb\" x"), Some(1));
        assert_eq!(closing_quote("'it''s\n\nok' x"), Some(2));
        assert_eq!(closing_quote("\"never"), None);
    }

    #[test]
    fn flow_lines_are_indented_like_the_line_before() {
        let text = "x:\n  e: {\n      \"a\": 1\n  }\n";
        let (fixed, shifts) = reindent(text, Indentation::Flow { line: 4, column: 2 }).unwrap();
        assert_eq!(fixed, "x:\n  e: {\n      \"a\": 1\n      }\n");
        assert_eq!(shifts, [(4, 4)]);
        let (_, shifts) = reindent("{\n}", Indentation::Flow { line: 2, column: 0 }).unwrap();
        assert_eq!(shifts, [(2, 1)]);
    }

    #[test]
    fn other_errors_are_not_repaired() {
        assert!(Indentation::from_error("did not find expected key", 1, 0).is_none());
        assert!(reindent("a", Indentation::Quoted { line: 9, column: 0 }).is_none());
    }
}
