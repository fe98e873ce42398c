//! A request body in a content coding (`Content-Encoding: gzip`...), before any stage: the
//! checks must see what the upstream will read, and an upstream that inflates a body would
//! read something no check saw. `server.limits.compressed_body` says what happens:
//!
//! * `refuse` (the default): 415 `request.content-encoding`;
//! * `inflate`: gzip, deflate and br are inflated within `max_body` (a body inflating past it,
//!   a bomb among them, is 413 `request.too-large` and never inflated further); every stage
//!   then sees, and the upstream gets, the plain body, without `Content-Encoding` and with
//!   its own `Content-Length`. Other codings, or several, are 415.
//!
//! Refused in every mode, as a body over `max_body` is: the body cannot be checked.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http_body::Body as HttpBody;

use super::{Pending, RequestCtx};
use crate::coding::{BOMB_RATIO, Coding, Inflate};
use crate::config::CompressedBody;
use crate::problem::Denial;
use crate::proxy::BoxError;

/// Applies `compressed_body` to a request that has a `Content-Encoding` field; the refusal,
/// if any.
pub(crate) async fn request<B>(r: &mut RequestCtx<'_, '_, '_, B>) -> Option<Denial>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let headers = &r.parts.headers;
    let coding = crate::coding::coding_of(headers);
    // A field without a body (a GET) changes nothing: only a body can be misread.
    if coding == Some(Coding::Identity) || !r.has_body() {
        return None;
    }
    let named: Vec<&str> = headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .map(|v| v.to_str().unwrap_or("(not text)"))
        .collect();
    let named = named.join(", ");
    let limits = &r.env.gw.config.server.limits;
    let max = limits.max_body.as_usize();
    let coding = match (limits.compressed_body, coding) {
        (CompressedBody::Refuse, _) => {
            return Some(Denial::new(
                415,
                crate::rules::REQUEST_CONTENT_ENCODING,
                format!(
                    "the body is sent in a content coding ({named}); request bodies are taken uncompressed (server.limits.compressed_body: refuse)"
                ),
            ));
        }
        (CompressedBody::Inflate, None) => {
            return Some(Denial::new(
                415,
                crate::rules::REQUEST_CONTENT_ENCODING,
                format!(
                    "the body's content coding ({named}) cannot be read: one of gzip, deflate or br is"
                ),
            ));
        }
        (CompressedBody::Inflate, Some(coding)) => coding,
    };
    let data = match r.read_body().await {
        Ok(data) => data.clone(),
        Err(d) => return Some(d),
    };
    let plain = match crate::coding::inflate(&data, coding, max) {
        Ok(plain) => plain,
        Err(Inflate::Invalid(e)) => {
            return Some(Denial::new(
                400,
                crate::rules::REQUEST_BODY,
                format!("the body is not valid {named}: {e}"),
            ));
        }
        Err(Inflate::Over { used, bomb }) => {
            let what = if bomb {
                format!(", over {BOMB_RATIO} times their size (a decompression bomb)")
            } else {
                String::new()
            };
            return Some(Denial::new(
                413,
                crate::rules::REQUEST_TOO_LARGE,
                format!(
                    "the body inflates past the limit of {max} bytes ({used} compressed bytes read{what})"
                ),
            ));
        }
    };
    let headers = &mut r.parts.headers;
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::TRANSFER_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(plain.len()));
    r.body = Pending::Read(plain);
    None
}
