//! Quotas that survive a restart on the memory backend: the GCRA state of long limits, kept in
//! the SQLite file `storage.path`.
//!
//! Only limits whose period is at least [`QUOTA_MIN_PERIOD_SECS`] (one hour) are kept: their
//! state is worth a disk write, while a per-second limit is refilled by the time a gateway
//! restarts. A row is one client of one limit: the state key (`api/index|client`, see
//! [`super::state_key`]), the limit's name, and the TAT in microseconds since the Unix epoch
//! (the in-memory store counts from the process start, so the TAT is converted both ways).
//!
//! The request path never waits for the disk: [`Persister::record`] puts the new TAT in a
//! bounded map of pending writes (one entry per key, the newest TAT wins) and returns; a writer
//! thread takes the map every [`FLUSH_EVERY`] and writes it in one transaction, and writes what
//! is left when the [`Persister`] is flushed ([`Persister::flush`], at graceful shutdown) or
//! dropped. A failed write is logged, counted ([`Persister::failures`]) and retried with the
//! next batch; it never fails a request. Updates that find the pending map full are counted
//! ([`Persister::dropped`]) and lost.
//!
//! The file is opened at start ([`Persister::open`]): an existing file must be a readable,
//! writable SQLite database that passes `PRAGMA quick_check`, or the gateway does not start
//! (fail closed). A missing file is created by the writer on its first write, so
//! `portcullis check` never creates it. Rows whose TAT is past are not loaded and are deleted
//! when the writer first writes and every [`PRUNE_EVERY`] after; the table is then also cut to
//! the store's capacity, keeping the rows furthest from expiring.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OpenFlags, params};

/// Limits with a period of at least this many seconds (one hour) are quotas: kept in
/// `storage.path` on the memory backend.
pub const QUOTA_MIN_PERIOD_SECS: u64 = 3600;
/// How often the writer writes pending state.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often the writer deletes expired rows and cuts the table to capacity.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How long [`Persister::flush`] waits for the writer before giving up.
const FLUSH_WAIT: Duration = Duration::from_secs(30);

const CREATE: &str = "CREATE TABLE IF NOT EXISTS ratelimit_state (
    key TEXT PRIMARY KEY NOT NULL,
    limit_name TEXT NOT NULL,
    tat_unix_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ratelimit_state_tat ON ratelimit_state (tat_unix_us);";
const UPSERT: &str = "INSERT INTO ratelimit_state (key, limit_name, tat_unix_us) VALUES (?1, ?2, ?3)
    ON CONFLICT (key) DO UPDATE SET limit_name = excluded.limit_name, tat_unix_us = excluded.tat_unix_us";
const SELECT_LIVE: &str = "SELECT key, limit_name, tat_unix_us FROM ratelimit_state
    WHERE tat_unix_us > ?1 ORDER BY tat_unix_us DESC LIMIT ?2";

/// The storage file cannot be used: it names the file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PersistError {
    /// The file, as given (resolved against the config file's directory).
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Microseconds since the Unix epoch now (0 if the clock is before 1970).
pub fn unix_now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One stored client of one quota, as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The state key (`api/index|client`).
    pub key: String,
    /// The limit's name (`api/index`).
    pub limit: String,
    /// The TAT, microseconds since the Unix epoch (always in the future when loaded).
    pub tat_unix_us: u64,
}

