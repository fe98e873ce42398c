//! Writers of a [`DiffReport`]: text for a terminal or a CI log, JSON, SARIF (changes and new
//! findings `new`, fixed findings `absent`) and Markdown for a pull-request comment.

use std::io::{self, Write};

use super::sarif::{BaselineState, Item, rules_of, write_log};
use super::text::{TextOptions, grouped, paint, place, severity_color};
use crate::{DiffReport, Finding, Severity};

/// Rows of one Markdown table at most (a pull-request comment has a size limit).
pub const MARKDOWN_ROWS: usize = 50;

/// Writes the diff as text: the changes by severity and kind, the new findings by severity
/// and rule, the fixed findings by rule, and a summary line.
pub fn diff_text(diff: &DiffReport, out: &mut dyn Write, opts: &TextOptions) -> io::Result<()> {
    writeln!(out, "portcullis audit diff: {} -> {}\n", diff.old, diff.new)?;
    if !diff.changes.is_empty() {
        writeln!(out, "{}", paint(opts.color, "1", "SECURITY CHANGES"))?;
        for severity in Severity::DESCENDING {
            let changes = diff.changes.iter().filter(|c| c.severity == severity);
            let header = severity.as_str().to_uppercase();
            grouped(out, &header, severity_color(severity), changes, opts)?;
        }
    }
    let new: Vec<&Finding> = diff
        .new_findings
        .iter()
        .filter(|f| !f.is_suppressed())
        .collect();
    if !new.is_empty() {
        writeln!(out, "{}", paint(opts.color, "1", "NEW FINDINGS"))?;
        for severity in Severity::DESCENDING {
            let findings = new.iter().copied().filter(|f| f.severity == severity);
            let header = severity.as_str().to_uppercase();
            grouped(out, &header, severity_color(severity), findings, opts)?;
        }
    }
    if !diff.fixed_findings.is_empty() {
        let counts_only = TextOptions {
            max_per_rule: Some(0),
            ..*opts
        };
        grouped(
            out,
            "FIXED FINDINGS",
            "1;32",
            diff.fixed_findings.iter(),
            &counts_only,
        )?;
    }
    let s = &diff.summary;
    let counts: Vec<String> = Severity::DESCENDING
        .iter()
        .map(|sev| format!("{} {}", s.count(*sev), sev.as_str()))
        .collect();
    let noun = if s.changes == 1 { "change" } else { "changes" };
    writeln!(
        out,
        "{} security {noun}: {}; {} new finding(s), {} fixed",
        s.changes,
        counts.join(", "),
        s.new_findings,
        s.fixed_findings
    )
}

/// Writes the diff as JSON (pretty), followed by a newline.
pub fn diff_json(diff: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, diff)?;
    out.write_all(b"\n")
}

