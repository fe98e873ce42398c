//! The upstream's answer body, read once for the response checks that need it: bounded by
//! `max_inspect`, decompressed (gzip, deflate, br) within the same cap, and put back at the
//! end (changed, or exactly as it came).
//!
//! An answer over the cap is never held whole: what was read is sent on, followed by the rest
//! as it streams (`over_limit: pass`, flag `response.uninspected`), or the answer is replaced by
//! 502 (`over_limit: block`). A compressed body that inflates far beyond its size (a bomb) is
//! refused in every mode and never inflated past the cap.

use bytes::{Bytes, BytesMut};
use http::Response;
use http::header::{self, HeaderValue};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;

use crate::coding::{BOMB_RATIO, Coding, Inflate};
use crate::config::protect::OverLimit;
use crate::problem::Denial;
use crate::proxy::{Body, BoxError};
use crate::runtime::protect::ResponsePlan;

/// How the answer's body stands for the response checks.
#[derive(Default)]
pub(crate) enum AnswerState {
    /// Not read (no check needed it yet).
    #[default]
    Unread,
    /// Read and decoded (boxed: the common request reads no answer, and the state is part
    /// of every request's future).
    Read(Box<Answer>),
    /// Not inspectable (over the cap, an unknown coding, a replaced answer): checks skip it.
    Skipped,
}

/// An answer read for inspection.
pub(crate) struct Answer {
    /// As the upstream sent it.
    original: Bytes,
    /// Decoded: what the checks read.
    pub text: Bytes,
    coding: Coding,
    /// The `Content-Type` (lower case essence).
    pub content_type: String,
    /// A check's replacement for `text` (sent without `Content-Encoding`).
    pub changed: Option<Bytes>,
}

impl Answer {
    /// The current body: changed, else decoded.
    pub(crate) fn current(&self) -> &Bytes {
        self.changed.as_ref().unwrap_or(&self.text)
    }

    /// Whether the body is JSON.
    pub(crate) fn is_json(&self) -> bool {
        is_json(&self.content_type)
    }

    /// Whether the body is text (`text/*`, XML, HTML).
    pub(crate) fn is_text(&self) -> bool {
        is_text(&self.content_type)
    }
}

/// The `Content-Type` of `headers`, lower case, without parameters (`""` when absent).
pub(crate) fn media_type(headers: &http::HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a media type (as [`media_type`] gives it) is JSON.
pub(crate) fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Whether a media type is text (`text/*`, XML).
pub(crate) fn is_text(media: &str) -> bool {
    media.starts_with("text/") || media.ends_with("+xml") || media == "application/xml"
}

fn coding_of(response: &Response<Body>) -> Option<Coding> {
    crate::coding::coding_of(response.headers())
}

/// Why an answer could not be read for inspection.
pub(crate) enum Unread {
    /// Over the cap or in an unknown coding: the policy decides.
    Uninspected(String),
    /// A decompression bomb: refused.
    Bomb(String),
    /// The upstream's body failed while being read.
    Broken(String),
}

/// Reads the answer's body for inspection (at most `plan.max_inspect` bytes, decoded).
/// On `Uninspected`, the response's body is already put back (what was read, then the rest).
pub(crate) async fn read(
    response: &mut Response<Body>,
    plan: &ResponsePlan,
) -> Result<Answer, Unread> {
    let content_type = media_type(response.headers());
    let Some(coding) = coding_of(response) else {
        return Err(Unread::Uninspected(
            "the answer's content coding cannot be inspected".to_owned(),
        ));
    };
    let max = plan.max_inspect;
    if let Some(declared) = response.body().size_hint().exact()
        && usize::try_from(declared).unwrap_or(usize::MAX) > max
    {
        return Err(Unread::Uninspected(format!(
            "the answer declares {declared} bytes, over max_inspect ({max})"
        )));
    }
    let mut body = std::mem::replace(response.body_mut(), crate::pipeline::full(Bytes::new()));
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e: BoxError| Unread::Broken(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        read.extend_from_slice(&data);
        if read.len() > max {
            // Send on what was read, then the rest as it comes: memory stays bounded.
            *response.body_mut() = Prefixed {
                head: Some(read.freeze()),
                rest: body,
            }
            .boxed();
            return Err(Unread::Uninspected(format!(
                "the answer is over max_inspect ({max} bytes)"
            )));
        }
    }
    let original = read.freeze();
    let text = match decode(&original, coding, max) {
        Ok(text) => text,
        Err(e) => {
            *response.body_mut() = crate::pipeline::full(original);
            return Err(e);
        }
    };
    Ok(Answer {
        original,
        text,
        coding,
        content_type,
        changed: None,
    })
}

/// What was read of a body, then the rest of it as it streams.
struct Prefixed {
    head: Option<Bytes>,
    rest: Body,
}

impl HttpBody for Prefixed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        if let Some(head) = self.head.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let mut hint = self.rest.size_hint();
        let head = self.head.as_ref().map_or(0, |h| h.len() as u64);
        hint.set_lower(hint.lower().saturating_add(head));
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper.saturating_add(head));
        }
        hint
    }
}

