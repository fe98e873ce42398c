//! Strict JSON (RFC 8259) to value and positions in one pass.
//!
//! Why not run JSON through the YAML parser: on the corpus's large JSON files this parser is
//! more than ten times faster than `saphyr-parser` (numbers in the `parse_corpus` test's
//! `json_parser_choice` measurement and in the crate report), and the YAML parser accepts
//! what strict JSON must refuse (comments, unquoted keys, single quotes, trailing commas,
//! tabs inside tokens). Numbers are read by `serde_json::Number`'s own parser, so values are
//! exactly what `serde_json::from_str` gives.
//!
//! The parser loops over an explicit stack (depth is checked against [`Limits::max_depth`],
//! never the machine stack), reads bytes only through `get`, and counts columns in characters
//! incrementally, so a single-line file of megabytes costs linear time.

use std::str::FromStr;

use serde_json::{Map, Number, Value};

use super::{Failure, Limits, count_chars, to_u32};
use crate::pointer;
use crate::source::{NodeId, Positions};

/// A child in the position tree with the line it starts on (for duplicate-key messages).
type Member = (NodeId, u32);

/// Parses one JSON value, refusing anything after it but whitespace.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<(Value, Positions), Failure> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        col_at: 0,
        col: 1,
        positions: Positions::default(),
        nodes: 0,
        limits,
        stack: Vec::new(),
        pool: Vec::new(),
        scratch: Vec::new(),
    };
    let value = parser.document()?;
    Ok((value, parser.positions))
}

/// An open array or object.
enum Frame {
    Array {
        items: Vec<Value>,
        members: Vec<Member>,
        node: NodeId,
    },
    Object {
        map: Map<String, Value>,
        members: Vec<Member>,
        node: NodeId,
        /// The key whose value is being read.
        key: Option<String>,
    },
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Current line (1-based) and the byte where it starts.
    line: u32,
    line_start: usize,
    /// Column cache: byte `col_at` of the current line is at column `col`.
    col_at: usize,
    col: u32,
    positions: Positions,
    nodes: usize,
    limits: &'a Limits,
    stack: Vec<Frame>,
    /// Emptied member vectors, reused.
    pool: Vec<Vec<Member>>,
    /// Reused buffer for [`Positions::set_children`].
    scratch: Vec<NodeId>,
}

/// What follows a finished value.
enum Next {
    /// Read another value (an array item or an object member's value).
    Value,
    /// The root value is complete.
    Root(Value),
}

