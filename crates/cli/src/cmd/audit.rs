//! `portcullis audit`: the static security audit of OpenAPI documents.
//!
//! Exit codes: 0 nothing at or above `--fail-on`, 1 findings at or above it, 2 bad usage, an
//! unreadable rules file, or a document that could not be loaded (each named on stderr with
//! the place and the problem; the other documents are still audited and reported).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};

use anyhow::{Context as _, bail};
use portcullis_audit::{Settings, audit_paths, docs};
use portcullis_report::{Severity, write};

use super::{Outcome, print};
use crate::args::{AuditArgs, AuditFormat, FailOn};

/// Runs the audit (or `--list-rules` / `--explain`).
pub fn run(args: &AuditArgs) -> anyhow::Result<Outcome> {
    if args.list_rules {
        print(&docs::list())?;
        return Ok(Outcome::Clean);
    }
    if let Some(id) = &args.explain {
        match docs::explain(id) {
            Some(text) => {
                print(&text)?;
                return Ok(Outcome::Clean);
            }
            None => bail!("unknown rule id `{id}` (see `portcullis audit --list-rules`)"),
        }
    }
    let settings = match &args.rules {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    let outcome = audit_paths(&args.specs, &settings);
    let report = &outcome.report;

    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path).with_context(|| {
            format!("{}: cannot create the report file", path.display())
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    match args.format {
        AuditFormat::Text => write::text(
            report,
            &mut out,
            &write::TextOptions {
                color,
                remediation: false,
            },
        )?,
        AuditFormat::Json => write::json(report, &mut out, true)?,
        AuditFormat::Sarif => write::sarif(report, &mut out)?,
    }
    out.flush()?;
    drop(out);

    let mut stderr = std::io::stderr().lock();
    if !outcome.skipped.is_empty() {
        writeln!(
            stderr,
            "portcullis: skipped {} file(s) that are not OpenAPI documents",
            outcome.skipped.len()
        )?;
    }
    for failure in &outcome.failures {
        writeln!(stderr, "portcullis: error: {failure}")?;
    }
    if !outcome.failures.is_empty() {
        bail!(
            "{} of {} document(s) could not be audited",
            outcome.failures.len(),
            outcome.failures.len() + outcome.audited
        );
    }
    if outcome.audited == 0 {
        bail!("no OpenAPI document found in the given paths");
    }
    Ok(if report.exceeds(threshold(args.fail_on)) {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}

/// The severity `--fail-on` names.
pub(crate) fn threshold(fail_on: FailOn) -> Severity {
    match fail_on {
        FailOn::Critical => Severity::Critical,
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
    }
}
