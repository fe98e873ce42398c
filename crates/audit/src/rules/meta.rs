//! Findings about the audit's own annotations: suppressions that need attention.

use crate::rule::rule;

rule! {
    /// Suppressions without a justification.
    SuppressionWithoutReason {
        id: "PC-META-001",
        title: "Suppression without a reason",
        severity: Medium,
        owasp: Api8,
        cwe: 1059,
        rationale: "A silenced finding without a written reason cannot be reviewed later; such a suppression silences nothing until it says why.",
        remediation: "Write the entry as `{rule: PC-..., reason: \"why this is acceptable\"}`.",
    }
    fn check(cx, sink) {
        for s in &cx.suppressions {
            if let (Some(rule), None) = (&s.rule, &s.reason) {
                sink.report_with(&s.file, s.entry.clone(), format!("suppression of {rule} gives no reason, so it is not applied"), rule.clone());
            }
        }
    }
}

rule! {
    /// Suppressions naming no known rule.
    SuppressionUnknownRule {
        id: "PC-META-002",
        title: "Suppression of an unknown rule",
        severity: Low,
        owasp: Api8,
        cwe: 1059,
        rationale: "A suppression that names no existing rule (a typo, a retired id) silences nothing, while its author believes it does.",
        remediation: "Use a rule id listed by `portcullis audit --list-rules`, in an entry `{rule: ID, reason: ...}`.",
    }
    fn check(cx, sink) {
        for s in &cx.suppressions {
            match &s.rule {
                Some(rule) if super::find(rule).is_none() => sink.report_with(&s.file, s.entry.clone(), format!("suppression names `{rule}`, which is not a rule"), rule.clone()),
                None => sink.report(&s.file, s.entry.clone(), "suppression entry names no rule (expected a rule id or {rule, reason})"),
                _ => {}
            }
        }
    }
}
