//! Observation: after each request, one typed [`Observation`] goes through a bounded,
//! non-blocking channel to its subscribers (the decision log, the admin API's history, and
//! whatever `cli` wires in, such as the inventory and the anomaly detectors).
//!
//! The request path only tries to send: when the channel is full the observation is dropped
//! and counted (`portcullis_observations_dropped_total`), so a slow subscriber never slows or
//! fails a request. One dispatcher thread receives the observations in batches and hands each
//! to every subscriber in turn, then asks each to flush; subscribers therefore need no lock of
//! their own against each other, and no lock is shared by the workers on the request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::Duration;

use crate::decision::Decision;

/// Observations queued before new ones are dropped.
pub const QUEUE: usize = 16_384;
/// The most observations handed to subscribers between two flushes.
const BATCH: usize = 256;
/// While observations keep coming, the dispatcher sleeps this long between two drains of the
/// channel instead of waiting in `recv`: a sender wakes a waiting receiver with a futex call
/// and a context switch, which under load was once per request, paid in kernel time beside
/// the request path; a sleeping receiver costs the senders nothing. When a tick passes with
/// nothing sent, the dispatcher waits in `recv` again, so an idle gateway has no timer.
const TICK: Duration = Duration::from_millis(2);

/// What the stages learned about a request's credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Credentials {
    /// A credential was presented (a token, a key or a client certificate).
    pub presented: bool,
    /// It was verified (and is the principal's).
    pub valid: bool,
}

/// One request as every subscriber sees it: the decision-log record and what stages noted.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The decision-log record (DESIGN.md's fields).
    pub decision: Decision,
    /// Whether credentials were presented and whether they were valid.
    pub credentials: Credentials,
    /// The request body's size, when known (declared or read).
    pub request_bytes: Option<u64>,
    /// The answer's body size, when known (its `Content-Length`).
    pub response_bytes: Option<u64>,
    /// Flags stages set (such as the kinds of sensitive data seen), by name.
    pub flags: Vec<&'static str>,
    /// The operation's path template in the spec (`/accounts/{id}`); none when undocumented.
    pub route_template: Option<Arc<str>>,
    /// The operation is marked deprecated in the spec.
    pub deprecated: bool,
}

/// Copies of the JSON bodies of a few undocumented requests, for the inventory's learned
/// spec: asked for per request after routing (only for requests no operation documents, and
/// only when a sampler is installed), copied as they stream through (at most `cap` bytes of
/// each body, never delaying it) and delivered once both bodies are done.
pub trait BodySampler: Send + Sync {
    /// Whether to copy this request's bodies, and at most how many bytes of each; called once
    /// per undocumented request on the request path, so it must be cheap and never wait.
    fn wants(&self, api: &str, method: &http::Method, path: &str) -> Option<usize>;
    /// The copies, handed over from the thread that finished the last body: must not wait.
    fn deliver(&self, sample: BodySample);
}

/// The bodies of one sampled request.
#[derive(Debug, Clone, Default)]
pub struct BodySample {
    /// The API.
    pub api: Arc<str>,
    /// The method.
    pub method: http::Method,
    /// The normalized path.
    pub path: String,
    /// The status of the answer.
    pub status: u16,
    /// The request's JSON body, whole (none when absent, not JSON, or over the cap).
    pub request: Option<bytes::Bytes>,
    /// The answer's JSON body, whole (likewise).
    pub response: Option<bytes::Bytes>,
}

/// A consumer of observations, run on the dispatcher thread.
pub trait Subscriber: Send {
    /// One observation.
    fn observe(&mut self, observation: &Observation);
    /// One observation given away: the last subscriber gets each by value, so one that
    /// keeps observations (the admin API's history) keeps it without a copy.
    fn take(&mut self, observation: Box<Observation>) {
        self.observe(&observation);
    }
    /// The end of a batch: write out what is buffered.
    fn flush(&mut self) {}
}

/// The sending side, kept by the gateway for the life of the process.
pub struct Observers {
    /// Boxed: an observation is a few hundred bytes, and the channel and the dispatcher
    /// moved it by value half a dozen times (a tenth of a routed request's instructions
    /// went to copying it); a box is moved as a pointer, for one allocation.
    sender: Option<SyncSender<Box<Observation>>>,
    dropped: Arc<AtomicU64>,
}

impl Observers {
    /// Starts the dispatcher thread for `subscribers` (none: observations are not sent at all).
    pub fn start(subscribers: Vec<Box<dyn Subscriber>>) -> std::io::Result<Observers> {
        let dropped = Arc::new(AtomicU64::new(0));
        if subscribers.is_empty() {
            return Ok(Observers {
                sender: None,
                dropped,
            });
        }
        let (sender, receiver) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("portcullis-observe".to_owned())
            .spawn(move || dispatch(&receiver, subscribers))?;
        Ok(Observers {
            sender: Some(sender),
            dropped,
        })
    }

