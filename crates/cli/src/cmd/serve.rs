//! `portcullis serve` and `portcullis check`.

use std::path::Path;

use anyhow::Context;
use portcullis_gateway::config::Config;
use portcullis_gateway::identity::jwt::system_clock;
use portcullis_gateway::runtime::Gateway;
use portcullis_gateway::server;

use super::Outcome;
use crate::args::ConfigArgs;

/// Logs (not decisions) go to stderr; `RUST_LOG` filters them (default `default_level`).
pub fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Runs the gateway until SIGINT/SIGTERM; SIGHUP reloads.
pub fn serve(args: &ConfigArgs) -> anyhow::Result<Outcome> {
    init_logging("info");
    let config = Config::load(&args.config)?;
    raise_open_file_limit(config.server.max_connections);
    runtime()?.block_on(async {
        // Listening for signals before the "serving on" line: a SIGHUP sent as soon as the
        // gateway says it serves (a supervisor's reload) must reload it, not kill it.
        let signals = Signals::listen()?;
        // The audit findings of the loaded specs on the admin API; the inventory and the
        // detectors when something reads them (the admin API, the storage file) or acts on
        // them (detect).
        let audit = super::admin_audit::router(&config);
        let wanted = config.admin.is_some() || config.storage.is_some() || config.detect.is_some();
        let (running, wired) = if wanted {
            let (extend, mut wired) = crate::wire::inventory::build(&config)?;
            let (storage, base_dir) = (config.storage.clone(), config.base_dir.clone());
            let running = server::start_extended(
                config,
                Some(args.config.clone()),
                system_clock(),
                move |hooks| {
                    let mut ext = extend(hooks);
                    ext.admin = Some(match ext.admin.take() {
                        Some(r) => r.merge(audit),
                        None => audit,
                    });
                    ext
                },
            )
            .await?;
            if let Err(e) = wired.attach_storage(storage.as_ref(), &base_dir) {
                running.shutdown().await;
                return Err(e);
            }
            (running, Some(wired))
        } else {
            let running =
                server::start_extended(config, Some(args.config.clone()), system_clock(), |_| {
                    server::Extensions {
                        admin: Some(audit),
                        ..server::Extensions::default()
                    }
                })
                .await?;
            (running, None)
        };
        eprintln!(
            "portcullis: serving on http{}://{}{}",
            if running.shared.gateway.load().config.server.tls.is_some() {
                "s"
            } else {
                ""
            },
            running.addr,
            running
                .admin_addr
                .map(|a| format!(" (admin on http://{a})"))
                .unwrap_or_default()
        );
        signals.wait(&running).await;
        let shared = running.shared.clone();
        running.shutdown().await;
        // Quota state recorded since the last periodic write reaches `storage.path` before
        // the process exits (a no-op without it).
        let limiter = shared.gateway.load().limiter.clone();
        let _ = tokio::task::spawn_blocking(move || limiter.flush_storage()).await;
        // The inventory recorded since its last write, likewise.
        if let Some(wired) = wired {
            let _ = tokio::task::spawn_blocking(move || wired.finish()).await;
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Outcome::Clean)
}

/// Open files the gateway needs beside its client connections (listeners, upstream
/// connections, the decision log, Redis...): a margin, not a count.
const OTHER_OPEN_FILES: u64 = 1024;

/// Raises the soft open-file limit to what `server.max_connections` needs (each client
/// connection is a file descriptor), up to the hard limit, as Go's runtime and nginx's
/// `worker_rlimit_nofile` do: systemd's default soft limit of 1024 would otherwise cap the
/// gateway near a thousand connections, whatever the config says. Warns when the hard limit
/// is too low (accepting then fails with "too many open files" before the configured limit).
#[cfg(unix)]
fn raise_open_file_limit(max_connections: usize) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let want = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(OTHER_OPEN_FILES);
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= want {
        return;
    }
    let target = limit.maximum.map_or(want, |hard| hard.min(want));
    if target > soft {
        let raised = Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft, "cannot raise the open-file limit");
            return;
        }
        tracing::info!(
            from = soft,
            to = target,
            "open-file limit raised for server.max_connections"
        );
    }
    if target < want {
        tracing::warn!(
            limit = target,
            max_connections,
            "the open-file limit is below server.max_connections + {OTHER_OPEN_FILES}: raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower max_connections"
        );
    }
}

