//! Servers compared: one that moved from `https://` to `http://` in place, or a new `http://`
//! server ([`kinds::SERVER_CLEARTEXT`]; low for loopback and internal hosts).

use std::collections::{HashMap, HashSet};

use portcullis_report::Severity;
use portcullis_spec::{Catalog, Server};

use super::{Changes, Side, kinds, place};
use crate::names;

/// Every server of a document (top level, path and operation level), each place once.
fn servers(catalog: &Catalog) -> Vec<&Server> {
    let mut seen = HashSet::new();
    catalog
        .servers
        .iter()
        .chain(catalog.operations.iter().flat_map(|op| op.servers.iter()))
        .filter(|s| seen.insert((s.location.file.clone(), s.location.pointer.clone())))
        .collect()
}

/// Compares the servers of `old` and `new`.
pub fn compare(old: &Catalog, new: &Catalog, changes: &mut Changes<'_>) {
    let before = servers(old);
    let by_place: HashMap<(String, String), &Server> = before
        .iter()
        .map(|s| (place(old, &s.location.file, &s.location.pointer), *s))
        .collect();
    let old_urls: HashSet<&str> = before.iter().map(|s| s.resolved_url.as_str()).collect();
    for s in servers(new) {
        if !names::is_http(&s.resolved_url) || old_urls.contains(s.resolved_url.as_str()) {
            continue;
        }
        let was = by_place
            .get(&place(new, &s.location.file, &s.location.pointer))
            .map(|o| o.resolved_url.as_str());
        let message = match was {
            Some(w) if names::is_http(w) => continue,
            Some(w) => format!("server {w} moved to cleartext: {}", s.resolved_url),
            None => format!("cleartext server {} was added", s.resolved_url),
        };
        let internal = names::host(&s.resolved_url).is_some_and(names::is_internal_host);
        let severity = if internal {
            Severity::Low
        } else {
            kinds::SERVER_CLEARTEXT.severity
        };
        changes.add(
            &kinds::SERVER_CLEARTEXT,
            severity,
            Side::New,
            &s.location.file,
            &s.location.pointer,
            None,
            message,
            Some(s.resolved_url.clone()),
        );
    }
}
