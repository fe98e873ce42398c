//! The report of a comparison between two versions of an API description: what the change
//! did to its security (`changes`, each a [`Finding`] whose `rule` names the kind of change),
//! and which findings it introduced or fixed.

use serde::{Deserialize, Serialize};

use crate::{Finding, RuleInfo, Severity};

/// Counts of a diff report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// Critical changes.
    pub critical: usize,
    /// High changes.
    pub high: usize,
    /// Medium changes.
    pub medium: usize,
    /// Low changes.
    pub low: usize,
    /// Info changes.
    pub info: usize,
    /// All changes.
    pub changes: usize,
    /// Findings of the new version that the old one did not have (not suppressed).
    pub new_findings: usize,
    /// Findings of the old version that the new one no longer has.
    pub fixed_findings: usize,
}

impl DiffSummary {
    /// The number of changes of one severity.
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

/// What changed between two versions of a document (`portcullis audit diff OLD NEW`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffReport {
    /// The tool (`portcullis`).
    pub tool: String,
    /// Its version.
    pub version: String,
    /// The old version, as named on the command line.
    pub old: String,
    /// The new version, as named on the command line.
    pub new: String,
    /// The security changes, most severe first; each located in the new version (in the old
    /// one for what was removed).
    pub changes: Vec<Finding>,
    /// Findings of the new version that the old one did not have.
    pub new_findings: Vec<Finding>,
    /// Findings of the old version that the new one no longer has (located in the old one).
    pub fixed_findings: Vec<Finding>,
    /// Counts (kept current by [`DiffReport::finish`]).
    pub summary: DiffSummary,
    /// Descriptions of the kinds of change and of the rules, for SARIF; not in JSON.
    #[serde(skip)]
    pub rules: Vec<RuleInfo>,
}

impl DiffReport {
    /// Sorts changes (most severe first, then by kind and place) and findings, and brings the
    /// summary up to date; call before writing.
    pub fn finish(&mut self) {
        self.changes.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                &a.rule,
                &a.location.file,
                a.location.line,
                &a.location.pointer,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    &b.rule,
                    &b.location.file,
                    b.location.line,
                    &b.location.pointer,
                ))
        });
        for list in [&mut self.new_findings, &mut self.fixed_findings] {
            list.sort_by(|a, b| {
                (a.location.line, &a.rule, &a.location.pointer).cmp(&(
                    b.location.line,
                    &b.rule,
                    &b.location.pointer,
                ))
            });
        }
        let mut s = DiffSummary::default();
        for c in &self.changes {
            match c.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Info => s.info += 1,
            }
        }
        s.changes = self.changes.len();
        s.new_findings = self
            .new_findings
            .iter()
            .filter(|f| !f.is_suppressed())
            .count();
        s.fixed_findings = self.fixed_findings.len();
        self.summary = s;
    }

    /// True when a change, or a new finding that is not suppressed, is at or above
    /// `threshold` (`--fail-on`).
    pub fn exceeds(&self, threshold: Severity) -> bool {
        self.changes.iter().any(|c| c.severity >= threshold)
            || self
                .new_findings
                .iter()
                .any(|f| !f.is_suppressed() && f.severity >= threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Owasp};

    fn info(id: &str, severity: Severity) -> RuleInfo {
        RuleInfo {
            id: id.into(),
            title: id.into(),
            severity,
            owasp: Some(Owasp::Api2),
            cwe: None,
            rationale: "r".into(),
            remediation: "f".into(),
            help_uri: None,
        }
    }

    #[test]
    fn summary_order_and_threshold() {
        let mut d = DiffReport::default();
        d.changes.push(Finding::new(
            &info("parameter-added", Severity::Low),
            Location::default(),
            "m",
        ));
        d.changes.push(Finding::new(
            &info("security-removed", Severity::Critical),
            Location::default(),
            "m",
        ));
        let mut quiet = Finding::new(&info("PC-X-001", Severity::High), Location::default(), "m");
        quiet.suppressed = Some("accepted".into());
        d.new_findings.push(quiet);
        d.finish();
        assert_eq!(
            d.changes.first().map(|c| c.rule.as_str()),
            Some("security-removed")
        );
        assert_eq!(
            (d.summary.critical, d.summary.low, d.summary.changes),
            (1, 1, 2)
        );
        assert_eq!(d.summary.new_findings, 0);
        assert!(d.exceeds(Severity::Critical));
        d.changes.clear();
        d.finish();
        // A suppressed new finding does not fail the diff.
        assert!(!d.exceeds(Severity::Low));
    }
}
