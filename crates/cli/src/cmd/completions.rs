//! `portcullis completions SHELL`: prints a completion script generated from the flag definitions.

use clap::CommandFactory;

use super::Outcome;
use crate::args::{Cli, CompletionsArgs};

/// Writes the completion script for the chosen shell to standard output.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "portcullis",
        &mut std::io::stdout(),
    );
    Ok(Outcome::Clean)
}
