//! Findings, the rules that produce them, and the report that gathers them.

use serde::{Deserialize, Serialize};

use crate::taxonomy::{Cwe, Owasp, Severity};

/// Where a finding is: a place in a spec file (audit) or an operation and URL (scan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file, as given on the command line or reached through `$ref`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// RFC 6901 JSON pointer into the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The operation id concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The HTTP method concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL concerned (scan findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A request and the response it got, as excerpts (scan evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request, as text (secrets redacted by the producer).
    pub request: String,
    /// The response, as text (truncated by the producer).
    pub response: String,
}

/// One weakness found at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id (`PC-AUTH-001`).
    pub rule: String,
    /// The rule's title.
    pub title: String,
    /// Severity of this finding (the rule's default unless overridden).
    pub severity: Severity,
    /// OWASP API Security Top 10 (2023) category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owasp: Option<Owasp>,
    /// CWE id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwe: Option<Cwe>,
    /// Where it is.
    pub location: Location,
    /// What was found here, in one sentence.
    pub message: String,
    /// What was observed (the offending value, name or excerpt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Request and response excerpts (scan findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    /// How to fix it.
    pub remediation: String,
    /// The justification when the finding is suppressed in the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// A digest of the rule and of a place that survives unrelated edits (no line number;
    /// see [`crate::fingerprint`]): what a baseline matches on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Finding {
    /// A finding of `rule` at `location` with this message; evidence, exchange and
    /// suppression empty.
    pub fn new(rule: &RuleInfo, location: Location, message: impl Into<String>) -> Finding {
        Finding {
            rule: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            owasp: rule.owasp,
            cwe: rule.cwe,
            location,
            message: message.into(),
            evidence: None,
            exchange: None,
            remediation: rule.remediation.clone(),
            suppressed: None,
            fingerprint: None,
        }
    }

    /// True when suppressed in the source.
    pub fn is_suppressed(&self) -> bool {
        self.suppressed.is_some()
    }
}

/// What a rule is: shown by `--list-rules`, `--explain` and SARIF `tool.driver.rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Stable id (`PC-AUTH-001`).
    pub id: String,
    /// Short title.
    pub title: String,
    /// Default severity.
    pub severity: Severity,
    /// OWASP API 2023 category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owasp: Option<Owasp>,
    /// CWE id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwe: Option<Cwe>,
    /// Why it matters.
    pub rationale: String,
    /// How to fix it.
    pub remediation: String,
    /// Where to read more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
}

/// Counts of findings by severity (suppressed findings counted apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Critical findings, not suppressed.
    pub critical: usize,
    /// High findings, not suppressed.
    pub high: usize,
    /// Medium findings, not suppressed.
    pub medium: usize,
    /// Low findings, not suppressed.
    pub low: usize,
    /// Info findings, not suppressed.
    pub info: usize,
    /// All findings that are not suppressed.
    pub total: usize,
    /// Suppressed findings.
    pub suppressed: usize,
}

impl Summary {
    /// The count of one severity.
    pub fn count(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

/// A whole run's findings: the JSON report of DESIGN.md is this struct serialized
/// (`tool`, `version`, `findings`, `summary`, `score`, plus `artifacts`, the files examined).
/// `rules` holds the descriptions SARIF needs and is not part of the JSON report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The tool (`portcullis`).
    pub tool: String,
    /// Its version.
    pub version: String,
    /// The findings, in [`Report::sort`] order once sorted.
    pub findings: Vec<Finding>,
    /// Counts by severity (kept current by [`Report::finish`]).
    pub summary: Summary,
    /// A 0-100 score, where the producer computes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// The files (or URLs) examined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
    /// When the run was compared with a baseline: `findings` holds only the new findings,
    /// and this says what else was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// Descriptions of the rules that ran (for SARIF); not in the JSON report.
    #[serde(skip)]
    pub rules: Vec<RuleInfo>,
}

/// What a comparison with a baseline report found besides the new findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// The baseline report's file.
    pub file: String,
    /// Findings of this run that the baseline already had (not reported as new).
    pub baselined: usize,
    /// Baseline entries that no longer occur (fixed, or their rule no longer runs).
    pub fixed: usize,
    /// The baselined findings of this run (SARIF marks them `unchanged`); not in JSON.
    #[serde(skip)]
    pub unchanged: Vec<Finding>,
    /// The baseline entries that no longer occur (SARIF marks them `absent`); not in JSON.
    #[serde(skip)]
    pub absent: Vec<Finding>,
}

