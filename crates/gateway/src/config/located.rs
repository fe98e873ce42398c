//! Reading the small files an operator writes (the configuration, the API key file, key sets,
//! PEM files) into typed values, and [`Located`], the one error type that places what is wrong
//! in them: file, line and column, the field's JSON pointer, and the problem, always written
//! `file:line:column: /field: problem` (`file: /field: problem` when a file has no lines to
//! point at, such as a PEM file or an unreadable one).
//!
//! Files are read through [`portcullis_spec::parse::parse_file`], which bounds the bytes it
//! reads (also from pipes and special files whose size is unknown in advance).

use std::path::Path;
use std::sync::Arc;

use portcullis_spec::parse::{Limits, parse_file};
use portcullis_spec::pointer::escape_token;
use portcullis_spec::source::{Positions, SourceFile};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What is wrong at one place of a config or key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Located {
    /// The file (or the URL a key set came from), as named to the user.
    pub file: String,
    /// 1-based line and column of the field (or its nearest parent); `None` when the file has
    /// no line to point at (unreadable, PEM, SQLite...).
    pub at: Option<(u32, u32)>,
    /// JSON pointer of the field (`/keys/3/hash`); empty for the file as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Located {
    /// An error at `field` of a parsed file: the line is that of the field, or of its nearest
    /// existing parent.
    pub fn at(
        file: &str,
        positions: &Positions,
        value: &Value,
        field: &str,
        message: impl Into<String>,
    ) -> Located {
        Located {
            file: file.to_owned(),
            at: Some(line_column(positions, value, field)),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// An error about `field` of a file without lines (`""`: the whole file).
    pub fn whole(file: impl Into<String>, field: &str, message: impl Into<String>) -> Located {
        Located {
            file: file.into(),
            at: None,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The error of reading JSON `bytes` as a `T` from `file`: serde_json's line and column,
    /// and the pointer of the field serde stopped at.
    pub fn json<T: DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, Located> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = pointer_of(e.path());
            let inner = e.into_inner();
            let at = (inner.line() > 0).then(|| {
                let line = u32::try_from(inner.line()).unwrap_or(u32::MAX);
                let column = u32::try_from(inner.column()).unwrap_or(u32::MAX);
                (line, column.max(1))
            });
            // serde_json appends " at line L column C": the position is already in front.
            let text = inner.to_string();
            let message = match text.rfind(" at line ") {
                Some(end) if at.is_some() => text.get(..end).unwrap_or(&text).to_owned(),
                _ => text,
            };
            Located {
                file: file.to_owned(),
                at,
                field,
                message,
            }
        })
    }

    fn render(&self) -> String {
        let mut out = self.file.clone();
        if let Some((line, column)) = self.at {
            out.push_str(&format!(":{line}:{column}"));
        }
        if !self.field.is_empty() {
            out.push_str(": ");
            out.push_str(&self.field);
        }
        out.push_str(": ");
        out.push_str(&self.message);
        out
    }
}

/// The parsed file a configuration came from, kept to place errors found after loading
/// (building the runtime) at their line. Empty for a configuration made in code.
#[derive(Clone, Default)]
pub struct Lines(Option<Arc<(Value, Positions)>>);

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Lines(..)"
        } else {
            "Lines(none)"
        })
    }
}

impl Lines {
    /// Lines of `value` (as parsed, before `${VAR}` substitution) at `positions`.
    pub(crate) fn new(value: Value, positions: Positions) -> Lines {
        Lines(Some(Arc::new((value, positions))))
    }

    /// An error at `field` of `file`, on its line when known.
    pub fn locate(&self, file: &str, field: &str, message: impl Into<String>) -> Located {
        match &self.0 {
            Some(parsed) => Located::at(file, &parsed.1, &parsed.0, field, message),
            None => Located::whole(file, field, message),
        }
    }
}

/// Reads and parses `path` within `limits`; the file is named by its path in errors.
pub(crate) fn read(path: &Path, limits: &Limits) -> Result<SourceFile, portcullis_spec::Error> {
    parse_file(path, Arc::from(path.display().to_string()), limits)
}

/// Line and column of `pointer` in `value`, or of its nearest existing ancestor.
pub fn line_column(positions: &Positions, value: &Value, pointer: &str) -> (u32, u32) {
    positions
        .find(value, pointer)
        .map_or((1, 1), |(line, column, _)| (line, column))
}

