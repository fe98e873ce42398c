//! `portcullis scan` as a process against the demo bank on 127.0.0.1 (issue 26, measured by):
//! every planted flaw a check covers is found (examples/demo/scan-ground-truth.tsv) and
//! nothing else; the fixed twin (the same API with the flaws removed) gives nothing at medium
//! or above; and no request leaves the target's origin: the bank counts every request it
//! gets, which must equal what the scan says it sent, while a trap server named in the
//! spec's `servers` (and its OAuth URLs) must get none.
//!
//! The bank runs in this test's process (like the other end-to-end tests' upstreams), built
//! from `portcullis_demo::bank` with a counting layer: no hidden flag in the binary needed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use portcullis_demo::bank::{Bank, BankOptions};
use portcullis_demo::idp::Idp;
use serde_json::Value;

const GROUND_TRUTH: &str = include_str!("../../../examples/demo/scan-ground-truth.tsv");
const SCAN_CONFIG: &str = include_str!("../../../examples/demo/scan.yaml");

/// Starts the bank (weak or fixed) on 127.0.0.1, counting the requests it receives.
async fn start_bank(fixed: bool) -> (SocketAddr, Arc<AtomicUsize>) {
    let idp = tokio::task::spawn_blocking(|| Idp::generate("http://127.0.0.1:1/"))
        .await
        .unwrap()
        .unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let app = Bank::with_options(Arc::new(idp), BankOptions { fixed })
        .router()
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, count)
}

/// A listener that counts the connections it is offered (none expected).
async fn start_trap() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    (addr, count)
}

struct Run {
    code: Option<i32>,
    report: Value,
    stderr: String,
    bank_requests: usize,
    trap_connections: usize,
}

/// Scans a bank through the real binary with the example configuration (`safe: false` when
/// `unsafe_mode`).
async fn scan(fixed: bool, dir: &Path) -> Run {
    scan_with(fixed, false, dir).await
}

async fn scan_with(fixed: bool, unsafe_mode: bool, dir: &Path) -> Run {
    let (bank, received) = start_bank(fixed).await;
    let (trap, trapped) = start_trap().await;
    // The spec as shipped, with every absolute URL in it pointing at the trap.
    let spec = portcullis_demo::BANK_SPEC
        .replace("http://127.0.0.1:8080", &format!("http://{trap}"))
        .replace("http://127.0.0.1:8082", &format!("http://{trap}"));
    std::fs::write(dir.join("bank.yaml"), spec).unwrap();
    let config = if unsafe_mode {
        SCAN_CONFIG.replace("safe: true", "safe: false")
    } else {
        SCAN_CONFIG.to_owned()
    };
    std::fs::write(dir.join("scan.yaml"), config).unwrap();
    let (target, dir) = (format!("http://{bank}"), dir.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["scan", "--target", &target, "--spec"])
            .arg(dir.join("bank.yaml"))
            .arg("--config")
            .arg(dir.join("scan.yaml"))
            .args(["--format", "json", "--fail-on", "medium"])
            .env("SCAN_RATE", "500/s")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    Run {
        code: out.status.code(),
        report,
        stderr,
        bank_requests: received.load(Ordering::SeqCst),
        trap_connections: trapped.load(Ordering::SeqCst),
    }
}

/// The number of requests `portcullis scan` says it sent.
fn requests_sent(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.contains(" requests to "))
        .unwrap_or_else(|| panic!("no summary line on stderr:\n{stderr}"));
    line.trim_start_matches("portcullis scan: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// (rule, place) of a finding: the operation, or the path of an undocumented URL.
fn place(f: &Value) -> (String, String) {
    let rule = f["rule"].as_str().unwrap().to_owned();
    let at = match f["location"]["operation"].as_str() {
        Some(op) => op.to_owned(),
        None => {
            let url = f["location"]["url"].as_str().unwrap();
            let path = url.splitn(4, '/').nth(3).unwrap_or("");
            format!("/{}", path.split('?').next().unwrap())
        }
    };
    (rule, at)
}

fn no_request_left_the_origin(run: &Run) {
    // Piped stderr: no progress display, only notes and the summary line.
    assert!(
        !run.stderr.contains('\u{1b}') && !run.stderr.contains('\r'),
        "progress output on a pipe:\n{}",
        run.stderr
    );
    assert_eq!(
        run.trap_connections, 0,
        "a request went to the spec's servers"
    );
    assert_eq!(
        requests_sent(&run.stderr),
        run.bank_requests,
        "every request the scan sent reached the bank, and only those\n{}",
        run.stderr
    );
}

/// (rule, place) pairs.
type Places = BTreeSet<(String, String)>;

/// The ground truth: (rule, place) the safe scan must report, and those only `safe: false`
/// proves.
fn ground_truth() -> (Places, Places) {
    let (mut safe, mut unsafe_only) = (BTreeSet::new(), BTreeSet::new());
    for line in GROUND_TRUTH
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "bad ground-truth row {line:?}");
        if cols[1] != "-" {
            safe.insert((cols[1].to_owned(), cols[2].to_owned()));
        } else if let Some(rest) = cols[2].strip_prefix("safe:false ") {
            let (rule, op) = rest.split_once(' ').expect("safe:false RULE OPERATION");
            unsafe_only.insert((rule.to_owned(), op.to_owned()));
        }
    }
    (safe, unsafe_only)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_finds_every_planted_flaw_of_the_bank_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let run = scan(false, dir.path()).await;
    let findings = run.report["findings"].as_array().unwrap();
    let found: BTreeSet<(String, String)> = findings.iter().map(place).collect();
    let (expected, _) = ground_truth();
    let missed: Vec<_> = expected.difference(&found).collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed {missed:?}\nnot in the ground truth {extra:?}\nstderr:\n{}",
        run.stderr
    );
    assert_eq!(run.code, Some(1), "findings at medium or above exit 1");
    // Every finding carries its proof, and no secret leaks into the report.
    for f in findings {
        let evidence = f["evidence"].as_str().unwrap();
        // `curl -I` replays a HEAD (method tampering).
        assert!(
            evidence.contains("reproduce: curl -i") || evidence.contains("reproduce: curl -I"),
            "{f:#}"
        );
        assert!(f["exchange"]["request"].is_string() && f["exchange"]["response"].is_string());
        assert!(f["owasp"].is_string() && f["cwe"].is_string(), "{f:#}");
    }
    let text = run.report.to_string();
    for secret in [
        "alice-demo-pw",
        "bob-demo-pw",
        "root-demo-pw",
        "S3cr3t-demo-password",
    ] {
        assert!(!text.contains(secret), "{secret} is in the report");
    }
    no_request_left_the_origin(&run);
}

