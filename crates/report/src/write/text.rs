//! Text output for people: findings grouped by severity (most severe first) and, within a
//! severity, by rule, each rule with its count and its first places (`max_per_rule`), the rest
//! counted; then the suppressed ones the same way; then one summary line.

use std::io::{self, Write};

use crate::{Finding, Report, Severity};

/// How text is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Use ANSI colors (callers turn this on only for terminals).
    pub color: bool,
    /// Also print each rule's remediation (once per rule).
    pub remediation: bool,
    /// At most this many places per rule (the rest are counted); `None` lists every place and
    /// `Some(0)` only the rules and their counts.
    pub max_per_rule: Option<usize>,
}

pub(crate) fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

pub(crate) fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "1;33",
        Severity::Low => "1;36",
        Severity::Info => "2",
    }
}

/// Where a finding is, as people read it: `file:line:col`, `METHOD url`, or the operation.
pub(crate) fn place(f: &Finding) -> String {
    let loc = &f.location;
    match (&loc.file, &loc.url) {
        (Some(file), _) => match (loc.line, loc.column) {
            (Some(line), Some(col)) if line > 0 => format!("{file}:{line}:{col}"),
            (Some(line), _) if line > 0 => format!("{file}:{line}"),
            _ => file.clone(),
        },
        (None, Some(url)) => match &loc.method {
            Some(m) => format!("{m} {url}"),
            None => url.clone(),
        },
        (None, None) => loc.operation.clone().unwrap_or_else(|| "-".to_owned()),
    }
}

/// Findings of one rule, in report order.
struct Group<'a> {
    rule: &'a str,
    findings: Vec<&'a Finding>,
}

/// Groups `findings` by rule, in order of first appearance, then sorted by rule id.
fn by_rule<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<Group<'a>> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Group<'a>> = Vec::new();
    for f in findings {
        let i = *index.entry(f.rule.as_str()).or_insert_with(|| {
            groups.push(Group {
                rule: &f.rule,
                findings: Vec::new(),
            });
            groups.len() - 1
        });
        if let Some(g) = groups.get_mut(i) {
            g.findings.push(f);
        }
    }
    groups.sort_by(|a, b| a.rule.cmp(b.rule));
    groups
}

/// Writes the findings of one severity (or the suppressed ones) under `header`, by rule.
pub(crate) fn grouped<'a>(
    out: &mut dyn Write,
    header: &str,
    header_color: &str,
    findings: impl Iterator<Item = &'a Finding>,
    opts: &TextOptions,
) -> io::Result<()> {
    let groups = by_rule(findings);
    let total: usize = groups.iter().map(|g| g.findings.len()).sum();
    if total == 0 {
        return Ok(());
    }
    let rules = if groups.len() == 1 { "rule" } else { "rules" };
    let line = format!("{header} ({total})");
    writeln!(
        out,
        "{}  {} {rules}",
        paint(opts.color, header_color, &line),
        groups.len()
    )?;
    for g in &groups {
        let Some(first) = g.findings.first() else {
            continue;
        };
        writeln!(
            out,
            "  {}  {} ({})",
            paint(opts.color, "1", g.rule),
            first.title,
            g.findings.len()
        )?;
        if opts.remediation {
            writeln!(out, "      fix: {}", first.remediation)?;
        }
        let shown = opts
            .max_per_rule
            .unwrap_or(usize::MAX)
            .min(g.findings.len());
        for f in g.findings.iter().take(shown) {
            writeln!(out, "    {}  {}", place(f), f.message)?;
            if let Some(evidence) = &f.evidence {
                writeln!(out, "        evidence: {evidence}")?;
            }
            if let Some(reason) = &f.suppressed {
                writeln!(out, "        suppressed: {reason}")?;
            }
        }
        let rest = g.findings.len() - shown;
        if rest > 0 && shown > 0 {
            writeln!(out, "    ... and {rest} more")?;
        }
    }
    writeln!(out)
}

/// Writes the report as text.
pub fn text(report: &Report, out: &mut dyn Write, opts: &TextOptions) -> io::Result<()> {
    let summary = report.summarize();
    for severity in Severity::DESCENDING {
        let header = severity.as_str().to_uppercase();
        let findings = report
            .findings
            .iter()
            .filter(|f| f.severity == severity && !f.is_suppressed());
        grouped(out, &header, severity_color(severity), findings, opts)?;
    }
    let suppressed = report.findings.iter().filter(|f| f.is_suppressed());
    grouped(out, "SUPPRESSED", "2", suppressed, opts)?;
    let counts: Vec<String> = Severity::DESCENDING
        .iter()
        .map(|s| format!("{} {}", summary.count(*s), s.as_str()))
        .collect();
    let noun = if summary.total == 1 {
        "finding"
    } else {
        "findings"
    };
    let new = if report.baseline.is_some() {
        "new "
    } else {
        ""
    };
    write!(out, "{} {new}{noun}: {}", summary.total, counts.join(", "))?;
    if summary.suppressed > 0 {
        write!(out, " ({} suppressed)", summary.suppressed)?;
    }
    if let Some(b) = &report.baseline {
        write!(
            out,
            "; {} baselined, {} fixed since {}",
            b.baselined, b.fixed, b.file
        )?;
    }
    if let Some(score) = report.score {
        write!(out, "; score {score}/100")?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::json::tests::report;

    fn render(report: &Report, max: Option<usize>) -> String {
        let mut out = Vec::new();
        let opts = TextOptions {
            max_per_rule: max,
            ..TextOptions::default()
        };
        text(report, &mut out, &opts).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn groups_by_rule_and_counts_the_rest() {
        let r = report(12);
        let all = render(&r, None);
        assert!(all.contains("LOW (12)  1 rule"), "{all}");
        assert!(all.contains("  PC-T-001  t \"quoted\"\nline (12)"), "{all}");
        assert_eq!(all.matches("    f").count(), 12, "{all}");
        let some = render(&r, Some(5));
        assert_eq!(some.matches("    f").count(), 5, "{some}");
        assert!(some.contains("    ... and 7 more"), "{some}");
        let none = render(&r, Some(0));
        assert_eq!(none.matches("    f").count(), 0, "{none}");
        assert!(!none.contains("more"), "{none}");
        assert!(
            none.ends_with(
                "12 findings: 0 critical, 0 high, 0 medium, 12 low, 0 info; score 42/100\n"
            ),
            "{none}"
        );
    }

    #[test]
    fn baseline_counts_are_in_the_summary() {
        let mut r = report(1);
        r.baseline = Some(crate::Baseline {
            file: "base.json".into(),
            baselined: 4,
            fixed: 2,
            ..crate::Baseline::default()
        });
        let out = render(&r, None);
        assert!(
            out.contains("1 new finding: 0 critical, 0 high, 0 medium, 1 low, 0 info; 4 baselined, 2 fixed since base.json"),
            "{out}"
        );
    }
}
