//! `portcullis demo`: the weak bank, the demo identity provider and the gateway in front of
//! the bank, on 127.0.0.1, with the configuration from examples/demo (embedded).

use std::path::PathBuf;

use anyhow::Context;
use portcullis_gateway::config::Config;
use portcullis_gateway::identity::jwt::system_clock;
use portcullis_gateway::server;

use super::{Outcome, print};
use crate::args::{DemoArgs, DemoFormat};

/// The gateway configuration the demo runs (examples/demo/portcullis.yaml).
const DEMO_CONFIG: &str = include_str!("../../../../examples/demo/portcullis.yaml");

/// A scratch directory for the bank's spec, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the demo.
pub fn run(args: &DemoArgs) -> anyhow::Result<Outcome> {
    // The demo's own output is the point: only warnings from the servers (RUST_LOG overrides).
    super::serve::init_logging("warn");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(args))
}

async fn demo(args: &DemoArgs) -> anyhow::Result<Outcome> {
    let bank = portcullis_demo::start(None, None)
        .await
        .context("cannot start the demo bank and identity provider")?;
    let scratch =
        Scratch(std::env::temp_dir().join(format!("portcullis-demo-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)
        .with_context(|| format!("cannot create {}", scratch.0.display()))?;
    std::fs::write(scratch.0.join("bank.yaml"), portcullis_demo::BANK_SPEC)
        .with_context(|| format!("cannot write {}", scratch.0.display()))?;
    let token = portcullis_gateway::admin::generate_token();
    let gateway_port = args.port.unwrap_or(0).to_string();
    let (bank_port, idp_port) = (bank.bank.port().to_string(), bank.idp.port().to_string());
    let decisions = if args.attack || args.traffic {
        "off"
    } else {
        "stdout"
    };
    let env = |name: &str| -> Option<String> {
        match name {
            "GATEWAY_PORT" => Some(gateway_port.clone()),
            "ADMIN_PORT" => Some("0".to_owned()),
            "BANK_PORT" => Some(bank_port.clone()),
            "IDP_PORT" => Some(idp_port.clone()),
            "PORTCULLIS_ADMIN_TOKEN" => Some(token.clone()),
            "DECISION_LOG" => Some(decisions.to_owned()),
            _ => None,
        }
    };
    let config = Config::from_str_in(
        "examples/demo/portcullis.yaml (embedded)",
        DEMO_CONFIG,
        &scratch.0,
        &env,
    )?;
    // The inventory (and the dashboard's view of it) of the demo's traffic, and the audit
    // findings of the demo's spec.
    let audit = super::admin_audit::router(&config);
    let (extend, wired) = crate::wire::inventory::build(&config)?;
    let gateway = server::start_extended(config, None, system_clock(), move |hooks| {
        let mut ext = extend(hooks);
        ext.admin = Some(match ext.admin.take() {
            Some(r) => r.merge(audit),
            None => audit,
        });
        ext
    })
    .await?;
    let direct = format!("http://{}", bank.bank);
    let protected = format!("http://{}", gateway.addr);
    let outcome = if args.attack {
        let report =
            portcullis_demo::attack::run(&direct, &protected, bank.issuer.issuer()).await?;
        match args.format {
            DemoFormat::Json => print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&portcullis_demo::attack::json_rows(&report))?
            ))?,
            DemoFormat::Text => print(&portcullis_demo::attack::table(&report))?,
        }
        if report.all_good() {
            Outcome::Clean
        } else {
            Outcome::Failed
        }
    } else {
        let admin = gateway
            .admin_addr
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        print(&banner(&direct, &protected, &admin, &token))?;
        let stopped = args.traffic && traffic(&protected, &direct).await?;
        if !stopped {
            let _ = tokio::signal::ctrl_c().await;
        }
        eprintln!("portcullis demo: stopping");
        Outcome::Clean
    };
    gateway.shutdown().await;
    wired.finish();
    bank.shutdown().await;
    drop(scratch);
    Ok(outcome)
}

/// `--traffic`: a minute of mixed traffic, with progress on stderr. True when Ctrl-C stopped
/// it (and so the demo).
async fn traffic(protected: &str, direct: &str) -> anyhow::Result<bool> {
    eprintln!(
        "portcullis demo: sending a minute of mixed benign and hostile traffic (at most {}/s); watch the dashboard",
        portcullis_demo::traffic::RATE
    );
    let run =
        portcullis_demo::traffic::run(protected, direct, std::time::Duration::from_secs(60), |r| {
            eprintln!("portcullis demo: {}", r.summary())
        });
    tokio::select! {
        report = run => {
            let report = report?;
            eprintln!("portcullis demo: traffic done: {}. Still serving; Ctrl-C stops.", report.summary());
            Ok(false)
        }
        _ = tokio::signal::ctrl_c() => Ok(true),
    }
}

fn banner(direct: &str, protected: &str, admin: &str, token: &str) -> String {
    format!(
        r#"Portcullis demo: a deliberately weak bank API, and the same API behind Portcullis.

  unprotected bank   {direct}
  through Portcullis {protected}
  dashboard          {admin}/#token={token}
  admin API          {admin}   (Authorization: Bearer {token})

Demo users: alice / alice-demo-pw, bob / bob-demo-pw, root / root-demo-pw (admin)

Try it (log in as alice, then read bob's accounts):
  TOKEN=$(curl -s {direct}/auth/login -H 'content-type: application/json' \
    -d '{{"username":"alice","password":"alice-demo-pw"}}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -i {direct}/users/bob/accounts -H "authorization: Bearer $TOKEN"      # 200: BOLA works
  curl -i {protected}/users/bob/accounts -H "authorization: Bearer $TOKEN"   # 403: authz.owner

  curl -i {direct}/debug/config                                       # 200: secrets leak
  curl -i {protected}/debug/config                                    # 404: route.undocumented

  curl -i -X PATCH {protected}/users/me -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{{"role":"admin"}}'              # 400: request.unknown-field

  curl -s {admin}/metrics -H "authorization: Bearer {token}" | head

Every request through Portcullis prints its decision below (one JSON line each; not with
--traffic: the dashboard shows them).
`portcullis demo --attack` replays a dozen attacks against both and prints the score.
Ctrl-C stops everything.

"#
    )
}
