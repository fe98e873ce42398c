//! The stages a routed request passes through, in DESIGN.md's order, each in its own file.
//!
//! `runtime` compiles, per operation, the list of the stages that apply to it
//! ([`StageList::compile`]): a stage that has nothing to do for an operation is not in its list.
//! Dispatch is a `match` over [`Stage`] (no boxed future per stage on the common path). Each
//! stage implements the phases it needs: `request` (before the upstream) returns a
//! [`Verdict`], and `response` (after the upstream's head) may look at the answer. Stages never
//! call one another: what one decides (the principal, the limit headers, the body read) lives
//! in the per-request [`RequestCtx`] that the next ones read. `monitor` mode is applied in one
//! place, [`run`], through [`Outcome::deny`].
//!
//! | order | stage | file | why it sits there |
//! |---|---|---|---|
//! | 1 | [`Stage::Deprecation`] | `deprecation.rs` | a retired operation is refused before any work |
//! | 2 | [`Stage::ClientLimits`] | `limits.rs` | per-IP (and per-header) limits before any credential is verified or body read: a flood never reaches JWT checks or introspection |
//! | 3 | [`Stage::Concurrency`] | `limits.rs` | in-flight requests per IP, held until the answer |
//! | 4 | [`Stage::Lockout`] | `lockout.rs` | a locked-out IP or account learns nothing from a credential check |
//! | 5 | [`Stage::Authenticate`] | `authenticate.rs` | credentials into a principal |
//! | 6 | [`Stage::Authorize`] | `authorize.rs` | authentication's verdict, then the admin role |
//! | 7 | [`Stage::IdentityLimits`] | `limits.rs` | limits keyed by the subject, key id or a claim: need the principal |
//! | 8 | [`Stage::ValidateParams`] | `validate.rs` | parameters against the spec |
//! | 9 | [`Stage::ValidateBody`] | `validate.rs` | content type and body against the spec |
//! | 10 | [`Stage::OwnerBinding`] | `owner.rs` | BOLA guard: reads validated values |
//! | 11 | [`Stage::Threats`] | `threats.rs` | injection and SSRF in what validation let through (free text only) |
//! | 12 | [`Stage::SanitizeErrors`] | `response/sanitize.rs` | response: error bodies with internals replaced first, so no later check passes them on |
//! | 13 | [`Stage::ValidateResponse`] | `response/schema.rs` | response: the answer as the upstream sent it, against its schema |
//! | 14 | [`Stage::StripUndeclared`] | `response/schema.rs` | response: undeclared properties removed before the search for sensitive data |
//! | 15 | [`Stage::SensitiveData`] | `response/sensitive.rs` | response: what is left is searched, masked or blocked |
//! | 16 | [`Stage::SecureHeaders`] | `response/headers.rs` | response: fields on whatever answer is sent |
//! | 17 | [`Stage::Cors`] | `cors.rs` | request: keeps the `Origin`; response: the API's CORS fields (preflights are answered in routing) |
//!
//! Stages 12 to 16 have only a response phase; the body is read once, by the first that needs
//! it, and put back after the last (`response/mod.rs`).
//!
//! Admission (bans, size limits, path normalization) and routing run before these, in
//! `pipeline/routing.rs`: they decide which list applies.

mod authenticate;
mod authorize;
pub(crate) mod cors;
mod deprecation;
mod encoding;
mod limits;
mod lockout;
mod owner;
pub(crate) mod response;
mod sample;
mod threats;
mod validate;

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use http::header::HeaderName;
use http::request::Parts;
use http_body::Body as HttpBody;
use portcullis_spec::PathParams;

use super::{Ctx, Outcome, Routed, forward, full, read_body, stream_body};
use crate::config::Mode;
use crate::identity::Principal;
use crate::problem::Denial;
use crate::proxy::{Body, BoxError};
use crate::ratelimit::ConcurrencyPermit;
use crate::runtime::{Api, OpPlan};

pub(crate) use authenticate::unauthorized;

/// Headers a stage adds to the answer (the `RateLimit-*` fields).
pub(crate) type Headers = Vec<(HeaderName, String)>;

