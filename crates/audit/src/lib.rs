//! # portcullis-audit
//!
//! Static security audit of OpenAPI documents: rules over a [`portcullis_spec::Catalog`],
//! findings in the [`portcullis_report`] model, and a 0-100 score.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use portcullis_audit::{Settings, audit_paths};
//!
//! let outcome = audit_paths(&[PathBuf::from("api.yaml")], &Settings::default());
//! for failure in &outcome.failures {
//!     eprintln!("{failure}");
//! }
//! println!("{} findings, score {:?}", outcome.report.summary.total, outcome.report.score);
//! ```
//!
//! * [`rules`]: the rules, one module per family, and [`rules::all`].
//! * [`context`]: the per-catalog index the rules read (every schema object once).
//! * [`engine::audit_catalog`]: one catalog -> findings; [`run::audit_paths`]: files and
//!   directories, in parallel.
//! * [`settings`]: `--rules` files; [`suppress`]: `x-portcullis-ignore`; [`score`]: the score.
//! * [`docs`]: `--list-rules`, `--explain`, and the generated docs/rules.md.
//! * [`profile`]: `--profile recommended|strict`; [`baseline`]: `--baseline REPORT.json`, with
//!   findings matched by their [`fingerprint`].
//! * [`diff`]: `audit diff OLD NEW`, the security changes between two versions.

pub mod baseline;
pub mod context;
pub mod diff;
pub mod docs;
pub mod engine;
pub mod fingerprint;
pub mod names;
pub mod profile;
pub mod rule;
pub mod rules;
pub mod run;
pub mod score;
pub mod settings;
pub mod suppress;

pub use engine::{audit_catalog, audit_context};
pub use profile::Profile;
pub use rule::{Meta, Rule};
pub use run::{Failure, Outcome, audit_paths, load};
pub use settings::{Override, Settings, SettingsError};