#[cfg(not(unix))]
fn raise_open_file_limit(_max_connections: usize) {}

/// The signals `serve` answers: SIGHUP reloads, SIGTERM and SIGINT shut down gracefully.
#[cfg(unix)]
struct Signals {
    hangup: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    /// Starts listening (from here on, none of the three ends the process by default).
    fn listen() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("cannot listen for {name}"))
        };
        Ok(Signals {
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
        })
    }

    /// Reloads on each SIGHUP; returns on SIGTERM or SIGINT.
    async fn wait(mut self, running: &server::Running) {
        loop {
            tokio::select! {
                _ = self.hangup.recv() => {
                    // Errors are logged by reload; the old configuration keeps running.
                    let _ = portcullis_gateway::shared::reload(&running.shared).await;
                }
                _ = self.terminate.recv() => break,
                _ = self.interrupt.recv() => break,
            }
        }
        tracing::info!("shutting down: draining connections");
    }
}

/// The signal `serve` answers off Unix: Ctrl-C shuts down gracefully.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    /// Nothing to set up before waiting.
    fn listen() -> anyhow::Result<Signals> {
        Ok(Signals)
    }

    /// Returns on Ctrl-C.
    async fn wait(self, _running: &server::Running) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Validates a config and its specs, prints the effective routes and policies.
pub fn check(args: &ConfigArgs) -> anyhow::Result<Outcome> {
    let config = Config::load(&args.config)?;
    let inventory = crate::wire::inventory::describe(&config);
    let summary = runtime()?.block_on(async {
        let gw = Gateway::build(config, None, system_clock()).await?;
        Ok::<_, anyhow::Error>(gw.summary())
    })?;
    super::print(&format!(
        "{}{inventory}",
        summary_text(&args.config, &summary)
    ))?;
    Ok(Outcome::Clean)
}

/// ` (TLS: ca certs/ca.pem, client certificate, name orders.internal)` for an https upstream.
fn upstream_trust(tls: &serde_json::Value) -> String {
    let Some(ca) = tls.get("ca").and_then(serde_json::Value::as_str) else {
        return String::new();
    };
    let mut out = format!(" (TLS: ca {ca}");
    if tls["client_certificate"] == true {
        out.push_str(", client certificate");
    }
    if let Some(name) = tls["server_name"].as_str() {
        out.push_str(&format!(", name {name}"));
    }
    out.push(')');
    out
}

fn summary_text(path: &Path, s: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let str_of = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let _ = writeln!(out, "{}: OK", path.display());
    let _ = writeln!(
        out,
        "listen {}  tls {}  admin {}",
        str_of(&s["listen"]),
        s["tls"],
        str_of(&s["admin"])
    );
    for api in s["apis"].as_array().into_iter().flatten() {
        out.push('\n');
        let _ = writeln!(
            out,
            "api {} -> {}{}  mode {}  undocumented {}  validate {}  unknown_fields {}",
            str_of(&api["name"]),
            str_of(&api["upstream"]),
            upstream_trust(&api["upstream_tls"]),
            str_of(&api["mode"]),
            str_of(&api["undocumented"]),
            str_of(
                api.pointer("/request/validate")
                    .unwrap_or(&serde_json::Value::Null)
            ),
            str_of(
                api.pointer("/request/unknown_fields")
                    .unwrap_or(&serde_json::Value::Null)
            ),
        );
        if let Some(lockout) = api["lockout"].as_str() {
            let _ = writeln!(out, "  lockout: {lockout}");
        }
        for op in api["operations"].as_array().into_iter().flatten() {
            let mut notes = Vec::new();
            if op["public"] == true {
                notes.push("public".to_owned());
            } else {
                notes.push(format!("auth {}", op["security"]));
            }
            if op["admin"] == true {
                notes.push("admin".to_owned());
            }
            for o in op["owner"].as_array().into_iter().flatten() {
                notes.push(format!("owner {}", str_of(o)));
            }
            if op["deprecated"] == true {
                notes.push("deprecated".to_owned());
            }
            for l in op["limits"].as_array().into_iter().flatten() {
                notes.push(format!("limit {}", str_of(l)));
            }
            let _ = writeln!(
                out,
                "  {:7} {:40} {:24} {}",
                str_of(&op["method"]),
                str_of(&op["path"]),
                str_of(&op["operation"]),
                notes.join(", ")
            );
        }
    }
    for w in s["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "warning: {}", str_of(w));
    }
    out
}
