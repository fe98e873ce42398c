//! The JSON report of DESIGN.md: `{"tool", "version", "findings", "summary", "score", "artifacts"}`.
//!
//! A large report (a corpus audit writes some 300 000 findings, about 180 MB pretty-printed)
//! is written in blocks: the findings of one block are rendered on every core, then written
//! in order, so memory stays bounded by one block and the bytes are exactly those of
//! `serde_json` serializing the whole [`Report`].

use std::io::{self, Write};

use crate::{Baseline, Report};

use super::blocks::{BLOCK, splice};

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
    // Everything but the findings, as serde_json writes it; the findings spliced in.
    let shell = Report {
        tool: report.tool.clone(),
        version: report.version.clone(),
        findings: Vec::new(),
        summary: report.summary,
        score: report.score,
        artifacts: report.artifacts.clone(),
        baseline: report.baseline.as_ref().map(|b| Baseline {
            file: b.file.clone(),
            baselined: b.baselined,
            fixed: b.fixed,
            ..Baseline::default()
        }),
        rules: Vec::new(),
    };
    let text = serde_json::to_vec_pretty(&shell)?;
    splice(out, &text, "findings", 1, &report.findings, |f, buf| {
        serde_json::to_writer_pretty(buf, f).map_err(io::Error::from)
    })?;
    out.write_all(b"\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Cwe, Finding, Location, Owasp, RuleInfo, Severity};

    /// A report of `n` findings over 7 files, every third with evidence.
    pub(crate) fn report(n: usize) -> Report {
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
