//! The lockout stage (`apis[].lockout`, OWASP API2): a client IP or an account that failed
//! too often is refused with 429 before any credential is checked, so a locked-out guesser
//! learns nothing more.
//!
//! A [`Watch`] is made per request for operations that check credentials or are login
//! operations. It is asked three things, each one round trip to the state backend:
//! [`Watch::check`] before authentication, [`Watch::auth_failed`] when a presented credential
//! was refused, and [`Watch::answered`] when a login operation's upstream answered (a failure
//! status counts for the IP and the account; a 2xx may clear the account's count).

use std::net::IpAddr;

use bytes::Bytes;
use http::header;
use serde_json::Value;

use http_body::Body as HttpBody;

use super::{RequestCtx, Verdict};
use crate::metrics::LockoutLabels;
use crate::pipeline::Ctx;
use crate::problem::Denial;
use crate::proxy::BoxError;
use crate::ratelimit::lockout::{Answer, Op, Subject};
use crate::ratelimit::state_key;
use crate::runtime::lockout::{LockoutPlan, Login};
use crate::runtime::{Api, OpPlan};

/// The longest account text shown in a decision-log reason.
const SHOWN_ACCOUNT_CHARS: usize = 64;

/// What the lockout watches in one request.
pub(crate) struct Watch<'a> {
    api: &'a Api,
    plan: &'a LockoutPlan,
    ip: IpAddr,
    /// The IP's state key, when the per-IP counter is on.
    ip_key: Option<String>,
    /// The login operation, when this is one.
    login: Option<&'a Login>,
    /// The account (normalized) and its state key, when found and the account counter is on.
    account: Option<(String, String)>,
}

/// The login entry of this operation, when the API's lockout names it (its body is then read
/// before authentication, for the account).
fn login_of<'a>(api: &'a Api, op: &OpPlan) -> Option<&'a Login> {
    api.lockout.as_ref()?.login(&op.id)
}

/// Whether the stage has anything to watch in requests to `op`: an operation that checks
/// credentials, or a login operation.
pub(super) fn applies(api: &Api, op: &OpPlan) -> bool {
    api.lockout.is_some() && (!op.security.is_empty() || login_of(api, op).is_some())
}

/// The request phase: a login operation's body is read (it names the account), then a
/// locked IP or account is refused before any credential is checked.
pub(super) async fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Verdict
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let Some(op) = r.plan else {
        return Verdict::Continue;
    };
    if login_of(r.api, op).is_some()
        && let Err(d) = r.read_body().await
    {
        return Verdict::Refuse(d);
    }
    let client_key = r.env.client_key();
    let watch = Watch::new(
        r.api,
        op,
        r.env.ip,
        &client_key,
        r.body_bytes(),
        &r.parts.headers,
    );
    let denial = match &watch {
        Some(w) => Box::pin(w.check(r.env)).await,
        None => None,
    };
    r.watch = watch.map(Box::new);
    match denial {
        Some(d) => Verdict::Deny(d, r.api.mode),
        None => Verdict::Continue,
    }
}

/// The response phase: a login operation's answer counts as a failure or clears the account.
pub(super) async fn response<B>(r: &mut RequestCtx<'_, '_, '_, B>) {
    if let Some(w) = &r.watch {
        w.answered(r.env, r.outcome.upstream_status).await;
    }
}

