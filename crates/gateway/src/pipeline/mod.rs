//! The request pipeline (DESIGN.md): limits on size and time -> normalize path -> route ->
//! the operation's stages (`stages/`: deprecation, per-IP limits, lockout, authenticate,
//! authorize, per-identity limits, validate, owner binding) -> proxy -> response phase ->
//! respond, with one decision log line and metrics per request.
//!
//! Each stage returns a verdict: go on, or a [`Denial`]. In `monitor` mode the first denial is
//! logged (decision `monitor`) and the request goes on; that is applied in one place,
//! [`Outcome::deny`].

mod origin;
mod routing;
pub(crate) mod stages;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Full, Limited};

use origin::{client_ip, request_id};
use routing::{Routed, admit, route};

use crate::config::Mode;
use crate::deadline::Sleeps;
use crate::decision::{self, Decision};
use crate::identity::Principal;
use crate::metrics::{ApiLabels, Label, RequestLabels, RuleLabels, WorkerSeries};
use crate::observe::{Credentials, Observation};
use crate::problem::{self, Denial};
use crate::proxy::{Body, BoxError, Forwarded, Proxy, ProxyError};
use crate::request_id::RequestId;
use crate::runtime::{Api, Gateway};
pub use crate::shared::Shared;

/// What each worker thread keeps for itself: its upstream connections, its handles to the
/// per-request metric series and its recycled deadlines.
#[derive(Default)]
pub struct Worker {
    /// The worker's upstream client and pool.
    pub proxy: Proxy,
    /// The worker's handles to the request counters and latency histograms.
    pub series: WorkerSeries,
    /// The worker's free sleeps for request deadlines.
    pub request_sleeps: Arc<Sleeps>,
}

/// What one request did, for the log and metrics.
pub(crate) struct Outcome {
    pub api: Option<Arc<str>>,
    pub operation: Option<Arc<str>>,
    pub decision: decision::Kind,
    pub rule: Option<&'static str>,
    pub reason: Option<String>,
    pub upstream_status: Option<u16>,
    pub sub: Option<String>,
    pub key_id: Option<String>,
    /// The request is waiting for the upstream's response head (a deadline passing now is
    /// the upstream's fault).
    pub awaiting_upstream: bool,
    /// Whether credentials were presented and valid (set by authentication).
    pub credentials: Credentials,
    /// Flags stages set for the observation (such as the kinds of sensitive data seen).
    pub flags: Vec<&'static str>,
    /// The operation's path template, once routed.
    pub template: Option<Arc<str>>,
    /// The operation is marked deprecated.
    pub deprecated: bool,
}

impl Outcome {
    /// Refuses in every mode (a request that cannot be checked or read): the response.
    pub(crate) fn refuse(&mut self, denial: &Denial, request_id: &RequestId) -> Response<Body> {
        self.decision = decision::Kind::Block;
        self.rule = Some(denial.rule);
        self.reason = Some(denial.reason.clone());
        problem::response(denial, request_id)
    }

    /// Applies a denial: `Some(response)` when it is enforced.
    pub(crate) fn deny(
        &mut self,
        mode: Mode,
        denial: Denial,
        request_id: &RequestId,
    ) -> Option<Response<Body>> {
        match mode {
            Mode::Enforce => Some(self.refuse(&denial, request_id)),
            Mode::Monitor => {
                // The first denial is kept; a rule noted on an allowed request (an answer
                // masked, uninspected...) gives way to it.
                if self.rule.is_none() || self.decision == decision::Kind::Allow {
                    self.decision = decision::Kind::Monitor;
                    self.rule = Some(denial.rule);
                    self.reason = Some(denial.reason);
                }
                None
            }
        }
    }
}

