//! `apis[].lockout`: brute-force lockout, as written in the file (see docs/config.md,
//! "Lockout"). Compiled by [`crate::runtime`] into what the pipeline runs.

use serde::Deserialize;

use super::Dur;

/// `apis[].lockout`: failures per client IP and per account lock them out for a while.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutConfig {
    /// Refused credentials (and failed logins) per client IP; default
    /// `{ failures: 10, within: 10m, lock: 15m }`.
    pub ip: Option<LockoutPolicyConfig>,
    /// Failed logins per account (from `logins`); default `{ failures: 5, within: 15m, lock: 15m }`.
    pub account: Option<LockoutPolicyConfig>,
    /// Login operations whose upstream answer says whether a password was right.
    #[serde(default)]
    pub logins: Vec<LoginConfig>,
}

/// How many failures within how long lock a client or account for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutPolicyConfig {
    /// Failures that lock (`0` turns this counter off).
    pub failures: u32,
    /// The window: counted from the first failure; a failure after it starts a new count.
    pub within: Dur,
    /// How long the lock lasts.
    pub lock: Dur,
}

/// One `apis[].lockout.logins` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// The login operation's id.
    pub operation: String,
    /// JSON pointer to the account in the request body (`/username`); for a form body, its
    /// one segment names the field.
    pub account: String,
    /// Upstream statuses that mean a failed login (default `[401, 403]`).
    #[serde(default = "default_failure_status")]
    pub failure_status: Vec<u16>,
    /// A 2xx answer clears the account's failure count (default `true`).
    #[serde(default = "yes")]
    pub reset_on_success: bool,
}

fn default_failure_status() -> Vec<u16> {
    vec![401, 403]
}

fn yes() -> bool {
    true
}

impl LockoutPolicyConfig {
    /// The per-IP default.
    pub fn default_ip() -> LockoutPolicyConfig {
        LockoutPolicyConfig {
            failures: 10,
            within: Dur(std::time::Duration::from_secs(600)),
            lock: Dur(std::time::Duration::from_secs(900)),
        }
    }

    /// The per-account default.
    pub fn default_account() -> LockoutPolicyConfig {
        LockoutPolicyConfig {
            failures: 5,
            within: Dur(std::time::Duration::from_secs(900)),
            lock: Dur(std::time::Duration::from_secs(900)),
        }
    }
}
