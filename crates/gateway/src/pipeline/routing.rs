//! Admission and routing, the stages before any await: a banned client, the declared body
//! size and the path's normalization, then the host check, the API (by host and path, in
//! configuration order) and the operation, or the undocumented-request policy.

use http::header;
use http::{Request, Response};

use super::origin::{checked_host, host_of};
use super::{Ctx, Outcome};
use crate::config::Undocumented;
use crate::problem::Denial;
use crate::proxy::Body;
use crate::runtime::{Api, Gateway, OpPlan};
use portcullis_spec::{PathParams, Route, normalize_path};

/// Picks the API and the route for a request: the first API (in configuration order, among
/// those serving this host) that documents the path; else the first such API, undocumented.
fn select<'g, 'p>(
    gw: &'g Gateway,
    host: Option<&str>,
    method: &str,
    path: &'p str,
) -> Option<(&'g Api, Route<'g, 'p>)> {
    let mut first = None;
    for api in gw
        .apis
        .iter()
        .filter(|a| a.host.is_none() || a.host.as_deref() == host)
    {
        first.get_or_insert(api);
        match api.router.route(method, path) {
            Route::NotFound => {}
            found => return Some((api, found)),
        }
    }
    first.map(|api| (api, Route::NotFound))
}

/// Admission: a banned client, the declared body size and the path, refused in every mode
/// when they cannot be accepted. The normalized path, which routing and the log use.
#[allow(
    clippy::result_large_err,
    reason = "the response is matched at once by the caller; a box would cost an allocation"
)]
pub(super) fn admit<B>(
    ctx: &Ctx<'_>,
    req: &Request<B>,
    outcome: &mut Outcome,
) -> Result<String, Response<Body>> {
    // A banned client is refused before any other work.
    if ctx.shared.bans.is_banned(ctx.ip) {
        let denial = Denial::new(403, crate::rules::CLIENT_BANNED, "the client is banned")
            .detail("access from this client is suspended");
        return Err(outcome.refuse(&denial, ctx.request_id));
    }
    let limits = &ctx.gw.config.server.limits;
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > limits.max_body.0) {
        let max_body = limits.max_body.as_usize();
        let d = Denial::new(
            413,
            crate::rules::REQUEST_TOO_LARGE,
            format!("the body is over the limit of {max_body} bytes"),
        );
        return Err(outcome.refuse(&d, ctx.request_id));
    }
    // Several credentials, or several content types, in one request: the gateway would check
    // one while the upstream may read another (a JSON body validated as JSON and read as a
    // form by the upstream carries fields past validation). Only looked up when some field
    // name comes twice: the map counts values and names apart.
    if req.headers().len() != req.headers().keys_len() {
        for (name, what) in [
            (header::AUTHORIZATION, "more than one Authorization field"),
            (header::CONTENT_TYPE, "more than one Content-Type field"),
        ] {
            let mut fields = req.headers().get_all(name).iter();
            if fields.next().is_some() && fields.next().is_some() {
                let d = Denial::new(400, crate::rules::REQUEST_HEADER, what);
                return Err(outcome.refuse(&d, ctx.request_id));
            }
        }
    }
    // Query values are checked as UTF-8 text: a `%ff` the checks would see as U+FFFD would
    // reach the upstream as the raw byte.
    if let Some(q) = req.uri().query()
        && q.contains('%')
        && percent_encoding::percent_decode_str(q)
            .decode_utf8()
            .is_err()
    {
        let d = Denial::new(
            400,
            crate::rules::REQUEST_PARAMETER,
            "a query parameter decodes to bytes that are not UTF-8 text",
        );
        return Err(outcome.refuse(&d, ctx.request_id));
    }
    match normalize_path(req.uri().path()) {
        Ok(p) => Ok(p.as_str().to_owned()),
        Err(e) => {
            let d = Denial::new(
                400,
                crate::rules::REQUEST_PATH,
                format!("the path cannot be accepted: {e}"),
            );
            Err(outcome.refuse(&d, ctx.request_id))
        }
    }
}