/// Handles one request end to end: reads where it comes from here, and returns the future
/// that checks, forwards and logs it.
///
/// A function returning an `async move` block rather than an `async fn`, as the stages below:
/// an async fn keeps each argument it takes by value twice in its state (the argument and the
/// local it is moved to), and hyper keeps the request's future in memory for as long as its
/// connection is open, and moves it at every step.
///
/// Generic over the request's body, so that the whole pipeline runs in unit tests on
/// constructed requests as well as on hyper's.
pub fn handle<B>(
    shared: Arc<Shared>,
    worker: Arc<Worker>,
    mut req: Request<B>,
    peer: SocketAddr,
    tls: bool,
) -> impl Future<Output = Response<Body>> + Send
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let start = Instant::now();
    // Hop-by-hop fields, and those `Connection` names, go before anything reads the headers,
    // so that every check sees the fields the upstream will receive: a client naming
    // `Content-Type` or `Authorization` in `Connection` cannot have one checked and the
    // other forwarded.
    crate::proxy::strip_hop_by_hop(req.headers_mut());
    let gw = shared.gateway.load_full();
    let trusted_peer = gw.trusted.iter().any(|c| c.contains(peer.ip()));
    crate::proxy::strip_overrides(req.headers_mut(), trusted_peer);
    let request_id = request_id(&req, trusted_peer);
    let ip = client_ip(&req, peer.ip(), trusted_peer, &gw);
    let method = req.method().clone();
    let request_bytes = req.body().size_hint().exact();
    async move {
        let mut outcome = Outcome {
            api: None,
            operation: None,
            decision: decision::Kind::Allow,
            rule: None,
            reason: None,
            upstream_status: None,
            sub: None,
            key_id: None,
            awaiting_upstream: false,
            credentials: Credentials::default(),
            flags: Vec::new(),
            template: None,
            deprecated: false,
        };
        let ctx = Ctx {
            shared: &shared,
            proxy: &worker.proxy,
            gw: &gw,
            request_id: &request_id,
            ip,
            peer: peer.ip(),
            trusted_peer,
            tls,
        };
        // Admission (a banned client first) and routing wait for nothing; the stages after
        // them run under the request's deadline. The path the log shows is the normalized
        // one, or the path as sent when it cannot be normalized. Admission's and routing's
        // results are matched as temporaries, each in its own statement: a named result, or
        // one matched around the awaits, stays in the future's state (hyper moves that state
        // by value) for the whole request.
        let path: String;
        let response = 'answered: {
            path = match admit(&ctx, &req, &mut outcome) {
                Ok(path) => path,
                Err(mut response) => {
                    path = req.uri().path().to_owned();
                    if response.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                        linger(req, &mut response);
                    }
                    break 'answered response;
                }
            };
            let routed = match route(&ctx, &req, &path, &mut outcome) {
                Ok(routed) => routed,
                Err(response) => break 'answered response,
            };
            let (parts, body) = req.into_parts();
            let timeout = gw.config.server.limits.request_timeout.0;
            // Pinned where it is made and bounded through a reference: handed to `timeout` by
            // value, its kilobytes were copied twice more.
            let finished = {
                let stages = stages::run(&ctx, &routed, parts, body, &mut outcome);
                let mut stages = std::pin::pin!(stages);
                let mut deadline = worker.request_sleeps.after(timeout);
                tokio::select! {
                    biased;
                    response = stages.as_mut() => Ok(response),
                    () = &mut deadline => Err(()),
                }
            };
            match finished {
                Ok(r) => r,
                // The request's deadline also bounds the upstream when it comes first (see
                // `forward`).
                Err(()) if outcome.awaiting_upstream => {
                    let api = Label::or_none(outcome.api.as_ref());
                    upstream_failed(&ctx, api, &mut outcome, ProxyError::Timeout)
                }
                Err(()) => {
                    let denial = Denial::new(
                        504,
                        crate::rules::REQUEST_TIMEOUT,
                        "the request took longer than request_timeout",
                    )
                    .detail("the request took too long");
                    outcome.refuse(&denial, &request_id)
                }
            }
        };
        let latency = start.elapsed();
        let status = response.status().as_u16();
        let api_label = Label::or_none(outcome.api.as_ref());
        let metrics = &shared.metrics;
        if let Some(rule) = outcome.rule {
            metrics
                .rule_hits
                .get_or_create(&RuleLabels {
                    api: api_label.clone(),
                    rule,
                })
                .inc();
        }
        worker.series.record(
            metrics,
            RequestLabels {
                api: api_label,
                operation: Label::or_none(outcome.operation.as_ref()),
                decision: outcome.decision.as_str(),
                status,
            },
            latency,
        );
        let response_bytes = response.body().size_hint().exact();
        shared.observers.send(Observation {
            decision: Decision {
                ts: decision::Timestamp::now(),
                request_id,
                api: outcome.api,
                operation: outcome.operation,
                method,
                path,
                client: decision::Client {
                    ip,
                    key_id: outcome.key_id,
                    sub: outcome.sub,
                },
                decision: outcome.decision,
                rule: outcome.rule,
                reason: outcome.reason,
                status,
                upstream_status: outcome.upstream_status,
                latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            },
            credentials: outcome.credentials,
            request_bytes,
            response_bytes,
            flags: outcome.flags,
            route_template: outcome.template,
            deprecated: outcome.deprecated,
        });
        response
    }
}

