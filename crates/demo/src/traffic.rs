//! `portcullis demo --traffic`: a while (a minute by default) of mixed benign and hostile
//! traffic through the gateway, so that every page of the dashboard has something to show:
//! customers logging in and reading their accounts, and one attacker address probing
//! undocumented and deprecated paths, reading other customers' accounts, injecting SQL,
//! writing properties it should not, and stuffing credentials.
//!
//! Bounded: at most [`RATE`] requests a second, only to a `http://127.0.0.1:` address.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::attack::{AttackError, Http};

/// Requests a second, at most.
pub const RATE: u32 = 20;
/// The longest run allowed.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// What was sent and how the gateway answered.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Requests sent.
    pub sent: u64,
    /// Of them, hostile.
    pub hostile: u64,
    /// Answers by status code (0: no answer).
    pub statuses: BTreeMap<u16, u64>,
}

impl Report {
    /// One line: what was sent and the answers.
    pub fn summary(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        format!(
            "{} requests ({} hostile); answers {}",
            self.sent,
            self.hostile,
            statuses.join(", ")
        )
    }
}

/// One request of the mix: method, path, bearer, body, hostile.
type Call = (&'static str, String, Option<String>, Option<Value>, bool);

/// The `n`th request of the mix. Ten in every 24 are hostile.
fn call(n: u64, alice: &str, bob: &str) -> Call {
    let a = Some(alice.to_owned());
    let b = Some(bob.to_owned());
    match n % 24 {
        0 => ("GET", "/users/me".into(), a, None, false),
        1 => ("GET", "/users/alice/accounts".into(), a, None, false),
        2 => ("GET", "/accounts/search?q=Checking".into(), a, None, false),
        3 => ("GET", "/users/me".into(), b, None, false),
        4 => ("GET", "/users/bob/accounts".into(), b, None, false),
        5 => ("GET", "/users/bob/accounts".into(), a, None, true), // BOLA
        6 => ("GET", "/debug/config".into(), None, None, true),    // shadow
        7 => ("GET", "/accounts/search?q=Savings".into(), b, None, false),
        8 => (
            "GET",
            format!("/v1/accounts/{}", 1000 + n % 7),
            a,
            None,
            true,
        ), // zombie
        9 => (
            "GET",
            "/accounts/search?q=x%27%20OR%201%3D1--".into(),
            a,
            None,
            true,
        ),
        10 => (
            "PATCH",
            "/users/me".into(),
            a,
            Some(json!({"role": "admin"})),
            true,
        ), // mass assignment
        11 => ("GET", "/admin/users".into(), a, None, true), // BFLA
        12 => ("GET", "/users/alice/accounts".into(), a, None, false),
        13 => ("GET", "/internal/export".into(), None, None, true), // shadow
        14 => ("GET", "/users/me".into(), a, None, false),
        15 => (
            "POST",
            "/auth/login".into(),
            None,
            Some(json!({"username": format!("user{}", n % 97), "password": "123456"})),
            true,
        ), // credential stuffing
        16 => ("GET", "/users/bob/accounts".into(), b, None, false),
        17 => (
            "GET",
            format!("/users/user{}/accounts", n % 50),
            a,
            None,
            true,
        ), // enumeration
        18 => ("GET", "/.env".into(), None, None, true), // scanning
        _ => ("GET", "/accounts/search?q=Checking".into(), b, None, false),
    }
}

/// Sends the mix to `gateway` (customers log in at `direct`, the bank itself) for `duration`
/// (at most [`MAX_DURATION`]), calling `progress` every ten seconds.
pub async fn run(
    gateway: &str,
    direct: &str,
    duration: Duration,
    mut progress: impl FnMut(&Report),
) -> Result<Report, AttackError> {
    for base in [gateway, direct] {
        if !base.starts_with("http://127.0.0.1:") {
            return Err(AttackError(format!(
                "demo traffic goes to 127.0.0.1 only, not {base}"
            )));
        }
    }
    let http = Http::new();
    let alice = http.login(direct, "alice", "alice-demo-pw").await?;
    let bob = http.login(direct, "bob", "bob-demo-pw").await?;
    let duration = duration.min(MAX_DURATION);
    let mut report = Report::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE);
    let started = tokio::time::Instant::now();
    let mut last_progress = started;
    let mut n = 0u64;
    while started.elapsed() < duration {
        tick.tick().await;
        let (method, path, token, body, hostile) = call(n, &alice, &bob);
        n += 1;
        let status = match http
            .call(gateway, method, &path, token.as_deref(), body.as_ref())
            .await
        {
            Ok(r) => r.status,
            Err(_) => 0,
        };
        report.sent += 1;
        report.hostile += u64::from(hostile);
        *report.statuses.entry(status).or_default() += 1;
        if last_progress.elapsed() >= Duration::from_secs(10) {
            last_progress = tokio::time::Instant::now();
            progress(&report);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_a_third_hostile_and_every_kind_appears() {
        let calls: Vec<Call> = (0..24).map(|n| call(n, "a", "b")).collect();
        let hostile = calls.iter().filter(|c| c.4).count();
        assert_eq!(hostile, 10, "hostile requests in a cycle");
        for path in [
            "/debug/config",
            "/v1/accounts/",
            "/users/bob/accounts",
            "/admin/users",
            "/auth/login",
            "/.env",
        ] {
            assert!(calls.iter().any(|c| c.1.starts_with(path)), "{path}");
        }
    }

    #[tokio::test]
    async fn only_loopback() {
        let e = run(
            "http://10.0.0.1:80",
            "http://127.0.0.1:1",
            Duration::from_secs(1),
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("127.0.0.1 only"), "{e}");
    }
}
