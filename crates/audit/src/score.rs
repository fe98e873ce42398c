//! The 0-100 security score of a document.
//!
//! Every rule with at least one finding (not suppressed) costs points: its severity's weight
//! (critical 25, high 10, medium 4, low 1, info 0), times `1 + log2(n)` for its `n` findings,
//! at most 3 times the weight. The score is `100` minus the sum, floored at 0 and rounded.
//! So one high finding costs 10, eight of the same rule cost 30 (the cap), and a rule's
//! repetitions never outweigh a different, more severe problem. A run over several documents
//! reports the lowest document score.

use std::collections::BTreeMap;

use portcullis_report::{Finding, Severity};

/// Points one rule at this severity costs (before the repetition factor).
pub fn weight(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 25.0,
        Severity::High => 10.0,
        Severity::Medium => 4.0,
        Severity::Low => 1.0,
        Severity::Info => 0.0,
    }
}

/// The score of one document's findings.
pub fn score(findings: &[Finding]) -> u8 {
    let mut per_rule: BTreeMap<&str, (Severity, u32)> = BTreeMap::new();
    for f in findings.iter().filter(|f| !f.is_suppressed()) {
        let e = per_rule.entry(f.rule.as_str()).or_insert((f.severity, 0));
        e.0 = e.0.max(f.severity);
        e.1 += 1;
    }
    let penalty: f64 = per_rule
        .values()
        .map(|(s, n)| {
            let w = weight(*s);
            (w * (1.0 + f64::from(*n).log2())).min(3.0 * w)
        })
        .sum();
    let s = (100.0 - penalty).clamp(0.0, 100.0).round();
    // `s` is an integer in 0..=100 here.
    s as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_report::{Location, RuleInfo};

    fn finding(rule: &str, severity: Severity) -> Finding {
        let info = RuleInfo {
            id: rule.into(),
            title: "t".into(),
            severity,
            owasp: None,
            cwe: None,
            rationale: "r".into(),
            remediation: "m".into(),
            help_uri: None,
        };
        Finding::new(&info, Location::default(), "m")
    }

    #[test]
    fn follows_the_documented_formula() {
        assert_eq!(score(&[]), 100);
        assert_eq!(score(&[finding("A", Severity::High)]), 90);
        let two: Vec<Finding> = (0..2).map(|_| finding("A", Severity::High)).collect();
        assert_eq!(score(&two), 80);
        let many: Vec<Finding> = (0..100).map(|_| finding("A", Severity::High)).collect();
        assert_eq!(score(&many), 70);
        assert_eq!(score(&[finding("A", Severity::Info)]), 100);
        let lots: Vec<Finding> = (0..10)
            .map(|i| finding(&format!("R{i}"), Severity::Critical))
            .collect();
        assert_eq!(score(&lots), 0);
        let mut suppressed = finding("A", Severity::Critical);
        suppressed.suppressed = Some("ok".into());
        assert_eq!(score(&[suppressed]), 100);
    }
}