/// How long, and how much, a refused body is still read and thrown away after its 413.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(10);
/// See [`LINGER_TIME`].
const LINGER_BYTES: u64 = 16 << 20;

/// nginx's lingering close for a body refused as too large: its 413 is sent at once, and
/// what the client still sends is read and discarded for at most [`LINGER_TIME`] and
/// [`LINGER_BYTES`] before the connection closes (HTTP/1.1 says so with `Connection:
/// close`). Closing while the client still sends makes its TCP stack reset the connection,
/// and the client often sees a broken pipe instead of the answer.
fn linger<B>(req: Request<B>, response: &mut Response<Body>)
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    if req.version() == http::Version::HTTP_11 || req.version() == http::Version::HTTP_10 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    drain(req.into_body());
}

/// Reads and throws away what is left of a refused body, for at most [`LINGER_TIME`] and
/// [`LINGER_BYTES`], on a task of its own (nginx's lingering close).
fn drain<B>(mut body: B)
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    tokio::spawn(tokio::time::timeout(LINGER_TIME, async move {
        let mut read = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                read += u64::try_from(data.len()).unwrap_or(u64::MAX);
                if read > LINGER_BYTES {
                    break;
                }
            }
        }
    }));
}

/// Per-request context.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub proxy: &'a Proxy,
    pub gw: &'a Gateway,
    pub request_id: &'a RequestId,
    /// The client: the peer, or the address a trusted proxy forwarded.
    pub ip: IpAddr,
    /// The connection's peer (the last hop, appended to `X-Forwarded-For`).
    pub peer: IpAddr,
    pub trusted_peer: bool,
    pub tls: bool,
}

impl Ctx<'_> {
    /// The client's key for rate limits, lockout and concurrency (IPv6: its prefix).
    pub(crate) fn client_key(&self) -> String {
        crate::proxy::client_key(self.ip, self.gw.config.server.ipv6_prefix)
    }
}

