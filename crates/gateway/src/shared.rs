//! The state every connection and the admin API share, kept across reloads ([`Shared`]), and
//! the reload that swaps the running configuration ([`reload`]).

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::decision::History;
use crate::identity::jwt::Clock;
use crate::metrics::Metrics;
use crate::observe::Observers;
use crate::runtime::Gateway;

/// State shared by every connection, kept across reloads.
pub struct Shared {
    /// The running configuration (swapped atomically on reload).
    pub gateway: ArcSwap<Gateway>,
    /// Metrics.
    pub metrics: Metrics,
    /// Where each request's observation goes (decision log, history, inventory...).
    pub observers: Observers,
    /// The most recent decisions, for the admin API.
    pub history: History,
    /// The config file reloads read (none for an in-memory config).
    pub config_path: Option<PathBuf>,
    /// Clock for token times.
    pub clock: Clock,
    /// Serializes reloads.
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Clients refused before any other work.
    pub bans: crate::bans::Bans,
    /// The live stream of the admin API's `/api/events` (decisions, alerts).
    pub events: tokio::sync::broadcast::Sender<serde_json::Value>,
    /// Routes the caller added to the admin API (served behind its token).
    pub admin_extra: Option<axum::Router>,
    /// Takes copies of a few undocumented requests' bodies (the inventory's learned spec).
    pub sampler: Option<Arc<dyn crate::observe::BodySampler>>,
}

/// A key set that could not be fetched for the new configuration (down, garbage) keeps the
/// keys the running one holds for the same issuer and URL: a reload during an identity
/// provider's outage must not refuse every token that verifies now.
fn keep_held_keys(current: &Gateway, new: &Gateway) {
    for (issuer, remote) in new.verifier.remote_key_sets() {
        let held = current
            .verifier
            .remote_key_sets()
            .find(|(i, r)| *i == issuer && r.url() == remote.url())
            .map(|(_, r)| r.keys());
        if let Some(held) = held
            && remote.adopt(held.clone())
        {
            tracing::warn!(
                issuer,
                url = remote.url(),
                keys = held.len(),
                "key set unavailable during the reload; the keys held are kept"
            );
        }
    }
}

/// Re-reads the config file, rebuilds, and swaps atomically; on any error the running
/// configuration stays and the error is returned.
pub async fn reload(shared: &Shared) -> Result<(), String> {
    let _guard = shared.reload_lock.lock().await;
    let Some(path) = &shared.config_path else {
        return Err("this gateway was started without a config file".to_owned());
    };
    let result = async {
        let config = Config::load(path).map_err(|e| e.to_string())?;
        let current = shared.gateway.load();
        let keep_limiter = current.config.state.backend == config.state.backend
            && current.config.state.on_failure == config.state.on_failure
            && current.config.state.replicas == config.state.replicas;
        let limiter = keep_limiter.then(|| current.limiter.clone());
        let gateway = Gateway::build(config, limiter, shared.clock.clone())
            .await
            .map_err(|e| e.to_string())?;
        keep_held_keys(&current, &gateway);
        Ok::<_, String>(gateway)
    }
    .await;
    match result {
        Ok(gateway) => {
            for w in &gateway.warnings {
                tracing::warn!("{w}");
            }
            shared.gateway.store(Arc::new(gateway));
            shared.metrics.reloads.inc();
            tracing::info!(path = %path.display(), "configuration reloaded");
            Ok(())
        }
        Err(e) => {
            shared.metrics.reload_failures.inc();
            tracing::error!(error = %e, "reload rejected; the previous configuration stays");
            Err(e)
        }
    }
}