/// The fixed twin, scanned with `safe: false` (every check runs, the writes and the ReDoS
/// probes included): nothing at medium or above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixed_twin_gives_nothing_at_medium_or_above() {
    let dir = tempfile::tempdir().unwrap();
    let run = scan_with(true, true, dir.path()).await;
    let serious: Vec<(String, String)> = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("critical" | "high" | "medium")))
        .map(place)
        .collect();
    assert!(serious.is_empty(), "{serious:?}\n{:#}", run.report);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    no_request_left_the_origin(&run);
}

/// With `safe: false` the updates run too: the ground truth's `safe:false` rows are proved
/// (another user's account renamed and read back by its owner, the profile update's mass
/// assignment and ReDoS), besides every safe row, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_mode_also_proves_the_flaws_of_the_updates() {
    let dir = tempfile::tempdir().unwrap();
    let run = scan_with(false, true, dir.path()).await;
    let found: BTreeSet<(String, String)> = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(place)
        .collect();
    let (safe, unsafe_only) = ground_truth();
    let expected: BTreeSet<(String, String)> = safe.union(&unsafe_only).cloned().collect();
    let missed: Vec<_> = expected.difference(&found).collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed {missed:?}\nnot in the ground truth {extra:?}\nstderr:\n{}",
        run.stderr
    );
    no_request_left_the_origin(&run);
}

fn portcullis(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Bad input exits 2 with a message naming the file, the line and the problem; nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_with_a_located_message() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bank.yaml");
    std::fs::write(&spec, portcullis_demo::BANK_SPEC).unwrap();
    let spec = spec.to_str().unwrap().to_owned();
    let config = dir.path().join("scan.yaml");
    std::fs::write(&config, "safe: true\nbudget: { requests: 10, rat: 5 }\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let (trap, trapped) = start_trap().await;
    let target = format!("http://{trap}");
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        portcullis(&[
            "scan", "--target", &target, "--spec", &spec, "--config", &config,
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("scan.yaml:2:") && stderr.contains("/budget/rat"),
        "{stderr}"
    );
    assert_eq!(trapped.load(Ordering::SeqCst), 0);

    let (code, stderr) = portcullis(&["scan", "--target", "ftp://example.com", "--spec", "x.yaml"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("only http:// and https://"), "{stderr}");

    // A target that never answers is an error, not a clean scan.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let spec_path = dir.path().join("bank.yaml").to_str().unwrap().to_owned();
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        portcullis(&["scan", "--target", &closed_url, "--spec", &spec_path])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("never answered"), "{stderr}");

    // An identity that cannot log in stops the scan before any check.
    let (bank, _) = start_bank(false).await;
    let config = dir.path().join("wrong.yaml");
    std::fs::write(
        &config,
        SCAN_CONFIG.replace("alice-demo-pw", "not-her-password"),
    )
    .unwrap();
    let (target, config, spec) = (
        format!("http://{bank}"),
        config.to_str().unwrap().to_owned(),
        dir.path().join("bank.yaml").to_str().unwrap().to_owned(),
    );
    let (code, stderr) = tokio::task::spawn_blocking(move || {
        portcullis(&[
            "scan", "--target", &target, "--spec", &spec, "--config", &config,
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("identity `alice`") && stderr.contains("401"),
        "{stderr}"
    );
}
