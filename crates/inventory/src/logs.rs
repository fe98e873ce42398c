//! Recorded traffic into [`Sample`]s, for `portcullis discover`: a Portcullis decision log
//! (JSON lines), a HAR file, or nginx/Apache combined access logs, told apart by their
//! content. A line that cannot be read is counted and reported with its number; it never
//! stops the reading.

use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

use crate::clock::parse_rfc3339;
use crate::sample::{Bodies, Client, Sample};

/// The most bytes of a HAR file read (it is one JSON document).
pub const MAX_HAR: u64 = 256 * 1024 * 1024;
/// The longest log line read; longer ones are malformed.
pub const MAX_LINE: usize = 64 * 1024;
/// Malformed lines kept with their reason (all are counted).
const KEPT_ERRORS: usize = 50;

/// The format of a traffic file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Portcullis decision log: one JSON object per line.
    Decisions,
    /// HTTP Archive (HAR 1.2).
    Har,
    /// nginx/Apache combined (or common) access log.
    Combined,
}

impl Format {
    /// Its name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Decisions => "decision log",
            Format::Har => "HAR",
            Format::Combined => "combined access log",
        }
    }
}

/// What reading a traffic file gave besides the samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The format detected.
    pub format: Option<Format>,
    /// Samples read.
    pub samples: u64,
    /// Lines (or HAR entries) that could not be read.
    pub malformed: u64,
    /// The first of them: line (or entry) number, 1-based, and why.
    pub errors: Vec<(u64, String)>,
}

/// An unreadable traffic file.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file cannot be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A HAR file that is not valid JSON or too large.
    #[error("{file}: not a HAR document: {reason}")]
    Har {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
}

impl Summary {
    fn bad(&mut self, line: u64, reason: impl Into<String>) {
        self.malformed += 1;
        if self.errors.len() < KEPT_ERRORS {
            self.errors.push((line, reason.into()));
        }
    }
}

/// Reads `path`, handing each request to `each`.
pub fn read(path: &Path, each: impl FnMut(Sample)) -> Result<Summary, LogError> {
    let file = path.display().to_string();
    let opened = std::fs::File::open(path).map_err(|source| LogError::Io {
        file: file.clone(),
        source,
    })?;
    read_from(&file, opened, each)
}

