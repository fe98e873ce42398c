//! One module per subcommand; each returns the outcome that `main` maps to an exit code.

pub mod audit;
pub mod completions;
pub mod demo;
pub mod keys;
pub mod serve;

use std::process::ExitCode;

/// How a command ended, mapped to exit codes in one place (`main`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success, nothing at or above `--fail-on` (exit 0).
    Clean,
    /// Findings at or above `--fail-on`, or a check that did not pass (exit 1).
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Failed => ExitCode::from(1),
        }
    }
}

/// The error of a subcommand that is declared but not built yet (exit 2, no fake output).
#[derive(Debug)]
pub struct NotAvailable(pub &'static str);

impl std::fmt::Display for NotAvailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`portcullis {}` is not available yet", self.0)
    }
}

impl std::error::Error for NotAvailable {}
