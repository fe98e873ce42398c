//! Operations compared: added (with or without security), removed, un-deprecated, given new
//! parameters, and their security requirements (the top-level requirement once, when it is
//! what changed).

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use portcullis_spec::{Catalog, Method, Operation, ParameterIn, SecurityOrigin, pointer};

use super::security::{Weakening, describe_requirements, is_public, weakening};
use super::{Changes, Side, kinds, label};
use crate::fingerprint::blank_template;

/// Operations of both versions paired: by method and exact path template first, then, for
/// what is left, by method and template with variables blanked (`/users/{id}` renamed
/// `/users/{userId}`) when that pairs exactly one with one. Returns the pairs (old, new) with
/// `None` for added operations, and the removed ones.
type Pairs<'a> = (
    Vec<(Option<&'a Operation>, &'a Operation)>,
    Vec<&'a Operation>,
);

fn pair<'a>(old: &'a Catalog, new: &'a Catalog) -> Pairs<'a> {
    fn exact(catalog: &Catalog) -> IndexMap<(Method, &str), &Operation> {
        let mut map = IndexMap::new();
        for op in &catalog.operations {
            map.entry((op.method, op.path.as_str())).or_insert(op);
        }
        map
    }
    let (old_exact, new_exact) = (exact(old), exact(new));
    let blanked = |ops: &IndexMap<(Method, &'a str), &'a Operation>,
                   other: &IndexMap<(Method, &str), &Operation>| {
        let mut map: HashMap<(Method, String), Vec<&'a Operation>> = HashMap::new();
        for (key, op) in ops {
            if !other.contains_key(key) {
                map.entry((op.method, blank_template(&op.path)))
                    .or_default()
                    .push(*op);
            }
        }
        map
    };
    let old_left = blanked(&old_exact, &new_exact);
    let new_left = blanked(&new_exact, &old_exact);
    let mut pairs = Vec::new();
    let mut matched: HashSet<(Method, &str)> = HashSet::new();
    for (key, now) in &new_exact {
        if let Some(before) = old_exact.get(key) {
            pairs.push((Some(*before), *now));
            matched.insert(*key);
            continue;
        }
        let blank = (now.method, blank_template(&now.path));
        let renamed = match (old_left.get(&blank), new_left.get(&blank)) {
            (Some(o), Some(n)) if o.len() == 1 && n.len() == 1 => o.first().copied(),
            _ => None,
        };
        if let Some(before) = renamed {
            matched.insert((before.method, before.path.as_str()));
        }
        pairs.push((renamed, *now));
    }
    let removed = old_exact
        .iter()
        .filter(|(k, _)| !matched.contains(*k))
        .map(|(_, op)| *op)
        .collect();
    (pairs, removed)
}

/// Where an operation's security is written: its own `security`, else the operation.
fn security_pointer(op: &Operation) -> String {
    match op.security_origin {
        SecurityOrigin::Operation => pointer::push(&op.location.pointer, "security"),
        SecurityOrigin::Global | SecurityOrigin::None => op.location.pointer.clone(),
    }
}

/// Compares the operations of `old` and `new`.
pub fn compare(old: &Catalog, new: &Catalog, changes: &mut Changes<'_>) {
    let (pairs, removed) = pair(old, new);
    let global_weakened = global(old, new, &pairs, changes);
    for (before, now) in &pairs {
        match before {
            Some(before) => compare_one(old, new, before, now, global_weakened, changes),
            None => added(now, changes),
        }
    }
    for before in removed {
        let kind = if before.deprecated {
            &kinds::DEPRECATED_REMOVED
        } else {
            &kinds::OPERATION_REMOVED
        };
        changes.add(
            kind,
            kind.severity,
            Side::Old,
            &before.location.file,
            &before.location.pointer,
            Some(before),
            format!("{} was removed", label(before)),
            None,
        );
    }
}

/// An operation that inherits the top-level requirement in both versions.
fn inherits(before: &Operation, now: &Operation) -> bool {
    before.security_origin == SecurityOrigin::Global
        && now.security_origin != SecurityOrigin::Operation
}

/// The top-level requirement: reported once when it got weaker (true), for every operation
/// that inherits it.
fn global(
    old: &Catalog,
    new: &Catalog,
    pairs: &[(Option<&Operation>, &Operation)],
    changes: &mut Changes<'_>,
) -> bool {
    let before = old.global_security.as_deref().unwrap_or_default();
    let now = new.global_security.as_deref().unwrap_or_default();
    let Some(how) = weakening(before, &old.security_schemes, now, &new.security_schemes) else {
        return false;
    };
    let affected = pairs
        .iter()
        .filter(|(before, now)| before.is_some_and(|b| inherits(b, now)))
        .count();
    let (file, ptr) = match &new.global_security_location {
        Some(l) => (l.file.clone(), l.pointer.clone()),
        None => (new.root_file.clone(), String::new()),
    };
    let was = describe_requirements(before);
    let (kind, message) = match &how {
        Weakening::Public => (
            &kinds::SECURITY_REMOVED,
            format!(
                "the top-level security requirement no longer requires credentials: {affected} operation(s) that inherit it are now public (was: {was})"
            ),
        ),
        Weakening::ScopesReduced(dropped) => (
            &kinds::SCOPES_REDUCED,
            format!(
                "the top-level security requirement no longer requires the scope(s) {} ({affected} operation(s) inherit it)",
                dropped.join(", ")
            ),
        ),
        Weakening::Weaker { was, now } => (
            &kinds::SECURITY_WEAKENED,
            format!(
                "the top-level security requirement accepts weaker credentials: was {was}, now {now} ({affected} operation(s) inherit it)"
            ),
        ),
    };
    changes.add(
        kind,
        kind.severity,
        Side::New,
        &file,
        &ptr,
        None,
        message,
        Some(format!("{was} -> {}", describe_requirements(now))),
    );
    true
}

/// A new operation.
fn added(now: &Operation, changes: &mut Changes<'_>) {
    let (kind, severity, message) = if is_public(&now.security) {
        let k = &kinds::OPERATION_ADDED_PUBLIC;
        let severity = if now.method.is_mutating() {
            k.severity
        } else {
            portcullis_report::Severity::Medium
        };
        (
            k,
            severity,
            format!("{} was added without a security requirement", label(now)),
        )
    } else {
        let k = &kinds::OPERATION_ADDED;
        (
            k,
            k.severity,
            format!(
                "{} was added (security: {})",
                label(now),
                describe_requirements(&now.security)
            ),
        )
    };
    changes.add(
        kind,
        severity,
        Side::New,
        &now.location.file,
        &now.location.pointer,
        Some(now),
        message,
        None,
    );
}

/// Parameter identity: where it goes and its name (header names case-insensitive).
fn param_key(location_in: ParameterIn, name: &str) -> (ParameterIn, String) {
    match location_in {
        ParameterIn::Header => (location_in, name.to_ascii_lowercase()),
        _ => (location_in, name.to_owned()),
    }
}

/// An operation in both versions.
fn compare_one(
    old: &Catalog,
    new: &Catalog,
    before: &Operation,
    now: &Operation,
    global_weakened: bool,
    changes: &mut Changes<'_>,
) {
    let op_label = label(now);
    if !(global_weakened && inherits(before, now))
        && let Some(how) = weakening(
            &before.security,
            &old.security_schemes,
            &now.security,
            &new.security_schemes,
        )
    {
        let was = describe_requirements(&before.security);
        let is = if now.security.is_empty() && now.security_origin == SecurityOrigin::Operation {
            "`security: []`".to_owned()
        } else {
            describe_requirements(&now.security)
        };
        let (kind, severity, message) = match how {
            Weakening::Public => {
                let k = &kinds::SECURITY_REMOVED;
                let severity = if now.method.is_mutating() {
                    k.severity
                } else {
                    portcullis_report::Severity::High
                };
                (
                    k,
                    severity,
                    format!("{op_label} no longer requires credentials (was: {was}; now: {is})"),
                )
            }
            Weakening::ScopesReduced(dropped) => (
                &kinds::SCOPES_REDUCED,
                kinds::SCOPES_REDUCED.severity,
                format!(
                    "{op_label} no longer requires the scope(s) {}",
                    dropped.join(", ")
                ),
            ),
            Weakening::Weaker { was, now: is } => (
                &kinds::SECURITY_WEAKENED,
                kinds::SECURITY_WEAKENED.severity,
                format!("{op_label} accepts weaker credentials: was {was}, now {is}"),
            ),
        };
        changes.add(
            kind,
            severity,
            Side::New,
            &now.location.file,
            &security_pointer(now),
            Some(now),
            message,
            Some(format!("{was} -> {is}")),
        );
    }
    if before.deprecated && !now.deprecated {
        changes.add(
            &kinds::OPERATION_UNDEPRECATED,
            kinds::OPERATION_UNDEPRECATED.severity,
            Side::New,
            &now.location.file,
            &now.location.pointer,
            Some(now),
            format!("{op_label} is no longer deprecated"),
            None,
        );
    }
    let known: std::collections::HashSet<_> = before
        .parameters
        .iter()
        .map(|p| param_key(p.location_in, &p.name))
        .collect();
    for p in &now.parameters {
        if known.contains(&param_key(p.location_in, &p.name)) {
            continue;
        }
        changes.add(
            &kinds::PARAMETER_ADDED,
            kinds::PARAMETER_ADDED.severity,
            Side::New,
            &p.location.file,
            &p.location.pointer,
            Some(now),
            format!(
                "{op_label} accepts a new {} parameter `{}`",
                p.location_in.as_str(),
                p.name
            ),
            None,
        );
    }
}
