//! Reading the small YAML files an operator writes (the configuration, the API key file) into
//! typed values, with every error placed at the line of the offending key.
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

/// Reads and parses `path` within `limits`; the file is named by its path in errors.
pub(crate) fn read(path: &Path, limits: &Limits) -> Result<SourceFile, portcullis_spec::Error> {
    parse_file(path, Arc::from(path.display().to_string()), limits)
}

/// Line and column of `pointer` in `value`, or of its nearest existing ancestor.
pub(crate) fn line_column(positions: &Positions, value: &Value, pointer: &str) -> (u32, u32) {
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