/// Writes the diff as SARIF 2.1.0: the changes and the new findings as results with
/// `baselineState: new`, the fixed findings with `baselineState: absent`.
pub fn diff_sarif(diff: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let items: Vec<Item<'_>> = diff
        .changes
        .iter()
        .chain(diff.new_findings.iter())
        .map(|f| (f, Some(BaselineState::New)))
        .chain(
            diff.fixed_findings
                .iter()
                .map(|f| (f, Some(BaselineState::Absent))),
        )
        .collect();
    let rules = rules_of(&diff.rules, items.iter().map(|(f, _)| *f));
    write_log(&diff.tool, &diff.version, &rules, &items, out)
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A code span that survives backticks in the text.
fn code(text: &str) -> String {
    if text.contains('`') {
        format!("`` {} ``", cell(text))
    } else {
        format!("`{}`", cell(text))
    }
}

/// A table of findings (or changes), at most [`MARKDOWN_ROWS`] rows, the rest counted.
fn table(out: &mut dyn Write, rows: &[&Finding], what: &str) -> io::Result<()> {
    writeln!(out, "| severity | {what} | where | details |")?;
    writeln!(out, "|---|---|---|---|")?;
    for f in rows.iter().take(MARKDOWN_ROWS) {
        let severity = match f.severity {
            Severity::Critical | Severity::High => format!("**{}**", f.severity.as_str()),
            _ => f.severity.as_str().to_owned(),
        };
        let mut details = cell(&f.message);
        if let Some(e) = &f.evidence {
            details.push_str(&format!(" ({})", code(e)));
        }
        writeln!(
            out,
            "| {severity} | {} | {} | {details} |",
            code(&f.rule),
            code(&place(f))
        )?;
    }
    if rows.len() > MARKDOWN_ROWS {
        writeln!(out, "\n... and {} more.", rows.len() - MARKDOWN_ROWS)?;
    }
    Ok(())
}

/// Writes the diff as Markdown, for a pull-request comment.
pub fn diff_markdown(diff: &DiffReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &diff.summary;
    writeln!(out, "### Portcullis: security diff\n")?;
    let worst: Vec<String> = Severity::DESCENDING
        .iter()
        .filter(|sev| s.count(**sev) > 0)
        .map(|sev| format!("{} {}", s.count(*sev), sev.as_str()))
        .collect();
    let noun = if s.changes == 1 { "change" } else { "changes" };
    write!(
        out,
        "{} -> {}: **{} security {noun}**",
        code(&diff.old),
        code(&diff.new),
        s.changes
    )?;
    if !worst.is_empty() {
        write!(out, " ({})", worst.join(", "))?;
    }
    writeln!(
        out,
        ", {} new finding(s), {} fixed.\n",
        s.new_findings, s.fixed_findings
    )?;
    if !diff.changes.is_empty() {
        let rows: Vec<&Finding> = diff.changes.iter().collect();
        table(out, &rows, "change")?;
        writeln!(out)?;
    }
    let new: Vec<&Finding> = diff
        .new_findings
        .iter()
        .filter(|f| !f.is_suppressed())
        .collect();
    if !new.is_empty() {
        let mut sorted = new;
        sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
        writeln!(
            out,
            "<details><summary>{} new finding(s)</summary>\n",
            sorted.len()
        )?;
        table(out, &sorted, "rule")?;
        writeln!(out, "\n</details>\n")?;
    }
    if !diff.fixed_findings.is_empty() {
        let rows: Vec<&Finding> = diff.fixed_findings.iter().collect();
        writeln!(
            out,
            "<details><summary>{} fixed finding(s)</summary>\n",
            rows.len()
        )?;
        table(out, &rows, "rule")?;
        writeln!(out, "\n</details>\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Owasp, RuleInfo};

    fn sample() -> DiffReport {
        let kind = RuleInfo {
            id: "security-removed".into(),
            title: "Security removed".into(),
            severity: Severity::Critical,
            owasp: Some(Owasp::Api2),
            cwe: None,
            rationale: "r".into(),
            remediation: "f".into(),
            help_uri: None,
        };
        let at = Location {
            file: Some("new.yaml".into()),
            pointer: Some("/paths/~1a/delete".into()),
            line: Some(7),
            column: Some(5),
            ..Location::default()
        };
        let mut d = DiffReport {
            tool: "portcullis".into(),
            version: "0.1.0".into(),
            old: "main:api.yaml".into(),
            new: "api.yaml".into(),
            ..DiffReport::default()
        };
        let mut c = Finding::new(&kind, at, "DELETE /a | b no longer requires credentials");
        c.evidence = Some("before: `oauth`".into());
        d.changes.push(c);
        d.rules.push(kind);
        d.finish();
        d
    }

    fn render(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_and_markdown() {
        let d = sample();
        let text = render(|o| diff_text(&d, o, &TextOptions::default()));
        assert!(text.contains("CRITICAL (1)  1 rule"), "{text}");
        assert!(text.contains("new.yaml:7:5  DELETE /a | b"), "{text}");
        assert!(text.ends_with("1 security change: 1 critical, 0 high, 0 medium, 0 low, 0 info; 0 new finding(s), 0 fixed\n"), "{text}");
        let md = render(|o| diff_markdown(&d, o));
        assert!(md.contains("**1 security change** (1 critical)"), "{md}");
        assert!(
            md.contains("| **critical** | `security-removed` | `new.yaml:7:5` | DELETE /a \\| b no longer requires credentials (`` before: `oauth` ``) |"),
            "{md}"
        );
    }

    #[test]
    fn sarif_marks_changes_new() {
        let d = sample();
        let out = render(|o| diff_sarif(&d, o));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let result = &v["runs"][0]["results"][0];
        assert_eq!(result["baselineState"], "new");
        assert_eq!(result["ruleId"], "security-removed");
        assert_eq!(result["ruleIndex"], 0);
    }
}