impl<'a> Watch<'a> {
    /// A watch for a request to `op` from `ip`, whose state is keyed by `client_key` (an IPv6
    /// client's prefix; `body`: a login operation's body), or `None` when the lockout has
    /// nothing to watch in it.
    pub(crate) fn new(
        api: &'a Api,
        op: &OpPlan,
        ip: IpAddr,
        client_key: &str,
        body: Option<&Bytes>,
        headers: &http::HeaderMap,
    ) -> Option<Watch<'a>> {
        let plan = api.lockout.as_ref()?;
        let login = plan.login(&op.id);
        if op.security.is_empty() && login.is_none() {
            return None;
        }
        let ip_key = plan.ip.map(|_| state_key(&plan.ip_name, client_key));
        let account = match (login, body, plan.account) {
            (Some(login), Some(body), Some(_)) => {
                let content_type = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                account_of(login, body, content_type)
                    .map(|a| (state_key(&plan.account_name, &a), a))
            }
            _ => None,
        };
        if ip_key.is_none() && account.is_none() && login.is_none() {
            return None;
        }
        Some(Watch {
            api,
            plan,
            ip,
            ip_key,
            login,
            account,
        })
    }

    fn subjects(&self, ip: bool, account: bool) -> Vec<(Subject<'_>, &'static str)> {
        let mut out = Vec::with_capacity(2);
        if ip && let (Some(key), Some(policy)) = (&self.ip_key, self.plan.ip) {
            out.push((Subject { key, policy }, "ip"));
        }
        if account && let (Some((key, _)), Some(policy)) = (&self.account, self.plan.account) {
            out.push((Subject { key, policy }, "account"));
        }
        out
    }

    async fn run(&self, ctx: &Ctx<'_>, op: Op, ip: bool, account: bool) -> Answer {
        let subjects = self.subjects(ip, account);
        let plain: Vec<Subject<'_>> = subjects.iter().map(|(s, _)| *s).collect();
        let answer = ctx.gw.limiter.lockout(op, &plain).await;
        if answer.degraded {
            ctx.shared.metrics.ratelimit_degraded.inc();
        }
        for ((_, kind), state) in subjects.iter().zip(&answer.states) {
            if state.newly_locked {
                self.locked(ctx, kind, state.locked_ms);
            }
        }
        answer
    }

    /// Counts and logs a lock this request started.
    fn locked(&self, ctx: &Ctx<'_>, kind: &str, ms: u64) {
        ctx.shared
            .metrics
            .lockouts
            .get_or_create(&LockoutLabels {
                api: self.api.name.to_string(),
                kind: kind.to_owned(),
            })
            .inc();
        tracing::warn!(
            api = %self.api.name,
            kind,
            client_ip = %self.ip,
            request_id = %ctx.request_id,
            lock_secs = ms.div_ceil(1000),
            "lockout started"
        );
    }

    /// The refusal for a locked IP or account (checked in one round trip), before any
    /// credential is looked at.
    pub(crate) async fn check(&self, ctx: &Ctx<'_>) -> Option<Denial> {
        let subjects = self.subjects(true, true);
        let answer = self.run(ctx, Op::Check, true, true).await;
        let (kind, ms) = subjects
            .iter()
            .zip(&answer.states)
            .filter(|(_, s)| s.locked_ms > 0)
            .map(|((_, kind), s)| (*kind, s.locked_ms))
            .max_by_key(|(_, ms)| *ms)?;
        let secs = ms.div_ceil(1000).max(1);
        let unavailable = if answer.degraded {
            " (lockout state unavailable: on_failure deny)"
        } else {
            ""
        };
        let (rule, who) = match (kind, &self.account) {
            ("account", Some((_, account))) => (crate::rules::AUTH_ACCOUNT_LOCKED, shown(account)),
            _ => (crate::rules::AUTH_LOCKED, format!("client {}", self.ip)),
        };
        Some(
            Denial::new(
                429,
                rule,
                format!("{who} is locked out for {secs} s more after repeated authentication failures{unavailable}"),
            )
            .detail("too many failed authentication attempts; try again later")
            .header(header::RETRY_AFTER, secs.to_string()),
        )
    }

    /// A presented credential was refused: one failure for the IP.
    pub(crate) async fn auth_failed(&self, ctx: &Ctx<'_>) {
        if self.ip_key.is_some() {
            self.run(ctx, Op::Fail, true, false).await;
        }
    }

    /// A login operation's upstream answered `status` (`None`: it did not answer).
    pub(crate) async fn answered(&self, ctx: &Ctx<'_>, status: Option<u16>) {
        let (Some(login), Some(status)) = (self.login, status) else {
            return;
        };
        if login.failure_status.contains(&status) {
            self.run(ctx, Op::Fail, true, true).await;
        } else if login.reset_on_success && (200..300).contains(&status) && self.account.is_some() {
            self.run(ctx, Op::Reset, false, true).await;
        }
    }
}

/// An account for the decision log: quoted, cut at [`SHOWN_ACCOUNT_CHARS`].
fn shown(account: &str) -> String {
    let cut: String = account.chars().take(SHOWN_ACCOUNT_CHARS).collect();
    let more = if cut.len() < account.len() { "..." } else { "" };
    format!("account {cut:?}{more}")
}

/// The account a login body names: the pointer into a JSON body, or the field of a form body;
/// trimmed and lower-cased (so `Alice ` and `alice` share a count). `None` when absent, empty,
/// or not a string or number.
fn account_of(login: &Login, body: &[u8], content_type: Option<&str>) -> Option<String> {
    let form = content_type.is_some_and(|c| {
        c.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    let raw = if form {
        let field = login.form_field.as_deref()?;
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.into_owned())?
    } else {
        let value: Value = serde_json::from_slice(body).ok()?;
        match value.pointer(&login.pointer)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        }
    };
    let account = raw.trim().to_lowercase();
    (!account.is_empty()).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Login {
        Login {
            operation: "login".into(),
            pointer: "/username".into(),
            form_field: Some("username".into()),
            failure_status: vec![401, 403],
            reset_on_success: true,
        }
    }

    #[test]
    fn accounts_come_from_json_and_form_bodies_normalized() {
        let l = login();
        let json = Some("application/json");
        let account = |body: &str, ct| account_of(&l, body.as_bytes(), ct);
        assert_eq!(
            account(r#"{"username":" Alice "}"#, json),
            Some("alice".into())
        );
        assert_eq!(account(r#"{"username":42}"#, json), Some("42".into()));
        assert_eq!(account(r#"{"username":""}"#, json), None);
        assert_eq!(account(r#"{"username":{"a":1}}"#, json), None);
        assert_eq!(account(r#"{"user":"bob"}"#, json), None);
        assert_eq!(account("not json", json), None);
        let form = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(
            account("password=x&username=B%C3%B6b", form),
            Some("böb".into())
        );
        let nested = Login {
            pointer: "/credentials/user".into(),
            form_field: None,
            ..login()
        };
        let body = br#"{"credentials":{"user":"Carol"}}"#;
        assert_eq!(account_of(&nested, body, None), Some("carol".into()));
        assert_eq!(account_of(&nested, b"credentials=carol", form), None);
    }

    #[test]
    fn refused_credentials_count_missing_ones_and_gateway_failures_do_not() {
        use super::super::authenticate::{counts_for_lockout, unauthorized};
        use crate::identity::AuthFailure;
        let expired = unauthorized(&AuthFailure::Expired);
        assert!(counts_for_lockout(&expired, true));
        assert!(!counts_for_lockout(&expired, false), "not presented");
        let no_keys = unauthorized(&AuthFailure::KeysUnavailable);
        assert!(!counts_for_lockout(&no_keys, true), "the key set is down");
        let scope = Denial::new(403, "authz.scope", "missing scopes a");
        assert!(!counts_for_lockout(&scope, true), "a valid credential");
    }

    #[test]
    fn long_accounts_are_cut_in_reasons() {
        assert_eq!(shown("alice"), "account \"alice\"");
        let long = "x".repeat(500);
        let s = shown(&long);
        assert!(s.ends_with("\"...") && s.len() < 80, "{s}");
    }
}