impl Report {
    /// An empty report.
    pub fn new(tool: impl Into<String>, version: impl Into<String>) -> Report {
        Report {
            tool: tool.into(),
            version: version.into(),
            ..Report::default()
        }
    }

    /// Adds a finding.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Sorts findings by file, line, column, severity (most severe first), rule and pointer,
    /// so output is the same from run to run.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.location.file,
                a.location.line,
                a.location.column,
                std::cmp::Reverse(a.severity),
                &a.rule,
                &a.location.pointer,
                &a.location.url,
            )
                .cmp(&(
                    &b.location.file,
                    b.location.line,
                    b.location.column,
                    std::cmp::Reverse(b.severity),
                    &b.rule,
                    &b.location.pointer,
                    &b.location.url,
                ))
        });
    }

    /// Counts findings by severity.
    pub fn summarize(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.findings {
            if f.is_suppressed() {
                s.suppressed += 1;
                continue;
            }
            s.total += 1;
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }

    /// Sorts the findings and brings the summary up to date; call before writing.
    pub fn finish(&mut self) {
        self.sort();
        self.summary = self.summarize();
    }

    /// The highest severity among findings that are not suppressed.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| !f.is_suppressed())
            .map(|f| f.severity)
            .max()
    }

    /// True when a finding that is not suppressed is at or above `threshold` (`--fail-on`).
    pub fn exceeds(&self, threshold: Severity) -> bool {
        self.max_severity().is_some_and(|s| s >= threshold)
    }

    /// The description of a rule, when the report carries it.
    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, severity: Severity) -> RuleInfo {
        RuleInfo {
            id: id.into(),
            title: "t".into(),
            severity,
            owasp: Some(Owasp::Api2),
            cwe: Some(Cwe(287)),
            rationale: "r".into(),
            remediation: "fix".into(),
            help_uri: None,
        }
    }

    #[test]
    fn summary_threshold_and_suppression() {
        let mut r = Report::new("portcullis", "0.1.0");
        r.push(Finding::new(
            &rule("A", Severity::Medium),
            Location::default(),
            "m",
        ));
        let mut s = Finding::new(&rule("B", Severity::Critical), Location::default(), "m");
        s.suppressed = Some("accepted risk".into());
        r.push(s);
        r.finish();
        assert_eq!(r.summary.medium, 1);
        assert_eq!(r.summary.total, 1);
        assert_eq!(r.summary.suppressed, 1);
        assert_eq!(r.max_severity(), Some(Severity::Medium));
        assert!(r.exceeds(Severity::Medium));
        assert!(!r.exceeds(Severity::High));
    }

    #[test]
    fn sort_is_by_file_then_line_then_severity() {
        let mut r = Report::new("portcullis", "0.1.0");
        let at = |file: &str, line: u32| Location {
            file: Some(file.into()),
            line: Some(line),
            ..Location::default()
        };
        r.push(Finding::new(
            &rule("L", Severity::Low),
            at("b.yaml", 1),
            "m",
        ));
        r.push(Finding::new(
            &rule("L", Severity::Low),
            at("a.yaml", 9),
            "m",
        ));
        r.push(Finding::new(
            &rule("H", Severity::High),
            at("a.yaml", 9),
            "m",
        ));
        r.push(Finding::new(
            &rule("L", Severity::Low),
            at("a.yaml", 2),
            "m",
        ));
        r.sort();
        let order: Vec<_> = r
            .findings
            .iter()
            .map(|f| {
                (
                    f.location.file.clone().unwrap(),
                    f.location.line.unwrap(),
                    f.rule.clone(),
                )
            })
            .collect();
        assert_eq!(
            order,
            vec![
                ("a.yaml".to_string(), 2, "L".to_string()),
                ("a.yaml".to_string(), 9, "H".to_string()),
                ("a.yaml".to_string(), 9, "L".to_string()),
                ("b.yaml".to_string(), 1, "L".to_string()),
            ]
        );
    }
}