    /// Hands an observation to the subscribers without waiting: dropped (and counted) when
    /// the channel is full.
    pub fn send(&self, observation: Observation) {
        if let Some(sender) = &self.sender {
            match sender.try_send(Box::new(observation)) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Observations dropped so far because the subscribers were behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The dispatcher: batches of observations to every subscriber, until every sender is gone.
/// It waits in `recv` while the gateway is idle, and drains the channel once per [`TICK`]
/// while observations keep coming.
fn dispatch(receiver: &Receiver<Box<Observation>>, mut subscribers: Vec<Box<dyn Subscriber>>) {
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        loop {
            let mut count = 0;
            while let Some(observation) = next.take() {
                if let Some((last, rest)) = subscribers.split_last_mut() {
                    for s in rest {
                        s.observe(&observation);
                    }
                    last.take(observation);
                }
                count += 1;
                if count == BATCH {
                    flush(&mut subscribers);
                    count = 0;
                }
                next = receiver.try_recv().ok();
            }
            if count > 0 {
                flush(&mut subscribers);
            }
            std::thread::sleep(TICK);
            match receiver.try_recv() {
                Ok(observation) => next = Some(observation),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
    }
}

/// The end of a batch for every subscriber.
fn flush(subscribers: &mut [Box<dyn Subscriber>]) {
    for s in subscribers {
        s.flush();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::decision::{Client, Timestamp};
    use crate::request_id::RequestId;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A subscriber that forwards request ids and counts flushes.
    struct Probe(mpsc::Sender<String>);
    impl Subscriber for Probe {
        fn observe(&mut self, o: &Observation) {
            let _ = self.0.send(o.decision.request_id.as_str().to_owned());
        }
        fn flush(&mut self) {
            let _ = self.0.send("flush".to_owned());
        }
    }

    /// A subscriber that never returns until told.
    struct Stuck(mpsc::Receiver<()>);
    impl Subscriber for Stuck {
        fn observe(&mut self, _: &Observation) {
            let _ = self.0.recv();
        }
    }

    pub(crate) fn observation(id: &str) -> Observation {
        Observation {
            decision: Decision {
                ts: Timestamp::now(),
                request_id: RequestId::from_header(&http::HeaderValue::from_str(id).unwrap())
                    .unwrap(),
                api: None,
                operation: None,
                method: http::Method::GET,
                path: "/".to_owned(),
                client: Client {
                    ip: [127, 0, 0, 1].into(),
                    key_id: None,
                    sub: None,
                },
                decision: crate::decision::Kind::Allow,
                rule: None,
                reason: None,
                status: 200,
                upstream_status: Some(200),
                latency_us: 1,
            },
            credentials: Credentials::default(),
            request_bytes: None,
            response_bytes: None,
            flags: Vec::new(),
            route_template: None,
            deprecated: false,
        }
    }

    /// A subscriber that says how it was handed each observation.
    struct Handed(mpsc::Sender<&'static str>);
    impl Subscriber for Handed {
        fn observe(&mut self, _: &Observation) {
            let _ = self.0.send("borrowed");
        }
        fn take(&mut self, _: Box<Observation>) {
            let _ = self.0.send("taken");
        }
    }

    #[test]
    fn only_the_last_subscriber_is_given_the_observation_by_value() {
        let (first, first_rx) = mpsc::channel();
        let (last, last_rx) = mpsc::channel();
        let observers =
            Observers::start(vec![Box::new(Handed(first)), Box::new(Handed(last))]).unwrap();
        observers.send(observation("a"));
        let wait = Duration::from_secs(30);
        assert_eq!(first_rx.recv_timeout(wait).unwrap(), "borrowed");
        assert_eq!(last_rx.recv_timeout(wait).unwrap(), "taken");
    }

    #[test]
    fn every_subscriber_sees_every_observation_in_order_then_a_flush() {
        let (tx, rx) = mpsc::channel();
        let observers = Observers::start(vec![Box::new(Probe(tx))]).unwrap();
        for id in ["a", "b", "c"] {
            observers.send(observation(id));
        }
        let mut ids = Vec::new();
        let mut flushed_after_last = false;
        while ids.len() < 3 || !flushed_after_last {
            let got = rx.recv_timeout(Duration::from_secs(30)).unwrap();
            flushed_after_last = got == "flush";
            if !flushed_after_last {
                ids.push(got);
            }
        }
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(observers.dropped(), 0);
    }

    #[test]
    fn a_stuck_subscriber_makes_observations_drop_and_count_never_block() {
        let (release, stuck) = mpsc::channel();
        let observers = Observers::start(vec![Box::new(Stuck(stuck))]).unwrap();
        // The first is taken by the stuck subscriber, QUEUE more fill the channel, and the
        // rest are dropped at once.
        let extra = 100;
        for i in 0..(QUEUE + 1 + extra) {
            observers.send(observation(&format!("r{i}")));
        }
        assert!(
            observers.dropped() >= extra as u64,
            "{} dropped",
            observers.dropped()
        );
        drop(release);
    }

    #[test]
    fn without_subscribers_nothing_is_sent_or_dropped() {
        let observers = Observers::start(Vec::new()).unwrap();
        observers.send(observation("x"));
        assert_eq!(observers.dropped(), 0);
    }
}
