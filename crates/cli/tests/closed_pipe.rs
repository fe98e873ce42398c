//! Every printing subcommand with its standard output closed before it writes
//! (`portcullis check --config x | head -0`): no panic, nothing on stderr, exit 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::process::{Command, Stdio};

const SPEC: &str = "openapi: 3.0.3
info: { title: t, version: '1' }
paths:
  /ping:
    get:
      operationId: ping
      responses: { '200': { description: ok } }
";

const CONFIG: &str = "apis:
  - name: t
    spec: spec.yaml
    upstream: http://127.0.0.1:9
";

/// Runs `portcullis args` with its stdout a pipe whose reading end is closed at once.
fn run_with_closed_stdout(args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portcullis");
    // Closing the only reading end: every write to stdout now fails with EPIPE.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    assert!(
        !stderr.contains("panicked"),
        "{args:?} panicked on a closed pipe: {stderr}"
    );
    assert_eq!(stderr, "", "{args:?} wrote to stderr");
    assert!(status.success(), "{args:?} exited with {status}");
}

#[test]
fn check_tolerates_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.yaml"), SPEC).unwrap();
    let config = dir.path().join("gw.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    run_with_closed_stdout(&["check", "--config", config.to_str().unwrap()]);
}

#[test]
fn audit_keys_and_completions_tolerate_a_closed_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    run_with_closed_stdout(&["audit", spec.to_str().unwrap(), "--fail-on", "critical"]);
    run_with_closed_stdout(&["audit", "--list-rules"]);
    run_with_closed_stdout(&["keys", "new", "--id", "ci-bot"]);
    run_with_closed_stdout(&["completions", "bash"]);
    run_with_closed_stdout(&["completions", "zsh"]);
}
