//! How long a client connection may stay without a request, and the worker's shutdown
//! signal: both end a connection through hyper's graceful shutdown (a GOAWAY on HTTP/2).
//!
//! One watchdog per connection, whatever its protocol, bounds what `header_timeout` bounds:
//! a connection that starts no request (finding the protocol waits for the first bytes), a
//! request head that stalls (a slow-headers client, "slowloris"), and a connection idle
//! between requests (HTTP/1 keep-alive, or HTTP/2 with no stream open; nginx closes those
//! after its `keepalive_timeout`). A request's mark lives from its head's arrival until its
//! answer has been sent to the end, so a long answer keeps its connection busy.
//!
//! The watchdog is coarse on purpose, so that a request pays a few atomic additions and no
//! timer: it wakes every `header_timeout` and closes the connection when no request started
//! or ended since its last look and none is in flight, i.e. after one to two periods of
//! quiet. (hyper's own HTTP/1 header-read timeout, used before, armed a sleep for every
//! request: about 1 000 instructions of a routed request's 32 000, see BENCHMARKS.md.) A
//! head still being read when the watchdog closes is dropped unanswered, as hyper's timeout
//! did; an HTTP/1 connection that does not end when told to is dropped one period later.
//!
//! The same watchdog bounds an answer that stops moving (`send_timeout`, as nginx's): each
//! frame of a response body sent on counts as activity, so a connection with an answer under
//! way and no activity for `send_timeout` (a client that stops reading, a "slow read"; an
//! upstream that stops sending mid-body) is dropped, the answer cut short. Waiting for the
//! upstream's response head is not sending (`request_timeout` bounds that).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::proxy::{Body, BoxError};

/// What a connection's requests tell its watchdog; shared with the service, whose HTTP/2
/// requests run on tasks of their own.
#[derive(Debug, Default)]
pub(super) struct Activity {
    /// Requests started plus those finished: whether any came or went since the watchdog's
    /// last look.
    events: AtomicUsize,
    /// Requests whose response has not been sent to the end (or dropped) yet.
    in_flight: AtomicUsize,
    /// Responses whose body is being sent (see [`hold`]).
    sending: AtomicUsize,
}

impl Activity {
    /// Notes a request whose head has arrived. The returned mark must live until the
    /// response is done (see [`hold`]).
    pub(super) fn request(self: &Arc<Self>) -> InFlight {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }
}

/// A request in flight; dropping it marks the request done.
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.events.fetch_add(1, Ordering::Relaxed);
    }
}

/// `body` holding `in_flight` until it has been sent to the end or dropped (a reset stream),
/// so a long answer keeps its connection busy. The answer's head and each frame of its body
/// are activity, so an answer that stops moving is noticed (`send_timeout`), counting from
/// its head, not from the request (the wait for the head is `request_timeout`'s).
pub(super) fn hold(body: Body, in_flight: InFlight) -> Body {
    in_flight.0.sending.fetch_add(1, Ordering::Relaxed);
    in_flight.0.events.fetch_add(1, Ordering::Relaxed);
    BoxBody::new(Held { body, in_flight })
}

/// The body of [`hold`].
struct Held {
    body: Body,
    in_flight: InFlight,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.in_flight.0.sending.fetch_sub(1, Ordering::Relaxed);
    }
}

impl HttpBody for Held {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.in_flight.0.events.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A worker's side of its connections' shutdown: tells them all to stop, then waits until
/// each has ended.
pub(super) struct Shutdown {
    sender: watch::Sender<()>,
    /// Set before the sender sends: a connection's signal looks at it before polling the
    /// watch (see [`ShutdownSignal`]).
    stopping: Arc<AtomicBool>,
}

impl Shutdown {
    /// A shutdown no connection waits for yet.
    pub(super) fn new() -> Shutdown {
        Shutdown {
            sender: watch::channel(()).0,
            stopping: Arc::default(),
        }
    }

    /// A connection's signal.
    pub(super) fn signal(&self) -> ShutdownSignal {
        let mut receiver = self.sender.subscribe();
        ShutdownSignal {
            wait: Box::pin(async move {
                // An error means the sender is gone: the worker is gone too, so shut down
                // as well.
                let _ = receiver.changed().await;
                receiver
            }),
            stopping: self.stopping.clone(),
            registered: false,
        }
    }

    /// Tells every connection to stop.
    pub(super) fn start(&self) {
        self.stopping.store(true, Ordering::Release);
        self.sender.send_replace(());
    }

    /// Waits until every connection's signal (kept until the connection ends) is dropped.
    pub(super) async fn closed(&self) {
        self.sender.closed().await;
    }

