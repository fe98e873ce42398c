//! The live stream behind the admin API's `/api/events`: a broadcast channel that the
//! observation dispatcher feeds with each decision (`{"type":"decision", ...}`) while someone
//! listens, and that extensions (the anomaly detectors) feed with their alerts. A listener
//! that falls behind loses the oldest events (the channel is bounded), never slows a request.

use serde_json::Value;
use tokio::sync::broadcast::Sender;

use crate::observe::{Observation, Subscriber};

/// Events kept for a listener that has not read them yet.
pub const QUEUE: usize = 1024;

/// The subscriber that publishes each decision to the live stream.
pub struct Publisher {
    events: Sender<Value>,
}

impl Publisher {
    /// Publishes to `events`.
    pub fn new(events: Sender<Value>) -> Publisher {
        Publisher { events }
    }
}

/// The event for one observation: the decision-log record, with `type` and the flags.
pub fn decision_event(observation: &Observation) -> Value {
    let mut event = serde_json::to_value(&observation.decision).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut event {
        map.insert("type".to_owned(), Value::from("decision"));
        if !observation.flags.is_empty() {
            map.insert("flags".to_owned(), Value::from(observation.flags.clone()));
        }
    }
    event
}

impl Subscriber for Publisher {
    fn observe(&mut self, observation: &Observation) {
        // Nothing is built while nobody listens.
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(decision_event(observation));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_published_only_while_someone_listens() {
        let (tx, _) = tokio::sync::broadcast::channel(4);
        let mut publisher = Publisher::new(tx.clone());
        let o = crate::observe::tests::observation("r-1");
        publisher.observe(&o);
        let mut rx = tx.subscribe();
        publisher.observe(&o);
        let event = rx.try_recv().unwrap();
        assert_eq!(event["type"], "decision");
        assert_eq!(event["request_id"], "r-1");
        assert!(rx.try_recv().is_err());
    }
}