impl Parser<'_> {
    fn document(&mut self) -> Result<Value, Failure> {
        self.skip_ws();
        if self.pos >= self.bytes.len() {
            return Err(self.fail_at(
                1,
                1,
                "empty document: no JSON value (only whitespace)".to_owned(),
            ));
        }
        loop {
            match self.value()? {
                Next::Value => {}
                Next::Root(value) => {
                    self.skip_ws();
                    if self.pos < self.bytes.len() {
                        return Err(self.fail("trailing characters after the JSON value"));
                    }
                    return Ok(value);
                }
            }
        }
    }

    /// Reads one value at the current position; a scalar or empty container is finished at
    /// once, an array or object is opened (its first item or key read).
    fn value(&mut self) -> Result<Next, Failure> {
        self.skip_ws();
        let start = self.pos;
        let (line, column) = self.here();
        let node = match self.stack.last() {
            Some(Frame::Object {
                members,
                key: Some(_),
                ..
            }) => members.last().map(|m| m.0),
            _ => None,
        };
        let node = node.unwrap_or_else(|| self.positions.push(line, column));
        self.count()?;
        let value = match self.bytes.get(start) {
            Some(b'{') => {
                self.open()?;
                self.pos += 1;
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    Value::Object(Map::new())
                } else {
                    let members = self.pool.pop().unwrap_or_default();
                    self.stack.push(Frame::Object {
                        map: Map::new(),
                        members,
                        node,
                        key: None,
                    });
                    self.key()?;
                    return Ok(Next::Value);
                }
            }
            Some(b'[') => {
                self.open()?;
                self.pos += 1;
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    Value::Array(Vec::new())
                } else {
                    let members = self.pool.pop().unwrap_or_default();
                    self.stack.push(Frame::Array {
                        items: Vec::new(),
                        members,
                        node,
                    });
                    return Ok(Next::Value);
                }
            }
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.fail("expected a JSON value")),
            None => return Err(self.fail("unexpected end of input: expected a JSON value")),
        };
        self.finished(value, node, line)
    }

    /// Adds a finished value to its parent and closes every container that ends right after
    /// it; returns whether another value follows or the root is complete.
    fn finished(
        &mut self,
        mut value: Value,
        mut node: NodeId,
        mut line: u32,
    ) -> Result<Next, Failure> {
        loop {
            match self.stack.last_mut() {
                None => return Ok(Next::Root(value)),
                Some(Frame::Array { items, members, .. }) => {
                    items.push(value);
                    members.push((node, line));
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => {
                            self.pos += 1;
                            return Ok(Next::Value);
                        }
                        Some(b']') => self.pos += 1,
                        _ => return Err(self.fail("expected ',' or ']' after an array item")),
                    }
                }
                Some(Frame::Object { map, key, .. }) => {
                    if let Some(k) = key.take() {
                        map.insert(k, value);
                    }
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => {
                            self.pos += 1;
                            self.key()?;
                            return Ok(Next::Value);
                        }
                        Some(b'}') => self.pos += 1,
                        _ => return Err(self.fail("expected ',' or '}' after an object member")),
                    }
                }
            }
            // The innermost container just closed: finish it and hand it to its parent.
            let (closed, id, members) = match self.stack.pop() {
                Some(Frame::Array {
                    items,
                    members,
                    node,
                }) => (Value::Array(items), node, members),
                Some(Frame::Object {
                    map, members, node, ..
                }) => (Value::Object(map), node, members),
                None => return Err(self.fail("unbalanced end of container")),
            };
            self.scratch.clear();
            self.scratch.extend(members.iter().map(|m| m.0));
            self.positions.set_children(id, &self.scratch);
            let mut members = members;
            members.clear();
            self.pool.push(members);
            line = match self.stack.last() {
                Some(Frame::Object { members, .. }) => members.last().map_or(0, |m| m.1),
                _ => 0,
            };
            value = closed;
            node = id;
        }
    }

    /// Reads `"key"` and `:` in the open object, refusing a duplicate key.
    fn key(&mut self) -> Result<(), Failure> {
        self.skip_ws();
        if self.bytes.get(self.pos) != Some(&b'"') {
            return Err(self.fail("expected a string key (object keys must be double-quoted)"));
        }
        let (line, column) = self.here();
        let name = self.string()?;
        if let Some(Frame::Object { map, members, .. }) = self.stack.last()
            && map.contains_key(&name)
        {
            let first = map
                .keys()
                .position(|k| *k == name)
                .and_then(|i| members.get(i))
                .map_or(0, |m| m.1);
            return Err(self.fail_at(
                line,
                column,
                format!(
                    "duplicate key {name:?} in one object (first on line {first}, again on \
                     line {line})"
                ),
            ));
        }
        self.skip_ws();
        if self.bytes.get(self.pos) != Some(&b':') {
            return Err(self.fail("expected ':' after an object key"));
        }
        self.pos += 1;
        let node = self.positions.push(line, column);
        if let Some(Frame::Object { members, key, .. }) = self.stack.last_mut() {
            members.push((node, line));
            *key = Some(name);
        }
        Ok(())
    }

    /// Reads a string starting at the opening quote.
    fn string(&mut self) -> Result<String, Failure> {
        self.pos += 1;
        let mut start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let mut i = self.pos;
            while let Some(&b) = self.bytes.get(i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                i += 1;
            }
            self.pos = i;
            let chunk = self.text.get(start..i).unwrap_or("");
            match self.bytes.get(i) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match owned {
                        Some(mut s) => {
                            s.push_str(chunk);
                            s
                        }
                        None => chunk.to_owned(),
                    });
                }
                Some(b'\\') => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(chunk);
                    let c = self.escape()?;
                    if let Some(s) = owned.as_mut() {
                        s.push(c);
                    }
                    start = self.pos;
                }
                Some(b) => {
                    return Err(self.fail(&format!(
                        "control character U+{b:04X} must be escaped inside a string"
                    )));
                }
                None => return Err(self.fail("unterminated string: end of input before '\"'")),
            }
        }
    }

    /// Reads one escape sequence starting at the backslash.
    fn escape(&mut self) -> Result<char, Failure> {
        let c = match self.bytes.get(self.pos + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => return self.unicode_escape(),
            _ => return Err(self.fail("invalid escape sequence in a string")),
        };
        self.pos += 2;
        Ok(c)
    }

    /// Reads `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, starting at the backslash.
    fn unicode_escape(&mut self) -> Result<char, Failure> {
        let high = self.hex4(self.pos + 2)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            let pair = self.bytes.get(self.pos + 6) == Some(&b'\\')
                && self.bytes.get(self.pos + 7) == Some(&b'u');
            let low = if pair { self.hex4(self.pos + 8)? } else { 0 };
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.fail(&format!(
                    "lone surrogate \\u{high:04X} in a string (a high surrogate must be \
                     followed by a low one)"
                )));
            }
            self.pos += 6;
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..0xE000).contains(&high) {
            return Err(self.fail(&format!("lone surrogate \\u{high:04X} in a string")));
        } else {
            high
        };
        self.pos += 6;
        char::from_u32(code).ok_or_else(|| self.fail("invalid \\u escape in a string"))
    }

    /// Four hexadecimal digits at byte `at`.
    fn hex4(&self, at: usize) -> Result<u32, Failure> {
        let digits = self
            .bytes
            .get(at..at + 4)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        digits.ok_or_else(|| self.fail("\\u must be followed by four hexadecimal digits"))
    }

    /// Reads `true`, `false` or `null`.
    fn literal(&mut self, word: &str, value: Value) -> Result<Value, Failure> {
        let end = self.pos + word.len();
        if self.bytes.get(self.pos..end) != Some(word.as_bytes()) {
            return Err(self.fail("expected a JSON value (true, false, null, a number, a string, an object or an array)"));
        }
        self.pos = end;
        Ok(value)
    }

    /// Reads a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    fn number(&mut self) -> Result<Value, Failure> {
        let start = self.pos;
        let mut i = start;
        if self.bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let from = *i;
            while self.bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        let int_start = i;
        let whole = digits(&mut i);
        if whole == 0 {
            self.pos = i;
            return Err(self.fail("expected a digit in a number"));
        }
        if whole > 1 && self.bytes.get(int_start) == Some(&b'0') {
            self.pos = int_start;
            return Err(self.fail("a number cannot have a leading zero"));
        }
        if self.bytes.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                self.pos = i;
                return Err(self.fail("expected a digit after the decimal point"));
            }
        }
        if matches!(self.bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(self.bytes.get(i), Some(b'-' | b'+')) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                self.pos = i;
                return Err(self.fail("expected a digit in the exponent"));
            }
        }
        let text = self.text.get(start..i).unwrap_or("");
        let number = Number::from_str(text).map_err(|_| self.fail("number out of range"))?;
        self.pos = i;
        Ok(Value::Number(number))
    }

    /// Checks the depth limit before opening an array or object.
    fn open(&self) -> Result<(), Failure> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.fail(&format!(
                "nesting deeper than {} levels (the limit)",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    /// Counts one node against [`Limits::max_nodes`].
    fn count(&mut self) -> Result<(), Failure> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(self.fail(&format!(
                "the document has more than {} nodes (the limit)",
                self.limits.max_nodes
            )));
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' => {}
                b'\n' => {
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.pos + 1;
                    self.col_at = self.line_start;
                    self.col = 1;
                }
                _ => return,
            }
            self.pos += 1;
        }
    }

    /// Line and column (in characters) of the current position.
    fn here(&mut self) -> (u32, u32) {
        let at = self.pos;
        if !(self.line_start..=at).contains(&self.col_at) {
            self.col_at = self.line_start;
            self.col = 1;
        }
        let counted = self.bytes.get(self.col_at..at).map_or(0, count_chars);
        self.col = self.col.saturating_add(to_u32(counted));
        self.col_at = at;
        (self.line, self.col)
    }

    /// A failure at the current position.
    fn fail(&self, message: &str) -> Failure {
        let before = self
            .bytes
            .get(self.line_start..self.pos)
            .unwrap_or_default();
        let column = to_u32(count_chars(before) + 1);
        self.fail_at(self.line, column, message.to_owned())
    }

    /// A failure at `line`:`column`, with the pointer of where the parser is.
    fn fail_at(&self, line: u32, column: u32, message: String) -> Failure {
        let mut at = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Array { items, .. } => at = pointer::push(&at, &items.len().to_string()),
                Frame::Object { key: Some(k), .. } => at = pointer::push(&at, k),
                Frame::Object { key: None, .. } => {}
            }
        }
        Failure {
            line,
            column,
            pointer: at,
            message,
        }
    }
}

#[cfg(test)]
mod tests;
