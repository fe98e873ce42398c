//! The state of one scan: the catalog, the client, the identities, harvested ids, the
//! requests recorded while exploring the API, and the findings so far. Checks read and add
//! to it; every request they send goes through [`Scan::send`].

use std::collections::HashSet;

use portcullis_report::{Exchange as Excerpt, Finding, Location};
use portcullis_spec::{Catalog, Operation, Router};

use crate::checks;
use crate::config::Login;
use crate::evidence::{self, Secret};
use crate::generate::Generator;
use crate::harvest::Harvest;
use crate::http::{Client, Exchange, Request, SendError};
use crate::plan::{self, Built, Inputs};
use crate::session::{Session, Who};

/// Where a scan is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What the scan is doing (`exploring`, a check's module name, `destructive operations`).
    pub stage: &'static str,
    /// Requests sent so far.
    pub requests: u64,
    /// The request budget.
    pub budget: u64,
    /// Confirmed findings so far.
    pub findings: usize,
}

/// The budget is spent: the scan stops sending and reports what it proved so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop;

/// A request sent while exploring the API, as one identity, and its answer.
#[derive(Debug, Clone)]
pub struct Record {
    /// Index of the operation in the catalog.
    pub op: usize,
    /// Who sent it.
    pub who: Who,
    /// What was sent and received.
    pub exchange: Exchange,
    /// True when a path parameter named one of the caller's own objects.
    pub owned: bool,
}

/// One scan in progress.
pub struct Scan<'a> {
    /// The API description.
    pub catalog: &'a Catalog,
    /// Routes paths to documented operations (what is undocumented).
    pub router: Router,
    /// `safe` of the configuration.
    pub safe: bool,
    /// The HTTP client (scope, budget, rate).
    pub client: Client,
    /// Value generator.
    pub generator: Generator,
    /// The ordinary users, logged in.
    pub users: Vec<Session>,
    /// The administrator, logged in.
    pub admin: Option<Session>,
    /// Ids harvested from answers.
    pub harvest: Harvest,
    /// What each identity got from each operation while exploring.
    pub records: Vec<Record>,
    /// The confirmed findings.
    pub findings: Vec<Finding>,
    reported: HashSet<(String, String)>,
    /// What the scan could not do, for the summary on stderr.
    pub notes: Vec<String>,
    /// How many requests got an answer.
    pub answered: u64,
    /// The first transport failure, if any.
    pub first_failure: Option<String>,
    /// The login operation (from the first identity with a login flow).
    pub login_op: Option<usize>,
    /// That identity's login flow.
    pub login: Option<Login>,
    /// What the scan is doing now (shown by [`Scan::progress`]).
    pub stage: &'static str,
    /// Called after every request.
    pub progress: Option<&'a dyn Fn(Progress)>,
    budget: u64,
}

impl<'a> Scan<'a> {
    /// A scan of `catalog` through `client`.
    pub fn new(catalog: &'a Catalog, client: Client, safe: bool, tag: &str) -> Scan<'a> {
        let (router, _) = Router::new(catalog, &portcullis_spec::RouterOptions::default());
        let budget = client.remaining();
        Scan {
            catalog,
            router,
            safe,
            client,
            generator: Generator::new(tag),
            users: Vec::new(),
            admin: None,
            harvest: Harvest::default(),
            records: Vec::new(),
            findings: Vec::new(),
            reported: HashSet::new(),
            notes: Vec::new(),
            answered: 0,
            first_failure: None,
            login_op: None,
            login: None,
            stage: "logging in",
            progress: None,
            budget,
        }
    }

    /// Enters `stage` and tells the progress display.
    pub fn enter(&mut self, stage: &'static str) {
        self.stage = stage;
        self.tell();
    }

    fn tell(&self) {
        if let Some(progress) = self.progress {
            progress(Progress {
                stage: self.stage,
                requests: self.client.sent(),
                budget: self.budget,
                findings: self.findings.len(),
            });
        }
    }

    /// The session of `who` (none for [`Who::Anon`]).
    pub fn session(&self, who: Who) -> Option<&Session> {
        match who {
            Who::Anon => None,
            Who::User(i) => self.users.get(i),
            Who::Admin => self.admin.as_ref(),
        }
    }

    /// The operation at `index`.
    pub fn op(&self, index: usize) -> Option<&'a Operation> {
        self.catalog.operations.get(index)
    }

