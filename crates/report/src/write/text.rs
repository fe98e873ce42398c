//! Text output for people: findings grouped by severity, most severe first, then the
//! suppressed ones, then one summary line.

use std::io::{self, Write};

use crate::{Finding, Report, Severity};

/// How text is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Use ANSI colors (callers turn this on only for terminals).
    pub color: bool,
    /// Also print each finding's remediation.
    pub remediation: bool,
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "1;33",
        Severity::Low => "1;36",
        Severity::Info => "2",
    }
}

fn place(f: &Finding) -> String {
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

fn finding(out: &mut dyn Write, f: &Finding, opts: &TextOptions) -> io::Result<()> {
    writeln!(
        out,
        "  {}  {}  {}",
        place(f),
        paint(opts.color, "1", &f.rule),
        f.title
    )?;
    writeln!(out, "      {}", f.message)?;
    if let Some(evidence) = &f.evidence {
        writeln!(out, "      evidence: {evidence}")?;
    }
    if let Some(reason) = &f.suppressed {
        writeln!(out, "      suppressed: {reason}")?;
    }
    if opts.remediation {
        writeln!(out, "      fix: {}", f.remediation)?;
    }
    Ok(())
}

/// Writes the report as text.
pub fn text(report: &Report, out: &mut dyn Write, opts: &TextOptions) -> io::Result<()> {
    let summary = report.summarize();
    for severity in Severity::DESCENDING {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity && !f.is_suppressed())
            .collect();
        if group.is_empty() {
            continue;
        }
        let header = format!("{} ({})", severity.as_str().to_uppercase(), group.len());
        writeln!(
            out,
            "{}",
            paint(opts.color, severity_color(severity), &header)
        )?;
        for f in group {
            finding(out, f, opts)?;
        }
        writeln!(out)?;
    }
    let suppressed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_suppressed())
        .collect();
    if !suppressed.is_empty() {
        writeln!(out, "SUPPRESSED ({})", suppressed.len())?;
        for f in suppressed {
            finding(out, f, opts)?;
        }
        writeln!(out)?;
    }
    let counts: Vec<String> = Severity::DESCENDING
        .iter()
        .map(|s| format!("{} {}", summary.count(*s), s.as_str()))
        .collect();
    let noun = if summary.total == 1 {
        "finding"
    } else {
        "findings"
    };
    write!(out, "{} {noun}: {}", summary.total, counts.join(", "))?;
    if summary.suppressed > 0 {
        write!(out, " ({} suppressed)", summary.suppressed)?;
    }
    if let Some(score) = report.score {
        write!(out, "; score {score}/100")?;
    }
    writeln!(out)
}
