//! A disk that hangs rather than fails: `storage.path` on an ext4 file system (an image on a
//! loop device) that the test freezes (`fsfreeze -f`, the FIFREEZE ioctl: every write to the
//! file system then waits, in uninterruptible sleep, until `fsfreeze -u`), as writes do on a
//! dying disk, a stalled SAN or a full thin pool. No FUSE and no device-mapper (absent from
//! this kernel): the kernel's own freeze, so the gateway's writer threads block where they
//! would on real hardware, in `write` or `fsync`. The request path must not wait for them.
//!
//! Needs root, loop devices, `fsfreeze` and `mkfs.ext4`: without them the test says it
//! skipped, and fails when CI=true.

use std::path::{Path, PathBuf};

use super::disk::{Mount, await_write, run, skip, start_on, traffic};
use super::inventory::{TOKEN, inventory_total, written};
use super::support::{Gateway, PATIENCE, Resp, eventually};

/// A frozen file system, thawed on drop (so that no process is left in uninterruptible sleep,
/// whatever the test does; declared after the gateway, it is dropped before the gateway is
/// killed and waited for).
struct Frozen(PathBuf);

impl Frozen {
    fn freeze(dir: &Path) -> Option<Frozen> {
        match run("fsfreeze", &["-f", dir.to_str().unwrap()]) {
            Ok(_) => Some(Frozen(dir.to_owned())),
            Err(why) => skip(&format!("cannot freeze {} ({why})", dir.display())),
        }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = run("fsfreeze", &["-u", self.0.to_str().unwrap_or_default()]);
    }
}

/// The state letters (`R`, `S`, `D`...) of the gateway's threads whose names start with
/// `prefix` (the kernel keeps 15 bytes of a name: `portcullis-inve` is the inventory's store
/// writer and its replica reader alike).
fn thread_states(gw: &Gateway, prefix: &str) -> Vec<char> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", gw.pid())) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if !comm.trim().starts_with(prefix) {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // `pid (comm) S ...`: the state follows the last `)`.
            stat.rsplit_once(") ")?.1.chars().next()
        })
        .collect()
}

/// The 15 bytes the kernel keeps of the inventory writer's name.
const INVENTORY: &str = "portcullis-inve";
/// And of the quota writer's.
const QUOTAS: &str = "portcullis-quot";

#[test]
fn a_disk_that_hangs_never_stalls_requests_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::ext4(&dir.path().join("disk.img"), &dir.path().join("disk")) else {
        return;
    };
    let db = mount.dir.join("inventory.db");
    let (mut gw, _config) = start_on(dir.path(), &db);
    await_write(&gw, "start", 0);

    let Some(frozen) = Frozen::freeze(&mount.dir) else {
        return;
    };
    await_blocked(&gw, INVENTORY);
    eprintln!(
        "the disk hangs: inventory threads {:?}, quota writer {:?}",
        thread_states(&gw, INVENTORY),
        thread_states(&gw, QUOTAS)
    );
    let writes = written(&gw).len();
    // Requests are answered all along (each within the client's read deadline), and so is
    // the admin API, while the writers wait.
    traffic(&gw, "while-hung", 200);
    let metrics = gw.admin("GET", "/metrics", Some(TOKEN));
    assert_eq!(metrics.status, 200, "/metrics while the disk hangs");
    let seen = inventory_total(&gw);
    assert!(
        seen >= 200,
        "/api/inventory while the disk hangs: {seen} requests"
    );
    assert_eq!(
        written(&gw).len(),
        writes,
        "a write reported done while the disk hangs"
    );
    assert!(
        thread_states(&gw, INVENTORY).contains(&'D'),
        "the writer is no longer waiting for the disk: the test proves nothing"
    );
    gw.assert_alive();

    // The disk answers again: the waiting write completes and writing goes on.
    drop(frozen);
    await_write(&gw, "thawed", writes);
    traffic(&gw, "after", 10);

    // A graceful stop while the disk hangs: the listener is closed at once (no new client is
    // taken); the process ends once the disk answers and the writers finish (a thread waiting
    // in the kernel cannot be ended by any signal, SIGKILL included).
    let frozen = Frozen::freeze(&mount.dir).unwrap();
    await_blocked(&gw, INVENTORY);
    gw.signal_terminate();
    eventually("the listener closed during the stop", PATIENCE, || {
        match std::net::TcpStream::connect(gw.addr) {
            Err(_) => Ok(()),
            Ok(_) => Err("still accepting".to_owned()),
        }
    });
    drop(frozen);
    let status = gw.await_exit();
    assert!(
        status.success(),
        "graceful stop once the disk answered: {status:?}"
    );
}

