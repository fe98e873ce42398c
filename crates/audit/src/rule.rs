//! What a rule is: its metadata ([`Meta`]), the [`Rule`] trait, and the [`Sink`] its findings go to.

use std::collections::HashSet;
use std::sync::Arc;

use portcullis_report::{Cwe, Owasp, RuleInfo, Severity};

use crate::context::Context;

/// The fixed description of a rule: shown by `--list-rules`, `--explain`, docs/rules.md and SARIF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Stable id (`PC-AUTH-001`); never reused for another check.
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Default severity (a rules file may change it).
    pub severity: Severity,
    /// OWASP API Security Top 10 (2023) category.
    pub owasp: Owasp,
    /// CWE id.
    pub cwe: u32,
    /// Why it matters.
    pub rationale: &'static str,
    /// How to fix it.
    pub remediation: &'static str,
}

impl Meta {
    /// The report crate's description of this rule, at `severity`.
    pub fn info(&self, severity: Severity) -> RuleInfo {
        RuleInfo {
            id: self.id.to_owned(),
            title: self.title.to_owned(),
            severity,
            owasp: Some(self.owasp),
            cwe: Some(Cwe(self.cwe)),
            rationale: self.rationale.to_owned(),
            remediation: self.remediation.to_owned(),
            help_uri: Some(format!(
                "https://github.com/portcullis-security/portcullis/blob/main/docs/rules.md#{}",
                self.id.to_ascii_lowercase()
            )),
        }
    }
}

/// One check over a catalog. Rules are stateless unit structs; [`crate::registry`] lists them.
pub trait Rule: Sync + Send {
    /// The rule's description.
    fn meta(&self) -> &'static Meta;
    /// Reports every place in the catalog where the weakness shows.
    fn check(&self, cx: &Context<'_>, sink: &mut Sink);
}

/// A finding before it becomes a report [`portcullis_report::Finding`]: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The rule id.
    pub rule: &'static str,
    /// The file the pointer is in.
    pub file: Arc<str>,
    /// RFC 6901 pointer into `file`.
    pub pointer: String,
    /// One sentence naming the offending thing.
    pub message: String,
    /// The offending name or value, when there is one.
    pub evidence: Option<String>,
}

/// Collects the findings of one rule over one catalog; a place is reported once per rule.
#[derive(Debug)]
pub struct Sink {
    rule: &'static str,
    seen: HashSet<(Arc<str>, String)>,
    found: Vec<Raw>,
}

impl Sink {
    /// An empty sink for the rule `rule`.
    pub fn new(rule: &'static str) -> Sink {
        Sink {
            rule,
            seen: HashSet::new(),
            found: Vec::new(),
        }
    }

    /// Reports a finding at `pointer` of `file` (ignored when this rule already reported there).
    pub fn report(
        &mut self,
        file: &Arc<str>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(file, pointer.into(), message.into(), None);
    }

    /// Like [`Sink::report`], with the offending name or value as evidence.
    pub fn report_with(
        &mut self,
        file: &Arc<str>,
        pointer: impl Into<String>,
        message: impl Into<String>,
        evidence: impl Into<String>,
    ) {
        self.push(file, pointer.into(), message.into(), Some(evidence.into()));
    }

    fn push(
        &mut self,
        file: &Arc<str>,
        pointer: String,
        message: String,
        evidence: Option<String>,
    ) {
        if self.seen.insert((file.clone(), pointer.clone())) {
            self.found.push(Raw {
                rule: self.rule,
                file: file.clone(),
                pointer,
                message,
                evidence,
            });
        }
    }

    /// The findings reported so far, in report order.
    pub fn into_findings(self) -> Vec<Raw> {
        self.found
    }
}

/// Declares a rule: a unit struct, its [`Meta`], and its `check` body.
macro_rules! rule {
    (
        $(#[$doc:meta])*
        $name:ident {
            id: $id:literal,
            title: $title:literal,
            severity: $sev:ident,
            owasp: $owasp:ident,
            cwe: $cwe:literal,
            rationale: $rationale:literal,
            remediation: $remediation:literal $(,)?
        }
        fn check($cx:ident, $sink:ident) $body:block
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $crate::rule::Rule for $name {
            fn meta(&self) -> &'static $crate::rule::Meta {
                static META: $crate::rule::Meta = $crate::rule::Meta {
                    id: $id,
                    title: $title,
                    severity: portcullis_report::Severity::$sev,
                    owasp: portcullis_report::Owasp::$owasp,
                    cwe: $cwe,
                    rationale: $rationale,
                    remediation: $remediation,
                };
                &META
            }

            fn check(&self, $cx: &$crate::context::Context<'_>, $sink: &mut $crate::rule::Sink) $body
        }
    };
}

pub(crate) use rule;
