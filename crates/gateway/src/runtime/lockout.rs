//! `apis[].lockout` compiled: the per-IP and per-account policies (defaults applied, `failures:
//! 0` off), their state names, and the login operations with their account pointers checked.

use std::path::Path;

use portcullis_spec::Catalog;

use super::{BuildError, config_error, known_operation};
use crate::config::lockout::{LockoutConfig, LockoutPolicyConfig};
use crate::config::{ApiConfig, Config};
use crate::ratelimit::lockout::Policy;

/// One API's lockout, as the pipeline runs it.
#[derive(Debug, Clone)]
pub struct LockoutPlan {
    /// Failures per client IP; `None` when off.
    pub ip: Option<Policy>,
    /// Failed logins per account; `None` when off.
    pub account: Option<Policy>,
    /// State name of the IP counters (`lockout/<api>/ip`).
    pub ip_name: String,
    /// State name of the account counters (`lockout/<api>/account`).
    pub account_name: String,
    /// Login operations.
    pub logins: Vec<Login>,
}

/// A login operation: its upstream's answer says whether the account's password was right.
#[derive(Debug, Clone)]
pub struct Login {
    /// Operation id.
    pub operation: String,
    /// JSON pointer to the account in the body.
    pub pointer: String,
    /// The field of a form body (the pointer's one segment, unescaped), if it has one segment.
    pub form_field: Option<String>,
    /// Upstream statuses meaning a failed login.
    pub failure_status: Vec<u16>,
    /// A 2xx clears the account's count.
    pub reset_on_success: bool,
}

impl LockoutPlan {
    /// The login entry for operation `id`.
    pub fn login(&self, id: &str) -> Option<&Login> {
        self.logins.iter().find(|l| l.operation == id)
    }

    /// One line for `check` and `/api/config`: `ip 10 failures in 600s, lock 900s; account
    /// off; logins login (/username, failure 401 403)`.
    pub fn describe(&self) -> String {
        let policy = |p: Option<Policy>| match p {
            Some(p) => format!(
                "{} failures in {}s, lock {}s",
                p.failures,
                p.within_ms / 1000,
                p.lock_ms / 1000
            ),
            None => "off".to_owned(),
        };
        let logins: Vec<String> = self
            .logins
            .iter()
            .map(|l| {
                let statuses: Vec<String> = l.failure_status.iter().map(u16::to_string).collect();
                format!(
                    "{} ({}, failure {})",
                    l.operation,
                    l.pointer,
                    statuses.join(" ")
                )
            })
            .collect();
        let logins = if logins.is_empty() {
            "none".to_owned()
        } else {
            logins.join(", ")
        };
        format!(
            "ip {}; account {}; logins {logins}",
            policy(self.ip),
            policy(self.account)
        )
    }
}

fn policy(
    config: &Config,
    pointer: &str,
    given: Option<LockoutPolicyConfig>,
    default: LockoutPolicyConfig,
) -> Result<Option<Policy>, BuildError> {
    let p = given.unwrap_or(default);
    if p.failures == 0 {
        return Ok(None);
    }
    for (key, d) in [("within", p.within), ("lock", p.lock)] {
        if d.0.as_millis() < 1000 {
            return Err(config_error(
                config,
                format!("{pointer}/{key}"),
                format!("{d} is too short (at least 1s)"),
            ));
        }
    }
    let ms = |d: crate::config::Dur| u64::try_from(d.0.as_millis()).unwrap_or(u64::MAX);
    Ok(Some(Policy {
        failures: p.failures,
        within_ms: ms(p.within),
        lock_ms: ms(p.lock),
    }))
}

