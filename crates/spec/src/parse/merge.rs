//! The YAML 1.1 merge key `<<`, which real specifications use to share members between
//! mappings.

use serde_json::{Map, Value};

use super::yaml::{Member, Source};

/// Applies `<<` merges: each merge's members go where its `<<` key was, unless the mapping
/// has the key explicitly (explicit keys win) or an earlier merged mapping gave it already.
/// One merged-in key: name, value and its source position.
type Entry = (String, Value, Member);

pub(crate) fn merge(
    map: Map<String, Value>,
    members: Vec<Member>,
    merges: Vec<(usize, Vec<Source>)>,
) -> (Map<String, Value>, Vec<Member>) {
    let mut pending: Vec<(usize, Vec<Entry>)> = Vec::new();
    for (at, sources) in merges {
        let mut entries = Vec::new();
        for (source, children) in sources {
            for ((k, v), m) in source.into_iter().zip(children) {
                if !map.contains_key(&k) {
                    entries.push((k, v, m));
                }
            }
        }
        pending.push((at, entries));
    }
    let mut out = Map::with_capacity(map.len());
    let mut out_members = Vec::with_capacity(members.len());
    let mut pending = pending.into_iter().peekable();
    let insert_merged = |out: &mut Map<String, Value>,
                         out_members: &mut Vec<Member>,
                         entries: Vec<(String, Value, Member)>| {
        for (k, v, m) in entries {
            if !out.contains_key(&k) {
                out.insert(k, v);
                out_members.push(m);
            }
        }
    };
    for (i, ((k, v), m)) in map.into_iter().zip(members).enumerate() {
        while let Some((_, entries)) = pending.next_if(|(at, _)| *at <= i) {
            insert_merged(&mut out, &mut out_members, entries);
        }
        out.insert(k, v);
        out_members.push(m);
    }
    for (_, entries) in pending {
        insert_merged(&mut out, &mut out_members, entries);
    }
    (out, out_members)
}
