//! The response phase's checks on the upstream's answer, each a stage (DESIGN.md's order):
//! sanitize error bodies, validate against the declared schema, strip undeclared properties,
//! find or mask sensitive data, then secure headers. The body is read once, by the first check
//! that needs it ([`answer`]), and put back after the last ([`finish`]).

pub(crate) mod answer;
pub(super) mod headers;
pub(crate) mod sanitize;
pub(crate) mod schema;
pub(crate) mod sensitive;

use http::Response;

use super::RequestCtx;
use crate::problem::Denial;
use crate::proxy::Body;
use crate::runtime::protect::ResponsePlan;
use answer::{Answer, AnswerState};

/// The response plan that applies to the request (the operation's, or the API's for
/// undocumented requests).
pub(super) fn plan<'g, B>(r: &RequestCtx<'_, 'g, '_, B>) -> Option<&'g ResponsePlan> {
    match r.plan {
        Some(p) => p.response.as_deref(),
        None => r.api.undocumented_response.as_deref(),
    }
}

/// The answer's body for inspection, read at the first call (`None`: not inspectable; the
/// answer may then have been replaced by a refusal).
pub(super) async fn body<'c, B>(
    r: &'c mut RequestCtx<'_, '_, '_, B>,
    response: &mut Response<Body>,
) -> Option<&'c mut Answer> {
    if matches!(r.answer, AnswerState::Unread) {
        let plan = plan(r)?;
        r.answer = match answer::read(response, plan).await {
            Ok(a) => AnswerState::Read(Box::new(a)),
            Err(unread) => {
                match answer::refusal(&unread, plan) {
                    Some(denial) => replace(r, response, &denial, true),
                    None => {
                        if let answer::Unread::Uninspected(reason) = unread {
                            note(r, crate::rules::RESPONSE_UNINSPECTED, reason);
                        }
                    }
                }
                AnswerState::Skipped
            }
        };
    }
    match &mut r.answer {
        AnswerState::Read(a) => Some(a),
        _ => None,
    }
}

/// Replaces the answer with the problem+json of `denial`; `block`: the decision is a block
/// (else it stays what it was, with the rule noted).
pub(super) fn replace<B>(
    r: &mut RequestCtx<'_, '_, '_, B>,
    response: &mut Response<Body>,
    denial: &Denial,
    block: bool,
) {
    let id = r.env.request_id;
    let mut replaced = if block {
        r.outcome.refuse(denial, id)
    } else {
        note(r, denial.rule, denial.reason.clone());
        crate::problem::response(denial, id)
    };
    if let Some(v) = response.headers().get(crate::proxy::X_REQUEST_ID) {
        replaced
            .headers_mut()
            .insert(crate::proxy::X_REQUEST_ID, v.clone());
    }
    *response = replaced;
    r.answer = AnswerState::Skipped;
}

/// Records a rule on a request that goes on (decision unchanged), unless one is recorded.
pub(super) fn note<B>(r: &mut RequestCtx<'_, '_, '_, B>, rule: &'static str, reason: String) {
    if r.outcome.rule.is_none() {
        r.outcome.rule = Some(rule);
        r.outcome.reason = Some(reason);
    }
}

/// Puts the inspected body back (after the last response stage).
pub(super) fn finish<B>(r: &mut RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
    if let AnswerState::Read(a) = std::mem::take(&mut r.answer) {
        answer::finish(*a, response);
    }
}
