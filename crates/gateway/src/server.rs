//! Listeners: the public one (HTTP/1.1 and HTTP/2, optional TLS) and the admin one; start,
//! reload and graceful shutdown.

mod idle;
mod protocol;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::decision::{DecisionWriter, History};
use crate::identity::jwt::Clock;
use crate::identity::mtls::ClientCert;
use crate::metrics::Metrics;
use crate::observe::{Observers, Subscriber};
use crate::pipeline::{Shared, Worker, handle};
use crate::proxy::Body;
use crate::runtime::{BuildError, Gateway};
use protocol::Protocol;

/// The gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration does not build.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// A worker thread or its runtime could not be started.
    #[error("cannot start worker thread {index}: {error}")]
    Worker {
        /// Which worker.
        index: usize,
        /// The OS error.
        error: std::io::Error,
    },
    /// The decision log file cannot be opened.
    #[error("decision log {path}: {error}")]
    Log {
        /// The destination.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// A running gateway.
pub struct Running {
    /// The public address.
    pub addr: SocketAddr,
    /// The admin address, when configured.
    pub admin_addr: Option<SocketAddr>,
    /// Shared state (reload through [`crate::shared::reload`]).
    pub shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to 30 s), and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Builds `config` and starts serving it. `config_path` is what reloads read.
pub async fn start(
    config: Config,
    config_path: Option<PathBuf>,
    clock: Clock,
) -> Result<Running, StartError> {
    start_extended(config, config_path, clock, |_| Extensions::default()).await
}

/// What the caller adds to a gateway: observation subscribers and admin routes.
#[derive(Default)]
pub struct Extensions {
    /// Receive every request's observation (besides the decision log and the history).
    pub subscribers: Vec<Box<dyn Subscriber>>,
    /// Routes merged into the admin API behind its token check (such as `/api/inventory`).
    /// Their paths start with `/api/` and do not collide with the gateway's own.
    pub admin: Option<axum::Router>,
    /// Takes copies of a few undocumented requests' JSON bodies (the inventory's learned spec).
    pub sampler: Option<Arc<dyn crate::observe::BodySampler>>,
    /// Registers the caller's metrics (alerts, webhook drops...) beside the gateway's.
    pub metrics: Option<RegisterMetrics>,
}

/// Registers an extension's metrics in the gateway's registry.
pub type RegisterMetrics = Box<dyn FnOnce(&mut prometheus_client::registry::Registry)>;

/// Handles given to the caller before the gateway starts, to build its extensions.
pub struct Hooks {
    /// The ban list the gateway enforces before any other work on a request.
    pub bans: crate::bans::Bans,
    /// The live stream of `/api/events`: the gateway sends each decision as
    /// `{"type":"decision",...}`; extensions may send their own (such as alerts).
    pub events: tokio::sync::broadcast::Sender<serde_json::Value>,
    /// Lines of other kinds for the decision log (such as alerts); none when the log is off.
    pub log: Option<crate::decision::LogLines>,
    /// The Redis client of the state backend, when it is Redis (replicas share through it).
    pub redis: Option<redis::Client>,
}

/// [`start`], with `subscribers` receiving every request's observation besides the decision
/// log and the admin API's history.
pub async fn start_observed(
    config: Config,
    config_path: Option<PathBuf>,
    clock: Clock,
    subscribers: Vec<Box<dyn Subscriber>>,
) -> Result<Running, StartError> {
    start_extended(config, config_path, clock, |_| Extensions {
        subscribers,
        ..Extensions::default()
    })
    .await
}

/// [`start`], with what `extend` adds (the inventory and the detectors, wired by `cli`):
/// it gets the gateway's [`Hooks`] before anything is served.
pub async fn start_extended(
    config: Config,
    config_path: Option<PathBuf>,
    clock: Clock,
    extend: impl FnOnce(&Hooks) -> Extensions,
) -> Result<Running, StartError> {
    let gateway = Gateway::build(config, None, clock.clone()).await?;
    for w in &gateway.warnings {
        tracing::warn!("{w}");
    }
    let config = gateway.config.clone();
    let decisions = config.decisions_destination();
    let log_error = |error| StartError::Log {
        path: decisions.clone(),
        error,
    };
    let history = History::default();
    let writer = DecisionWriter::open(&decisions).map_err(log_error)?;
    let redis = match config.state.backend.as_str() {
        "memory" => None,
        _ => Some(crate::runtime::state::redis_client(&config)?),
    };
    let hooks = Hooks {
        bans: crate::bans::Bans::default(),
        events: tokio::sync::broadcast::channel(crate::events::QUEUE).0,
        log: writer
            .as_ref()
            .map(|_| crate::decision::LogLines::default()),
        redis,
    };
    let mut extensions = extend(&hooks);
    let mut all: Vec<Box<dyn Subscriber>> = vec![Box::new(crate::events::Publisher::new(
        hooks.events.clone(),
    ))];
    if let Some(writer) = writer {
        all.push(Box::new(match hooks.log.clone() {
            Some(lines) => writer.with_lines(lines),
            None => writer,
        }));
    }
    all.extend(extensions.subscribers);
    // Last: the history keeps each observation's decision by value (`Subscriber::take`).
    all.push(Box::new(history.clone()));
    let observers = Observers::start(all).map_err(log_error)?;
    let tls = match &config.server.tls {
        Some(t) => Some(crate::tls::acceptor(t, &config.base_dir)?),
        None => None,
    };
    let mut metrics = Metrics::new();
    if let Some(register) = extensions.metrics.take() {
        register(&mut metrics.registry);
    }
    let shared = Arc::new(Shared {
        gateway: ArcSwap::from_pointee(gateway),
        metrics,
        observers,
        history,
        config_path,
        clock,
        reload_lock: tokio::sync::Mutex::new(()),
        bans: hooks.bans,
        events: hooks.events,
        admin_extra: extensions.admin,
        sampler: extensions.sampler,
    });
    let listen = config.server.listen;
    let bind_error = |error| StartError::Bind {
        addr: listen,
        error,
    };
    let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let (shutdown, rx) = watch::channel(false);
    let workers = config.server.workers.unwrap_or_else(default_workers);
    let mut tasks = Vec::with_capacity(workers + 2);
    let mut handoff = Vec::with_capacity(workers);
    for index in 0..workers {
        let (to_worker, connections) = tokio::sync::mpsc::channel(HANDOFF_QUEUE);
        handoff.push(to_worker);
        tasks.push(spawn_worker(
            index,
            connections,
            shared.clone(),
            tls.clone(),
            rx.clone(),
        )?);
    }
    tasks.push(tokio::spawn(accept_loop(
        listener,
        handoff,
        config.server.max_connections,
        shared.clone(),
        rx.clone(),
    )));
    if let Some(client) = hooks.redis {
        tasks.push(crate::bans::mirror::spawn(
            shared.bans.clone(),
            client,
            rx.clone(),
        ));
    }
    let mut admin_addr = None;
    if let Some(admin) = &config.admin {
        let listener = TcpListener::bind(admin.listen)
            .await
            .map_err(|error| StartError::Bind {
                addr: admin.listen,
                error,
            })?;
        admin_addr = Some(listener.local_addr().map_err(|error| StartError::Bind {
            addr: admin.listen,
            error,
        })?);
        tasks.push(tokio::spawn(crate::admin::serve(
            listener,
            shared.clone(),
            rx,
        )));
    }
    tracing::info!(%addr, admin = ?admin_addr, workers, "gateway listening");
    Ok(Running {
        addr,
        admin_addr,
        shared,
        shutdown,
        tasks,
    })
}

/// One worker thread per CPU unless `server.workers` says otherwise.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Accepted connections a worker may have waiting before the acceptor waits for it.
const HANDOFF_QUEUE: usize = 256;

/// A connection accepted for a worker: the socket (detached from the acceptor's runtime), the
/// peer's address, and its place under `server.max_connections`.
type Accepted = (std::net::TcpStream, SocketAddr, Slot);

/// A client connection's place under `server.max_connections`, counted in
/// `portcullis_connections_open`; given back when the connection ends (dropped).
struct Slot {
    _permit: OwnedSemaphorePermit,
    open: Gauge,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, open: &Gauge) -> Slot {
        open.inc();
        Slot {
            _permit: permit,
            open: open.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.dec();
    }
}

/// How often, at most, the acceptor warns that the connection limit was reached.
const LIMIT_WARNING_EVERY: Duration = Duration::from_secs(60);

/// A place for the next connection: at once while fewer than `max_connections` are open,
/// otherwise (counted and warned about) once one closes; `None` when told to stop first.
async fn next_slot(
    slots: &Arc<Semaphore>,
    metrics: &Metrics,
    last_warning: &mut Option<std::time::Instant>,
    stop: &mut watch::Receiver<bool>,
) -> Option<Slot> {
    let permit = match slots.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            metrics.connection_limit_waits.inc();
            if last_warning.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_EVERY) {
                *last_warning = Some(std::time::Instant::now());
                tracing::warn!(
                    open = metrics.connections_open.get(),
                    "server.max_connections reached: new connections wait in the listen backlog until one closes"
                );
            }
            tokio::select! {
                permit = slots.clone().acquire_owned() => permit.ok()?,
                _ = stop.changed() => return None,
            }
        }
    };
    Some(Slot::new(permit, &metrics.connections_open))
}

