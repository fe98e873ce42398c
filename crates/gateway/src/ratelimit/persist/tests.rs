use std::collections::HashMap;

use super::*;
use crate::ratelimit::memory::MemoryStore;
use crate::ratelimit::{Gcra, KeySource, Limit, Limiter};

const SEC: u64 = 1_000_000;
const DAY: u64 = 86_400;

fn rows_of(path: &Path, now: u64, capacity: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let p = Persister::open(path, capacity, now, |r| rows.push(r)).unwrap();
    drop(p);
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows
}

fn count(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM ratelimit_state", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn recorded_state_is_flushed_and_loaded_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let now = unix_now_us();
    let p = Persister::open(&path, 100, now, |_| panic!("nothing to load")).unwrap();
    assert!(!path.exists(), "opening creates no file");
    p.record("bank/0|10.0.0.1", 6, now + 60 * SEC);
    p.record("bank/0|10.0.0.2", 6, now + 30 * SEC);
    p.record("bank/0|10.0.0.1", 6, now + 90 * SEC);
    p.flush();
    assert_eq!(p.failures(), 0);
    assert_eq!(count(&path), 2);
    // What is recorded after the last flush is written when the persister is dropped.
    p.record("bank/1|alice", 6, now + 120 * SEC);
    drop(p);
    let rows = rows_of(&path, now, 100);
    assert_eq!(
        rows,
        vec![
            Row {
                key: "bank/0|10.0.0.1".into(),
                limit: "bank/0".into(),
                tat_unix_us: now + 90 * SEC
            },
            Row {
                key: "bank/0|10.0.0.2".into(),
                limit: "bank/0".into(),
                tat_unix_us: now + 30 * SEC
            },
            Row {
                key: "bank/1|alice".into(),
                limit: "bank/1".into(),
                tat_unix_us: now + 120 * SEC
            },
        ]
    );
}

#[test]
fn expired_rows_are_not_loaded_and_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let now = unix_now_us();
    let p = Persister::open(&path, 100, now, |_| {}).unwrap();
    p.record("a/0|old", 3, now - 10 * SEC);
    p.record("a/0|live", 3, now + DAY * SEC);
    drop(p);
    // The first write pruned the row already past.
    assert_eq!(count(&path), 1);
    // A row that expires between two runs is not loaded, and the next write deletes it.
    let later = now + 2 * DAY * SEC;
    assert_eq!(rows_of(&path, later, 100), vec![]);
    let p = Persister::open(&path, 100, later, |_| {}).unwrap();
    p.record("a/0|new", 3, unix_now_us() + 60 * SEC);
    drop(p);
    let keys: Vec<String> = rows_of(&path, now, 100)
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, vec!["a/0|live", "a/0|new"]);
    let conn = Connection::open(&path).unwrap();
    // A prune at a time past every TAT empties the table.
    assert_eq!(prune(&conn, later + DAY * SEC, 100).unwrap(), 2);
    assert_eq!(count(&path), 0);
}

#[test]
fn the_table_is_cut_to_capacity_keeping_the_furthest_tats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let now = unix_now_us();
    let p = Persister::open(&path, 3, now, |_| {}).unwrap();
    for i in 1..=3u64 {
        p.record(&format!("a/0|k{i}"), 3, now + i * 100 * SEC);
    }
    // The pending writes are bounded too: a fourth key is dropped and counted.
    p.record("a/0|k4", 3, now + 400 * SEC);
    assert_eq!(p.dropped(), 1);
    p.flush();
    p.record("a/0|k5", 3, now + 500 * SEC);
    p.flush();
    assert_eq!(count(&path), 4);
    let conn = Connection::open(&path).unwrap();
    assert_eq!(prune(&conn, now, 3).unwrap(), 1);
    drop(p);
    // Loading takes at most `capacity` rows, the furthest from expiring first.
    let keys: Vec<String> = rows_of(&path, now, 2).into_iter().map(|r| r.key).collect();
    assert_eq!(keys, vec!["a/0|k3", "a/0|k5"]);
}

#[test]
fn a_failed_write_is_counted_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let now = unix_now_us();
    let p = Persister::open(&path, 100, now, |_| {}).unwrap();
    // Something else takes the path before the first write: SQLite cannot open a directory.
    std::fs::create_dir(&path).unwrap();
    p.record("a/0|x", 3, now + 60 * SEC);
    p.flush();
    assert_eq!(p.failures(), 1);
    std::fs::remove_dir(&path).unwrap();
    p.flush();
    assert_eq!(p.failures(), 1);
    drop(p);
    assert_eq!(
        rows_of(&path, now, 100).len(),
        1,
        "the failed batch was kept"
    );
}

