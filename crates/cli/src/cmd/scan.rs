//! `portcullis scan`: dynamic security tests of a running API from its spec.
//!
//! Exit codes: 0 nothing at or above `--fail-on`, 1 findings at or above it, 2 bad usage, an
//! unreadable config or spec, or a scan that could not start (an identity that cannot log in).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};

use anyhow::Context as _;
use portcullis_report::write;
use portcullis_scan::{ScanConfig, Target};

use super::Outcome;
use crate::args::{ScanArgs, ScanFormat};

/// Runs the scan.
pub fn run(args: &ScanArgs) -> anyhow::Result<Outcome> {
    let config = match &args.config {
        Some(path) => ScanConfig::load(path)?,
        None => ScanConfig::default(),
    };
    let target = Target::parse(&args.target).context("--target")?;
    let catalog = portcullis_spec::load(&args.spec)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bar = progress_bar();
    let show = |p: portcullis_scan::Progress| {
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} requests (budget {}) · {} · {} findings",
                p.requests, p.budget, p.stage, p.findings
            ));
        }
    };
    let progress: Option<&dyn Fn(portcullis_scan::Progress)> = bar.as_ref().map(|_| &show as _);
    let outcome = runtime.block_on(portcullis_scan::run_with_progress(
        &catalog,
        target.clone(),
        &config,
        progress,
    ));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let outcome = outcome?;
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
        ScanFormat::Text => write::text(
            report,
            &mut out,
            &write::TextOptions {
                color,
                remediation: false,
                // Every scan finding was proven: all of them are listed.
                max_per_rule: None,
            },
        )?,
        ScanFormat::Json => write::json(report, &mut out, true)?,
        ScanFormat::Sarif => write::sarif(report, &mut out)?,
        ScanFormat::Html => write::html(report, &mut out)?,
    }
    out.flush()?;
    drop(out);

    let mut stderr = std::io::stderr().lock();
    for note in &outcome.notes {
        writeln!(stderr, "portcullis scan: note: {note}")?;
    }
    writeln!(
        stderr,
        "portcullis scan: {} requests to {}, {} findings",
        outcome.requests, target.origin, report.summary.total
    )?;
    Ok(if report.exceeds(super::audit::threshold(args.fail_on)) {
        Outcome::Failed
    } else {
        Outcome::Clean
    })
}

/// A spinner with the scan's counts on stderr when it is a terminal; none when it is piped
/// or redirected (CI logs get only the summary line).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