    /// `request` with `who`'s credentials (and no one else's).
    pub fn as_who(&self, mut request: Request, who: Who) -> Request {
        for s in self.users.iter().chain(self.admin.iter()) {
            for (k, _) in &s.credentials {
                request.headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
            }
        }
        if let Some(s) = self.session(who) {
            for (k, v) in &s.credentials {
                request.set_header(k, v.clone());
            }
        }
        request
    }

    /// The request for operation `op` as `who` (without credentials).
    pub fn build(&mut self, op: usize, who: Who) -> Option<Built> {
        let operation = self.catalog.operations.get(op)?;
        let self_ids = self
            .session(who)
            .map(|s| s.self_ids.clone())
            .unwrap_or_default();
        let inputs = Inputs {
            catalog: self.catalog,
            harvest: &self.harvest,
            who,
            self_ids: &self_ids,
        };
        Some(plan::build(&inputs, &mut self.generator, operation))
    }

    /// Sends `request` (credentials already set); `op` is the operation it targets, if any.
    /// A request that fails in transport is noted and gives `None`; a spent budget stops.
    pub async fn send(
        &mut self,
        request: Request,
        op: Option<usize>,
    ) -> Result<Option<Exchange>, Stop> {
        let sent = self.client.send(request).await;
        self.tell();
        match sent {
            Ok(exchange) => {
                self.answered += 1;
                checks::passive::observe(self, op, &exchange);
                Ok(Some(exchange))
            }
            Err(SendError::Budget(_)) => Err(Stop),
            Err(e) => {
                if self.first_failure.is_none() {
                    self.first_failure = Some(e.to_string());
                }
                if self.notes.len() < 50 {
                    self.notes.push(e.to_string());
                }
                Ok(None)
            }
        }
    }

    /// Sends `request` as `who`.
    pub async fn send_as(
        &mut self,
        request: Request,
        who: Who,
        op: Option<usize>,
    ) -> Result<Option<Exchange>, Stop> {
        let request = self.as_who(request, who);
        self.send(request, op).await
    }

    /// What `who` got from operation `op` while exploring.
    pub fn record(&self, op: usize, who: Who) -> Option<&Record> {
        self.records.iter().find(|r| r.op == op && r.who == who)
    }

    /// Placeholders for every identity's credentials.
    pub fn secrets(&self) -> Vec<Secret> {
        self.users
            .iter()
            .chain(self.admin.iter())
            .flat_map(Session::secrets)
            .collect()
    }

    /// Adds a confirmed finding of `rule` about `op` (or the URL of `exchange`), proved by
    /// `exchange`; `proof` says how it was confirmed. One finding per rule and operation.
    pub fn report(
        &mut self,
        rule: &str,
        op: Option<usize>,
        exchange: &Exchange,
        message: String,
        proof: String,
    ) {
        let operation = op.and_then(|i| self.catalog.operations.get(i));
        let place = operation.map_or_else(
            || plan::path_only(&exchange.request.path).to_owned(),
            |o| o.id.clone(),
        );
        if !self.reported.insert((rule.to_owned(), place)) {
            return;
        }
        let info = checks::rule(rule);
        let secrets = self.secrets();
        let location = Location {
            operation: operation.map(|o| o.id.clone()),
            method: Some(exchange.request.method.clone()),
            url: Some(exchange.url.clone()),
            file: operation.map(|o| o.location.file.to_string()),
            line: operation.map(|o| o.location.line).filter(|l| *l > 0),
            ..Location::default()
        };
        let mut finding = Finding::new(&info, location, evidence::redact(&message, &secrets));
        finding.evidence = Some(format!(
            "{}; reproduce: {}",
            evidence::redact(&proof, &secrets),
            evidence::curl(exchange, &secrets)
        ));
        finding.exchange = Some(Excerpt {
            request: evidence::request_text(exchange, &secrets),
            response: evidence::response_text(exchange, &secrets),
        });
        self.findings.push(finding);
    }
}