/// Deserializes `value`; on failure, the JSON pointer of the offending key and serde's
/// message. An unknown or missing field is named in the pointer itself (serde's path stops at
/// the mapping that holds it).
pub(crate) fn deserialize<T: DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = pointer_of(e.path());
        let message = e.inner().to_string();
        if let Some(field) = quoted_field(&message, "unknown field `")
            .or_else(|| quoted_field(&message, "missing field `"))
        {
            let last = format!("/{}", escape_token(field));
            if !pointer.ends_with(&last) {
                pointer.push_str(&last);
            }
        }
        (pointer, message)
    })
}

/// The JSON pointer of serde's path.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&escape_token(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// The field name in serde's "<prefix>x`..." message.
fn quoted_field<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// A TLS file error of the shared outbound setup, written like every other file error.
impl From<portcullis_tls::TlsError> for Located {
    fn from(e: portcullis_tls::TlsError) -> Located {
        Located::whole(e.path, "", e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[allow(dead_code)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn every_error_is_written_the_same_way() {
        let whole = Located::whole("keys.pem", "", "no certificate in the file");
        assert_eq!(whole.to_string(), "keys.pem: no certificate in the file");
        let field = Located::whole("c.yaml", "/server/tls/cert", "cannot read");
        assert_eq!(field.to_string(), "c.yaml: /server/tls/cert: cannot read");
        let (value, positions) = portcullis_spec::parse::parse(
            &Arc::from("c.yaml"),
            "server:\n  workers: 0\n",
            portcullis_spec::parse::Format::Yaml,
            &Limits::default(),
        )
        .unwrap();
        let at = Located::at("c.yaml", &positions, &value, "/server/workers", "too few");
        assert_eq!(at.to_string(), "c.yaml:2:3: /server/workers: too few");
    }

    #[test]
    fn json_errors_carry_line_column_and_field() {
        #[derive(Debug, Deserialize)]
        struct Set {
            #[allow(dead_code)]
            keys: Vec<Item>,
        }
        let text = b"{\n  \"keys\": [\n    {\"name\": 7}\n  ]\n}";
        let e = Located::json::<Set>("jwks.json", text).unwrap_err();
        assert_eq!(e.field, "/keys/0/name");
        assert_eq!(e.at.map(|(line, _)| line), Some(3));
        assert!(
            e.to_string().starts_with("jwks.json:3:")
                && e.to_string().contains("/keys/0/name: invalid type"),
            "{e}"
        );
        let e = Located::json::<Set>("jwks.json", b"{").unwrap_err();
        assert!(e.at.is_some() && e.field.is_empty(), "{e:?}");
    }

    #[test]
    fn errors_name_the_offending_key() {
        let cases = [
            (
                serde_json::json!({"items": [{"name": "a", "bad/key": 1}]}),
                "/items/0/bad~1key",
            ),
            (serde_json::json!({"items": [{}]}), "/items/0/name"),
            (serde_json::json!({}), "/items"),
            (serde_json::json!({"items": [{"name": 7}]}), "/items/0/name"),
        ];
        for (value, want) in cases {
            let (pointer, message) = deserialize::<Doc>(&value).unwrap_err();
            assert_eq!(pointer, want, "{message}");
        }
    }

    /// A pipe has no size up front: reading stops at the limit instead of taking it all.
    #[cfg(unix)]
    #[test]
    fn a_pipe_is_read_only_up_to_the_limit() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            // CI installs coreutils (.ci/packages): a skip there would hide a lost test.
            assert!(
                std::env::var_os("CI").is_none(),
                "mkfifo is not available and CI=true: the test cannot be skipped in CI"
            );
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        let writer_path = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new()
                .write(true)
                .open(writer_path)
                .unwrap();
            let chunk = vec![b'#'; 64 * 1024];
            // 16 MiB unless the reader stops first (then the write fails: that is the point).
            for _ in 0..256 {
                if pipe.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let limits = Limits {
            max_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let err = read(&fifo, &limits).unwrap_err();
        assert!(
            matches!(err, portcullis_spec::Error::TooLarge { .. }),
            "{err}"
        );
        writer.join().unwrap();
    }
}
