//! SQL injection, time-based (SQLI-002), for servers that hide their SQL errors: each string
//! parameter gets a SQL delay appended (`' OR SLEEP(1)-- `, PostgreSQL's `pg_sleep`, SQL
//! Server's `WAITFOR DELAY`), one dialect after the other. A dialect whose 1-second delay is
//! answered a second or more late is then measured: three baseline samples (the original
//! value), the same payload asking for 2 seconds, and asking for 0. Reported when the
//! 1- and 2-second answers come at least that long after the slowest baseline (minus a fifth
//! for timer slack) and the 0-second one does not: the delay follows the number asked for.
//! Bounded: one screening request per dialect and parameter, five more for a suspect.

use std::time::Duration;

use super::points::{self, Point};
use crate::http::Exchange;
use crate::plan;
use crate::scan::{Scan, Stop};

/// The most parameters tried.
const MAX_POINTS: usize = 30;

/// Delay payloads by dialect; `{}` is the number of seconds.
const DIALECTS: &[(&str, &str)] = &[
    ("MySQL", "' OR SLEEP({})-- "),
    ("PostgreSQL", "' OR 1=(SELECT 1 FROM PG_SLEEP({}))-- "),
    ("SQL Server", "'; WAITFOR DELAY '0:0:{}'-- "),
];

fn payload(template: &str, seconds: u64) -> String {
    template.replace("{}", &seconds.to_string())
}

/// True when the samples show a delay that follows the seconds asked for.
pub fn follows(baselines: &[Duration], one: Duration, two: Duration, zero: Duration) -> bool {
    let Some(slowest) = baselines.iter().max().copied() else {
        return false;
    };
    let slack = |s: u64| Duration::from_millis(s * 800);
    one >= slowest + slack(1) && two >= slowest + slack(2) && zero < slowest + slack(1) / 2
}

async fn sample(
    scan: &mut Scan<'_>,
    op: usize,
    baseline: &Exchange,
    template: &str,
    point: &Point,
    suffix: Option<&str>,
) -> Result<Option<Exchange>, Stop> {
    let request = match suffix {
        Some(s) => points::inject(&baseline.request, template, point, s),
        None => Some(baseline.request.clone()),
    };
    let Some(request) = request else {
        return Ok(None);
    };
    scan.send(request, Some(op)).await
}

/// Runs the check.
pub async fn run(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let work: Vec<_> = points::collect(scan, false)
        .into_iter()
        .take(MAX_POINTS)
        .collect();
    'points: for (op, baseline, point) in work {
        let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
        for (dialect, shape) in DIALECTS {
            let Some(one) = sample(
                scan,
                op,
                &baseline,
                &template,
                &point,
                Some(&payload(shape, 1)),
            )
            .await?
            else {
                continue 'points;
            };
            if one.elapsed < baseline.elapsed + Duration::from_millis(800) {
                continue;
            }
            let mut baselines = vec![baseline.elapsed];
            for _ in 0..2 {
                if let Some(x) = sample(scan, op, &baseline, &template, &point, None).await? {
                    baselines.push(x.elapsed);
                }
            }
            let two = sample(
                scan,
                op,
                &baseline,
                &template,
                &point,
                Some(&payload(shape, 2)),
            )
            .await?;
            let zero = sample(
                scan,
                op,
                &baseline,
                &template,
                &point,
                Some(&payload(shape, 0)),
            )
            .await?;
            let (Some(two), Some(zero)) = (two, zero) else {
                continue 'points;
            };
            if !follows(&baselines, one.elapsed, two.elapsed, zero.elapsed) {
                continue;
            }
            let ms: Vec<String> = baselines
                .iter()
                .map(|d| d.as_millis().to_string())
                .collect();
            scan.report(
                "PC-SCAN-SQLI-002",
                Some(op),
                &two,
                format!(
                    "{} {}: a {dialect} delay in the {} delays the answer",
                    two.request.method,
                    plan::path_only(&baseline.request.path),
                    point.describe()
                ),
                format!(
                    "baseline {} ms; asking for 1 s took {} ms, 2 s took {} ms, 0 s took {} ms",
                    ms.join("/"),
                    one.elapsed.as_millis(),
                    two.elapsed.as_millis(),
                    zero.elapsed.as_millis()
                ),
            );
            continue 'points;
        }
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
    fn the_delay_must_follow_the_seconds_asked_for() {
        let base = [ms(5), ms(8), ms(6)];
        assert!(follows(&base, ms(1010), ms(2010), ms(9)));
        // A slow machine: everything late, 0 s too.
        assert!(!follows(&base, ms(1010), ms(2010), ms(1000)));
        // One slow answer, not two.
        assert!(!follows(&base, ms(1010), ms(900), ms(9)));
        // A slow baseline hides the delay.
        assert!(!follows(&[ms(900)], ms(1010), ms(2010), ms(9)));
        assert!(!follows(&[], ms(1010), ms(2010), ms(9)));
        assert_eq!(payload(DIALECTS[0].1, 2), "' OR SLEEP(2)-- ");
    }
}