fn open_error(path: &Path) -> PersistError {
    Persister::open(path, 100, unix_now_us(), |_| {}).unwrap_err()
}

#[test]
fn unusable_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, it is a text file of some length\n",
    )
    .unwrap();
    let e = open_error(&text);
    assert_eq!(e.path, text.display().to_string());
    assert!(e.problem.starts_with("not a SQLite database"), "{e}");
    assert!(
        e.to_string().starts_with(&text.display().to_string()),
        "{e}"
    );

    let e = open_error(dir.path());
    assert_eq!(e.problem, "is not a regular file");

    let e = open_error(&dir.path().join("nowhere/state.db"));
    assert!(e.problem.contains("nowhere does not exist"), "{e}");

    // A database of another program, with a table of the same name and another shape.
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE ratelimit_state (id INTEGER PRIMARY KEY, note TEXT)")
        .unwrap();
    let e = open_error(&other);
    assert!(
        e.problem
            .starts_with("its table ratelimit_state cannot be read"),
        "{e}"
    );
}

#[test]
fn a_damaged_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let now = unix_now_us();
    let p = Persister::open(&path, 10_000, now, |_| {}).unwrap();
    for i in 0..2000u64 {
        p.record(&format!("bank/0|client-{i:06}"), 6, now + DAY * SEC + i);
    }
    drop(p);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 3 * 4096, "{} bytes", bytes.len());
    // Overwrite the second page (the start of the table's b-tree) with garbage.
    for b in bytes.iter_mut().skip(4096).take(4096) {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let e = open_error(&path);
    assert!(e.problem.contains("corrupt"), "{e}");
}

#[tokio::test]
async fn a_limiter_with_storage_keeps_quotas_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let quota = Limit::new("bank/0", KeySource::Ip, 5, DAY, 0);
    let per_minute = Limit::new("bank/1", KeySource::Ip, 5, 60, 0);
    let quotas: HashMap<String, Gcra> = HashMap::from([(quota.name.clone(), quota.gcra)]);
    let start = || Limiter::with_storage(MemoryStore::new(1000), &path, &quotas, 1000).unwrap();
    let limiter = start();
    assert_eq!(limiter.storage_path(), Some(path.as_path()));
    for _ in 0..3 {
        assert!(
            limiter
                .check(&[(&quota, "10.0.0.1"), (&per_minute, "10.0.0.1")])
                .await
                .allowed
        );
    }
    limiter.flush_storage();
    drop(limiter);
    // Only the quota was written: the per-minute limit is not worth a write.
    let rows = rows_of(&path, unix_now_us(), 100);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "bank/0|10.0.0.1");

    let limiter = start();
    for left in [1, 0] {
        let d = limiter
            .check(&[(&quota, "10.0.0.1"), (&per_minute, "10.0.0.1")])
            .await;
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (5, left));
    }
    let d = limiter.check(&[(&quota, "10.0.0.1")]).await;
    assert!(!d.allowed);
    assert_eq!(d.denied_by.as_deref(), Some("bank/0"));
    assert!(d.retry_after_secs.is_some_and(|s| s > 3600), "{d:?}");
    // Another client has its whole quota.
    assert_eq!(limiter.check(&[(&quota, "10.0.0.2")]).await.remaining, 4);
    drop(limiter);

    // A limit that is no longer a quota (renamed, shortened...) restores nothing.
    let none = HashMap::new();
    let limiter = Limiter::with_storage(MemoryStore::new(1000), &path, &none, 1000).unwrap();
    assert_eq!(limiter.check(&[(&quota, "10.0.0.1")]).await.remaining, 4);
    drop(limiter);

    // A quota whose limit was shortened is cut to what the new limit allows: 1 per hour,
    // spent, so the wait is at most an hour (the stored TAT is 4.8 h ahead).
    let lowered = Limit::new("bank/0", KeySource::Ip, 1, 3600, 0);
    let quotas = HashMap::from([(lowered.name.clone(), lowered.gcra)]);
    let limiter = Limiter::with_storage(MemoryStore::new(1000), &path, &quotas, 1000).unwrap();
    let d = limiter.check(&[(&lowered, "10.0.0.1")]).await;
    assert!(!d.allowed);
    assert!(
        d.retry_after_secs.is_some_and(|s| s > 3000 && s <= 3600),
        "{d:?}"
    );
}
