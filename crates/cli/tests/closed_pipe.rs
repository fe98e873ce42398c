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
    let status = closed_stdout_status(args);
    assert!(status.success(), "{args:?} exited with {status}");
}

/// Runs `portcullis args` with a closed stdout: no panic, nothing on stderr; its exit status.
fn closed_stdout_status(args: &[&str]) -> std::process::ExitStatus {
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
    status
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

/// `portcullis audit --fail-on low spec.yaml | head`: the closed pipe ends the output, not the
/// exit code, which the findings decide (1: this spec has findings at `low` and above).
#[test]
fn a_closed_stdout_keeps_the_audits_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    for format in ["text", "json", "sarif"] {
        let status = closed_stdout_status(&[
            "audit",
            spec.to_str().unwrap(),
            "--fail-on",
            "low",
            "--format",
            format,
        ]);
        assert_eq!(status.code(), Some(1), "{format}: {status}");
    }
}