/// Where a request goes: its API, its operation's plan (none when undocumented and only
/// logged), its path parameters (none when undocumented) and the path and query it is
/// forwarded with: none when they are the request's own (its path is normalized already and
/// no prefix is stripped), so that the common request is forwarded without rebuilding them.
pub(crate) struct Routed<'g, 'p> {
    pub api: &'g Api,
    pub plan: Option<&'g OpPlan>,
    pub params: PathParams<'g, 'p>,
    pub forward_path: Option<String>,
}

/// Routing: the host check, the API and the operation; an undocumented path or method is
/// refused or only logged as the API says.
#[allow(
    clippy::result_large_err,
    reason = "the response is matched at once by the caller; a box would cost an allocation"
)]
pub(super) fn route<'g, 'p, B>(
    ctx: &Ctx<'g>,
    req: &Request<B>,
    normalized: &'p str,
    outcome: &mut Outcome,
) -> Result<Routed<'g, 'p>, Response<Body>> {
    let host_field = match checked_host(req) {
        Ok(field) => field,
        Err(d) => return Err(outcome.refuse(&d, ctx.request_id)),
    };
    // The host is parsed only when an API is served by host (most configurations have none).
    let host = if ctx.gw.apis.iter().any(|a| a.host.is_some()) {
        host_of(host_field, req.uri())
    } else {
        None
    };
    let method = req.method();
    let Some((api, route)) = select(ctx.gw, host.as_deref(), method.as_str(), normalized) else {
        let reason = match host_of(host_field, req.uri()) {
            Some(host) => format!("no API is served for host {host:?}"),
            None => "no API is served for requests without a host".to_owned(),
        };
        let d = Denial::new(404, crate::rules::ROUTE_NO_API, reason);
        return Err(outcome.refuse(&d, ctx.request_id));
    };
    outcome.api = Some(api.name.clone());
    if let Some(cors) = api.cors.as_deref()
        && super::stages::cors::is_preflight(req)
    {
        return Err(super::stages::cors::preflight(ctx, cors, req, outcome));
    }
    let forward_path = {
        let base = match &api.strip {
            Some(prefix) => normalized
                .strip_prefix(prefix.trim_end_matches('/'))
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                .map(|rest| if rest.is_empty() { "/" } else { rest })
                .unwrap_or(normalized),
            None => normalized,
        };
        if base == req.uri().path() {
            None
        } else {
            Some(match req.uri().query() {
                Some(q) => format!("{base}?{q}"),
                None => base.to_owned(),
            })
        }
    };
    let mut params = PathParams::default();
    let plan: Option<&OpPlan> = match route {
        Route::Matched {
            operation,
            params: found,
        } => {
            params = found;
            api.ops.get(operation)
        }
        Route::MethodNotAllowed { allowed } => {
            let list: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            let d = Denial::new(
                405,
                crate::rules::ROUTE_METHOD,
                format!("{method} is not documented for this path"),
            )
            .header(header::ALLOW, list.join(", "));
            undocumented(ctx, api, d, outcome)?;
            None
        }
        Route::NotFound => {
            let d = Denial::new(
                404,
                crate::rules::ROUTE_UNDOCUMENTED,
                format!("{method} {normalized} is not documented"),
            );
            undocumented(ctx, api, d, outcome)?;
            None
        }
    };
    if let Some(plan) = plan {
        outcome.operation = Some(plan.id.clone());
        outcome.template = Some(plan.template.clone());
        outcome.deprecated = plan.deprecated;
    }
    Ok(Routed {
        api,
        plan,
        params,
        forward_path,
    })
}

/// An undocumented path or method: refused (in the API's mode) with `undocumented: block`,
/// else only recorded as a `monitor` decision.
#[allow(
    clippy::result_large_err,
    reason = "the response is matched at once by the caller; a box would cost an allocation"
)]
fn undocumented(
    ctx: &Ctx<'_>,
    api: &Api,
    d: Denial,
    outcome: &mut Outcome,
) -> Result<(), Response<Body>> {
    if api.undocumented == Undocumented::Block {
        if let Some(r) = outcome.deny(api.mode, d, ctx.request_id) {
            return Err(r);
        }
    } else {
        outcome.decision = crate::decision::Kind::Monitor;
        outcome.rule = Some(d.rule);
        outcome.reason = Some(d.reason);
    }
    Ok(())
}