/// Reads a whole body up to `max` bytes. A body that turns out longer (no length was declared,
/// or HTTP/2 sent more than it declared) is refused with 413 and what still comes is read
/// and thrown away for a while ([`drain`]), so that the client can read the answer.
pub(crate) async fn read_body<B>(mut body: B, max: usize) -> Result<Bytes, Denial>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    // The common body comes in one frame and is kept as it came, without a copy.
    let mut first: Option<Bytes> = None;
    let mut more: Option<bytes::BytesMut> = None;
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            Denial::new(
                400,
                crate::rules::REQUEST_BODY,
                format!("the body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read = read.saturating_add(data.len());
        if read > max {
            drain(body);
            // The connection closes once the rest is drained (hyper drops this field from an
            // HTTP/2 answer, where it has no meaning).
            return Err(Denial::new(
                413,
                crate::rules::REQUEST_TOO_LARGE,
                format!("the body is over the limit of {max} bytes"),
            )
            .header(header::CONNECTION, "close"));
        }
        match (&mut first, &mut more) {
            (None, _) => first = Some(data),
            (Some(f), None) => {
                let mut joined = bytes::BytesMut::with_capacity(f.len() + data.len());
                joined.extend_from_slice(f);
                joined.extend_from_slice(&data);
                more = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(&data),
        }
    }
    Ok(match more {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// A streamed body, capped at `max` bytes.
pub(crate) fn stream_body<B>(body: B, max: usize) -> Body
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    Limited::new(body, max).map_err(|e| e as BoxError).boxed()
}

/// A body from bytes.
pub(crate) fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// Forwards and finishes the response (a function returning an `async move` block, as
/// [`handle`] and for the same reason).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would keep its by-value arguments twice in its state"
)]
pub(crate) fn forward<'f>(
    ctx: &'f Ctx<'_>,
    api: &'f Api,
    parts: &'f mut http::request::Parts,
    body: Body,
    forward_path: Option<&'f str>,
    outcome: &'f mut Outcome,
    extra: Vec<(header::HeaderName, String)>,
) -> impl Future<Output = Response<Body>> + Send + 'f {
    async move {
        let forwarded = Forwarded {
            peer: ctx.peer,
            trusted_peer: ctx.trusted_peer,
            proto: if ctx.tls { "https" } else { "http" },
            request_id: ctx.request_id.header(),
        };
        // One timer per request where possible: an upstream timeout no shorter than the
        // request's leaves the request's deadline to come first, and `handle` then answers
        // `upstream.timeout` as this would.
        let limits = &ctx.gw.config.server.limits;
        let timeout = (limits.upstream_timeout.0 < limits.request_timeout.0)
            .then_some(limits.upstream_timeout.0);
        // Boxed: the upstream exchange is the deepest future of the request; held inline,
        // each enclosing future would carry (and copy at every await) a few kilobytes of it.
        // The request's head is taken here, straight into the box (an empty one is left).
        let head = std::mem::replace(parts, http::Request::new(()).into_parts().0);
        let exchange = Box::pin(ctx.proxy.forward(
            head,
            body,
            &api.upstream,
            forward_path,
            &forwarded,
            timeout,
        ));
        outcome.awaiting_upstream = true;
        let answered = exchange.await;
        outcome.awaiting_upstream = false;
        match answered {
            Ok(mut response) => {
                outcome.upstream_status = Some(response.status().as_u16());
                let headers = response.headers_mut();
                headers.insert(crate::proxy::X_REQUEST_ID, ctx.request_id.header().clone());
                for (name, value) in extra {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        headers.insert(name, v);
                    }
                }
                response
            }
            Err(e) => upstream_failed(ctx, Label(api.name.clone()), outcome, e),
        }
    }
}

/// The answer when the upstream failed (unreachable, or no response head in time): 502 or
/// 504, counted by API and logged; the decision stays what the checks made it.
fn upstream_failed(
    ctx: &Ctx<'_>,
    api: Label,
    outcome: &mut Outcome,
    error: ProxyError,
) -> Response<Body> {
    tracing::warn!(api = %api.0, error = %error, request_id = %ctx.request_id, "upstream failed");
    ctx.shared
        .metrics
        .upstream_errors
        .get_or_create(&ApiLabels { api })
        .inc();
    let (status, rule) = match error {
        ProxyError::Timeout => (504, crate::rules::UPSTREAM_TIMEOUT),
        _ => (502, crate::rules::UPSTREAM_UNAVAILABLE),
    };
    let d =
        Denial::new(status, rule, error.to_string()).detail("the upstream service is unavailable");
    if outcome.rule.is_none() {
        outcome.rule = Some(d.rule);
        outcome.reason = Some(d.reason.clone());
    }
    problem::response(&d, ctx.request_id)
}

/// Rate-limit key for one limit.
pub(crate) fn limit_key(
    source: &crate::ratelimit::KeySource,
    ctx: &Ctx<'_>,
    principal: Option<&Principal>,
    headers: &http::HeaderMap,
) -> Option<String> {
    use crate::ratelimit::KeySource;
    match source {
        KeySource::Ip => Some(ctx.client_key()),
        KeySource::Subject => principal.and_then(|p| p.subject.clone()),
        KeySource::KeyId => principal.and_then(|p| p.claim("key_id")),
        KeySource::Header(h) => headers
            .get(h.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        KeySource::Claim(c) => principal.and_then(|p| p.claim(c)),
    }
}
