//! One module per subcommand; each returns the outcome that `main` maps to an exit code.

pub mod admin_audit;
pub mod audit;
pub mod completions;
pub mod demo;
pub mod discover;
pub mod init;
pub mod keys;
pub mod scan;
pub mod serve;

use std::io::Write;
use std::process::ExitCode;

/// Writes `text` to standard output and flushes it. A closed pipe (`portcullis check | head -1`)
/// comes back as an `io::Error` of kind `BrokenPipe`, which `main` treats as a quiet success;
/// every command prints through this (or through a `Write` whose errors it returns), never with
/// `println!`, which panics on a closed pipe.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Whether `err` (or any error in its chain) is a closed output pipe.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

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
