//! `portcullis audit diff OLD NEW`: what a change to an API description did to its security.
//!
//! Two catalogs are compared part by part, each part in its own module:
//!
//! * [`operations`]: operations added (with or without security) and removed, deprecation,
//!   parameters added, and each operation's security requirements ([`security`] decides
//!   whether a requirement got weaker: made public, fewer scopes, a weaker scheme);
//! * [`servers`]: servers moved to, or added over, cleartext HTTP;
//! * [`schemas`]: input limits removed or raised, fields added to responses, compared schema
//!   object by schema object at their definitions (a shared component once, not once per
//!   operation that uses it);
//! * the findings of both versions, matched by [`crate::fingerprint`]: new and fixed.
//!
//! Operations are matched by method and path template with variables blanked
//! (`/users/{id}` is `/users/{userId}`); schema objects, servers and parameters by their
//! [`crate::fingerprint::stable_pointer`] in files named relative to the root document, so
//! reordering, comments, descriptions and shifted lines change nothing. Each change is a
//! [`Finding`] whose rule is one of [`kinds::ALL`].

pub mod kinds;
pub mod operations;
pub mod schemas;
pub mod security;
pub mod servers;
pub mod source;

use std::collections::{HashMap, HashSet};

use portcullis_report::{DiffReport, Finding, Location, Severity};
use portcullis_spec::{Catalog, Operation};

use crate::context::Context;
use crate::engine::audit_context;
use crate::fingerprint::{fingerprint, relative_file, stable_pointer};
use crate::rule::Meta;
use crate::rules;
use crate::settings::Settings;

/// Which version a change is located in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The old version (for what was removed).
    Old,
    /// The new version.
    New,
}

/// Collects the changes, located and each place reported once per kind.
pub struct Changes<'a> {
    old: &'a Catalog,
    new: &'a Catalog,
    seen: HashSet<(&'static str, String, String)>,
    out: Vec<Finding>,
}

impl<'a> Changes<'a> {
    /// An empty collection for `old` -> `new`.
    pub fn new(old: &'a Catalog, new: &'a Catalog) -> Changes<'a> {
        Changes {
            old,
            new,
            seen: HashSet::new(),
            out: Vec::new(),
        }
    }

    /// Records a change of `kind` at `severity`, at `pointer` of `file` in the `side` version,
    /// about `op` when it concerns one.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        kind: &Meta,
        severity: Severity,
        side: Side,
        file: &str,
        pointer: &str,
        op: Option<&Operation>,
        message: String,
        evidence: Option<String>,
    ) {
        if !self
            .seen
            .insert((kind.id, file.to_owned(), pointer.to_owned()))
        {
            return;
        }
        let catalog = match side {
            Side::Old => self.old,
            Side::New => self.new,
        };
        let at = catalog.locate(file, pointer);
        let location = Location {
            file: Some(file.to_owned()),
            pointer: Some(pointer.to_owned()),
            line: (at.line > 0).then_some(at.line),
            column: (at.column > 0).then_some(at.column),
            operation: op.map(|o| o.id.clone()),
            method: op.map(|o| o.method.as_str().to_owned()),
            url: None,
        };
        let mut change = Finding::new(&kind.info(severity), location, message);
        change.evidence = evidence;
        change.fingerprint = Some(fingerprint(catalog, kind.id, file, pointer));
        self.out.push(change);
    }

    /// The changes recorded.
    pub fn into_changes(self) -> Vec<Finding> {
        self.out
    }
}

/// `METHOD path` of an operation, for messages.
pub(crate) fn label(op: &Operation) -> String {
    format!("{} {}", op.method, op.path)
}

/// Where something is, comparable between the two versions: the file relative to the root
/// document and the stable pointer.
pub(crate) fn place(catalog: &Catalog, file: &str, pointer: &str) -> (String, String) {
    let source = catalog.sources.get(file, "");
    (
        relative_file(&catalog.root_file, file),
        stable_pointer(source, pointer),
    )
}

/// One version of a document, indexed and audited once (so it can be compared with several
/// others).
pub struct Version<'a> {
    catalog: &'a Catalog,
    cx: Context<'a>,
    findings: Vec<Finding>,
    name: String,
}

impl<'a> Version<'a> {
    /// Indexes and audits `catalog` (with `settings`); `name` names it in reports.
    pub fn new(catalog: &'a Catalog, settings: &Settings, name: &str) -> Version<'a> {
        let cx = Context::new(catalog);
        let findings = audit_context(&cx, settings);
        Version {
            catalog,
            cx,
            findings,
            name: name.to_owned(),
        }
    }

    /// Its findings.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// Compares two versions of a document: the security changes, and the findings (with
/// `settings`) that are new in `new` or fixed since `old`. `old_name` and `new_name` name the
/// versions in the report.
pub fn diff(
    old: &Catalog,
    new: &Catalog,
    settings: &Settings,
    old_name: &str,
    new_name: &str,
) -> DiffReport {
    diff_versions(
        &Version::new(old, settings, old_name),
        &Version::new(new, settings, new_name),
        settings,
    )
}

/// [`diff`] of versions already audited (with the same `settings`).
pub fn diff_versions(old: &Version<'_>, new: &Version<'_>, settings: &Settings) -> DiffReport {
    let mut changes = Changes::new(old.catalog, new.catalog);
    operations::compare(old.catalog, new.catalog, &mut changes);
    security::compare_schemes(old.catalog, new.catalog, &mut changes);
    servers::compare(old.catalog, new.catalog, &mut changes);
    schemas::compare(&old.cx, &new.cx, &mut changes);
    let (new_findings, fixed_findings) = compare_findings(&old.findings, &new.findings);
    let mut rules_info: Vec<_> = kinds::ALL.iter().map(|k| k.info(k.severity)).collect();
    rules_info.extend(
        rules::all()
            .iter()
            .map(|r| r.meta())
            .filter(|m| settings.enabled(m.id))
            .map(|m| m.info(settings.severity(m.id, m.severity))),
    );
    let mut report = DiffReport {
        tool: "portcullis".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        old: old.name.clone(),
        new: new.name.clone(),
        changes: changes.into_changes(),
        new_findings,
        fixed_findings,
        rules: rules_info,
        ..DiffReport::default()
    };
    report.finish();
    report
}

/// The findings of `new` that `old` does not have, and those of `old` (not suppressed) that
/// `new` no longer has, matched by fingerprint and counted.
fn compare_findings(old: &[Finding], new: &[Finding]) -> (Vec<Finding>, Vec<Finding>) {
    let key = |f: &Finding| {
        f.fingerprint
            .clone()
            .unwrap_or_else(|| format!("{}|{:?}", f.rule, f.location.pointer))
    };
    let mut old_by_key: HashMap<String, Vec<&Finding>> = HashMap::new();
    for f in old {
        old_by_key.entry(key(f)).or_default().push(f);
    }
    let mut added = Vec::new();
    for f in new {
        if old_by_key.get_mut(&key(f)).and_then(Vec::pop).is_none() {
            added.push(f.clone());
        }
    }
    let fixed = old_by_key
        .into_values()
        .flatten()
        .filter(|f| !f.is_suppressed())
        .cloned()
        .collect();
    (added, fixed)
}
