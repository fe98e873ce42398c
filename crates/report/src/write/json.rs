//! The JSON report of DESIGN.md: `{"tool", "version", "findings", "summary", "score", "artifacts"}`.

use std::io::{self, Write};

use crate::Report;

/// Writes the report as JSON (pretty when `pretty`), followed by a newline.
pub fn json(report: &Report, out: &mut dyn Write, pretty: bool) -> io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, report)?;
    } else {
        serde_json::to_writer(&mut *out, report)?;
    }
    out.write_all(b"\n")
}
