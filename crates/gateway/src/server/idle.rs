//! How long a client connection may stay without a request, and the worker's shutdown
//! signal: both end a connection through hyper's graceful shutdown (a GOAWAY on HTTP/2).
//!
//! A connection must start its first request within `header_timeout`: hyper's header-read
//! timer only runs once the HTTP version is known, and finding it (HTTP/1, or the HTTP/2
//! preface) waits for bytes without a deadline. After that, an HTTP/1 connection is bounded
//! by hyper's timer (it runs from the moment the connection waits for its next head), but an
//! HTTP/2 connection has no such timer: without this one, a client that made a request and
//! then went quiet held its connection (and its task) forever. So an HTTP/2 connection that
//! has had no request in flight for `header_timeout` is closed, as nginx closes an idle HTTP/2
//! connection after its `keepalive_timeout`.
//!
//! The watchdog is coarse on purpose, so that an HTTP/2 request pays a few atomic additions
//! and no timer (an HTTP/1 request one flag store): it wakes every `header_timeout` and closes
//! the connection when nothing started or ended since its last look and nothing is in flight,
//! i.e. after one to two periods of quiet.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Version;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::proxy::{Body, BoxError};

/// What a connection's requests tell its watchdog; shared with the service, whose HTTP/2
/// requests run on tasks of their own.
#[derive(Debug, Default)]
pub(super) struct Activity {
    /// Set by the first HTTP/1 request: hyper's header-read timer bounds the connection from
    /// then on, and the watchdog stands down.
    http1: AtomicBool,
    /// HTTP/2 requests started plus those finished: whether any came or went since the
    /// watchdog's last look.
    events: AtomicUsize,
    /// HTTP/2 requests whose response has not been sent to the end (or dropped) yet.
    in_flight: AtomicUsize,
}

impl Activity {
    /// Notes a request of `version`. For HTTP/2, the returned guard must live until the
    /// response is done (see [`hold`]).
    pub(super) fn request(self: &Arc<Self>, version: Version) -> Option<InFlight> {
        if version == Version::HTTP_2 {
            self.events.fetch_add(1, Ordering::Relaxed);
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            Some(InFlight(self.clone()))
        } else {
            self.http1.store(true, Ordering::Relaxed);
            None
        }
    }
}

/// An HTTP/2 request in flight; dropping it marks the request done.
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.events.fetch_add(1, Ordering::Relaxed);
    }
}

/// `body` holding `in_flight` until it has been sent to the end or dropped (a reset stream),
/// so a long answer keeps its connection busy.
pub(super) fn hold(body: Body, in_flight: InFlight) -> Body {
    BoxBody::new(Held {
        body,
        _in_flight: in_flight,
    })
}