/// Inflates `data` within `max` bytes.
fn decode(data: &Bytes, coding: Coding, max: usize) -> Result<Bytes, Unread> {
    crate::coding::inflate(data, coding, max).map_err(|e| match e {
        Inflate::Invalid(e) => {
            Unread::Uninspected(format!("the answer's compressed body is invalid: {e}"))
        }
        Inflate::Over { used, bomb: true } => Unread::Bomb(format!(
            "{used} compressed bytes inflate past {max} bytes (over {BOMB_RATIO} times)"
        )),
        Inflate::Over { bomb: false, .. } => Unread::Uninspected(format!(
            "the answer inflates past max_inspect ({max} bytes)"
        )),
    })
}

/// Puts the inspected body back: the change (decoded, so without `Content-Encoding`) or the
/// original bytes.
pub(crate) fn finish(answer: Answer, response: &mut Response<Body>) {
    let headers = response.headers_mut();
    match answer.changed {
        Some(changed) => {
            if answer.coding != Coding::Identity {
                headers.remove(header::CONTENT_ENCODING);
            }
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(changed.len()));
            headers.remove(header::ETAG);
            *response.body_mut() = crate::pipeline::full(changed);
        }
        None => {
            *response.body_mut() = crate::pipeline::full(answer.original);
        }
    }
}

/// The denial for an answer that cannot be inspected under `over_limit: block`, or for a bomb.
pub(crate) fn refusal(unread: &Unread, plan: &ResponsePlan) -> Option<Denial> {
    match unread {
        Unread::Bomb(reason) => Some(
            Denial::new(502, crate::rules::RESPONSE_DECOMPRESSION, reason.clone())
                .detail("the upstream's answer could not be delivered"),
        ),
        Unread::Uninspected(reason) if plan.over_limit == OverLimit::Block => Some(
            Denial::new(502, crate::rules::RESPONSE_UNINSPECTED, reason.clone())
                .detail("the upstream's answer could not be delivered"),
        ),
        Unread::Broken(reason) => Some(
            Denial::new(502, crate::rules::UPSTREAM_UNAVAILABLE, reason.clone())
                .detail("the upstream service is unavailable"),
        ),
        Unread::Uninspected(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coding::tests::gzip;
    use std::io::Write;

    #[test]
    fn bodies_inflate_within_the_cap_and_bombs_are_refused() {
        let doc = br#"{"a":"hello"}"#;
        assert_eq!(
            decode(&gzip(doc), Coding::Gzip, 1024).ok().unwrap(),
            &doc[..]
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(doc).unwrap();
        let z = Bytes::from(z.finish().unwrap());
        assert_eq!(decode(&z, Coding::Deflate, 1024).ok().unwrap(), &doc[..]);
        // 10 MB of zeros compress to about 10 KB: inflating stops at the cap.
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(matches!(
            decode(&bomb, Coding::Gzip, 64 << 10),
            Err(Unread::Bomb(_))
        ));
        // Over the cap without being a bomb: uninspected.
        let random: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(matches!(
            decode(&gzip(&random), Coding::Gzip, 2048),
            Err(Unread::Uninspected(_))
        ));
        assert!(matches!(
            decode(&Bytes::from_static(b"not gzip"), Coding::Gzip, 1024),
            Err(Unread::Uninspected(_))
        ));
    }
}
