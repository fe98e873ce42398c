//! Entry points for the fuzz targets (`fuzz/`) and their proptest twins into checks the
//! pipeline keeps private: reading an upstream's answer for inspection (bounded, decoded) and
//! putting it back, and the leaf checks of the response phase. Thin wrappers over the
//! functions the stages call, so that what is fuzzed is what runs; not a stable API.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use portcullis_inspect::sensitive::{Kinds, Options};

use crate::pipeline::stages::response::{answer, sanitize, schema, sensitive};
use crate::problem::Denial;
use crate::proxy::{Body, BoxError};
use crate::runtime::protect::ResponsePlan;

/// The deepest answer document the schema check parses.
pub const RESPONSE_MAX_DEPTH: usize = schema::MAX_DEPTH;

/// Why an answer was not read for inspection.
#[derive(Debug)]
pub enum Unread {
    /// Over the cap, or in a coding that cannot be read: the plan's `over_limit` decides.
    Uninspected(String),
    /// A decompression bomb: always refused.
    Bomb(String),
    /// The upstream's body failed while being read.
    Broken(String),
}

/// An answer read for inspection.
pub struct Answer(answer::Answer);

impl Answer {
    /// The decoded body the checks read.
    pub fn text(&self) -> &Bytes {
        &self.0.text
    }

    /// The `Content-Type` essence, lower case.
    pub fn content_type(&self) -> &str {
        &self.0.content_type
    }

    /// Replaces the body, as a check that changes it does.
    pub fn change(&mut self, body: Bytes) {
        self.0.changed = Some(body);
    }
}

/// An answer with `headers` whose body comes in `chunks`: with an exact length
/// (`declared`, as a `Content-Length` body) or streamed (as a chunked one).
pub fn response(headers: HeaderMap, chunks: Vec<Bytes>, declared: bool) -> Response<Body> {
    let body: Body = if declared {
        crate::pipeline::full(chunks.concat().into())
    } else {
        let frames = chunks
            .into_iter()
            .map(|c| Ok::<_, Infallible>(Frame::data(c)));
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
            .map_err(|never| match never {})
            .boxed()
    };
    let mut response = Response::new(body);
    *response.headers_mut() = headers;
    response
}

/// Reads `response`'s body for the response checks as the pipeline does (at most
/// `plan.max_inspect` bytes, decoded within the same cap). When not read, the body is put
/// back (what was read, then the rest).
pub async fn read(response: &mut Response<Body>, plan: &ResponsePlan) -> Result<Answer, Unread> {
    answer::read(response, plan)
        .await
        .map(Answer)
        .map_err(|unread| match unread {
            answer::Unread::Uninspected(r) => Unread::Uninspected(r),
            answer::Unread::Bomb(r) => Unread::Bomb(r),
            answer::Unread::Broken(r) => Unread::Broken(r),
        })
}

/// The refusal the pipeline sends for an answer it could not read (`None`: sent on as it is).
pub fn refusal(unread: &Unread, plan: &ResponsePlan) -> Option<Denial> {
    let unread = match unread {
        Unread::Uninspected(r) => answer::Unread::Uninspected(r.clone()),
        Unread::Bomb(r) => answer::Unread::Bomb(r.clone()),
        Unread::Broken(r) => answer::Unread::Broken(r.clone()),
    };
    answer::refusal(&unread, plan)
}

/// Puts the inspected body back after the last check.
pub fn finish(answer: Answer, response: &mut Response<Body>) {
    answer::finish(answer.0, response);
}

/// The whole body of `response`.
pub async fn collect(response: Response<Body>) -> Result<Bytes, BoxError> {
    Ok(response.into_body().collect().await?.to_bytes())
}

/// The kind of internals an error body gives away (the error sanitizer's test).
pub fn leak(text: &[u8]) -> Option<&'static str> {
    sanitize::leak(text)
}

/// Masks sensitive data in a text answer in place (`inspect_text`): the masked body when
/// something was found, and the kinds found.
pub fn mask_text(text: &[u8], options: Options) -> (Option<Vec<u8>>, Kinds) {
    sensitive::mask_text(text, options)
}
