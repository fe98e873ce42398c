//! The answer against the spec: validation against the schema declared for its status and
//! media type (`response.validate`), and removal of properties the schema does not declare
//! (`response.undeclared_fields: strip`).

use bytes::Bytes;
use http::Response;
use serde_json::Value;

use super::{RequestCtx, body, note, plan, replace};
use crate::config::Mode;
use crate::config::protect::{ResponseAction, Undeclared};
use crate::problem::Denial;
use crate::proxy::Body;
use crate::validate::fields::strip;

/// The deepest answer document parsed.
pub(crate) const MAX_DEPTH: usize = 128;

/// Validation (response phase).
pub(crate) async fn validate<B>(r: &mut RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
    let Some(plan) = plan(r).filter(|p| p.validate != ResponseAction::Off) else {
        return;
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let violation = match plan.answer_for(status) {
        None => Some(format!(
            "status {status} is not declared for this operation"
        )),
        Some(spec) => match spec.media_for(&content_type) {
            None if spec.media.is_empty() => None,
            None if http_body::Body::size_hint(response.body()).exact() == Some(0) => None,
            None => Some(format!(
                "content type {content_type:?} is not declared for status {status}"
            )),
            Some(media) => match &media.validator {
                None => None,
                Some(validator) => match body(r, response).await {
                    None => None,
                    Some(answer) => {
                        match crate::validate::json::parse_strict(answer.current(), MAX_DEPTH) {
                            Err(e) => Some(format!("the {status} answer is not valid JSON: {e}")),
                            Ok(value) => validator.iter_errors(&value).next().map(|e| {
                                format!(
                                    "the {status} answer breaks its schema at {:?}: {}",
                                    e.instance_path().to_string(),
                                    e
                                )
                            }),
                        }
                    }
                },
            },
        },
    };
    let Some(reason) = violation else {
        return;
    };
    let denial = Denial::new(502, crate::rules::RESPONSE_SCHEMA, reason)
        .detail("the upstream's answer could not be delivered");
    if plan.validate == ResponseAction::Block && r.api.mode == Mode::Enforce {
        replace(r, response, &denial, true);
    } else {
        // Logged: decision `monitor`, the answer passes.
        let _ = r.outcome.deny(Mode::Monitor, denial, r.env.request_id);
    }
}

/// Stripping undeclared properties (response phase).
pub(crate) async fn strip_undeclared<B>(
    r: &mut RequestCtx<'_, '_, '_, B>,
    response: &mut Response<Body>,
) {
    let Some(plan) = plan(r).filter(|p| p.undeclared == Undeclared::Strip) else {
        return;
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Some(field) = plan
        .answer_for(status)
        .and_then(|a| a.media_for(&content_type))
        .and_then(|m| m.field.as_ref())
    else {
        return;
    };
    let monitor = r.api.mode == Mode::Monitor;
    let Some(answer) = body(r, response).await else {
        return;
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(answer.current()) else {
        return;
    };
    let removed = strip(&mut value, field);
    if removed == 0 {
        return;
    }
    if !monitor {
        match serde_json::to_vec(&value) {
            Ok(bytes) => answer.changed = Some(Bytes::from(bytes)),
            Err(_) => return,
        }
    }
    r.outcome.flags.push("response:stripped");
    if monitor {
        let denial = Denial::new(
            502,
            crate::rules::RESPONSE_SCHEMA,
            format!(
                "the {status} answer has {removed} undeclared properties (not stripped: monitor mode)"
            ),
        );
        let _ = r.outcome.deny(Mode::Monitor, denial, r.env.request_id);
    } else {
        note(
            r,
            crate::rules::RESPONSE_SCHEMA,
            format!("stripped {removed} undeclared properties from the {status} answer"),
        );
    }
}