/// One stage of the pipeline (see the module's table for the order and the reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Deprecated operations: 410, or a logged pass.
    Deprecation,
    /// Rate limits whose key the request shows without credentials (ip, a header).
    ClientLimits,
    /// Requests in flight per client IP.
    Concurrency,
    /// Brute-force lockout per IP and per account.
    Lockout,
    /// The operation's security requirements against the request's credentials.
    Authenticate,
    /// Authentication's verdict, then the admin role.
    Authorize,
    /// Rate limits keyed by who the caller is (subject, key id, a claim).
    IdentityLimits,
    /// Path, query, header and cookie parameters.
    ValidateParams,
    /// The request body: present only where the operation takes one, well-formed, valid.
    ValidateBody,
    /// Owner binding (BOLA): a parameter must equal a claim of the caller.
    OwnerBinding,
    /// Injection and SSRF in free-text values.
    Threats,
    /// Error answers with internals replaced.
    SanitizeErrors,
    /// The answer against its declared schema.
    ValidateResponse,
    /// Undeclared properties removed from the answer.
    StripUndeclared,
    /// Sensitive data in the answer found, masked or blocked.
    SensitiveData,
    /// Secure headers added, revealing ones removed.
    SecureHeaders,
    /// CORS fields for allowed origins.
    Cors,
}

/// The ordered stages of one operation (or of an API's undocumented requests), with the
/// limits each limit stage checks.
#[derive(Debug, Default)]
pub(crate) struct StageList {
    stages: Box<[Stage]>,
    /// Indices into [`Api::limits`] checked by [`Stage::ClientLimits`].
    client_limits: Box<[usize]>,
    /// Indices into [`Api::limits`] checked by [`Stage::IdentityLimits`].
    identity_limits: Box<[usize]>,
}

impl StageList {
    /// The stages that apply to `plan` of `api` (`None`: the API's undocumented requests
    /// that are let through, which get the limits that apply to every request).
    pub(crate) fn compile(api: &Api, plan: Option<&OpPlan>) -> StageList {
        let indices = plan.map_or(&api.undocumented_limits, |p| &p.limits);
        let (client, identity): (Vec<usize>, Vec<usize>) = indices
            .iter()
            .copied()
            .partition(|i| api.limits.get(*i).is_some_and(|l| l.key.is_client_side()));
        let mut stages = Vec::new();
        let Some(plan) = plan else {
            if !client.is_empty() {
                stages.push(Stage::ClientLimits);
            }
            if api.undocumented_threats.is_some() {
                stages.push(Stage::Threats);
            }
            push_response_stages(&mut stages, api, api.undocumented_response.as_deref());
            return StageList {
                stages: stages.into(),
                client_limits: client.into(),
                identity_limits: Box::default(),
            };
        };
        if deprecation::applies(api, plan) {
            stages.push(Stage::Deprecation);
        }
        if !client.is_empty() {
            stages.push(Stage::ClientLimits);
        }
        if api.concurrency.is_some() {
            stages.push(Stage::Concurrency);
        }
        if lockout::applies(api, plan) {
            stages.push(Stage::Lockout);
        }
        if !plan.security.is_empty() {
            stages.push(Stage::Authenticate);
        }
        if !plan.security.is_empty() || plan.admin {
            stages.push(Stage::Authorize);
        }
        if !identity.is_empty() {
            stages.push(Stage::IdentityLimits);
        }
        if validate::params_apply(api) {
            stages.push(Stage::ValidateParams);
        }
        if validate::body_applies(api, plan) {
            stages.push(Stage::ValidateBody);
        }
        if !plan.owner.is_empty() {
            stages.push(Stage::OwnerBinding);
        }
        if plan.threats.is_some() {
            stages.push(Stage::Threats);
        }
        push_response_stages(&mut stages, api, plan.response.as_deref());
        StageList {
            stages: stages.into(),
            client_limits: client.into(),
            identity_limits: identity.into(),
        }
    }

    /// The stages, in order.
    pub(crate) fn stages(&self) -> &[Stage] {
        &self.stages
    }
}

/// The response-phase stages a response plan (and the API's CORS) call for.
fn push_response_stages(
    stages: &mut Vec<Stage>,
    api: &Api,
    plan: Option<&crate::runtime::protect::ResponsePlan>,
) {
    use crate::config::protect::{ResponseAction, SensitiveAction, Undeclared};
    if let Some(p) = plan {
        if p.sanitize {
            stages.push(Stage::SanitizeErrors);
        }
        if p.validate != ResponseAction::Off {
            stages.push(Stage::ValidateResponse);
        }
        if p.undeclared == Undeclared::Strip {
            stages.push(Stage::StripUndeclared);
        }
        if p.sensitive != SensitiveAction::Off {
            stages.push(Stage::SensitiveData);
        }
        if p.security_headers {
            stages.push(Stage::SecureHeaders);
        }
    }
    if api.cors.is_some() {
        stages.push(Stage::Cors);
    }
}

