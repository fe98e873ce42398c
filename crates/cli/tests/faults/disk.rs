//! Storage faults while the gateway runs: the file system of `storage.path` full (a small tmpfs
//! mounted by the test), and turned read-only under the running gateway (an ext4 image on a
//! loop device, mounted `errors=remount-ro`, whose error the test triggers through
//! `/sys/fs/ext4/<dev>/trigger_fs_error`, as a failing disk does; a tmpfs cannot be remounted
//! read-only while the gateway holds the file open for writing). Writes of the inventory and of
//! the quotas fail, are logged naming the file and counted; requests are served all along; once
//! the disk has space again, writing resumes on its own and what was kept in memory reaches the
//! file (checked after kill -9 and a restart).
//!
//! Needs root, `mount`, loop devices and `mkfs.ext4`: without them a test says it skipped, and
//! fails when CI=true.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::inventory::{TOKEN, config, inventory_total, start, written};
use super::support::{Gateway, PATIENCE, eventually, plain};

/// A file system mounted by the test, unmounted (and its loop device freed) on drop.
pub(super) struct Mount {
    pub(super) dir: PathBuf,
    loop_device: Option<String>,
}

/// Says why a disk fault cannot be set up here and returns `None`; fails when CI=true.
pub(super) fn skip<T>(why: &str) -> Option<T> {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}, and CI=true: the disk fault tests cannot be skipped in CI (run them as root)"
    );
    eprintln!("skipped: {why} (the disk fault tests need root, mount, loop devices and mkfs.ext4)");
    None
}

/// Runs a command; its stdout, or why it failed.
pub(super) fn run(program: &str, args: &[&str]) -> Result<String, String> {
    match Command::new(program).args(args).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        Ok(o) => Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

impl Mount {
    /// Mounts a tmpfs of `size` at `dir`.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let target = dir.to_str().unwrap();
        match run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                target,
            ],
        ) {
            Ok(_) => Some(Mount {
                dir: dir.to_owned(),
                loop_device: None,
            }),
            Err(why) => skip(&format!("cannot mount a tmpfs ({why})")),
        }
    }

    /// Mounts an ext4 image `image` of 16 MiB at `dir` through a loop device, with
    /// `errors=remount-ro`.
    pub(super) fn ext4(image: &Path, dir: &Path) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::File::create(image)
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        let image = image.to_str().unwrap();
        if let Err(why) = run("mkfs.ext4", &["-q", image]) {
            return skip(&format!("cannot make an ext4 image ({why})"));
        }
        let device = match run("losetup", &["-f", "--show", image]) {
            Ok(d) => d,
            Err(why) => return skip(&format!("cannot attach a loop device ({why})")),
        };
        let mut mount = Mount {
            dir: dir.to_owned(),
            loop_device: Some(device.clone()),
        };
        // A loop device left write-protected by someone else would mount read-only.
        let _ = run("blockdev", &["--setrw", &device]);
        if let Err(why) = run(
            "mount",
            &["-o", "errors=remount-ro", &device, dir.to_str().unwrap()],
        ) {
            mount.dir = PathBuf::new();
            return skip(&format!("cannot mount {device} ({why})"));
        }
        Some(mount)
    }

    /// Makes the ext4 file system fail as a broken disk does: it turns itself read-only.
    fn fail_read_only(&self) {
        let device = self.loop_device.as_deref().unwrap();
        let name = device.rsplit('/').next().unwrap();
        std::fs::write(
            format!("/sys/fs/ext4/{name}/trigger_fs_error"),
            "faults_e2e\n",
        )
        .expect("trigger an ext4 error");
        // (The mount still says `rw`, with `emergency_ro`: a write is what tells.)
        let probe = std::fs::File::create(self.dir.join("probe"));
        assert!(
            matches!(&probe, Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem),
            "{device} is not read-only after the error: {probe:?}"
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
        if let Some(d) = &self.loop_device {
            let _ = Command::new("losetup").args(["-d", d]).status();
        }
    }
}

/// Fills the file system of `dir` with `filler` until it is full.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 64 * 1024];
    // Bounded: a tmpfs of a few MiB is full after a few hundred blocks.
    for _ in 0..100_000 {
        if f.write_all(&block).and_then(|()| f.sync_all()).is_err() {
            return;
        }
    }
    panic!("{} never filled up", dir.display());
}

