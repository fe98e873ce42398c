//! # portcullis-demo
//!
//! What `portcullis demo` puts behind the gateway: a deliberately weak bank API ([`bank`]) and a
//! small identity provider that signs real RS256 tokens ([`idp`]), both in process and bound to
//! 127.0.0.1 only. The bank's OpenAPI document is `examples/demo/bank.yaml`, embedded here as
//! [`BANK_SPEC`] so the demo runs from any directory.
//!
//! ```no_run
//! # async fn run() -> Result<(), portcullis_demo::DemoError> {
//! let demo = portcullis_demo::start(None, None).await?;
//! println!("weak bank on http://{}, IdP on http://{}", demo.bank, demo.idp);
//! demo.shutdown().await;
//! # Ok(()) }
//! ```

mod accounts;
pub mod attack;
pub mod bank;
mod documents;
mod email;
pub mod idp;
mod legacy;
mod search;
mod shell;
pub mod sql;
pub mod traffic;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The bank's OpenAPI 3.1 document (`examples/demo/bank.yaml`).
pub const BANK_SPEC: &str = include_str!("../../../examples/demo/bank.yaml");

/// Why the demo servers could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for (0 for any).
        port: u16,
        /// The error.
        source: std::io::Error,
    },
    /// The identity provider's key could not be made.
    #[error(transparent)]
    Idp(#[from] idp::IdpError),
    /// Key generation did not finish.
    #[error("key generation failed: {0}")]
    Task(String),
}

/// The demo bank and identity provider, running.
pub struct Running {
    /// Where the (unprotected) bank listens.
    pub bank: SocketAddr,
    /// Where the identity provider listens.
    pub idp: SocketAddr,
    /// The identity provider (to sign tokens for attacks and tests).
    pub issuer: Arc<idp::Idp>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The JWKS URL of the identity provider.
    pub fn jwks_url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.idp)
    }

    /// Stops both servers and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn bind(port: u16) -> Result<TcpListener, DemoError> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| DemoError::Bind { port, source })
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "demo server stopped");
        }
    })
}

/// Starts the weak bank and the identity provider on 127.0.0.1 (free ports unless given).
pub async fn start(bank_port: Option<u16>, idp_port: Option<u16>) -> Result<Running, DemoError> {
    let idp_listener = bind(idp_port.unwrap_or(0)).await?;
    let bank_listener = bind(bank_port.unwrap_or(0)).await?;
    let idp_addr = idp_listener
        .local_addr()
        .map_err(|source| DemoError::Bind { port: 0, source })?;
    let bank_addr = bank_listener
        .local_addr()
        .map_err(|source| DemoError::Bind { port: 0, source })?;
    let issuer_url = format!("http://{idp_addr}/");
    let issuer = tokio::task::spawn_blocking(move || idp::Idp::generate(issuer_url))
        .await
        .map_err(|e| DemoError::Task(e.to_string()))??;
    let issuer = Arc::new(issuer);
    let (stop, stopped) = watch::channel(false);
    let tasks = vec![
        serve(idp_listener, issuer.clone().router(), stopped.clone()),
        serve(
            bank_listener,
            bank::Bank::new(issuer.clone()).router(),
            stopped,
        ),
    ];
    Ok(Running {
        bank: bank_addr,
        idp: idp_addr,
        issuer,
        stop,
        tasks,
    })
}
