//! The soak driver's options (bench/src/bin/soak): a bad one is refused, naming it, before
//! anything is started. Being a test of the `soak` binary, it also makes `cargo test` build
//! the driver itself with the tests' features, which `.ci/run` then runs as built
//! (`SOAK_PREBUILT=1 bench/soak/run.sh`) instead of building it again.

// A test crate: it fails the test (panic) on what it checks, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// Runs the driver with `args`; its exit success and stderr.
fn soak(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_soak"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_option_is_refused_by_name() {
    let (ok, err) = soak(&["--duration", "soon"]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("--duration: \"soon\" is not a whole number"),
        "{err}"
    );

    let (ok, err) = soak(&["--frobnicate", "1"]);
    assert!(!ok, "{err}");
    assert!(err.contains("unknown option --frobnicate"), "{err}");

    // An option without its value: the usage.
    let (ok, err) = soak(&["--max-rss-mib"]);
    assert!(!ok, "{err}");
    assert!(err.contains("usage: soak [--bin PATH]"), "{err}");
}
