//! GCRA (the generic cell rate algorithm) arithmetic, without clocks or storage.
//!
//! A limit of `limit` requests per `period` with a `burst` admits, from an idle client, `burst`
//! requests at once, then one request every emission interval `T = period / limit`. The whole
//! state of one client is one number, its theoretical arrival time (TAT): the instant at which
//! it would again be fully idle. A TAT in the past is the same as no state at all, which is why
//! stores may forget such entries freely.
//!
//! All times are microseconds on one clock (the caller's, or Redis's `TIME` for shared state).

/// A rate limit in GCRA terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Emission interval: microseconds between requests at the sustained rate (at least 1).
    pub interval_us: u64,
    /// Requests an idle client may send at once (at least 1).
    pub burst: u64,
}

/// What one check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// True when the request is admitted.
    pub allowed: bool,
    /// Requests that could still be sent right now after this one (0 when denied).
    pub remaining: u64,
    /// Microseconds until the client is fully replenished (`RateLimit-Reset`).
    pub reset_us: u64,
    /// Microseconds to wait before a retry can succeed (0 when allowed; `Retry-After`).
    pub retry_after_us: u64,
}

impl Gcra {
    /// `limit` requests per `period_us` microseconds with `burst` (0 means `limit`).
    /// A zero limit or period is clamped to the smallest meaningful value.
    pub fn new(limit: u64, period_us: u64, burst: u64) -> Gcra {
        let limit = limit.max(1);
        Gcra {
            interval_us: (period_us / limit).max(1),
            burst: if burst == 0 { limit } else { burst },
        }
    }

    /// The largest distance a TAT may run ahead of now: `burst * T`.
    fn tolerance_us(self) -> u64 {
        self.burst.saturating_mul(self.interval_us)
    }

    /// Checks one request at `now_us` against the stored `tat_us` (None: no state).
    /// Returns the outcome and, when admitted, the TAT to store.
    pub fn check(self, tat_us: Option<u64>, now_us: u64) -> (Outcome, Option<u64>) {
        let tat = tat_us.unwrap_or(now_us).max(now_us);
        let new_tat = tat.saturating_add(self.interval_us);
        let ahead = new_tat - now_us;
        let tolerance = self.tolerance_us();
        if ahead <= tolerance {
            let remaining = (tolerance - ahead) / self.interval_us;
            let outcome = Outcome {
                allowed: true,
                remaining,
                reset_us: ahead,
                retry_after_us: 0,
            };
            (outcome, Some(new_tat))
        } else {
            let outcome = Outcome {
                allowed: false,
                remaining: 0,
                reset_us: tat - now_us,
                retry_after_us: ahead - tolerance,
            };
            (outcome, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: u64 = 1_000_000;

    #[test]
    fn an_idle_client_gets_its_burst_then_the_sustained_rate() {
        let g = Gcra::new(10, SEC, 5);
        let mut tat = None;
        for i in 0..5 {
            let (o, t) = g.check(tat, 0);
            assert!(o.allowed, "request {i}");
            assert_eq!(o.remaining, 4 - i);
            tat = t;
        }
        let (o, t) = g.check(tat, 0);
        assert!(!o.allowed);
        assert_eq!(t, None);
        assert_eq!(o.retry_after_us, SEC / 10);
        // One interval later exactly one more is admitted.
        let (o, t) = g.check(tat, SEC / 10);
        assert!(o.allowed);
        assert_eq!(o.remaining, 0);
        let (o, _) = g.check(t, SEC / 10);
        assert!(!o.allowed);
    }

    #[test]
    fn burst_defaults_to_limit_and_spike_arrest_spaces_requests() {
        assert_eq!(Gcra::new(100, SEC, 0).burst, 100);
        let spike = Gcra::new(10, SEC, 1);
        let (o, tat) = spike.check(None, 0);
        assert!(o.allowed);
        assert!(!spike.check(tat, SEC / 10 - 1).0.allowed);
        assert!(spike.check(tat, SEC / 10).0.allowed);
    }

    #[test]
    fn a_past_tat_is_the_same_as_no_state() {
        let g = Gcra::new(5, SEC, 2);
        assert_eq!(g.check(Some(3), 1000), g.check(None, 1000));
    }

    proptest! {
        /// Over any window, admissions never exceed burst + elapsed / T, whatever the
        /// arrival pattern; and a client that waits `retry_after` is admitted.
        #[test]
        fn never_admits_more_than_burst_plus_rate(
            limit in 1u64..1000,
            period in 1u64..(10 * SEC),
            burst in 0u64..50,
            gaps in proptest::collection::vec(0u64..(2 * SEC), 1..300),
        ) {
            let g = Gcra::new(limit, period, burst);
            let mut tat = None;
            let mut now = 0u64;
            let mut admitted = 0u64;
            for gap in gaps {
                now += gap;
                let (o, t) = g.check(tat, now);
                if o.allowed {
                    admitted += 1;
                    tat = t;
                    prop_assert!(o.remaining < g.burst);
                } else {
                    prop_assert!(o.retry_after_us > 0);
                    let (retry, _) = g.check(tat, now + o.retry_after_us);
                    prop_assert!(retry.allowed);
                }
            }
            prop_assert!(admitted <= g.burst + now / g.interval_us);
        }
    }
}
