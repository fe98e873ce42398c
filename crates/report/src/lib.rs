//! # portcullis-report
//!
//! Findings and how they are written. Every part of Portcullis that finds weaknesses (the audit,
//! the scanner) produces [`Finding`]s into a [`Report`]; the writers turn a report into text for
//! people, JSON for programs, or SARIF 2.1.0 for code scanning.
//!
//! ```
//! use portcullis_report::{Finding, Location, Report, RuleInfo, Severity, Owasp, Cwe, write};
//!
//! let rule = RuleInfo {
//!     id: "PC-AUTH-001".into(),
//!     title: "Operation without security".into(),
//!     severity: Severity::High,
//!     owasp: Some(Owasp::Api2),
//!     cwe: Some(Cwe(306)),
//!     rationale: "Anyone can call it.".into(),
//!     remediation: "Declare a security requirement.".into(),
//!     help_uri: None,
//! };
//! let mut report = Report::new("portcullis", "0.1.0");
//! let at = Location { file: Some("api.yaml".into()), line: Some(12), column: Some(5), ..Location::default() };
//! report.push(Finding::new(&rule, at, "DELETE /pets/{id} has no security requirement"));
//! report.rules.push(rule);
//! report.finish();
//! let mut out = Vec::new();
//! write::sarif(&report, &mut out)?;
//! assert!(report.exceeds(Severity::High));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! This crate knows nothing about OpenAPI; it depends on no other crate of the workspace.

pub mod diff;
pub mod finding;
pub mod fingerprint;
pub mod taxonomy;
pub mod write;

pub use diff::{DiffReport, DiffSummary};
pub use finding::{Baseline, Exchange, Finding, Location, Report, RuleInfo, Summary};
pub use taxonomy::{BadCwe, Cwe, Owasp, Severity, UnknownOwasp, UnknownSeverity};