/// Accepts connections and hands them to the workers in turn (round robin), so that every
/// worker gets its share however the connections arrive (workers accepting from a shared
/// socket themselves left one with all of a burst). Stops on `stop`; dropping the hand-off
/// queues then tells the workers that no more connections come.
async fn accept_loop(
    listener: TcpListener,
    workers: Vec<tokio::sync::mpsc::Sender<Accepted>>,
    max_connections: usize,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut last_warning = None;
    let mut next = 0usize;
    loop {
        let Some(slot) = next_slot(&slots, &shared.metrics, &mut last_warning, &mut stop).await
        else {
            break;
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accepted connection cannot be handed over");
                continue;
            }
        };
        let Some(worker) = workers.get(next % workers.len().max(1)) else {
            break;
        };
        next = next.wrapping_add(1);
        tokio::select! {
            sent = worker.send((stream, peer, slot)) => if sent.is_err() {
                tracing::error!("a worker has stopped; connection dropped");
            },
            _ = stop.changed() => break,
        }
    }
}

/// Starts worker `index`: a thread with its own single-threaded runtime that serves the
/// connections handed to it, with its own upstream pool, so a request is read, checked,
/// forwarded and answered on one thread (no hand-offs between threads, as nginx's workers).
/// Returns a task on the caller's runtime that ends when the worker has drained its
/// connections.
fn spawn_worker(
    index: usize,
    connections: tokio::sync::mpsc::Receiver<Accepted>,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, StartError> {
    let worker_error = |error| StartError::Worker { index, error };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(worker_error)?;
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(format!("portcullis-worker-{index}"))
        .spawn(move || {
            runtime.block_on(serve_connections(connections, shared, tls, stop));
            let _ = done.send(());
        })
        .map_err(worker_error)?;
    Ok(tokio::spawn(async move {
        let _ = finished.await;
    }))
}

/// A worker's loop: serves each connection handed to it until told to stop or no more come,
/// then lets in-flight requests finish (up to 30 s).
async fn serve_connections(
    mut connections: tokio::sync::mpsc::Receiver<Accepted>,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let shutdown = idle::Shutdown::new();
    let worker = Arc::new(Worker::default());
    loop {
        tokio::select! {
            handed = connections.recv() => {
                let Some((stream, peer, slot)) = handed else { break };
                let stream = match tokio::net::TcpStream::from_std(stream) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "connection cannot be served by this worker");
                        continue;
                    }
                };
                let limits = &shared.gateway.load().config.server.limits;
                let settings = protocol::Settings {
                    header_timeout: limits.header_timeout.0,
                    send_timeout: limits.send_timeout.0,
                    stalled: shared.metrics.connections_stalled.clone(),
                    max_buf_size: limits.max_header_bytes.as_usize().max(8192),
                    max_header_list_size: u32::try_from(limits.max_header_bytes.0).unwrap_or(u32::MAX),
                    max_headers: limits.max_headers,
                };
                let shared = shared.clone();
                let worker = worker.clone();
                let activity = Arc::new(idle::Activity::default());
                let mut signal = shutdown.signal();
                match &tls {
                    None => {
                        let service = service_fn({
                            let activity = activity.clone();
                            move |req: hyper::Request<hyper::body::Incoming>| {
                                let in_flight = Some(activity.request());
                                let handled = handle(shared.clone(), worker.clone(), req, peer, false);
                                Held { handled, in_flight }
                            }
                        });
                        tokio::spawn(async move {
                            let limit = settings.header_timeout;
                            if let Some(protocol) = Protocol::sniff(&stream, limit, &mut signal).await {
                                let io = TokioIo::new(stream);
                                protocol::serve(io, protocol, service, &settings, activity, signal, peer).await;
                            }
                            drop(slot);
                        });
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let accepting = tokio::time::timeout(settings.header_timeout, acceptor.accept(stream));
                            let stream = match accepting.await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            };
                            let cert = client_cert(&stream);
                            let protocol = Protocol::of_alpn(stream.get_ref().1.alpn_protocol());
                            let requests = activity.clone();
                            let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                                let in_flight = Some(requests.request());
                                if let Some(cert) = &cert {
                                    req.extensions_mut().insert(cert.clone());
                                }
                                let handled = handle(shared.clone(), worker.clone(), req, peer, true);
                                Held { handled, in_flight }
                            });
                            let io = TokioIo::new(stream);
                            protocol::serve(io, protocol, service, &settings, activity, signal, peer).await;
                            drop(slot);
                        });
                    }
                }
            }
            _ = stop.changed() => break,
        }
    }
    drop(connections);
    shutdown.start();
    if tokio::time::timeout(Duration::from_secs(30), shutdown.closed())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 30 s; closing them");
    }
}

