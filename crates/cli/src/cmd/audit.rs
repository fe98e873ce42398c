//! `portcullis audit`: the static security audit of OpenAPI documents, and `audit diff`.
//!
//! Exit codes: 0 nothing at or above `--fail-on`, 1 findings (with `--baseline`, new findings;
//! for `diff`, changes or new findings) at or above it, 2 bad usage, an unreadable rules file
//! or baseline, or a document that could not be loaded (each named on stderr with the place
//! and the problem; the other documents are still audited and reported).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context as _, bail};
use portcullis_audit::diff::source::load_version;
use portcullis_audit::{Profile, Settings, audit_paths, baseline, diff, docs};
use portcullis_report::{Severity, write};

use super::{Outcome, print};
use crate::args::{AuditArgs, AuditCommand, AuditFormat, DiffArgs, DiffFormat, FailOn, ProfileArg};

/// Runs the audit (or `--list-rules` / `--explain`, or `diff`).
pub fn run(args: &AuditArgs) -> anyhow::Result<Outcome> {
    if let Some(AuditCommand::Diff(d)) = &args.command {
        return run_diff(d);
    }
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
    let settings = settings(args.rules.as_deref(), args.profile)?;
    // Read the baseline before auditing: a bad one is a usage error, not a late surprise.
    let base = match &args.baseline {
        Some(path) => Some((baseline::load(path)?, path.display().to_string())),
        None => None,
    };
    let mut outcome = audit_paths(&args.specs, &settings);
    if let Some((base, name)) = base {
        baseline::apply(&mut outcome.report, base, &name);
    }
    let report = &outcome.report;

    let mut out = output(args.output.as_deref())?;
    let written = match args.format {
        AuditFormat::Text => write::text(
            report,
            &mut out,
            &write::TextOptions {
                color: colored(args.output.as_deref()),
                remediation: false,
                max_per_rule: max_per_rule(args.max_per_rule, args.output.as_deref()),
            },
        ),
        AuditFormat::Json => write::json(report, &mut out, true),
        AuditFormat::Sarif => write::sarif(report, &mut out),
    };
    until_closed(written.and_then(|()| out.flush()))?;
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

/// `portcullis audit diff OLD NEW`.
fn run_diff(args: &DiffArgs) -> anyhow::Result<Outcome> {
    let settings = settings(args.rules.as_deref(), args.profile)?;
    let old = load_version(&args.old)?;
    let new = load_version(&args.new)?;
    let report = diff::diff(&old, &new, &settings, &args.old, &args.new);
    let mut out = output(args.output.as_deref())?;
    let written = match args.format {
        DiffFormat::Text => write::diff_text(
            &report,
            &mut out,
            &write::TextOptions {
                color: colored(args.output.as_deref()),
                remediation: false,
                max_per_rule: max_per_rule(args.max_per_rule, args.output.as_deref()),
            },
        ),
        DiffFormat::Json => write::diff_json(&report, &mut out),
        DiffFormat::Sarif => write::diff_sarif(&report, &mut out),
        DiffFormat::Markdown => write::diff_markdown(&report, &mut out),
    };
    until_closed(written.and_then(|()| out.flush()))?;
    Ok(if report.exceeds(threshold(args.fail_on)) {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}

/// A report written until its reader went away: a closed pipe (`audit ... | head`) ends the
/// output but not the run, whose exit code the findings still decide (1 at or above
/// `--fail-on`). Any other write error stands.
fn until_closed(written: std::io::Result<()>) -> std::io::Result<()> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The rules file (if any) over the profile.
fn settings(rules: Option<&Path>, profile: ProfileArg) -> anyhow::Result<Settings> {
    let base = match rules {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    let profile = match profile {
        ProfileArg::Recommended => Profile::Recommended,
        ProfileArg::Strict => Profile::Strict,
    };
    Ok(profile.apply(base))
}

/// Standard output, or the report file.
fn output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(File::create(path).with_context(|| {
            format!("{}: cannot create the report file", path.display())
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// Colors only on a terminal, and never with NO_COLOR.
fn colored(output: Option<&Path>) -> bool {
    output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `--max-per-rule`, or its default: 5 places per rule on a terminal, all of them in a file
/// or a pipe (where they are searched rather than read).
fn max_per_rule(given: Option<usize>, output: Option<&Path>) -> Option<usize> {
    given.or_else(|| (output.is_none() && std::io::stdout().is_terminal()).then_some(5))
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