/// Pending writes: state key -> (length of the limit name at its start, TAT in Unix µs).
struct Pending {
    map: Mutex<HashMap<Box<str>, (usize, u64)>>,
    capacity: usize,
    failures: AtomicU64,
    dropped: AtomicU64,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, (usize, u64)>> {
        // A poisoned map only means a panic elsewhere mid-insert; its entries are still valid.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts back a batch that could not be written, keeping newer values recorded since.
    fn requeue(&self, batch: HashMap<Box<str>, (usize, u64)>) {
        let mut map = self.lock();
        for (key, value) in batch {
            if map.contains_key(&key) {
                continue;
            }
            if map.len() < self.capacity {
                map.insert(key, value);
            } else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

enum Msg {
    /// Write what is pending now, then answer.
    Flush(mpsc::SyncSender<()>),
    /// Write what is pending and end.
    Stop,
}

/// Writes quota state to the storage file behind the request path.
pub struct Persister {
    path: PathBuf,
    pending: Arc<Pending>,
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Persister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persister")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn sqlite_problem(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => format!("not a SQLite database ({e})"),
        Some(ErrorCode::DatabaseCorrupt) => format!("the SQLite database is corrupt ({e})"),
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            format!("cannot be opened ({e})")
        }
        _ => e.to_string(),
    }
}

impl Persister {
    /// Opens the state file at `path` and starts its writer. An existing file is checked and
    /// every live row (TAT after `now_unix_us`, at most `capacity`, furthest from expiring
    /// first) is passed to `restore`; a missing file needs an existing directory and is
    /// created on the first write. `capacity` also bounds the pending writes and the table.
    pub fn open(
        path: &Path,
        capacity: usize,
        now_unix_us: u64,
        mut restore: impl FnMut(Row),
    ) -> Result<Persister, PersistError> {
        let fail = |problem: String| PersistError {
            path: path.display().to_string(),
            problem,
        };
        let conn = match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                return Err(fail("is not a regular file".to_owned()));
            }
            Ok(_) => {
                let conn = open_existing(path).map_err(fail)?;
                load(&conn, now_unix_us, capacity, &mut restore).map_err(fail)?;
                Some(conn)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                if !dir.is_dir() {
                    return Err(fail(format!(
                        "its directory {} does not exist",
                        dir.display()
                    )));
                }
                None
            }
            Err(e) => return Err(fail(format!("cannot be read ({e})"))),
        };
        let pending = Arc::new(Pending {
            map: Mutex::new(HashMap::new()),
            capacity,
            failures: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel();
        let mut writer = Writer {
            path: path.to_owned(),
            conn,
            pending: pending.clone(),
            capacity,
            last_prune: None,
        };
        let handle = std::thread::Builder::new()
            .name("portcullis-quota-writer".to_owned())
            .spawn(move || writer.run(&rx))
            .map_err(|e| fail(format!("cannot start its writer thread ({e})")))?;
        Ok(Persister {
            path: path.to_owned(),
            pending,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the new TAT (Unix µs) of the state key `key`, whose first `name_len` bytes are
    /// the limit's name. Never waits for the disk.
    pub fn record(&self, key: &str, name_len: usize, tat_unix_us: u64) {
        let mut map = self.pending.lock();
        if let Some(slot) = map.get_mut(key) {
            *slot = (name_len, tat_unix_us);
        } else if map.len() < self.pending.capacity {
            map.insert(Box::from(key), (name_len, tat_unix_us));
        } else {
            self.pending.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes everything recorded so far and waits (at most 30 s) until it is written or has
    /// failed. For graceful shutdown; blocks the calling thread.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Flush(ack)).is_ok());
        if sent {
            let _ = done.recv_timeout(FLUSH_WAIT);
        }
    }

    /// How many writes to the file failed.
    pub fn failures(&self) -> u64 {
        self.pending.failures.load(Ordering::Relaxed)
    }

    /// How many updates were lost because the pending writes were full.
    pub fn dropped(&self) -> u64 {
        self.pending.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Persister {
    /// Writes what is pending and stops the writer. Waits for it, except on an async thread
    /// (the configuration a reload replaced, dropped by a request or the reload): there a disk
    /// that hangs would stall every connection of the thread, so the writer finishes on its own.
    fn drop(&mut self) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(handle) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            let _ = handle.join();
        }
    }
}

/// Opens an existing file read-write and checks that it is a sound SQLite database.
fn open_existing(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_problem(&e))?;
    conn.busy_timeout(Duration::from_secs(1))
        .map_err(|e| sqlite_problem(&e))?;
    let check: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| sqlite_problem(&e))?;
    if check != "ok" {
        return Err(format!("the SQLite database is corrupt ({check})"));
    }
    if conn.is_readonly("main").map_err(|e| sqlite_problem(&e))? {
        return Err("is read-only (the gateway writes quota state to it)".to_owned());
    }
    Ok(conn)
}

/// Passes every live row to `restore`.
fn load(
    conn: &Connection,
    now_unix_us: u64,
    capacity: usize,
    restore: &mut impl FnMut(Row),
) -> Result<(), String> {
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'ratelimit_state'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| sqlite_problem(&e))?;
    if !exists {
        return Ok(());
    }
    let shape = |e: rusqlite::Error| {
        format!(
            "its table ratelimit_state cannot be read ({})",
            sqlite_problem(&e)
        )
    };
    let mut stmt = conn.prepare(SELECT_LIVE).map_err(shape)?;
    let now = i64::try_from(now_unix_us).unwrap_or(i64::MAX);
    let limit = i64::try_from(capacity).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![now, limit]).map_err(shape)?;
    while let Some(row) = rows.next().map_err(shape)? {
        let key: String = row.get(0).map_err(shape)?;
        let limit: String = row.get(1).map_err(shape)?;
        let tat: i64 = row.get(2).map_err(shape)?;
        if let Ok(tat_unix_us) = u64::try_from(tat) {
            restore(Row {
                key,
                limit,
                tat_unix_us,
            });
        }
    }
    Ok(())
}

/// The writer thread's state.
struct Writer {
    path: PathBuf,
    conn: Option<Connection>,
    pending: Arc<Pending>,
    capacity: usize,
    last_prune: Option<Instant>,
}

impl Writer {
    fn run(&mut self, rx: &mpsc::Receiver<Msg>) {
        loop {
            let msg = rx.recv_timeout(FLUSH_EVERY);
            self.flush();
            match msg {
                Ok(Msg::Flush(ack)) => {
                    let _ = ack.send(());
                }
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Writes what is pending (and prunes when due); on failure logs, counts and requeues.
    fn flush(&mut self) {
        let batch = std::mem::take(&mut *self.pending.lock());
        let prune_due =
            self.conn.is_some() && self.last_prune.is_some_and(|t| t.elapsed() >= PRUNE_EVERY);
        if batch.is_empty() && !prune_due {
            return;
        }
        if let Err(e) = self.write(&batch) {
            self.pending.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                file = %self.path.display(),
                error = %e,
                entries = batch.len(),
                "cannot write rate-limit quota state (kept in memory, retried)"
            );
            self.pending.requeue(batch);
        }
    }

    fn connection(&mut self) -> rusqlite::Result<&mut Connection> {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                c.busy_timeout(Duration::from_secs(1))?;
                c
            }
        };
        if self.last_prune.is_none() {
            // First use: the schema, and WAL so a write is one append (kept in the file).
            let _mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.execute_batch(CREATE)?;
        }
        Ok(self.conn.insert(conn))
    }

    fn write(&mut self, batch: &HashMap<Box<str>, (usize, u64)>) -> rusqlite::Result<()> {
        let first = self.last_prune.is_none();
        let capacity = i64::try_from(self.capacity).unwrap_or(i64::MAX);
        let conn = self.connection()?;
        let tx = conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(UPSERT)?;
            for (key, (name_len, tat)) in batch {
                let name = key.get(..*name_len).unwrap_or_default();
                upsert.execute(params![
                    key.as_ref(),
                    name,
                    i64::try_from(*tat).unwrap_or(i64::MAX)
                ])?;
            }
        }
        tx.commit()?;
        let prune_due = first || self.last_prune.is_some_and(|t| t.elapsed() >= PRUNE_EVERY);
        if prune_due {
            let conn = self.connection()?;
            prune(conn, unix_now_us(), capacity)?;
            self.last_prune = Some(Instant::now());
        }
        Ok(())
    }
}

/// Deletes rows whose TAT is not after `now_unix_us`, then the rows closest to expiring
/// beyond `capacity`. Returns how many rows were deleted.
fn prune(conn: &Connection, now_unix_us: u64, capacity: i64) -> rusqlite::Result<usize> {
    let now = i64::try_from(now_unix_us).unwrap_or(i64::MAX);
    let mut deleted = conn.execute(
        "DELETE FROM ratelimit_state WHERE tat_unix_us <= ?1",
        params![now],
    )?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM ratelimit_state", [], |r| r.get(0))?;
    if rows > capacity {
        deleted += conn.execute(
            "DELETE FROM ratelimit_state WHERE key IN
                (SELECT key FROM ratelimit_state ORDER BY tat_unix_us ASC LIMIT ?1)",
            params![rows - capacity],
        )?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests;
