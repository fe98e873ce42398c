//! The order of a scan: log the identities in, learn who they are, explore the API as each of
//! them (harvesting ids to chain calls), then run the checks, which confirm before reporting.

use portcullis_report::Report;
use portcullis_spec::{Catalog, Method};
use serde_json::Value;

use crate::checks;
use crate::config::{Auth, Role, ScanConfig};
use crate::http::{Client, Target};
use crate::plan;
use crate::scan::{Record, Scan, Stop};
use crate::session::{Session, Token, Who};

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// An identity could not log in.
    #[error("identity `{identity}`: {message}")]
    Login {
        /// The identity's name in the configuration.
        identity: String,
        /// What went wrong.
        message: String,
    },
    /// TLS for the target could not be set up (`tls` of the configuration).
    #[error("tls: {0}")]
    Tls(#[from] portcullis_tls::TlsError),
    /// No request got an answer.
    #[error("{origin} never answered: {first}")]
    Unreachable {
        /// The target's origin.
        origin: String,
        /// The first failure.
        first: String,
    },
}

/// What a scan produced.
#[derive(Debug)]
pub struct Outcome {
    /// The findings, finished (sorted, summarized), with the rules that ran.
    pub report: Report,
    /// How many requests were sent.
    pub requests: u64,
    /// True when the budget ran out before every check had run.
    pub budget_spent: bool,
    /// What the scan could not do (skipped checks, failed requests).
    pub notes: Vec<String>,
}

/// Runs a scan of `target`, described by `catalog`, with `config`'s identities and limits.
pub async fn run(
    catalog: &Catalog,
    target: Target,
    config: &ScanConfig,
) -> Result<Outcome, ScanError> {
    run_with_progress(catalog, target, config, None).await
}

/// [`run`], calling `progress` after every request and at every stage.
pub async fn run_with_progress(
    catalog: &Catalog,
    target: Target,
    config: &ScanConfig,
    progress: Option<&dyn Fn(crate::scan::Progress)>,
) -> Result<Outcome, ScanError> {
    let origin = target.origin.clone();
    let tls = crate::http::client_tls(config.tls.as_ref())?;
    let client = Client::new(target, config.budget.requests, config.budget.rate, &tls)?;
    let tag: String = (0..4)
        .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
        .collect();
    let mut scan = Scan::new(catalog, client, config.safe, &tag);
    scan.progress = progress;
    let budget_spent = match explore_and_check(&mut scan, config).await {
        Ok(()) => false,
        Err(Outcome2::Stop) => true,
        Err(Outcome2::Fatal(e)) => return Err(e),
    };
    if scan.answered == 0 && scan.client.sent() > 0 {
        return Err(ScanError::Unreachable {
            origin,
            first: scan.first_failure.unwrap_or_default(),
        });
    }
    if budget_spent {
        scan.notes.push(format!(
            "the budget of {} requests ran out: later checks did not run",
            config.budget.requests
        ));
    }
    let mut report = Report::new("portcullis", env!("CARGO_PKG_VERSION"));
    report.findings = std::mem::take(&mut scan.findings);
    report.rules = checks::rules();
    report.artifacts = vec![origin];
    report.finish();
    Ok(Outcome {
        report,
        requests: scan.client.sent(),
        budget_spent,
        notes: scan.notes,
    })
}

enum Outcome2 {
    Stop,
    Fatal(ScanError),
}

impl From<Stop> for Outcome2 {
    fn from(_: Stop) -> Self {
        Outcome2::Stop
    }
}

async fn explore_and_check(scan: &mut Scan<'_>, config: &ScanConfig) -> Result<(), Outcome2> {
    scan.enter("logging in");
    log_in(scan, config).await?;
    scan.enter("exploring");
    explore(scan).await?;
    checks::run_all(scan).await?;
    scan.enter("destructive operations");
    destructive_last(scan).await?;
    Ok(())
}

async fn log_in(scan: &mut Scan<'_>, config: &ScanConfig) -> Result<(), Outcome2> {
    for identity in &config.identities {
        let fail = |message: String| {
            Outcome2::Fatal(ScanError::Login {
                identity: identity.name.clone(),
                message,
            })
        };
        let session = match &identity.auth {
            Auth::Headers(headers) => Session::new(&identity.name, identity.role, headers.clone()),
            Auth::Login(login) => {
                let op = scan
                    .catalog
                    .operations
                    .iter()
                    .position(|o| {
                        o.id == login.operation
                            || o.operation_id.as_deref() == Some(login.operation.as_str())
                    })
                    .ok_or_else(|| {
                        fail(format!(
                            "the login operation `{}` is not in the spec",
                            login.operation
                        ))
                    })?;
                let mut built = scan
                    .build(op, Who::Anon)
                    .map(|b| b.request)
                    .ok_or_else(|| {
                        fail(format!(
                            "cannot build the login request for `{}`",
                            login.operation
                        ))
                    })?;
                built.body = Some(login.body.clone());
                let exchange = scan
                    .send(built, Some(op))
                    .await?
                    .ok_or_else(|| fail("the login request was not answered".to_owned()))?;
                if !exchange.ok() {
                    return Err(fail(format!(
                        "the login `{}` answered {} (expected 2xx)",
                        login.operation, exchange.status
                    )));
                }
                let token = exchange
                    .json
                    .as_ref()
                    .and_then(|j| j.pointer(&login.token))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        fail(format!(
                            "the login answer has no string at {:?} (login.token)",
                            login.token
                        ))
                    })?;
                if scan.login_op.is_none() {
                    scan.login_op = Some(op);
                    scan.login = Some(login.clone());
                }
                let mut session = Session::from_token(
                    &identity.name,
                    identity.role,
                    Token {
                        value: token.to_owned(),
                        header: login.header.clone(),
                        prefix: login.prefix.clone(),
                    },
                );
                session.login_body = Some(login.body.clone());
                session
            }
        };
        match identity.role {
            Role::Admin => scan.admin = Some(session),
            Role::User => scan.users.push(session),
        }
    }
    if scan.users.is_empty() {
        scan.notes.push(
            "no identities configured: authorization checks (BOLA, BFLA, JWT, mass assignment) did not run"
                .to_owned(),
        );
    }
    Ok(())
}