/// What a stage decided.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Go on to the next stage.
    Continue,
    /// A denial, enforced or only logged as `mode` says (`monitor`: the request goes on).
    Deny(Denial, Mode),
    /// A refusal in every mode: the request cannot be checked or read (a body over the limit).
    Refuse(Denial),
}

/// A request body: still streaming, or read whole (when a stage needed it).
pub(crate) enum Pending<B> {
    /// Not read: forwarded as it comes, capped at `max_body`.
    Stream(B),
    /// Read whole.
    Read(Bytes),
}

/// The state of one routed request as it passes the stages: what routing found, the request
/// itself, and what the stages so far decided.
pub(crate) struct RequestCtx<'r, 'g, 'p, B> {
    /// The connection's and gateway's environment (client address, request id, config).
    pub env: &'r Ctx<'g>,
    /// The API.
    pub api: &'g Api,
    /// The operation (none: undocumented and only logged).
    pub plan: Option<&'g OpPlan>,
    /// The path parameters routing found.
    pub params: &'r PathParams<'g, 'p>,
    /// The request's head.
    pub parts: Parts,
    /// The request's body.
    pub body: Pending<B>,
    /// Who the caller is, once authenticated.
    pub principal: Option<Arc<Principal>>,
    /// Authentication's refusal, which [`Stage::Authorize`] enforces (after the lockout has
    /// counted it): the denial and whether a credential was presented. This and the other
    /// boxed fields are rare; boxed, they do not weigh on every request's future, which
    /// hyper moves by value.
    pub auth_failure: Option<Box<(Denial, bool)>>,
    /// Headers for the answer.
    pub answer_headers: Headers,
    /// The concurrency slot held until the answer.
    pub permit: Option<ConcurrencyPermit>,
    /// The lockout's watch over this request.
    pub watch: Option<Box<lockout::Watch<'g>>>,
    /// The decoded query, parsed once by the first stage that reads it.
    query: Option<Vec<(String, String)>>,
    /// The request's `Origin`, kept for the CORS fields of the answer.
    pub origin: Option<http::HeaderValue>,
    /// The body as JSON, when validation parsed it and the threat checks follow (they walk
    /// it again).
    pub json: Option<Box<serde_json::Value>>,
    /// The answer's body as the response checks read it.
    pub answer: response::answer::AnswerState,
    /// The verdicts so far (decision, rule, principal's names, upstream status).
    pub outcome: &'r mut Outcome,
}

