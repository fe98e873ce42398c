//! `portcullis init` end to end, over real-world specs from the corpus ($PORTCULLIS_CORPUS):
//! the starter config it writes passes `portcullis check`, and `portcullis serve` runs it in
//! monitor mode in front of a real upstream on 127.0.0.1, with the admin API and the dashboard.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::store::ADMIN_TOKEN;
use support::{Gateway, PATIENCE, echo_upstream, eventually};

/// A 2.0 document, 3.0 YAML and JSON, 3.1 JSON, with bearer, OAuth2, API key and basic schemes.
const DOCUMENTS: &[&str] = &[
    "apisguru__archive.org-wayback-1.0.0.yaml",
    "apisguru__googleapis.com-calendar-v3.yaml",
    "pagerduty__scim-openapiv3.json",
    "adyen__payout-service-v68.json",
];

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        });
    if dir.join("MANIFEST.tsv").is_file() {
        Some(dir)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("corpus not found at {} (CI=true)", dir.display());
    } else {
        println!("skipped: corpus not found at {}", dir.display());
        None
    }
}

fn portcullis(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .current_dir(dir)
        .args(args)
        .env("PORTCULLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("run portcullis")
}

#[test]
fn init_writes_a_config_that_check_accepts_and_serve_runs() {
    let Some(corpus) = corpus() else { return };
    let upstream = echo_upstream();
    for doc in DOCUMENTS {
        let dir = tempfile::tempdir().unwrap();
        let spec = corpus.join(doc);
        let out = portcullis(
            dir.path(),
            &[
                "init",
                "--spec",
                spec.to_str().unwrap(),
                "--upstream",
                &format!("http://{upstream}"),
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ],
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{doc}: init failed: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.starts_with("wrote portcullis.yaml: API "),
            "{doc}: {said}"
        );
        let config = dir.path().join("portcullis.yaml");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains("    mode: monitor\n"), "{doc}: {text}");

        // A second init does not overwrite it.
        let again = portcullis(
            dir.path(),
            &[
                "init",
                "--spec",
                spec.to_str().unwrap(),
                "--upstream",
                "http://127.0.0.1:9",
            ],
        );
        assert_eq!(again.status.code(), Some(2), "{doc}");
        assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

        let check = portcullis(dir.path(), &["check", "--config", "portcullis.yaml"]);
        assert!(
            check.status.success(),
            "{doc}: check refused the starter config:\n{}\n{text}",
            String::from_utf8_lossy(&check.stderr)
        );

        let gw = Gateway::start_with_env(&config, &[("PORTCULLIS_ADMIN_TOKEN", ADMIN_TOKEN)]);
        // Monitor mode: an undocumented path is logged as a would-be block and let through.
        let resp = gw
            .send("GET /portcullis-init-probe HTTP/1.1\r\nhost: api\r\nconnection: close\r\n\r\n");
        assert_eq!(resp.status, 200, "{doc}: {}", resp.body);
        let decision = eventually("the probe's decision", PATIENCE, || {
            let list = gw.admin(
                "GET",
                "/api/decisions?rule=route.undocumented",
                Some(ADMIN_TOKEN),
            );
            list.json()
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|d| d["path"] == "/portcullis-init-probe")
                        .cloned()
                })
                .ok_or(list.body)
        });
        assert_eq!(decision["decision"], "monitor", "{doc}: {decision}");
        let page = gw.admin("GET", "/", None);
        assert_eq!(page.status, 200, "{doc}: the dashboard");
        assert!(page.body.contains("Portcullis"));
    }
}
