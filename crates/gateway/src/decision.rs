//! The decision log: one JSON object per request (DESIGN.md), written off the hot path by a
//! subscriber of the observations (`observe.rs`: a bounded channel that drops and counts when
//! the writer is behind), plus the most recent decisions in memory for the admin API.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::observe::{Observation, Subscriber};
use crate::request_id::RequestId;

/// How many decisions the admin API keeps.
pub const RECENT: usize = 1000;

/// What was decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Passed every check.
    Allow,
    /// Refused.
    Block,
    /// A denial that was only logged (monitor mode, or a `log` policy); the request went on.
    Monitor,
}

impl Kind {
    /// The name the decision log and the metrics use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Allow => "allow",
            Kind::Block => "block",
            Kind::Monitor => "monitor",
        }
    }
}

/// The client part of a decision.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    /// Its address.
    pub ip: IpAddr,
    /// API key id, when one was used.
    pub key_id: Option<String>,
    /// Token subject.
    pub sub: Option<String>,
}

/// One request's decision. Never holds a credential.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// When the request finished (written as RFC 3339 UTC with milliseconds).
    pub ts: Timestamp,
    /// The request id.
    pub request_id: RequestId,
    /// The API (`null` when no API matched the host).
    pub api: Option<Arc<str>>,
    /// The operation (`null` when undocumented).
    pub operation: Option<Arc<str>>,
    /// Method (a standard one is held without allocating).
    #[serde(serialize_with = "method_text")]
    pub method: http::Method,
    /// Normalized path (the query is never logged: it may hold secrets).
    pub path: String,
    /// The caller.
    pub client: Client,
    /// `allow`, `block` or `monitor` (a denial that was only logged).
    pub decision: Kind,
    /// The rule that decided, if any.
    pub rule: Option<&'static str>,
    /// Why.
    pub reason: Option<String>,
    /// Status sent to the client.
    pub status: u16,
    /// Status from the upstream, when it was called.
    pub upstream_status: Option<u16>,
    /// Time spent, microseconds.
    pub latency_us: u64,
}

/// The decision log's writer, a subscriber of the observations: one JSON line per request to
/// stdout or a file, buffered and written out at the end of each batch.
pub struct DecisionWriter {
    out: BufWriter<Box<dyn Write + Send>>,
    destination: String,
    failed: bool,
    lines: Option<LogLines>,
}

/// The most lines of other kinds waiting for the decision log writer.
pub const LOG_LINES: usize = 1024;

/// Lines of other kinds than decisions for the decision log (the anomaly detectors' alerts,
/// `{"type":"alert",...}`), queued by extensions and written by the decision log's writer at
/// the end of each batch of observations. Bounded: past [`LOG_LINES`] waiting, a line is
/// dropped and counted.
#[derive(Clone, Default)]
pub struct LogLines {
    queue: Arc<Mutex<VecDeque<String>>>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl LogLines {
    /// Queues one JSON object as a line.
    pub fn push(&self, line: &serde_json::Value) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= LOG_LINES {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        queue.push_back(line.to_string());
    }

    /// Lines dropped so far because the writer was behind (or the log is off).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn take(&self) -> VecDeque<String> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl DecisionWriter {
    /// A writer to `destination`: `stdout`, or a file path (appended); `None` for `off`.
    pub fn open(destination: &str) -> std::io::Result<Option<DecisionWriter>> {
        let out: Box<dyn Write + Send> = match destination {
            "off" => return Ok(None),
            "stdout" => Box::new(std::io::stdout()),
            path => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        Ok(Some(DecisionWriter {
            out: BufWriter::with_capacity(64 * 1024, out),
            destination: destination.to_owned(),
            failed: false,
            lines: None,
        }))
    }

    /// Also writes the lines queued in `lines` (alerts), at the end of each batch.
    pub fn with_lines(mut self, lines: LogLines) -> DecisionWriter {
        self.lines = Some(lines);
        self
    }

    fn failed(&mut self, error: &std::io::Error) {
        if !self.failed {
            tracing::warn!(destination = %self.destination, %error, "cannot write the decision log");
        }
        self.failed = true;
    }
}

impl Subscriber for DecisionWriter {
    fn observe(&mut self, observation: &Observation) {
        let written = serde_json::to_writer(&mut self.out, &observation.decision)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.failed(&e);
        }
    }

    fn flush(&mut self) {
        if let Some(lines) = self.lines.clone() {
            for line in lines.take() {
                if let Err(e) = self
                    .out
                    .write_all(line.as_bytes())
                    .and_then(|()| self.out.write_all(b"\n"))
                {
                    self.failed(&e);
                }
            }
        }
        match self.out.flush() {
            Ok(()) => self.failed = false,
            Err(e) => self.failed(&e),
        }
    }
}

/// The most recent decisions, for the admin API. Written by the observation dispatcher only;
/// read by the admin API. The observations are kept as the dispatcher hands them over, boxed,
/// so that keeping one copies nothing.
#[derive(Clone, Default)]
pub struct History {
    recent: Arc<Mutex<VecDeque<Box<Observation>>>>,
}

impl History {
    /// The most recent decisions, newest last.
    pub fn recent(&self, limit: usize) -> Vec<Decision> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let skip = recent.len().saturating_sub(limit);
        recent
            .iter()
            .skip(skip)
            .map(|o| o.decision.clone())
            .collect()
    }

    fn keep(&self, observation: Box<Observation>) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() >= RECENT {
            recent.pop_front();
        }
        recent.push_back(observation);
    }
}

impl Subscriber for History {
    fn observe(&mut self, observation: &Observation) {
        self.keep(Box::new(observation.clone()));
    }

    // The server makes the history the last subscriber: it keeps each observation as sent.
    fn take(&mut self, observation: Box<Observation>) {
        self.keep(observation);
    }
}

fn method_text<S: serde::Serializer>(method: &http::Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(method.as_str())
}

/// A point in time kept as read from the clock and written as RFC 3339 UTC with
/// milliseconds (`2026-11-22T08:10:00.123Z`) only when a decision is serialized: most
/// decisions are never written (log off, the admin ring overwritten), so the hot path only
/// reads the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// Now.
    pub fn now() -> Timestamp {
        Timestamp(SystemTime::now())
    }

    /// A given instant (a replayed or constructed decision).
    pub fn at(time: SystemTime) -> Timestamp {
        Timestamp(time)
    }

    /// Milliseconds since the Unix epoch, truncated as the written form is (0 before it).
    pub fn unix_ms(&self) -> u64 {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            since.subsec_millis()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds() {
        let at = |ms: u64| Timestamp(UNIX_EPOCH + std::time::Duration::from_millis(ms));
        assert_eq!(at(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            at(1_795_335_000_123).to_string(),
            "2026-11-22T08:10:00.123Z"
        );
        assert_eq!(
            serde_json::to_string(&at(1_795_335_000_007)).unwrap(),
            "\"2026-11-22T08:10:00.007Z\""
        );
        assert_eq!(Timestamp::now().to_string().len(), 24);
    }
}
