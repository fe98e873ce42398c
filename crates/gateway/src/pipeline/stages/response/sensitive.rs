//! Sensitive data in answers (`response.sensitive_data`): card numbers, IBANs, SSNs, private
//! keys, tokens, cloud keys, password hashes, secret-named properties (and, opted in, emails
//! and phone numbers) found in JSON answers (and `text/*` ones with `inspect_text`), then
//! logged, masked or blocked. The kinds seen go into the request's observation as flags
//! (`sensitive:card`...), whatever the action.

use bytes::Bytes;
use http::Response;
use portcullis_inspect::sensitive::{self, Kind, Kinds, Options};

use super::{RequestCtx, body, note, plan, replace};
use crate::config::Mode;
use crate::config::protect::SensitiveAction;
use crate::problem::Denial;
use crate::proxy::Body;

/// The observation flag of a kind.
pub(crate) fn flag(kind: Kind) -> &'static str {
    match kind {
        Kind::Card => "sensitive:card",
        Kind::Iban => "sensitive:iban",
        Kind::Ssn => "sensitive:ssn",
        Kind::PrivateKey => "sensitive:private_key",
        Kind::Jwt => "sensitive:jwt",
        Kind::CloudKey => "sensitive:cloud_key",
        Kind::PasswordHash => "sensitive:password_hash",
        Kind::Email => "sensitive:email",
        Kind::Phone => "sensitive:phone",
        Kind::SecretName => "sensitive:secret_name",
    }
}

fn names(kinds: Kinds) -> String {
    kinds.iter().map(Kind::name).collect::<Vec<_>>().join(", ")
}

/// Masks the ranges `find` reports in a text body (same length).
pub(crate) fn mask_text(text: &[u8], options: Options) -> (Option<Vec<u8>>, Kinds) {
    let Ok(s) = std::str::from_utf8(text) else {
        return (None, Kinds::default());
    };
    let found = sensitive::find(s, options);
    let mut kinds = Kinds::default();
    if found.is_empty() {
        return (None, kinds);
    }
    let mut out = text.to_vec();
    for (kind, range) in found {
        kinds.insert(kind);
        if let Some(slice) = out.get_mut(range) {
            slice.iter_mut().for_each(|b| {
                if !b.is_ascii_whitespace() {
                    *b = b'*';
                }
            });
        }
    }
    (Some(out), kinds)
}

/// The response phase.
pub(crate) async fn response<B>(r: &mut RequestCtx<'_, '_, '_, B>, response: &mut Response<Body>) {
    let Some(plan) = plan(r).filter(|p| p.sensitive != SensitiveAction::Off) else {
        return;
    };
    let options = Options {
        emails: plan.emails,
        phones: plan.phones,
    };
    let action = if r.api.mode == Mode::Monitor {
        SensitiveAction::Log
    } else {
        plan.sensitive
    };
    let inspect_text = plan.inspect_text;
    // Only JSON (and, opted in, text) answers are searched: others are not even read.
    let media = super::answer::media_type(response.headers());
    if !(super::answer::is_json(&media) || inspect_text && super::answer::is_text(&media)) {
        return;
    }
    let Some(answer) = body(r, response).await else {
        return;
    };
    let (changed, kinds) = if answer.is_json() {
        if action == SensitiveAction::Mask {
            match sensitive::mask_json(answer.current(), options) {
                Ok(m) => (m.body, m.kinds),
                Err(_) => return,
            }
        } else {
            match sensitive::scan_json(answer.current(), options) {
                Ok(k) => (None, k),
                Err(_) => return,
            }
        }
    } else if inspect_text && answer.is_text() {
        let (masked, kinds) = mask_text(answer.current(), options);
        (masked.filter(|_| action == SensitiveAction::Mask), kinds)
    } else {
        return;
    };
    if kinds.is_empty() {
        return;
    }
    if let Some(body) = changed {
        answer.changed = Some(Bytes::from(body));
    }
    for kind in kinds.iter() {
        r.outcome.flags.push(flag(kind));
    }
    let status = response.status().as_u16();
    match action {
        SensitiveAction::Off => {}
        SensitiveAction::Mask => note(
            r,
            crate::rules::RESPONSE_SENSITIVE,
            format!("masked in the {status} answer: {}", names(kinds)),
        ),
        SensitiveAction::Log => {
            let denial = Denial::new(
                502,
                crate::rules::RESPONSE_SENSITIVE,
                format!("the {status} answer carries {}", names(kinds)),
            );
            let _ = r.outcome.deny(Mode::Monitor, denial, r.env.request_id);
        }
        SensitiveAction::Block => {
            let denial = Denial::new(
                502,
                crate::rules::RESPONSE_SENSITIVE,
                format!("the {status} answer carries {}", names(kinds)),
            )
            .detail("the upstream's answer could not be delivered");
            replace(r, response, &denial, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_bodies_are_masked_in_place() {
        let (out, kinds) = mask_text(b"card 4111 1111 1111 1111 ok", Options::default());
        let out = String::from_utf8(out.unwrap()).unwrap();
        assert!(!out.contains("4111 1111 1111 1111"), "{out}");
        assert_eq!(out.len(), "card 4111 1111 1111 1111 ok".len());
        assert!(kinds.contains(Kind::Card));
        assert_eq!(mask_text(b"nothing here", Options::default()).0, None);
    }
}