/// Reads traffic from `input` (named `file` in errors), handing each request to `each`: what
/// [`read`] does once the file is open.
pub fn read_from(
    file: &str,
    input: impl Read,
    mut each: impl FnMut(Sample),
) -> Result<Summary, LogError> {
    let file = file.to_owned();
    let io = |source| LogError::Io {
        file: file.clone(),
        source,
    };
    let mut reader = BufReader::new(input);
    let head = reader.fill_buf().map_err(io)?;
    let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let starts_object = first == Some(b'{');
    // A HAR document is one JSON object whose first key is usually "log" on its own line;
    // a decision log has a whole object on each line.
    let first_line = head
        .split(|b| *b == b'\n')
        .find(|l| !l.trim_ascii().is_empty());
    let one_line_object = first_line.is_some_and(|l| {
        let l = l.trim_ascii();
        l.starts_with(b"{")
            && l.ends_with(b"}")
            && serde_json::from_slice::<Value>(l).is_ok_and(|v| v.get("log").is_none())
    });
    let mut out = Summary::default();
    if starts_object && !one_line_object {
        out.format = Some(Format::Har);
        let mut text = Vec::new();
        reader
            .take(MAX_HAR + 1)
            .read_to_end(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_HAR {
            return Err(LogError::Har {
                file,
                reason: format!("larger than {MAX_HAR} bytes"),
            });
        }
        let doc: Value = serde_json::from_slice(&text).map_err(|e| LogError::Har {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let Some(entries) = doc.pointer("/log/entries").and_then(Value::as_array) else {
            return Err(LogError::Har {
                file,
                reason: "no /log/entries array".to_owned(),
            });
        };
        for (i, entry) in entries.iter().enumerate() {
            let n = i as u64 + 1;
            match har_entry(entry) {
                Ok(s) => {
                    out.samples += 1;
                    each(s);
                }
                Err(reason) => out.bad(n, format!("entry {n}: {reason}")),
            }
        }
        return Ok(out);
    }
    let format = if starts_object {
        Format::Decisions
    } else {
        Format::Combined
    };
    out.format = Some(format);
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = reader
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.len() > MAX_LINE && !line.ends_with(b"\n") {
            out.bad(n, format!("longer than {MAX_LINE} bytes"));
            // Skip the rest of the line, a buffer at a time: memory stays bounded however
            // long it is.
            let _ = skip_line(&mut reader);
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            out.bad(n, "not UTF-8");
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let parsed = match format {
            Format::Decisions => decision_line(text),
            _ => combined_line(text).map(Some),
        };
        match parsed {
            // A line of another kind (an alert): not a request.
            Ok(None) => {}
            Ok(Some(s)) => {
                out.samples += 1;
                each(s);
            }
            Err(reason) => out.bad(n, reason),
        }
    }
    Ok(out)
}

/// Consumes `reader` up to and including the next newline (or to its end).
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// One decision-log line; `None` for a line of another kind (`{"type":"alert",...}`).
pub fn decision_line(text: &str) -> Result<Option<Sample>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("type").is_some_and(|t| t != "decision") {
        return Ok(None);
    }
    let method = string(&v, "method").ok_or("no `method`")?;
    let path = string(&v, "path").ok_or("no `path`")?;
    let status = v
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("no numeric `status`")?;
    let client = v.get("client").unwrap_or(&Value::Null);
    let key_id = string(client, "key_id");
    let sub = string(client, "sub");
    let identified = key_id.is_some() || sub.is_some();
    let rule = string(&v, "rule");
    // A refused credential shows as an authentication rule.
    let refused = rule.as_deref().is_some_and(|r| r.starts_with("auth"));
    Ok(Some(Sample {
        ts_ms: v
            .get("ts")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .unwrap_or(0),
        api: string(&v, "api"),
        operation: None,
        route_template: None,
        deprecated: false,
        method,
        path,
        status,
        decision: string(&v, "decision").unwrap_or_else(|| "allow".to_owned()),
        rule,
        client: Client {
            ip: client
                .get("ip")
                .and_then(Value::as_str)
                .and_then(|ip| ip.parse().ok()),
            key_id,
            sub,
        },
        credentials_presented: identified || refused,
        credentials_valid: identified,
        request_bytes: None,
        response_bytes: v.get("response_bytes").and_then(Value::as_u64),
        sensitive: Vec::new(),
        query: Vec::new(),
        bodies: None,
    }))
}

/// The most bytes of a HAR body learned from (as the gateway's samples).
pub const MAX_BODY: usize = 64 * 1024;

/// A HAR body (`request.postData` or `response.content`) when it is JSON text.
fn har_body(part: Option<&Value>) -> Option<Vec<u8>> {
    let part = part?;
    let mime = part.get("mimeType").and_then(Value::as_str).unwrap_or("");
    let media = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = media == "application/json" || media.ends_with("+json");
    let encoded = part.get("encoding").is_some_and(|e| !e.is_null());
    let text = part.get("text").and_then(Value::as_str)?;
    (json && !encoded && !text.is_empty() && text.len() <= MAX_BODY)
        .then(|| text.as_bytes().to_vec())
}

/// Splits a request target into path and query parameter names.
fn split_target(target: &str) -> (String, Vec<String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let names = query
        .split('&')
        .filter_map(|p| p.split('=').next())
        .filter(|n| !n.is_empty())
        .take(32)
        .map(str::to_owned)
        .collect();
    (path.to_owned(), names)
}

fn har_entry(e: &Value) -> Result<Sample, String> {
    let req = e.get("request").ok_or("no `request`")?;
    let method = string(req, "method").ok_or("no `request.method`")?;
    let url = string(req, "url").ok_or("no `request.url`")?;
    let target = match url.find("://") {
        Some(i) => {
            let rest = url.get(i + 3..).unwrap_or_default();
            rest.find('/').and_then(|j| rest.get(j..)).unwrap_or("/")
        }
        None => url.as_str(),
    };
    let (path, query) = split_target(target.split('#').next().unwrap_or_default());
    let status = e
        .pointer("/response/status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("no numeric `response.status`")?;
    let presented = req
        .get("headers")
        .and_then(Value::as_array)
        .is_some_and(|hs| {
            hs.iter().any(|h| {
                h.get("name").and_then(Value::as_str).is_some_and(|n| {
                    n.eq_ignore_ascii_case("authorization")
                        || n.eq_ignore_ascii_case("x-api-key")
                        || n.eq_ignore_ascii_case("cookie")
                })
            })
        });
    let size = e
        .pointer("/response/content/size")
        .and_then(Value::as_i64)
        .or_else(|| e.pointer("/response/bodySize").and_then(Value::as_i64))
        .and_then(|n| u64::try_from(n).ok());
    Ok(Sample {
        ts_ms: e
            .get("startedDateTime")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .unwrap_or(0),
        method,
        path,
        status,
        decision: "allow".to_owned(),
        client: Client {
            ip: e
                .get("clientIPAddress")
                .and_then(Value::as_str)
                .and_then(|ip| ip.parse().ok()),
            ..Client::default()
        },
        credentials_presented: presented,
        credentials_valid: presented && status != 401 && status != 403,
        response_bytes: size,
        query,
        bodies: {
            let request = har_body(req.get("postData"));
            let response = har_body(e.pointer("/response/content"));
            (request.is_some() || response.is_some())
                .then(|| Box::new(Bodies { request, response }))
        },
        ..Sample::default()
    })
}

/// One combined (or common) log line:
/// `1.2.3.4 - user [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 "ref" "ua"`.
pub fn combined_line(text: &str) -> Result<Sample, String> {
    let (ip, rest) = text.split_once(' ').ok_or("no client address")?;
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    let (_ident, rest) = rest.split_once(' ').ok_or("no ident field")?;
    let (user, rest) = rest.split_once(' ').ok_or("no user field")?;
    let rest = rest.strip_prefix('[').ok_or("no [time]")?;
    let (time, rest) = rest.split_once(']').ok_or("unterminated [time]")?;
    let rest = rest
        .trim_start()
        .strip_prefix('"')
        .ok_or("no \"request\"")?;
    let (request, rest) = rest.split_once('"').ok_or("unterminated \"request\"")?;
    let mut parts = request.split(' ');
    let method = parts
        .next()
        .filter(|m| !m.is_empty())
        .ok_or("empty request")?;
    let target = parts.next().ok_or("no request target")?;
    let mut fields = rest.split_whitespace();
    let status: u16 = fields
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("no numeric status")?;
    let bytes = fields.next().and_then(|b| b.parse::<u64>().ok());
    let (path, query) = split_target(target);
    let presented = user != "-";
    Ok(Sample {
        ts_ms: clf_time(time).unwrap_or(0),
        method: method.to_owned(),
        path,
        status,
        decision: "allow".to_owned(),
        client: Client {
            ip: Some(ip),
            key_id: None,
            sub: presented.then(|| user.to_owned()),
        },
        credentials_presented: presented,
        credentials_valid: presented && status != 401 && status != 403,
        response_bytes: bytes,
        query,
        ..Sample::default()
    })
}

/// `10/Oct/2000:13:55:36 -0700` in ms since the epoch.
fn clf_time(text: &str) -> Option<u64> {
    let format = time::format_description::parse_borrowed::<2>(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]",
    )
    .ok()?;
    let t = time::OffsetDateTime::parse(text, &format).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_lines() {
        let s = combined_line(
            r#"10.0.0.1 - alice [10/Oct/2026:13:55:36 -0700] "GET /users/42?full=1&x HTTP/1.1" 200 2326 "-" "curl/8""#,
        )
        .unwrap_or_default();
        assert_eq!(s.path, "/users/42");
        assert_eq!(s.query, ["full", "x"]);
        assert_eq!(s.status, 200);
        assert_eq!(s.response_bytes, Some(2326));
        assert!(s.credentials_valid);
        assert!(s.ts_ms > 0);
        assert!(combined_line("garbage").is_err());
        assert!(combined_line(r#"10.0.0.1 - - [x] "GET / HTTP/1.1" abc 1"#).is_err());
    }

    /// A line of any length is skipped without being held (it used to be read whole into
    /// memory to skip it), and the lines after it are read.
    #[test]
    fn overlong_lines_are_skipped_in_bounded_memory() {
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(usize::try_from(self.0).unwrap_or(usize::MAX));
                buf.iter_mut().take(n).for_each(|b| *b = b'x');
                self.0 -= n as u64;
                Ok(n)
            }
        }
        let next = br#"
10.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /a HTTP/1.1" 200 1 "-" "-"
"#;
        let input = Endless(64 << 20).chain(&next[..]);
        let mut samples = Vec::new();
        let summary = read_from("big.log", input, |s| samples.push(s)).unwrap_or_default();
        assert_eq!((summary.samples, summary.malformed), (1, 1));
        assert_eq!(summary.errors.first().map(|e| e.0), Some(1));
        assert_eq!(samples.first().map(|s| s.path.as_str()), Some("/a"));
    }

    #[test]
    fn decision_lines() {
        let s = decision_line(
            r#"{"ts":"2026-12-07T01:00:00.000Z","api":"bank","operation":"getMe","method":"GET","path":"/users/me","client":{"ip":"127.0.0.1","key_id":null,"sub":"alice"},"decision":"allow","rule":null,"status":200}"#,
        )
        .unwrap_or_default()
        .unwrap_or_default();
        assert_eq!(s.api.as_deref(), Some("bank"));
        assert_eq!(s.client.sub.as_deref(), Some("alice"));
        assert!(s.credentials_valid);
        assert!(decision_line("{").is_err());
        assert!(decision_line(r#"{"method":"GET"}"#).is_err());
        // An alert line is not a request, and not malformed either.
        assert_eq!(
            decision_line(r#"{"type":"alert","detector":"scanning"}"#),
            Ok(None)
        );
    }

    #[test]
    fn har_json_bodies_are_kept_others_not() {
        let entry: Value = serde_json::from_str(
            r#"{"startedDateTime":"2026-12-07T01:00:00Z","request":{"method":"POST","url":"http://x/debug/echo",
              "postData":{"mimeType":"application/json; charset=utf-8","text":"{\"a\":1}"}},
              "response":{"status":200,"content":{"mimeType":"text/html","text":"<p>"}}}"#,
        )
        .unwrap_or_default();
        let s = har_entry(&entry).unwrap_or_default();
        let b = s.bodies.unwrap_or_default();
        assert_eq!(b.request.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(b.response, None);
    }
}
