//! # portcullis-scan
//!
//! Dynamic security testing of a running API from its OpenAPI document: the scanner acts as
//! the identities of its configuration, explores every operation the spec documents (values
//! from the spec's examples, then from its schemas; ids harvested from answers to chain
//! calls), then runs checks that attack the API the way an attacker would. A finding is
//! reported only when its check's confirmation step passed, with the request and answer that
//! prove it (secrets masked) and a curl line that replays it.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use portcullis_scan::{ScanConfig, Target, run};
//!
//! let catalog = portcullis_spec::load(std::path::Path::new("bank.yaml"))?;
//! let config = ScanConfig::load(std::path::Path::new("scan.yaml"))?;
//! let outcome = run(&catalog, Target::parse("http://127.0.0.1:8081")?, &config).await?;
//! println!("{} findings in {} requests", outcome.report.findings.len(), outcome.requests);
//! # Ok(()) }
//! ```
//!
//! Safety: every request goes through one client ([`http::Client`]) that refuses anything
//! outside the target's origin, never follows a redirect, and enforces the budget and the
//! rate. With `safe: true` (the default) no DELETE, PUT or PATCH is sent, and no operation
//! that looks destructive (reset, drop, purge...).
//!
//! This crate depends on `portcullis-spec` and `portcullis-report` only.

pub mod checks;
pub mod config;
pub mod engine;
pub mod evidence;
pub mod generate;
pub mod harvest;
pub mod http;
pub mod plan;
pub mod scan;
pub mod session;

pub use config::{ConfigError, ScanConfig};
pub use engine::{Outcome, ScanError, run, run_with_progress};
pub use http::{Target, TargetError};
pub use scan::Progress;