/// The one segment of `pointer`, unescaped (`~1` is `/`, `~0` is `~`); `None` when it has
/// several. `Err` when it is not a JSON pointer to a field.
fn segments(pointer: &str) -> Result<Option<String>, &'static str> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err("is not a JSON pointer into the body (write e.g. /username)");
    };
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err("has a `~` not followed by 0 or 1 (write ~0 for ~ and ~1 for /)");
        }
    }
    if rest.is_empty() {
        return Err("names no field (write e.g. /username)");
    }
    Ok((!rest.contains('/')).then(|| rest.replace("~1", "/").replace("~0", "~")))
}

/// Compiles API `i`'s `lockout`, checking its operations against the spec.
pub(super) fn compile(
    config: &Config,
    i: usize,
    api: &ApiConfig,
    catalog: &Catalog,
    spec_path: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<LockoutPlan>, BuildError> {
    let Some(c): Option<&LockoutConfig> = api.lockout.as_ref() else {
        return Ok(None);
    };
    let at = format!("/apis/{i}/lockout");
    let ip = policy(
        config,
        &format!("{at}/ip"),
        c.ip,
        LockoutPolicyConfig::default_ip(),
    )?;
    let account = policy(
        config,
        &format!("{at}/account"),
        c.account,
        LockoutPolicyConfig::default_account(),
    )?;
    let mut logins: Vec<Login> = Vec::new();
    for (j, l) in c.logins.iter().enumerate() {
        let here = format!("{at}/logins/{j}");
        known_operation(
            config,
            catalog,
            spec_path,
            format!("{here}/operation"),
            &l.operation,
        )?;
        let id = l.operation.clone();
        if logins.iter().any(|o| o.operation == id) {
            return Err(config_error(
                config,
                format!("{here}/operation"),
                format!("operation {:?} is listed twice", l.operation),
            ));
        }
        let form_field = segments(&l.account).map_err(|m| {
            config_error(
                config,
                format!("{here}/account"),
                format!("{:?} {m}", l.account),
            )
        })?;
        if l.failure_status.is_empty() {
            return Err(config_error(
                config,
                format!("{here}/failure_status"),
                "is empty: no answer would count as a failed login".to_owned(),
            ));
        }
        for (k, s) in l.failure_status.iter().enumerate() {
            if !(100..=599).contains(s) {
                return Err(config_error(
                    config,
                    format!("{here}/failure_status/{k}"),
                    format!("{s} is not an HTTP status (100 to 599)"),
                ));
            }
        }
        logins.push(Login {
            operation: id,
            pointer: l.account.clone(),
            form_field,
            failure_status: l.failure_status.clone(),
            reset_on_success: l.reset_on_success,
        });
    }
    if c.account.is_some() && account.is_some() && logins.is_empty() {
        warnings.push(format!(
            "api {}: lockout.account has no effect without lockout.logins (accounts are \
             only known on login operations)",
            api.name
        ));
    }
    Ok(Some(LockoutPlan {
        ip,
        account,
        ip_name: format!("lockout/{}/ip", api.name),
        account_name: format!("lockout/{}/account", api.name),
        logins,
    }))
}

#[cfg(test)]
mod tests {
    use super::segments;
    use crate::config::Config;
    use crate::identity::jwt;
    use crate::runtime::Gateway;

    const SPEC: &str = "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n  /login:\n    post:\n      operationId: login\n      responses: { '200': { description: ok } }\n";

    /// Builds a gateway whose API has `lockout: <lockout>`: its plan's description and
    /// warnings, or the error.
    async fn build(lockout: &str) -> Result<(String, Vec<String>), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("spec.yaml"), SPEC).map_err(|e| e.to_string())?;
        let text = format!(
            "apis:\n  - name: t\n    spec: spec.yaml\n    upstream: http://127.0.0.1:9\n    lockout: {lockout}\n"
        );
        let config = Config::from_str_in("gw.yaml", &text, dir.path(), &|_| None)
            .map_err(|e| e.to_string())?;
        let gw = Gateway::build(config, None, jwt::system_clock())
            .await
            .map_err(|e| e.to_string())?;
        let plan = gw.apis.first().and_then(|a| a.lockout.as_ref());
        Ok((plan.map(|p| p.describe()).unwrap_or_default(), gw.warnings))
    }

    #[tokio::test]
    async fn defaults_off_switches_and_logins() {
        let (plan, warnings) = build("{}").await.unwrap();
        assert_eq!(
            plan,
            "ip 10 failures in 600s, lock 900s; account 5 failures in 900s, lock 900s; logins none"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let (plan, _) = build(
            "{ ip: { failures: 0, within: 1m, lock: 1m }, logins: [{ operation: login, account: /user }] }",
        )
        .await
        .unwrap();
        assert_eq!(
            plan,
            "ip off; account 5 failures in 900s, lock 900s; logins login (/user, failure 401 403)"
        );
        let (_, warnings) = build("{ account: { failures: 3, within: 1m, lock: 1m } }")
            .await
            .unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("lockout.account has no effect"))
        );
    }

    #[tokio::test]
    async fn mistakes_are_located() {
        for (lockout, expected) in [
            (
                "{ logins: [{ operation: signIn, account: /user }] }",
                "gw.yaml: /apis/0/lockout/logins/0/operation: no operation \"signIn\" in ",
            ),
            (
                "{ logins: [{ operation: login, account: user }] }",
                "gw.yaml: /apis/0/lockout/logins/0/account: \"user\" is not a JSON pointer",
            ),
            (
                "{ logins: [{ operation: login, account: /u, failure_status: [700] }] }",
                "gw.yaml: /apis/0/lockout/logins/0/failure_status/0: 700 is not an HTTP status",
            ),
            (
                "{ logins: [{ operation: login, account: /u, failure_status: [] }] }",
                "gw.yaml: /apis/0/lockout/logins/0/failure_status: is empty",
            ),
            (
                "{ logins: [{ operation: login, account: /u }, { operation: login, account: /v }] }",
                "gw.yaml: /apis/0/lockout/logins/1/operation: operation \"login\" is listed twice",
            ),
            (
                "{ ip: { failures: 3, within: 500ms, lock: 1m } }",
                "gw.yaml: /apis/0/lockout/ip/within: 500ms is too short (at least 1s)",
            ),
            (
                "{ account: { failures: 3, within: 1m, lock: 0s } }",
                "gw.yaml: /apis/0/lockout/account/lock: 0s is too short",
            ),
        ] {
            let e = build(lockout).await.err().unwrap_or_default();
            // `gw.yaml:5:<column>: <pointer>: <message>`: the line of `lockout:`, the column
            // within its inline value.
            let (place, rest) = e.split_once(": ").unwrap_or_default();
            let column = place
                .strip_prefix("gw.yaml:5:")
                .and_then(|c| c.parse::<usize>().ok());
            assert!(
                column.is_some_and(|c| c > "    lockout: ".len()),
                "{lockout}: {e}"
            );
            let expected = expected.strip_prefix("gw.yaml: ").unwrap_or(expected);
            assert!(rest.starts_with(expected), "{lockout}: {e}");
        }
        let e = build("{ ip: { failures: 3 } }")
            .await
            .err()
            .unwrap_or_default();
        assert!(
            e.contains("/apis/0/lockout/ip") && e.contains("missing field `within`"),
            "{e}"
        );
        let e = build("{ ips: {} }").await.err().unwrap_or_default();
        assert!(e.contains("unknown field `ips`"), "{e}");
    }

    #[test]
    fn account_pointers() {
        assert_eq!(segments("/username"), Ok(Some("username".to_owned())));
        assert_eq!(segments("/a~1b~0c"), Ok(Some("a/b~c".to_owned())));
        assert_eq!(segments("/user/name"), Ok(None));
        assert!(segments("username").is_err());
        assert!(segments("/").is_err());
        assert!(segments("/a~2").is_err());
        assert!(segments("/a~").is_err());
    }
}
