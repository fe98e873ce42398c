//! Shared by the properties: running the checks' futures, reading a request, mutating bytes.

use super::*;

/// Runs a future that never waits on I/O or a timer (the body check and a verifier over a
/// local key set) to completion on this thread.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future waits on something this test never provides");
}

/// A request as the params and body fuzz targets read their input: a request line
/// (`METHOD /path?query`), header lines (`Name: value`), an empty line, then the body. Header
/// lines that are not a valid name and value are skipped (hyper refuses them before the
/// gateway sees them).
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

pub(crate) fn read_request(data: &[u8]) -> Request {
    let mut rest = data;
    let mut lines = Vec::new();
    let mut body: &[u8] = &[];
    loop {
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match after {
            Some(after) if line.is_empty() && !lines.is_empty() => {
                body = after;
                break;
            }
            Some(after) => {
                lines.push(line);
                rest = after;
            }
            None => {
                lines.push(line);
                break;
            }
        }
    }
    let first = String::from_utf8_lossy(lines.first().copied().unwrap_or_default());
    let (method, target) = first.split_once(' ').unwrap_or(("GET", &first));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut headers = http::HeaderMap::new();
    for line in lines.iter().skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.trim_ascii()),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body: Bytes::copy_from_slice(body),
    }
}

/// Text that means something to one of the parsers, spliced into valid inputs.
pub(crate) const TOKENS: [&str; 40] = [
    "\n", "\r\n", "\n\n", ": ", "=", "&", ";", ",", "|", " ", "%", "%2", "%00", "%ff", "%C3%A9",
    "+", "[", "]", "{", "}", "\"", "'", "\\", "\\u0000", "\\ud800", "1e999", "-0", ".", "..", "/",
    "--", "--X\r\n", "${", "${A:-", "$${", "&a ", "*a", "- ", "\t", "\u{feff}",
];

/// One edit of an input's bytes, at a position taken modulo its length.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Insert(usize, usize),
    Delete(usize, usize),
    Byte(usize, u8),
    /// Repeat a slice (deep nesting, long runs, many parts).
    Repeat(usize, usize, usize),
}

pub(crate) fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1usize..24).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        (any::<usize>(), 1usize..16, 2usize..160).prop_map(|(at, n, k)| Edit::Repeat(at, n, k)),
    ]
}

pub(crate) fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

/// Applies the edits to `input`.
pub(crate) fn mutate(input: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for e in edits {
        let at = |i: usize| i % (bytes.len() + 1);
        match *e {
            Edit::Insert(i, t) => {
                let i = at(i);
                bytes.splice(i..i, TOKENS[t].bytes());
            }
            Edit::Delete(i, n) => {
                let i = at(i);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Byte(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = b;
                }
            }
            Edit::Repeat(i, n, k) => {
                let i = at(i);
                let end = (i + n).min(bytes.len());
                let piece = bytes[i..end].to_vec();
                for _ in 0..k {
                    bytes.splice(i..i, piece.iter().copied());
                }
            }
        }
    }
    bytes
}

pub(crate) fn mutate_text(input: &str, edits: &[Edit]) -> String {
    String::from_utf8_lossy(&mutate(input.as_bytes(), edits)).into_owned()
}
