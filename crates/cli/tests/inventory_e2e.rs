//! The inventory and the detectors in `portcullis serve`, through the real binary in front of
//! the demo bank (examples/demo/portcullis.yaml, with `storage` and `detect` added):
//! documented, deprecated and undocumented traffic classified in `/api/inventory` (and by
//! `portcullis inventory --admin`); a burst of failed logins raises a stuffing alert in
//! `/api/alerts` and bans the client; after kill -9 and a restart on the same storage file,
//! the inventory written before the kill is still there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Gateway, PATIENCE, endpoint, eventually, plain};

const ADMIN_TOKEN: &str = "inventory-e2e-admin-token-0123456789";

fn demo_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo"))
}

/// The demo's gateway config with the spec's absolute path, storage and detectors (this test's
/// `detect` in place of the demo's).
fn write_config(dir: &Path) -> PathBuf {
    let demo: String = std::fs::read_to_string(demo_dir().join("portcullis.yaml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("detect:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let spec = demo_dir().join("bank.yaml");
    let config = demo.replace("spec: bank.yaml", &format!("spec: {}", spec.display()))
        + "storage: { path: inventory.db, flush: 200ms }\n\
           detect: { ban: 10m, thresholds: { stuffing_failures: 4 } }\n";
    let path = dir.join("gw.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn start(config: &Path, demo: &portcullis_demo::Running) -> Gateway {
    let (bank, idp) = (demo.bank.port().to_string(), demo.idp.port().to_string());
    Gateway::start_with_env(
        config,
        &[
            ("GATEWAY_PORT", "0"),
            ("ADMIN_PORT", "0"),
            ("BANK_PORT", &bank),
            ("IDP_PORT", &idp),
            ("PORTCULLIS_ADMIN_TOKEN", ADMIN_TOKEN),
            ("DECISION_LOG", "off"),
            (
                "RUST_LOG",
                "warn,portcullis=info,portcullis_inventory=debug",
            ),
        ],
    )
}

fn get(gw: &Gateway, path: &str, token: Option<&str>) -> u16 {
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    gw.send(&format!(
        "GET {path} HTTP/1.1\r\nhost: bank\r\nconnection: close\r\n{auth}\r\n"
    ))
    .status
}

fn login(gw: &Gateway, password: &str) -> u16 {
    let body = format!("{{\"username\":\"alice\",\"password\":\"{password}\"}}");
    gw.send(&format!(
        "POST /auth/login HTTP/1.1\r\nhost: bank\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
    .status
}

/// Waits until the inventory shows `n` requests or more on `method path`; returns it.
fn await_requests(gw: &Gateway, method: &str, path: &str, n: u64) -> Value {
    eventually(
        &format!("{n} requests on {method} {path}"),
        PATIENCE,
        || {
            let inv = gw.admin_json("/api/inventory", ADMIN_TOKEN);
            match endpoint(&inv, method, path) {
                Some(e) if e["requests"].as_u64() >= Some(n) => Ok(inv),
                e => Err(format!("{e:?}")),
            }
        },
    )
}

#[test]
fn serve_classifies_alerts_bans_and_keeps_the_inventory_across_kill_9() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let demo = runtime
        .block_on(portcullis_demo::start(None, None))
        .unwrap();
    let token = demo.issuer.sign("alice", &["profile:read"], 600).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let gw = start(&config, &demo);

    for _ in 0..3 {
        assert_eq!(get(&gw, "/users/me", Some(&token)), 200);
        // The zombie: deprecated, refused (`deprecated: block`), but called.
        assert_ne!(get(&gw, "/v1/accounts/1", Some(&token)), 200);
        // Shadow: undocumented, refused (`undocumented: block`), but called.
        assert_eq!(get(&gw, "/debug/config", None), 404);
    }
    let inv = await_requests(&gw, "GET", "/debug/config", 3);
    let inv = if endpoint(&inv, "GET", "/users/me").unwrap()["requests"] == 3 {
        inv
    } else {
        await_requests(&gw, "GET", "/users/me", 3)
    };
    let class = |inv: &Value, m: &str, p: &str| endpoint(inv, m, p).unwrap()["class"].clone();
    assert_eq!(class(&inv, "GET", "/users/me"), "documented");
    assert_eq!(class(&inv, "GET", "/debug/config"), "shadow");
    let inv = await_requests(&gw, "GET", "/v1/accounts/{accountId}", 3);
    assert_eq!(class(&inv, "GET", "/v1/accounts/{accountId}"), "zombie");
    assert_eq!(class(&inv, "GET", "/admin/users"), "unused");
    let me = endpoint(&inv, "GET", "/users/me").unwrap();
    assert_eq!(me["auth"]["valid"], 3, "{me:#}");
    assert_eq!(me["status"]["2xx"], 3);

    // `portcullis inventory --admin` prints the same.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["inventory", "--admin"])
        .arg(format!("http://{}", gw.admin.unwrap()))
        .env("PORTCULLIS_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(class(&printed, "GET", "/debug/config"), "shadow");

    // The inventory reaches the storage file (written every 200 ms)...
    gw.await_stderr("saying the inventory was written with 9 requests", |l| {
        let l = plain(l);
        l.contains("inventory written")
            && l.split("requests=")
                .nth(1)
                .and_then(|n| n.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= 9)
    });
    // ...and survives kill -9 and a restart.
    drop(gw);
    let gw = start(&config, &demo);
    let inv = gw.admin_json("/api/inventory", ADMIN_TOKEN);
    assert_eq!(
        endpoint(&inv, "GET", "/users/me").unwrap()["requests"],
        3,
        "{inv:#}"
    );
    assert_eq!(class(&inv, "GET", "/debug/config"), "shadow");
    assert_eq!(class(&inv, "GET", "/v1/accounts/{accountId}"), "zombie");

    // Credential stuffing: failed logins from one client raise an alert and a ban.
    for _ in 0..4 {
        assert_eq!(login(&gw, "wrong-password"), 401);
    }
    let alert = eventually("a stuffing alert", PATIENCE, || {
        let alerts = gw.admin_json("/api/alerts", ADMIN_TOKEN);
        alerts["alerts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["detector"] == "stuffing").cloned())
            .ok_or_else(|| format!("{alerts:#}"))
    });
    assert_eq!(alert["client"], "127.0.0.1");
    assert_eq!(alert["value"], 4.0);
    assert_eq!(alert["threshold"], 4.0);
    assert_eq!(alert["banned"], true, "{alert:#}");
    assert!(
        alert["figure"]
            .as_str()
            .unwrap()
            .contains("failed or refused logins")
    );
    eventually("the client banned", PATIENCE, || {
        let r = gw.send("GET /users/me HTTP/1.1\r\nhost: bank\r\nconnection: close\r\n\r\n");
        if r.status == 403 {
            Ok(())
        } else {
            Err(format!("{r:?}"))
        }
    });
    drop(gw);
    runtime.block_on(demo.shutdown());
}
