//! How often a failure of the shared state is logged. While Redis is down every request
//! limited by it is decided without it, and a warning per request (35,248 lines in a
//! 30-minute soak) buries every other line. So the first failure is logged at once, then at
//! most one line per [`INTERVAL`] saying how many failures were not logged since the previous
//! line, and one line when the state answers again. The counters of degraded decisions stay
//! exact: only the log is thinned.
//!
//! The clock is the caller's (microseconds on any monotonic scale), so that tests drive it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// At most one line per this interval while the failures go on.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// The log-line limiter of one kind of failure.
#[derive(Debug)]
pub struct Quiet {
    interval_us: u64,
    /// When the next line may be written (0: at the next failure).
    next_us: AtomicU64,
    /// Failures not logged since the last line.
    suppressed: AtomicU64,
    /// A failure was seen since the last success.
    failing: AtomicBool,
}

impl Default for Quiet {
    fn default() -> Self {
        Quiet::new(INTERVAL)
    }
}

impl Quiet {
    /// A limiter writing at most one line per `interval`.
    pub fn new(interval: Duration) -> Quiet {
        Quiet {
            interval_us: u64::try_from(interval.as_micros()).unwrap_or(u64::MAX),
            next_us: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// A failure at `now_us`: `Some(n)` when it is to be logged, `n` being the failures not
    /// logged since the previous line (0 for the first of an outage); `None` when it is only
    /// counted.
    pub fn failure(&self, now_us: u64) -> Option<u64> {
        if !self.failing.load(Ordering::Relaxed) {
            self.failing.store(true, Ordering::Relaxed);
        }
        let next = self.next_us.load(Ordering::Relaxed);
        if now_us >= next
            && self
                .next_us
                .compare_exchange(
                    next,
                    now_us.saturating_add(self.interval_us).max(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// A success: `Some(n)` at the first success after failures (the outage's end is to be
    /// logged, `n` being the failures not logged since the last line), `None` otherwise. The
    /// next failure is logged at once. One relaxed load when nothing failed.
    pub fn success(&self) -> Option<u64> {
        if !self.failing.load(Ordering::Relaxed) || !self.failing.swap(false, Ordering::Relaxed) {
            return None;
        }
        self.next_us.store(0, Ordering::Relaxed);
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn the_first_failure_is_logged_then_one_line_per_interval_with_the_count() {
        let q = Quiet::new(Duration::from_secs(10));
        assert_eq!(q.failure(5 * S), Some(0), "the first failure");
        // 1,000 failures within the interval: none logged.
        let logged = (0..1000u64)
            .filter(|i| q.failure(5 * S + i * 9_000).is_some())
            .count();
        assert_eq!(logged, 0);
        // The first failure once the interval has passed says how many were not logged.
        assert_eq!(q.failure(15 * S), Some(1000));
        assert_eq!(q.failure(15 * S + 1), None);
        assert_eq!(q.failure(24 * S), None);
        assert_eq!(q.failure(25 * S), Some(2));
    }

    #[test]
    fn a_success_ends_the_outage_once_and_the_next_failure_is_logged_at_once() {
        let q = Quiet::new(Duration::from_secs(10));
        assert_eq!(q.success(), None, "nothing failed");
        assert_eq!(q.failure(S), Some(0));
        assert_eq!(q.failure(2 * S), None);
        assert_eq!(q.failure(3 * S), None);
        assert_eq!(
            q.success(),
            Some(2),
            "the end of the outage, with what was not logged"
        );
        assert_eq!(q.success(), None, "logged once");
        // A new outage a moment later is logged at once, not after the interval.
        assert_eq!(q.failure(4 * S), Some(0));
        assert_eq!(q.success(), Some(0));
    }

    #[test]
    fn concurrent_failures_are_each_logged_or_counted() {
        let q = std::sync::Arc::new(Quiet::new(Duration::from_secs(3600)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || (0..10_000).filter(|_| q.failure(S).is_some()).count())
            })
            .collect();
        let logged: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(
            logged, 1,
            "one line for 40,000 failures within the interval"
        );
        assert_eq!(q.success(), Some(39_999));
    }
}