/// The body of [`hold`].
struct Held {
    body: Body,
    _in_flight: InFlight,
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The worker's shutdown signal as one connection waits for it: ready once the worker
/// stops, then yields the receiver, which the connection keeps until it ends (the worker
/// waits for every receiver to be dropped).
pub(super) type ShutdownSignal = Pin<Box<dyn Future<Output = watch::Receiver<()>> + Send>>;

/// A connection's [`ShutdownSignal`] from the worker's sender.
pub(super) fn shutdown_signal(sender: &watch::Sender<()>) -> ShutdownSignal {
    let mut receiver = sender.subscribe();
    Box::pin(async move {
        // An error means the sender is gone: the worker is gone too, so shut down as well.
        let _ = receiver.changed().await;
        receiver
    })
}

/// Serves `conn` until it ends, shutting it down gracefully (with `shutdown`, hyper's
/// graceful shutdown) when the worker stops or when the connection has been idle for
/// `limit` (see the module's doc). A connection that has not finished closing `limit` after
/// it was told to, with no request in flight, is dropped: `None` then.
pub(super) fn watch<C: Future>(
    conn: C,
    shutdown: fn(Pin<&mut C>),
    activity: Arc<Activity>,
    limit: Duration,
    signal: ShutdownSignal,
) -> Watched<C> {
    Watched {
        conn: Box::pin(conn),
        shutdown,
        activity,
        limit,
        timer: Some(Box::pin(tokio::time::sleep(limit))),
        seen: 0,
        closing: false,
        signal: Some(signal),
        _held: None,
    }
}

/// The future of [`watch`].
pub(super) struct Watched<C> {
    conn: Pin<Box<C>>,
    shutdown: fn(Pin<&mut C>),
    activity: Arc<Activity>,
    limit: Duration,
    /// The next look; `None` once HTTP/1 requests came (hyper's timer bounds those).
    timer: Option<Pin<Box<Sleep>>>,
    /// `activity.events` at the last look.
    seen: usize,
    /// Graceful shutdown has started.
    closing: bool,
    signal: Option<ShutdownSignal>,
    _held: Option<watch::Receiver<()>>,
}

impl<C> Watched<C> {
    /// Starts the connection's graceful shutdown (once).
    fn close(&mut self) {
        if !self.closing {
            self.closing = true;
            (self.shutdown)(self.conn.as_mut());
        }
    }
}

impl<C: Future> Future for Watched<C> {
    type Output = Option<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(signal) = &mut this.signal
            && let Poll::Ready(held) = signal.as_mut().poll(cx)
        {
            this.signal = None;
            this._held = Some(held);
            this.close();
        }
        if let Poll::Ready(out) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        if !this.closing && this.activity.http1.load(Ordering::Relaxed) {
            this.timer = None;
        }
        while let Some(timer) = &mut this.timer
            && timer.as_mut().poll(cx).is_ready()
        {
            let events = this.activity.events.load(Ordering::Relaxed);
            let busy = this.activity.in_flight.load(Ordering::Relaxed) > 0;
            if this.closing {
                if !busy {
                    return Poll::Ready(None);
                }
            } else if events == this.seen && !busy {
                this.close();
                if let Poll::Ready(out) = this.conn.as_mut().poll(cx) {
                    return Poll::Ready(Some(out));
                }
            }
            this.seen = events;
            if let Some(timer) = &mut this.timer {
                timer.as_mut().reset(Instant::now() + this.limit);
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in connection: pending until shut down, then ready when `obeys`.
    struct Conn {
        shut: bool,
        obeys: bool,
    }

    impl Future for Conn {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.shut && self.obeys {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    fn shut(conn: Pin<&mut Conn>) {
        conn.get_mut().shut = true;
    }

    const LIMIT: Duration = Duration::from_secs(10);

    /// A watched stand-in and the worker's sender.
    fn watched(obeys: bool, activity: &Arc<Activity>) -> (Watched<Conn>, watch::Sender<()>) {
        let (sender, _) = watch::channel(());
        let signal = shutdown_signal(&sender);
        let conn = Conn { shut: false, obeys };
        (watch(conn, shut, activity.clone(), LIMIT, signal), sender)
    }

    /// Runs `watched` for `duration` of paused time; its output if it ended by then.
    async fn run_for(watched: &mut Watched<Conn>, duration: Duration) -> Option<Option<()>> {
        tokio::time::timeout(duration, watched).await.ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_without_requests_is_shut_down_after_the_limit() {
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(true, &activity);
        assert_eq!(
            run_for(&mut watched, LIMIT - Duration::from_millis(1)).await,
            None
        );
        assert_eq!(
            run_for(&mut watched, Duration::from_millis(2)).await,
            Some(Some(()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn http2_activity_keeps_a_connection_open_and_quiet_closes_it() {
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(true, &activity);
        // A request every 6 s for a minute: never idle for a whole period.
        for _ in 0..10 {
            drop(activity.request(Version::HTTP_2));
            assert_eq!(run_for(&mut watched, Duration::from_secs(6)).await, None);
        }
        // A request in flight for a minute: busy, not idle.
        let in_flight = activity.request(Version::HTTP_2);
        assert_eq!(run_for(&mut watched, Duration::from_secs(60)).await, None);
        drop(in_flight);
        // Then quiet: shut down within one to two periods.
        assert_eq!(
            run_for(&mut watched, LIMIT - Duration::from_millis(1)).await,
            None
        );
        assert_eq!(
            run_for(&mut watched, LIMIT + Duration::from_millis(2)).await,
            Some(Some(()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_http1_connection_is_left_to_hypers_timer() {
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(true, &activity);
        assert!(activity.request(Version::HTTP_11).is_none());
        assert_eq!(run_for(&mut watched, Duration::from_secs(600)).await, None);
        assert!(watched.timer.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_does_not_close_when_told_is_dropped_once_idle() {
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(false, &activity);
        assert_eq!(
            run_for(&mut watched, LIMIT + Duration::from_millis(1)).await,
            None
        );
        assert!(watched.closing);
        // Told to close, but a request is still in flight: kept until it is done.
        let in_flight = activity.request(Version::HTTP_2);
        assert_eq!(run_for(&mut watched, Duration::from_secs(60)).await, None);
        drop(in_flight);
        assert_eq!(
            run_for(&mut watched, LIMIT + Duration::from_millis(1)).await,
            Some(None)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_workers_signal_shuts_the_connection_down_and_is_held_until_it_ends() {
        let activity = Arc::new(Activity::default());
        let (mut watched, sender) = watched(false, &activity);
        drop(activity.request(Version::HTTP_11));
        assert_eq!(run_for(&mut watched, Duration::from_secs(1)).await, None);
        assert!(!watched.closing);
        sender.send(()).unwrap();
        assert_eq!(run_for(&mut watched, Duration::from_millis(1)).await, None);
        assert!(watched.closing);
        assert_eq!(
            sender.receiver_count(),
            1,
            "the connection holds its receiver"
        );
        drop(watched);
        assert_eq!(sender.receiver_count(), 0);
    }
}