/// Logs how a connection served through [`idle::watch`] ended (at debug level: a client's
/// doing).
fn log_end<E: std::fmt::Display>(
    end: idle::End<Result<(), E>>,
    peer: SocketAddr,
    stalled: &prometheus_client::metrics::counter::Counter,
) {
    match end {
        idle::End::Served(Err(e)) => tracing::debug!(error = %e, "connection ended with an error"),
        idle::End::Dropped => {
            tracing::debug!(%peer, "idle connection did not close when told to; dropped")
        }
        idle::End::Stalled => {
            stalled.inc();
            tracing::debug!(%peer, "an answer sent nothing for send_timeout; connection dropped")
        }
        idle::End::Served(Ok(())) => {}
    }
}

pin_project_lite::pin_project! {
    /// A request's future as hyper's service returns it: the response, holding `in_flight`
    /// (the request's mark for the connection's watchdog) until its body is done. A future
    /// of its own rather than an async block awaiting the request's: that block would keep
    /// the request's future twice (the captured one and the one being awaited), and hyper
    /// keeps it per connection.
    struct Held<F> {
        #[pin]
        handled: F,
        in_flight: Option<idle::InFlight>,
    }
}

impl<F: Future<Output = hyper::Response<Body>>> Future for Held<F> {
    type Output = Result<hyper::Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.handled.poll(cx));
        Poll::Ready(Ok(match this.in_flight.take() {
            None => response,
            Some(in_flight) => response.map(|body| idle::hold(body, in_flight)),
        }))
    }
}

/// The names of the client certificate the handshake verified (the leaf), read once per
/// connection and given to each of its requests as an extension. A leaf that cannot be read
/// (rustls parsed it already, so this should not happen) maps to no identity.
fn client_cert(
    stream: &tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
) -> Option<Arc<ClientCert>> {
    let leaf = stream.get_ref().1.peer_certificates()?.first()?;
    Some(Arc::new(ClientCert::parse(leaf).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "client certificate names cannot be read");
        ClientCert::default()
    })))
}
