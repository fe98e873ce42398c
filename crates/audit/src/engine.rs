//! Runs the rules over one catalog and turns their findings into report findings: located
//! (file, pointer, line, column), at the configured severity, suppressed where the document
//! says so, each with its [`crate::fingerprint`].

use portcullis_report::{Finding, Location};
use portcullis_spec::Catalog;

use crate::context::Context;
use crate::rule::Sink;
use crate::rules;
use crate::settings::Settings;

/// Audits one catalog with the enabled rules. Findings come out in rule order, each place
/// once per rule; [`portcullis_report::Report::finish`] sorts them.
pub fn audit_catalog(catalog: &Catalog, settings: &Settings) -> Vec<Finding> {
    audit_context(&Context::new(catalog), settings)
}

/// Like [`audit_catalog`], over an index already built (`audit diff` shares it with the
/// schema comparison).
pub fn audit_context(cx: &Context<'_>, settings: &Settings) -> Vec<Finding> {
    let catalog = cx.catalog;
    let mut out = Vec::new();
    for rule in rules::all() {
        let meta = rule.meta();
        if !settings.enabled(meta.id) {
            continue;
        }
        let mut sink = Sink::new(meta.id);
        rule.check(cx, &mut sink);
        let info = meta.info(settings.severity(meta.id, meta.severity));
        for raw in sink.into_findings() {
            let at = catalog.locate(&raw.file, &raw.pointer);
            let suppressed = cx
                .suppressions
                .iter()
                .find(|s| s.covers(meta.id, &raw.file, &raw.pointer))
                .and_then(|s| s.reason.clone());
            let fingerprint =
                crate::fingerprint::fingerprint(catalog, meta.id, &raw.file, &raw.pointer);
            let location = Location {
                file: Some(raw.file.to_string()),
                pointer: Some(raw.pointer),
                line: (at.line > 0).then_some(at.line),
                column: (at.column > 0).then_some(at.column),
                ..Location::default()
            };
            let mut finding = Finding::new(&info, location, raw.message);
            finding.evidence = raw.evidence;
            finding.suppressed = suppressed;
            finding.fingerprint = Some(fingerprint);
            out.push(finding);
        }
    }
    out
}
