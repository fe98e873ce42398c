//! The JSON report of DESIGN.md: `{"tool", "version", "findings", "summary", "score", "artifacts"}`.
//!
//! A large report (a corpus audit writes some 300 000 findings, about 180 MB pretty-printed)
//! is written in blocks: the findings of one block are rendered on every core, then written
//! in order, so memory stays bounded by one block and the bytes are exactly those of
//! `serde_json` serializing the whole [`Report`].

use std::io::{self, Write};

use crate::{Finding, Report};

/// Findings rendered per block (and per thread at least, so small reports stay on one thread).
const BLOCK: usize = 4096;

/// Writes the report as JSON (pretty when `pretty`), followed by a newline.
pub fn json(report: &Report, out: &mut dyn Write, pretty: bool) -> io::Result<()> {
    if !pretty || report.findings.len() <= BLOCK {
        if pretty {
            serde_json::to_writer_pretty(&mut *out, report)?;
        } else {
            serde_json::to_writer(&mut *out, report)?;
        }
        return out.write_all(b"\n");
    }
    // Everything but the findings, as serde_json writes it, then the findings spliced in
    // where it wrote an empty list. No string holds a raw newline (JSON escapes it), so the
    // first `\n  "findings": []` is the member itself.
    let shell = Report {
        tool: report.tool.clone(),
        version: report.version.clone(),
        findings: Vec::new(),
        summary: report.summary,
        score: report.score,
        artifacts: report.artifacts.clone(),
        rules: Vec::new(),
    };
    let text = serde_json::to_vec_pretty(&shell)?;
    let marker: &[u8] = b"\n  \"findings\": []";
    let at = text
        .windows(marker.len())
        .position(|w| w == marker)
        .ok_or_else(|| io::Error::other("the report has no findings member"))?;
    let (head, tail) = text.split_at(at);
    let tail = tail.get(marker.len()..).unwrap_or_default();
    out.write_all(head)?;
    out.write_all(b"\n  \"findings\": [\n")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut first = true;
    for block in report.findings.chunks(BLOCK * threads) {
        for part in render_block(block, threads)? {
            if !first {
                out.write_all(b",\n")?;
            }
            first = false;
            out.write_all(&part)?;
        }
    }
    out.write_all(b"\n  ]")?;
    out.write_all(tail)?;
    out.write_all(b"\n")
}

/// The findings of `block`, pretty-printed one level inside the `findings` list, rendered on
/// up to `threads` threads; one buffer per non-empty slice, in order.
fn render_block(block: &[Finding], threads: usize) -> io::Result<Vec<Vec<u8>>> {
    let per = block.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = block
            .chunks(per)
            .map(|slice| s.spawn(move || render(slice)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| io::Error::other("a JSON writer thread panicked"))?
            })
            .collect()
    })
}

/// Findings pretty-printed at the depth of the `findings` list's items, joined by `,\n`.
fn render(findings: &[Finding]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(findings.len() * 700);
    let mut one = Vec::with_capacity(1024);
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        one.clear();
        serde_json::to_writer_pretty(&mut one, f)?;
        out.extend_from_slice(b"    ");
        for line in one.split_inclusive(|b| *b == b'\n') {
            out.extend_from_slice(line);
            if line.ends_with(b"\n") {
                out.extend_from_slice(b"    ");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cwe, Location, Owasp, RuleInfo, Severity};

    fn report(n: usize) -> Report {
        let rule = RuleInfo {
            id: "PC-T-001".into(),
            title: "t \"quoted\"\nline".into(),
            severity: Severity::Low,
            owasp: Some(Owasp::Api8),
            cwe: Some(Cwe(20)),
            rationale: "r".into(),
            remediation: "fix".into(),
            help_uri: None,
        };
        let mut r = Report::new("portcullis", "0.1.0");
        for i in 0..n {
            let at = Location {
                file: Some(format!("f{}.yaml", i % 7)),
                pointer: Some(format!("/paths/~1a{i}")),
                line: Some(u32::try_from(i).unwrap_or(0) + 1),
                ..Location::default()
            };
            let mut f = Finding::new(&rule, at, format!("message {i}"));
            if i % 3 == 0 {
                f.evidence = Some("e".into());
            }
            r.push(f);
        }
        r.score = Some(42);
        r.artifacts = vec!["f0.yaml".into()];
        r.finish();
        r
    }

    #[test]
    fn block_output_is_byte_for_byte_serde_json() {
        for n in [0, 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17] {
            let r = report(n);
            let mut got = Vec::new();
            json(&r, &mut got, true).unwrap();
            let mut want = serde_json::to_vec_pretty(&r).unwrap();
            want.push(b'\n');
            assert!(got == want, "{n} findings: output differs");
        }
    }
}