impl<B> RequestCtx<'_, '_, '_, B>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    /// The decoded query pairs (parsed at the first call).
    pub(crate) fn query(&mut self) -> &[(String, String)] {
        let parts = &self.parts;
        self.query.get_or_insert_with(|| {
            parts
                .uri
                .query()
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Reads the body whole (bounded by `max_body`), once; later calls get the same bytes.
    pub(crate) async fn read_body(&mut self) -> Result<&Bytes, Denial> {
        let max = self.env.gw.config.server.limits.max_body.as_usize();
        let body = std::mem::replace(&mut self.body, Pending::Read(Bytes::new()));
        let bytes = match body {
            Pending::Read(b) => b,
            Pending::Stream(stream) => Box::pin(read_body(stream, max)).await?,
        };
        self.body = Pending::Read(bytes);
        match &self.body {
            Pending::Read(b) => Ok(b),
            Pending::Stream(_) => Err(Denial::new(
                400,
                crate::rules::REQUEST_BODY,
                "the body was lost",
            )),
        }
    }

    /// Whether a body came: read and not empty, or a stream hyper does not know to be over.
    pub(crate) fn has_body(&self) -> bool {
        match &self.body {
            Pending::Read(b) => !b.is_empty(),
            Pending::Stream(stream) => !stream.is_end_stream(),
        }
    }

    /// The bytes of the body when a stage read it.
    pub(crate) fn body_bytes(&self) -> Option<&Bytes> {
        match &self.body {
            Pending::Read(b) => Some(b),
            Pending::Stream(_) => None,
        }
    }
}

impl Stage {
    /// The request phase: before the upstream.
    async fn request<B>(self, r: &mut RequestCtx<'_, '_, '_, B>, list: &StageList) -> Verdict
    where
        B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        // Boxed where the stage awaits the state backend, a key set or the body: an enum's
        // future holds its largest arm, and the common request awaits none of them.
        match self {
            Stage::Deprecation => deprecation::request(r),
            Stage::ClientLimits => Box::pin(limits::request(r, &list.client_limits)).await,
            Stage::Concurrency => limits::concurrency(r),
            Stage::Lockout => Box::pin(lockout::request(r)).await,
            Stage::Authenticate => Box::pin(authenticate::request(r)).await,
            Stage::Authorize => authorize::request(r),
            Stage::IdentityLimits => Box::pin(limits::request(r, &list.identity_limits)).await,
            Stage::ValidateParams => validate::params(r),
            Stage::ValidateBody => Box::pin(validate::body(r)).await,
            Stage::OwnerBinding => Box::pin(owner::request(r)).await,
            Stage::Threats => Box::pin(threats::request(r)).await,
            Stage::Cors => {
                cors::request(r);
                Verdict::Continue
            }
            Stage::SanitizeErrors
            | Stage::ValidateResponse
            | Stage::StripUndeclared
            | Stage::SensitiveData
            | Stage::SecureHeaders => Verdict::Continue,
        }
    }

    /// The response phase: after the upstream's head.
    async fn response<B>(self, r: &mut RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
        match self {
            Stage::Lockout => Box::pin(lockout::response(r)).await,
            Stage::SanitizeErrors => Box::pin(response::sanitize::response(r, response)).await,
            Stage::ValidateResponse => Box::pin(response::schema::validate(r, response)).await,
            Stage::StripUndeclared => {
                Box::pin(response::schema::strip_undeclared(r, response)).await;
            }
            Stage::SensitiveData => Box::pin(response::sensitive::response(r, response)).await,
            Stage::SecureHeaders => response::headers::response(r, response),
            Stage::Cors => cors::response(r, response),
            _ => {}
        }
    }
}

/// Runs the stages of a routed request, forwards it, and runs the response phase (a function
/// returning an `async move` block, as [`super::handle`] and for the same reason).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would keep its by-value arguments twice in its state"
)]
pub(crate) fn run<'f, B>(
    ctx: &'f Ctx<'_>,
    routed: &'f Routed<'_, '_>,
    parts: Parts,
    body: B,
    outcome: &'f mut Outcome,
) -> impl Future<Output = Response<crate::proxy::Body>> + Send + 'f
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let api: &Api = routed.api;
    // The context is made here, outside the block, and moved in: what the block captures
    // stays in its state for its whole life, so capturing `parts` and `body` to move them
    // into the context there would have kept them twice.
    let mut r = RequestCtx {
        env: ctx,
        api,
        plan: routed.plan,
        params: &routed.params,
        parts,
        body: Pending::Stream(body),
        principal: None,
        auth_failure: None,
        answer_headers: Vec::new(),
        permit: None,
        watch: None,
        query: None,
        origin: None,
        json: None,
        answer: response::answer::AnswerState::Unread,
        outcome,
    };
    async move {
        let list = match routed.plan {
            Some(plan) => &plan.stages,
            None => &api.undocumented_stages,
        };
        let rid = ctx.request_id;
        // A compressed body is refused or inflated before any stage reads it.
        if r.parts.headers.contains_key(http::header::CONTENT_ENCODING)
            && let Some(d) = Box::pin(encoding::request(&mut r)).await
        {
            return r.outcome.refuse(&d, rid);
        }
        for stage in list.stages() {
            match stage.request(&mut r, list).await {
                Verdict::Continue => {}
                Verdict::Deny(d, mode) => {
                    if let Some(response) = r.outcome.deny(mode, d, rid) {
                        return response;
                    }
                }
                Verdict::Refuse(d) => return r.outcome.refuse(&d, rid),
            }
        }
        // The request goes to the upstream; the context keeps what the response phase reads.
        let max = ctx.gw.config.server.limits.max_body.as_usize();
        // Undocumented requests only: the inventory may ask for copies of their bodies.
        let tap = match routed.plan {
            None => sample::tap(ctx.shared.sampler.as_ref(), &api.name, &r.parts),
            Some(_) => None,
        };
        let mut body: Body = match std::mem::replace(&mut r.body, Pending::Read(Bytes::new())) {
            Pending::Read(b) => full(b),
            Pending::Stream(stream) => stream_body(stream, max),
        };
        if let Some(tap) = &tap {
            body = sample::request(tap, &r.parts.headers, body);
        }
        let headers = std::mem::take(&mut r.answer_headers);
        let forward_path = routed.forward_path.as_deref();
        // The head is taken from the context inside `forward`'s boxed exchange, so that no
        // future on the way keeps a copy of it.
        let mut response = forward(
            ctx,
            api,
            &mut r.parts,
            body,
            forward_path,
            r.outcome,
            headers,
        )
        .await;
        for stage in list.stages() {
            stage.response(&mut r, &mut response).await;
        }
        response::finish(&mut r, &mut response);
        if let Some(tap) = tap {
            sample::response(tap, &mut response);
        }
        response
    }
}

#[cfg(test)]
mod tests;