    /// Signals not dropped yet.
    #[cfg(test)]
    fn receivers(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Drop for Shutdown {
    /// A worker gone without [`Shutdown::start`] stops its connections too: the flag is set
    /// here, before the sender (dropped after this) wakes them.
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
    }
}

/// The worker's shutdown signal as one connection waits for it: ready once the worker
/// stops, then yields the receiver, which the connection keeps until it ends (the worker
/// waits for every receiver to be dropped).
///
/// Polled at every wake of its connection's task (twice per request), the watch's wait
/// locks and compares wakers each time (about 330 instructions per request). So only the
/// first poll goes to the watch, which keeps the task's waker from then on (a tokio task's
/// waker wakes that task whatever future it is given to); later polls read the worker's
/// flag and go to the watch only once it is set. It must therefore be polled by one task
/// throughout, as each connection's task does.
pub(super) struct ShutdownSignal {
    wait: Pin<Box<dyn Future<Output = watch::Receiver<()>> + Send>>,
    stopping: Arc<AtomicBool>,
    /// The watch has been polled once (and holds a waker).
    registered: bool,
}

impl Future for ShutdownSignal {
    type Output = watch::Receiver<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.registered && !this.stopping.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        this.registered = true;
        this.wait.as_mut().poll(cx)
    }
}

/// What the watchdog bounds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// How long a connection may stay idle (or a request head stall): `header_timeout`.
    pub idle: Duration,
    /// How long an answer under way may send nothing: `send_timeout`.
    pub send: Duration,
}

/// How a watched connection ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum End<T> {
    /// The connection's own end (hyper's result).
    Served(T),
    /// Told to close, it had not a period later with nothing in flight: dropped.
    Dropped,
    /// An answer under way sent nothing for `send_timeout`: dropped.
    Stalled,
}