/// The `/me`-like operation: a secured GET without path parameters about the caller.
pub fn me_operation(catalog: &Catalog) -> Option<usize> {
    catalog.operations.iter().position(|op| {
        let last = op
            .path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        op.method == Method::Get
            && !op.path.contains('{')
            && !op.security.is_empty()
            && matches!(
                last.as_str(),
                "me" | "whoami" | "self" | "current" | "profile"
            )
    })
}

/// Everyone the scan acts as, users first.
pub fn everyone(scan: &Scan<'_>) -> Vec<Who> {
    let mut who: Vec<Who> = (0..scan.users.len()).map(Who::User).collect();
    if scan.admin.is_some() {
        who.push(Who::Admin);
    }
    if who.is_empty() {
        who.push(Who::Anon);
    }
    who
}

async fn explore(scan: &mut Scan<'_>) -> Result<(), Stop> {
    let me = me_operation(scan.catalog);
    let names: Vec<String> = scan
        .catalog
        .operations
        .iter()
        .flat_map(|o| o.parameters.iter())
        .filter(|p| p.location_in == portcullis_spec::ParameterIn::Path)
        .map(|p| p.name.clone())
        .collect();
    scan.harvest.watch(names.iter().map(String::as_str));
    let mut order = plan::order(scan.catalog, scan.safe, scan.login_op);
    // Destructive-looking operations (reset, createdb...) would undo what the checks need:
    // with `safe: false` they run after every check (`destructive_last`).
    order.retain(|i| scan.op(*i).is_some_and(|o| !plan::is_destructive(o)));
    if let Some(me) = me {
        order.retain(|i| *i != me);
        order.insert(0, me);
    }
    for op in order {
        let Some(method) = scan.op(op).map(|o| o.method) else {
            continue;
        };
        for who in everyone(scan) {
            // The first user explores everything; the others only read.
            let first = matches!(who, Who::User(0) | Who::Anon);
            if !first && method != Method::Get {
                continue;
            }
            let Some(mut built) = scan.build(op, who) else {
                continue;
            };
            if method == Method::Post {
                crate::plan::uniquify(&mut built.request, &mut scan.generator);
            }
            let Some(exchange) = scan.send_as(built.request, who, Some(op)).await? else {
                continue;
            };
            if exchange.ok()
                && let Some(json) = &exchange.json
            {
                let template = scan.op(op).map(|o| o.path.clone()).unwrap_or_default();
                // What the caller created is the caller's: A creates, then B tries to read it.
                if method == Method::Post {
                    scan.harvest.collect_created(who, &template, json);
                    if let Some(body) = &exchange.request.body {
                        scan.harvest.collect_created(who, &template, body);
                    }
                } else {
                    scan.harvest.collect(who, &template, json);
                }
                if Some(op) == me {
                    learn_self(scan, who, json);
                }
            }
            scan.records.push(Record {
                op,
                who,
                exchange,
                owned: built.owned,
            });
        }
    }
    Ok(())
}

/// Reads the caller's own ids from a `/me` answer.
fn learn_self(scan: &mut Scan<'_>, who: Who, json: &Value) {
    let session = match who {
        Who::User(i) => scan.users.get_mut(i),
        Who::Admin => scan.admin.as_mut(),
        Who::Anon => None,
    };
    let Some(session) = session else { return };
    for key in ["id", "username", "userId", "user_id", "uid", "login", "sub"] {
        match json.get(key) {
            Some(Value::String(s)) => session.add_self_id(s),
            Some(Value::Number(n)) => session.add_self_id(&n.to_string()),
            _ => {}
        }
    }
}

/// With `safe: false`, the destructive-looking operations, once each as the first user (or
/// anonymously), after every check: their answers are still read by the passive checks.
async fn destructive_last(scan: &mut Scan<'_>) -> Result<(), Stop> {
    if scan.safe {
        return Ok(());
    }
    let order: Vec<usize> = plan::order(scan.catalog, false, scan.login_op)
        .into_iter()
        .filter(|i| scan.op(*i).is_some_and(plan::is_destructive))
        .collect();
    let who = everyone(scan).first().copied().unwrap_or(Who::Anon);
    for op in order {
        let Some(built) = scan.build(op, who) else {
            continue;
        };
        scan.send_as(built.request, who, Some(op)).await?;
    }
    Ok(())
}
