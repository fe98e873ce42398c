//! `portcullis completions SHELL`: prints a completion script generated from the flag definitions.

use clap::CommandFactory;

use super::{Outcome, print};
use crate::args::{Cli, CompletionsArgs};

/// Writes the completion script for the chosen shell to standard output.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    // Generated into memory first: clap_complete panics when its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "portcullis", &mut script);
    print(&String::from_utf8_lossy(&script))?;
    Ok(Outcome::Clean)
}