/// Waits until a thread whose name starts with `prefix` ([`INVENTORY`], [`QUOTAS`]) is stuck in
/// the kernel on its write (uninterruptible sleep); requests on new paths from new clients
/// keep giving the writers something to write.
fn await_blocked(gw: &Gateway, prefix: &str) {
    eventually(&format!("{prefix}* blocked on the disk"), PATIENCE, || {
        traffic(gw, "hanging", 2);
        let states = thread_states(gw, prefix);
        if states.contains(&'D') {
            Ok(())
        } else {
            Err(format!("thread states {states:?}"))
        }
    });
}

/// `POST /api/reload`, from a thread of its own while the test thread sends traffic.
fn reload_meanwhile(gw: &Gateway, tag: &str) -> Resp {
    let admin = gw.admin.unwrap();
    let reload = std::thread::spawn(move || {
        super::support::send(
            admin,
            format!(
                "POST /api/reload HTTP/1.1\r\nhost: admin\r\nconnection: close\r\nauthorization: Bearer {TOKEN}\r\nx-portcullis-admin: 1\r\ncontent-length: 0\r\n\r\n"
            )
            .as_bytes(),
        )
    });
    while !reload.is_finished() {
        traffic(gw, tag, 2);
    }
    reload.join().unwrap()
}

#[test]
fn a_reload_while_the_disk_hangs_never_stalls_requests() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::ext4(&dir.path().join("disk.img"), &dir.path().join("disk")) else {
        return;
    };
    let db = mount.dir.join("inventory.db");
    let (mut gw, config) = start_on(dir.path(), &db);
    await_write(&gw, "start", 0);
    let Some(frozen) = Frozen::freeze(&mount.dir) else {
        return;
    };
    await_blocked(&gw, INVENTORY);
    let text = std::fs::read_to_string(&config).unwrap();

    // A reload that builds a new rate limiter (`replicas` changed) must open the quota file
    // on the hanging disk: it fails after its bound, naming the file, and the running
    // configuration goes on serving; requests are answered while it waits.
    std::fs::write(&config, format!("{text}state: {{ replicas: 2 }}\n")).unwrap();
    let r = reload_meanwhile(&gw, "reload-on-hung-disk");
    assert_eq!(r.status, 422, "a reload opening the hung file: {r:?}");
    assert!(
        r.body.contains("/storage/path") && r.body.contains("did not answer"),
        "{r:?}"
    );
    traffic(&gw, "after-failed-reload", 20);

    // A reload to storage on a disk that answers, with a new limiter: the replaced one's
    // writer, stuck on the old disk, is left to finish on its own, never waited for by the
    // thread that dropped it.
    let elsewhere = dir.path().join("elsewhere.db");
    let moved = text.replace(&db.display().to_string(), &elsewhere.display().to_string());
    std::fs::write(&config, format!("{moved}state: {{ replicas: 2 }}\n")).unwrap();
    await_blocked(&gw, QUOTAS);
    let r = reload_meanwhile(&gw, "reload-elsewhere");
    assert_eq!(r.status, 200, "a reload to a disk that answers: {r:?}");
    traffic(&gw, "after-reload", 50);
    gw.assert_alive();
    drop(frozen);
    traffic(&gw, "thawed", 10);
    let status = gw.terminate();
    assert!(status.success(), "graceful stop: {status:?}");
}
