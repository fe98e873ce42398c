//! Regular expression denial of service (REDOS-001): each string parameter (PUT and PATCH
//! bodies too with `safe: false`) is set to `aaa…a!` of growing lengths (12, 16, 20, … up to
//! 40), the shape that makes backtracking engines try every split of the `a`s, stopping at
//! the first answer that takes [`SLOW`] longer than the baseline. Reported when that length
//! took at least [`GROWTH`] times as long as the shortest one, a repeat of it is as slow,
//! and the original value right after answers as fast as the baseline again: the time grows
//! with the length of the value (exponentially), not with the machine's load. Bounded: at
//! most 8 lengths per parameter and one slow answer plus one repeat.

use std::time::Duration;

use super::points::{self, Point};
use crate::http::Exchange;
use crate::plan;
use crate::scan::{Scan, Stop};

/// The most parameters tried.
const MAX_POINTS: usize = 25;
/// How much slower than the baseline an answer must be to count as slow.
pub const SLOW: Duration = Duration::from_millis(400);
/// How many times slower than the shortest attack the slow length must be.
pub const GROWTH: u32 = 8;
/// The lengths tried.
const LENGTHS: &[usize] = &[12, 16, 20, 24, 28, 32, 36, 40];

fn attack_value(n: usize) -> String {
    format!("{}!", "a".repeat(n))
}

/// True when `samples` ((length, time), in order) and `baseline` show exponential growth:
/// the last is [`SLOW`] beyond the baseline and [`GROWTH`] times the first.
pub fn grows(samples: &[(usize, Duration)], baseline: Duration) -> bool {
    match (samples.first(), samples.last()) {
        (Some((_, first)), Some((_, last))) if samples.len() >= 2 => {
            *last >= baseline + SLOW && *last >= (*first).max(Duration::from_millis(1)) * GROWTH
        }
        _ => false,
    }
}

async fn time_of(
    scan: &mut Scan<'_>,
    op: usize,
    baseline: &Exchange,
    template: &str,
    point: &Point,
    value: &str,
) -> Result<Option<Exchange>, Stop> {
    let Some(request) = points::replace(&baseline.request, template, point, value) else {
        return Ok(None);
    };
    let who = scan
        .records
        .iter()
        .find(|r| r.exchange.request == baseline.request)
        .map_or(crate::session::Who::Anon, |r| r.who);
    let request = scan.as_who(request, who);
    scan.send(request, Some(op)).await
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let work: Vec<_> = points::collect(scan, !scan.safe)
        .into_iter()
        .take(MAX_POINTS)
        .collect();
    for (op, baseline, point) in work {
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        let Some(original) = points::value(&baseline.request, &template, &point) else {
            continue;
        };
        let mut samples: Vec<(usize, Duration)> = Vec::new();
        let mut slow = None;
        for n in LENGTHS {
            let Some(x) =
                time_of(scan, op, &baseline, &template, &point, &attack_value(*n)).await?
            else {
                break;
            };
            samples.push((*n, x.elapsed));
            if x.elapsed >= baseline.elapsed + SLOW {
                slow = Some(x);
                break;
            }
        }
        let Some(slow) = slow else { continue };
        if !grows(&samples, baseline.elapsed) {
            continue;
        }
        let n = samples.last().map_or(0, |s| s.0);
        let Some(again) = time_of(scan, op, &baseline, &template, &point, &attack_value(n)).await?
        else {
            continue;
        };
        let Some(calm) = time_of(scan, op, &baseline, &template, &point, &original).await? else {
            continue;
        };
        if again.elapsed < baseline.elapsed + SLOW || calm.elapsed >= baseline.elapsed + SLOW {
            continue;
        }
        let series: Vec<String> = samples
            .iter()
            .map(|(n, t)| format!("{n}: {} ms", t.as_millis()))
            .collect();
        scan.report(
            "PC-SCAN-REDOS-001",
            Some(op),
            &slow,
            format!(
                "{} {}: the answer time grows exponentially with the length of `aaa…a!` in the {}",
                slow.request.method,
                plan::path_only(&baseline.request.path),
                point.describe()
            ),
            format!(
                "answer times by length of the value ({}), baseline {} ms; the {n}-character value again took {} ms and the original value right after {} ms",
                series.join(", "),
                baseline.elapsed.as_millis(),
                again.elapsed.as_millis(),
                calm.elapsed.as_millis()
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn growth_needs_both_a_slow_answer_and_a_ratio() {
        assert!(grows(&[(12, ms(2)), (16, ms(20)), (20, ms(900))], ms(3)));
        // Slow from the start: the machine, not the length.
        assert!(!grows(&[(12, ms(500)), (16, ms(900))], ms(3)));
        // Fast everywhere.
        assert!(!grows(&[(12, ms(2)), (40, ms(30))], ms(3)));
        assert!(!grows(&[(12, ms(900))], ms(3)));
        assert_eq!(attack_value(3), "aaa!");
    }
}
