//! The inventory in SQLite (`storage.path`): written in one transaction every flush interval
//! by a thread of its own, never on the request path nor on the observation dispatcher;
//! read back at start. The file is shared with the gateway's quota tables (WAL mode, one
//! writer each, different tables).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, params};

use crate::clock::now_ms;
use crate::inventory::{Inventory, OpEntry, OpKey, ShapeKey};
use crate::sketch::Distinct;
use crate::stats::Stats;

/// A storage failure, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {source}")]
pub struct StoreError {
    file: String,
    #[source]
    source: rusqlite::Error,
}

/// What is saved: the documented and undocumented endpoints' counters.
pub type Rows = (Vec<(OpKey, OpEntry)>, Vec<(ShapeKey, Stats)>);

/// The inventory's tables in one SQLite file.
pub struct Store {
    conn: Connection,
    file: String,
}

impl Store {
    /// Opens (creating) the file and its tables, in WAL mode.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let file = path.display().to_string();
        let err = |source| StoreError {
            file: file.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS inventory_documented (
                api TEXT NOT NULL, operation TEXT NOT NULL, entry TEXT NOT NULL,
                clients BLOB NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (api, operation));
             CREATE TABLE IF NOT EXISTS inventory_undocumented (
                api TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, stats TEXT NOT NULL,
                clients BLOB NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (api, method, path));",
        )
        .map_err(err)?;
        Ok(Store { conn, file })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError {
            file: self.file.clone(),
            source,
        }
    }

    /// Replaces the saved inventory with `rows` and deletes what is older than
    /// `horizon_ms`, in one transaction.
    pub fn save(&mut self, rows: &Rows, horizon_ms: u64) -> Result<(), StoreError> {
        let file = self.file.clone();
        let err = |source| StoreError {
            file: file.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let result = (|| {
            for ((api, op), e) in &rows.0 {
                let json = serde_json::to_string(e).unwrap_or_default();
                tx.execute(
                    "INSERT OR REPLACE INTO inventory_documented VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![api, op, json, e.stats.clients.bytes(), ms(e.stats.last_ms)],
                )?;
            }
            for ((api, method, path), s) in &rows.1 {
                let json = serde_json::to_string(s).unwrap_or_default();
                tx.execute(
                    "INSERT OR REPLACE INTO inventory_undocumented VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![api, method, path, json, s.clients.bytes(), ms(s.last_ms)],
                )?;
            }
            tx.execute(
                "DELETE FROM inventory_documented WHERE last_ms < ?1",
                [ms(horizon_ms)],
            )?;
            tx.execute(
                "DELETE FROM inventory_undocumented WHERE last_ms < ?1",
                [ms(horizon_ms)],
            )?;
            Ok(())
        })();
        result.map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Everything saved.
    pub fn load(&self) -> Result<Rows, StoreError> {
        let mut documented = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT api, operation, entry, clients FROM inventory_documented")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (api, op, json, clients) = row.map_err(|e| self.err(e))?;
            // A row that no longer reads (another version's) is skipped, not fatal.
            if let Ok(mut e) = serde_json::from_str::<OpEntry>(&json) {
                e.stats.clients = Distinct::from_bytes(&clients);
                documented.push(((api, op), e));
            }
        }
        let mut undocumented = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT api, method, path, stats, clients FROM inventory_undocumented")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (api, method, path, json, clients) = row.map_err(|e| self.err(e))?;
            if let Ok(mut s) = serde_json::from_str::<Stats>(&json) {
                s.clients = Distinct::from_bytes(&clients);
                undocumented.push(((api, method, path), s));
            }
        }
        Ok((documented, undocumented))
    }
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The inventory's rows as they are now (folded into templates first).
pub fn rows(inventory: &mut Inventory) -> Rows {
    inventory.fold();
    (
        inventory
            .documented()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        inventory
            .undocumented()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The writer thread: every `flush`, when the inventory changed, its rows are taken under
/// the lock (a copy, bounded like the inventory) and written outside it.
pub struct Writer {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Failed writes so far.
    pub failures: Arc<AtomicU64>,
}

impl Writer {
    /// Starts writing `inventory` to `store` every `flush`; entries older than `retention`
    /// are dropped from both.
    pub fn start(
        mut store: Store,
        inventory: Arc<Mutex<Inventory>>,
        sampler: Option<Arc<crate::sampling::Sampler>>,
        flush: Duration,
        retention: Duration,
    ) -> std::io::Result<Writer> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let failures = Arc::new(AtomicU64::new(0));
        let failed = failures.clone();
        let path = PathBuf::from(&store.file);
        let thread = std::thread::Builder::new()
            .name("portcullis-inventory-store".to_owned())
            .spawn(move || {
                let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
                loop {
                    let last = matches!(
                        stopped.recv_timeout(flush),
                        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
                    );
                    let now = now_ms();
                    let rows = match inventory.lock() {
                        Ok(mut inv) => {
                            // Body copies that came after the last request's observation
                            // (see `Pusher::start`).
                            if let Some(s) = &sampler {
                                s.drain(&mut inv);
                            }
                            inv.take_dirty().then(|| {
                                inv.expire(now);
                                rows(&mut inv)
                            })
                        }
                        Err(_) => None,
                    };
                    if let Some(rows) = rows {
                        match store.save(&rows, now.saturating_sub(retention_ms)) {
                            Ok(()) => tracing::debug!(
                                file = %path.display(),
                                endpoints = rows.0.len() + rows.1.len(),
                                requests = rows.0.iter().map(|r| r.1.stats.requests).sum::<u64>()
                                    + rows.1.iter().map(|r| r.1.requests).sum::<u64>(),
                                "inventory written"
                            ),
                            Err(e) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(file = %path.display(), error = %e, "cannot write the inventory");
                            }
                        }
                    }
                    if last {
                        break;
                    }
                }
            })?;
        Ok(Writer {
            stop,
            thread: Some(thread),
            failures,
        })
    }

    /// Writes what is left and stops.
    pub fn finish(mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Client, Sample};

    #[test]
    fn saves_and_loads_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("inv.db");
        let mut inv = Inventory::default();
        for (i, p) in ["/debug/1234", "/debug/5678"].iter().enumerate() {
            inv.record(&Sample {
                ts_ms: 1_000 + i as u64,
                api: Some("bank".into()),
                method: "GET".into(),
                path: (*p).into(),
                status: 200,
                client: Client {
                    ip: Some([127, 0, 0, 1].into()),
                    ..Client::default()
                },
                ..Sample::default()
            });
        }
        inv.record(&Sample {
            ts_ms: 2_000,
            api: Some("bank".into()),
            operation: Some("getMe".into()),
            route_template: Some("/users/me".into()),
            method: "GET".into(),
            path: "/users/me".into(),
            status: 200,
            ..Sample::default()
        });
        let rows = rows(&mut inv);
        let mut store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        store.save(&rows, 0).unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let (documented, undocumented) = store.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(documented.len(), 1);
        assert_eq!(undocumented.len(), 1, "{undocumented:?}");
        assert_eq!(undocumented.first().map(|u| u.1.requests), Some(2));
        assert_eq!(undocumented.first().map(|u| u.1.clients.count()), Some(1));
        // Retention deletes old rows.
        let mut store = store;
        store
            .save(&(Vec::new(), Vec::new()), 10_000)
            .unwrap_or_else(|e| panic!("{e}"));
        let (d, u) = store.load().unwrap_or_else(|e| panic!("{e}"));
        assert!(d.is_empty() && u.is_empty());
    }

    #[test]
    fn the_writer_learns_body_copies_that_came_after_the_last_observation() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("inv.db");
        let inventory = Arc::new(Mutex::new(Inventory::default()));
        if let Ok(mut inv) = inventory.lock() {
            inv.record(&Sample {
                ts_ms: now_ms(),
                api: Some("bank".into()),
                method: "POST".into(),
                path: "/debug/echo".into(),
                status: 200,
                ..Sample::default()
            });
        }
        // The copy comes after the request was observed, and no request follows it: only the
        // writer's own drain learns it.
        let sampler = Arc::new(crate::sampling::Sampler::default());
        sampler.deliver(crate::sampling::Copy {
            api: "bank".into(),
            method: "POST".into(),
            path: "/debug/echo".into(),
            status: 200,
            bodies: crate::sample::Bodies {
                request: Some(br#"{"name":"x","count":1}"#.to_vec()),
                response: None,
            },
        });
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let writer = Writer::start(
            store,
            inventory,
            Some(sampler),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // Stopping writes once more, at once.
        writer.finish();
        let store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let (_, undocumented) = store.load().unwrap_or_else(|e| panic!("{e}"));
        let bodies = undocumented.first().and_then(|u| u.1.bodies.clone());
        assert!(bodies.is_some(), "{undocumented:?}");
    }
}
