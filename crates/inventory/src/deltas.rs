//! The counts a replica has not yet handed to the others: with the Redis state backend,
//! replicas add their counts up in Redis ([`crate::replicas`]), so each keeps what it counted
//! since its last push, by the key it was recorded under.

use std::collections::HashMap;

use crate::inventory::{Inventory, OpEntry, OpKey, ShapeKey};
use crate::stats::Stats;
use crate::store::Rows;

/// The counts not yet handed to the other replicas, by the key they were recorded under.
#[derive(Debug, Default)]
pub(crate) struct Deltas {
    pub(crate) documented: HashMap<OpKey, OpEntry>,
    pub(crate) undocumented: HashMap<ShapeKey, Stats>,
}

impl Inventory {
    /// Keeps, from now on, what is counted until the next [`Inventory::take_deltas`]: for
    /// replicas that add their counts up in a shared store.
    pub fn track_deltas(&mut self) {
        self.deltas.get_or_insert_with(Box::default);
    }

    /// What was counted since the last call (empty when deltas are not tracked); the
    /// additive counters start again from zero (see [`Stats::split_delta`]).
    pub fn take_deltas(&mut self) -> Rows {
        // Endpoints quiet for a whole retention are forgotten here too.
        let horizon = crate::clock::now_ms().saturating_sub(self.settings().retention_ms);
        let Some(d) = self.deltas.as_deref_mut() else {
            return (Vec::new(), Vec::new());
        };
        let documented = d
            .documented
            .iter_mut()
            .filter_map(|(k, e)| {
                let stats = e.stats.split_delta()?;
                Some((
                    k.clone(),
                    OpEntry {
                        stats,
                        method: e.method.clone(),
                        template: e.template.clone(),
                        deprecated: e.deprecated,
                    },
                ))
            })
            .collect();
        let undocumented = d
            .undocumented
            .iter_mut()
            .filter_map(|(k, s)| Some((k.clone(), s.split_delta()?)))
            .collect();
        d.documented.retain(|_, e| e.stats.last_ms >= horizon);
        d.undocumented.retain(|_, s| s.last_ms >= horizon);
        (documented, undocumented)
    }

    /// Deltas that could not be handed over, kept for the next attempt (added to what was
    /// counted since).
    pub fn requeue_deltas(&mut self, rows: Rows) {
        let max = self.settings().max_undocumented;
        let Some(d) = self.deltas.as_deref_mut() else {
            return;
        };
        for (k, e) in rows.0 {
            match d.documented.get_mut(&k) {
                Some(mine) => mine.stats.merge(&e.stats),
                None => {
                    d.documented.insert(k, e);
                }
            }
        }
        let mut lost = 0;
        for (k, s) in rows.1 {
            if let Some(mine) = d.undocumented.get_mut(&k) {
                mine.merge(&s);
            } else if d.undocumented.len() < max {
                d.undocumented.insert(k, s);
            } else {
                lost += 1;
            }
        }
        self.overflow += lost;
    }

    /// The deltas not yet handed over (a copy), so that a merged view read from the shared
    /// store can include what this replica counted since its last push.
    pub fn pending_deltas(&self) -> Rows {
        let Some(d) = self.deltas.as_deref() else {
            return (Vec::new(), Vec::new());
        };
        (
            d.documented
                .iter()
                .filter(|(_, e)| e.stats.requests > 0)
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect(),
            d.undocumented
                .iter()
                .filter(|(_, s)| s.requests > 0 || s.bodies_changed)
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect(),
        )
    }
}