/// Sends requests on new paths (new inventory rows) from new clients (new quota rows),
/// `n` of them tagged `tag`; each must be answered.
pub(super) fn traffic(gw: &Gateway, tag: &str, n: u32) {
    for i in 0..n {
        let path = if i % 2 == 0 {
            format!("/new/{tag}-{i}")
        } else {
            "/public".to_owned()
        };
        let r = gw.send(&format!(
            "GET {path} HTTP/1.1\r\nhost: inv\r\nx-forwarded-for: 10.9.{}.{}\r\nconnection: close\r\n\r\n",
            i / 200,
            i % 200 + 1
        ));
        assert!(
            r.status == 200 || r.status == 404,
            "{path} while the disk fails: {r:?}"
        );
    }
}

/// Lines saying a write failed so far.
fn failures(gw: &Gateway) -> Vec<String> {
    gw.stderr
        .lock()
        .unwrap()
        .lines()
        .map(plain)
        .filter(|l| l.contains("cannot write the inventory"))
        .collect()
}

/// Waits until writes fail (more failure lines than `before`), sending traffic meanwhile.
fn await_failure(gw: &Gateway, tag: &str, before: usize) -> String {
    eventually(&format!("a failed write ({tag})"), PATIENCE, || {
        traffic(gw, tag, 4);
        let f = failures(gw);
        if f.len() > before {
            Ok(f.last().cloned().unwrap())
        } else {
            Err(format!("{} failures", f.len()))
        }
    })
}

/// Waits until a write succeeds after `before` successful writes, sending traffic meanwhile;
/// its request count.
pub(super) fn await_write(gw: &Gateway, tag: &str, before: usize) -> u64 {
    eventually(&format!("a successful write ({tag})"), PATIENCE, || {
        traffic(gw, tag, 2);
        let w = written(gw);
        if w.len() > before {
            Ok(*w.last().unwrap())
        } else {
            Err(format!("{} writes", w.len()))
        }
    })
}

/// A gateway with the inventory and a quota (a limit per day) in `db`.
pub(super) fn start_on(dir: &Path, db: &Path) -> (Gateway, PathBuf) {
    let config = config(
        dir,
        &format!("storage: {{ path: \"{}\", flush: 100ms }}\n", db.display()),
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "upstream:",
        "rate_limits: [{ key: ip, limit: 100000, per: 1d }], upstream:",
    );
    std::fs::write(&config, text).unwrap();
    (start(&config), config)
}

#[test]
fn a_full_disk_fails_writes_never_requests_and_writing_resumes_with_space() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&dir.path().join("disk"), "4m") else {
        return;
    };
    let db = mount.dir.join("inventory.db");
    let (mut gw, config) = start_on(dir.path(), &db);
    await_write(&gw, "start", 0);

    fill(&mount.dir);
    let line = await_failure(&gw, "full", 0);
    assert!(
        line.contains(&db.display().to_string()),
        "the failure does not name the file: {line}"
    );
    gw.await_metric("portcullis_ratelimit_storage_failures", TOKEN, "> 0", |v| {
        v > 0.0
    });
    gw.assert_alive();

    // Space again: writing resumes on its own, with what was recorded meanwhile.
    std::fs::remove_file(mount.dir.join("filler")).unwrap();
    let last = await_write(&gw, "freed", written(&gw).len());
    // What the last write reported survives kill -9 and a restart on the same file.
    drop(gw);
    let gw = start(&config);
    let loaded = inventory_total(&gw);
    assert!(
        loaded >= last,
        "{loaded} requests loaded, {last} were written"
    );
}

#[test]
fn a_disk_turning_read_only_fails_writes_never_requests() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::ext4(&dir.path().join("disk.img"), &dir.path().join("disk")) else {
        return;
    };
    let db = mount.dir.join("inventory.db");
    let (mut gw, _config) = start_on(dir.path(), &db);
    await_write(&gw, "start", 0);

    mount.fail_read_only();
    let line = await_failure(&gw, "read-only", 0);
    assert!(
        line.contains(&db.display().to_string()),
        "the failure does not name the file: {line}"
    );
    gw.await_metric("portcullis_ratelimit_storage_failures", TOKEN, "> 0", |v| {
        v > 0.0
    });
    // Requests go on being served while every write fails.
    traffic(&gw, "still-read-only", 20);
    gw.assert_alive();
    // A graceful stop with the disk still read-only ends the process all the same.
    gw.terminate();
}
