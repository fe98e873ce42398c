//! One-use, short-lived tickets that open the live stream from a browser.
//!
//! A browser's `EventSource` cannot send an `Authorization` header, and the long-lived admin
//! token must never be put in a URL (URLs end up in logs and histories). So the dashboard asks
//! for a ticket with its token (`POST /api/events/ticket`) and opens
//! `/api/events?ticket=...`: the ticket works once, within [`TTL`], and at most [`MAX`] are
//! outstanding (the oldest is dropped first), so they cost bounded memory.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

/// How long a ticket can be used.
pub const TTL: Duration = Duration::from_secs(30);
/// Tickets outstanding at most.
pub const MAX: usize = 64;

/// The outstanding tickets.
#[derive(Default)]
pub struct Tickets {
    issued: Mutex<VecDeque<(String, Instant)>>,
}

impl Tickets {
    /// A new ticket (128 random bits, hex).
    pub fn issue(&self) -> String {
        let ticket = uuid::Uuid::new_v4().simple().to_string();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        issued.retain(|(_, at)| now.duration_since(*at) < TTL);
        while issued.len() >= MAX {
            issued.pop_front();
        }
        issued.push_back((ticket.clone(), now));
        ticket
    }

    /// Uses `ticket`: true (once) when it was issued less than [`TTL`] ago.
    pub fn redeem(&self, ticket: &str) -> bool {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        issued.retain(|(_, at)| now.duration_since(*at) < TTL);
        let found = issued
            .iter()
            .position(|(t, _)| bool::from(t.as_bytes().ct_eq(ticket.as_bytes())));
        found.and_then(|i| issued.remove(i)).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once() {
        let tickets = Tickets::default();
        let t = tickets.issue();
        assert_eq!(t.len(), 32);
        assert!(!tickets.redeem("nope"));
        assert!(tickets.redeem(&t));
        assert!(!tickets.redeem(&t), "used");
    }

    #[test]
    fn outstanding_tickets_are_bounded() {
        let tickets = Tickets::default();
        let first = tickets.issue();
        let rest: Vec<String> = (0..MAX).map(|_| tickets.issue()).collect();
        assert!(!tickets.redeem(&first), "the oldest was dropped");
        assert!(rest.iter().all(|t| tickets.redeem(t)));
    }
}