/// Serves `conn` until it ends, shutting it down gracefully (with `shutdown`, hyper's
/// graceful shutdown) when the worker stops or when the connection has been idle for
/// `limits.idle`, and dropping it when an answer under way has sent nothing for
/// `limits.send` (see the module's doc). A connection that has not finished closing a
/// period after it was told to, with no request in flight, is dropped too.
pub(super) fn watch<C: Future>(
    conn: C,
    shutdown: fn(Pin<&mut C>),
    activity: Arc<Activity>,
    limits: Limits,
    signal: ShutdownSignal,
) -> Watched<C> {
    // One look per period: often enough for both limits.
    let period = limits.idle.min(limits.send);
    Watched {
        conn: Box::pin(conn),
        shutdown,
        activity,
        limits,
        period,
        timer: Box::pin(tokio::time::sleep(period)),
        seen: 0,
        quiet: Duration::ZERO,
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
    limits: Limits,
    /// Time between two looks.
    period: Duration,
    /// The next look.
    timer: Pin<Box<Sleep>>,
    /// `activity.events` at the last look.
    seen: usize,
    /// How long no request started or ended and no answer moved, counted in periods.
    quiet: Duration,
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
    type Output = End<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(signal) = &mut this.signal
            && let Poll::Ready(held) = Pin::new(signal).poll(cx)
        {
            this.signal = None;
            this._held = Some(held);
            this.close();
        }
        if let Poll::Ready(out) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(End::Served(out));
        }
        while this.timer.as_mut().poll(cx).is_ready() {
            let events = this.activity.events.load(Ordering::Relaxed);
            let busy = this.activity.in_flight.load(Ordering::Relaxed) > 0;
            if events == this.seen {
                this.quiet += this.period;
            } else {
                this.quiet = Duration::ZERO;
            }
            if this.quiet >= this.limits.send && this.activity.sending.load(Ordering::Relaxed) > 0 {
                return Poll::Ready(End::Stalled);
            }
            if this.closing {
                if !busy {
                    return Poll::Ready(End::Dropped);
                }
            } else if this.quiet >= this.limits.idle && !busy {
                this.close();
                if let Poll::Ready(out) = this.conn.as_mut().poll(cx) {
                    return Poll::Ready(End::Served(out));
                }
            }
            this.seen = events;
            this.timer.as_mut().reset(Instant::now() + this.period);
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
    const SEND_LIMIT: Duration = Duration::from_secs(60);

    /// A watched stand-in and the worker's shutdown.
    fn watched(obeys: bool, activity: &Arc<Activity>) -> (Watched<Conn>, Shutdown) {
        let shutdown = Shutdown::new();
        let signal = shutdown.signal();
        let conn = Conn { shut: false, obeys };
        let limits = Limits {
            idle: LIMIT,
            send: SEND_LIMIT,
        };
        (
            watch(conn, shut, activity.clone(), limits, signal),
            shutdown,
        )
    }

    /// Runs `watched` for `duration` of paused time; its output if it ended by then.
    async fn run_for(watched: &mut Watched<Conn>, duration: Duration) -> Option<End<()>> {
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
            Some(End::Served(()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn activity_keeps_a_connection_open_and_quiet_closes_it() {
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(true, &activity);
        // A request every 6 s for a minute: never idle for a whole period.
        for _ in 0..10 {
            drop(activity.request());
            assert_eq!(run_for(&mut watched, Duration::from_secs(6)).await, None);
        }
        // A request in flight for a minute: busy, not idle.
        let in_flight = activity.request();
        assert_eq!(run_for(&mut watched, Duration::from_secs(60)).await, None);
        drop(in_flight);
        // Then quiet: shut down within one to two periods.
        assert_eq!(
            run_for(&mut watched, LIMIT - Duration::from_millis(1)).await,
            None
        );
        assert_eq!(
            run_for(&mut watched, LIMIT + Duration::from_millis(2)).await,
            Some(End::Served(()))
        );
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
        let in_flight = activity.request();
        assert_eq!(run_for(&mut watched, Duration::from_secs(60)).await, None);
        drop(in_flight);
        assert_eq!(
            run_for(&mut watched, LIMIT + Duration::from_millis(1)).await,
            Some(End::Dropped)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_workers_signal_shuts_the_connection_down_and_is_held_until_it_ends() {
        let activity = Arc::new(Activity::default());
        let (mut watched, shutdown) = watched(false, &activity);
        drop(activity.request());
        assert_eq!(run_for(&mut watched, Duration::from_secs(1)).await, None);
        assert!(!watched.closing);
        shutdown.start();
        assert_eq!(run_for(&mut watched, Duration::from_millis(1)).await, None);
        assert!(watched.closing);
        assert_eq!(shutdown.receivers(), 1, "the connection holds its receiver");
        drop(watched);
        assert_eq!(shutdown.receivers(), 0);
    }

    /// Spawns a busy connection (only the worker's side can end it) and lets it wait, then
    /// hands the worker's shutdown to `stop` (which returns it when it must stay alive) and
    /// checks that the connection ended at once: woken, not found at the watchdog's next
    /// look, to which paused time would have jumped.
    async fn ends_at_once_when(stop: impl FnOnce(Shutdown) -> Option<Shutdown>) {
        let activity = Arc::new(Activity::default());
        let (watched, shutdown) = watched(true, &activity);
        let _busy = activity.request();
        let task = tokio::spawn(watched);
        // The connection's task has polled (the signal too) and waits.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let told = Instant::now();
        let _kept = stop(shutdown);
        let ended = tokio::time::timeout(Duration::from_secs(600), task).await;
        assert_eq!(ended.expect("still serving").unwrap(), End::Served(()));
        assert!(
            told.elapsed() < Duration::from_millis(1),
            "{:?}",
            told.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_gone_without_a_word_stops_its_connections_too() {
        ends_at_once_when(|shutdown| {
            drop(shutdown);
            None
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_workers_signal_wakes_a_connection_that_waits() {
        ends_at_once_when(|shutdown| {
            shutdown.start();
            Some(shutdown)
        })
        .await;
    }

    /// A response body with a frame ready at every poll, never ending.
    struct Endless;

    impl HttpBody for Endless {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_send_limit_counts_from_the_answers_head_not_from_the_request() {
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(true, &activity);
        // Five minutes waiting for the upstream's head, then the head goes out and the
        // body's first frame is slow: the answer is under way only from its head.
        let waiting = activity.request();
        assert_eq!(run_for(&mut watched, Duration::from_secs(300)).await, None);
        let body = hold(BoxBody::new(Endless), waiting);
        assert_eq!(
            run_for(&mut watched, SEND_LIMIT - LIMIT).await,
            None,
            "cut before send_timeout of silence since the head"
        );
        assert_eq!(
            run_for(&mut watched, LIMIT + LIMIT + LIMIT).await,
            Some(End::Stalled)
        );
        drop(body);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_that_stops_moving_is_dropped_after_the_send_limit() {
        use http_body_util::BodyExt;
        let activity = Arc::new(Activity::default());
        let (mut watched, _sender) = watched(true, &activity);
        // Waiting five minutes for the upstream's head is not sending.
        let waiting = activity.request();
        assert_eq!(run_for(&mut watched, Duration::from_secs(300)).await, None);
        // An answer whose frames go out every 30 s keeps its connection for ten minutes.
        let mut body = hold(BoxBody::new(Endless), waiting);
        for _ in 0..20 {
            assert!(body.frame().await.is_some());
            assert_eq!(run_for(&mut watched, Duration::from_secs(30)).await, None);
        }
        // Then nothing moves (a client that stops reading): dropped within one period of
        // the send limit, answer under way or not.
        assert_eq!(
            run_for(&mut watched, SEND_LIMIT - Duration::from_secs(30) - LIMIT).await,
            None
        );
        assert_eq!(
            run_for(&mut watched, LIMIT + LIMIT).await,
            Some(End::Stalled)
        );
        drop(body);
        assert_eq!(activity.sending.load(Ordering::Relaxed), 0);
        assert_eq!(activity.in_flight.load(Ordering::Relaxed), 0);
    }
}
