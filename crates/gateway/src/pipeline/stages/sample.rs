//! Body samples for the inventory's learned spec (a hook of [`super::run`], not a listed
//! stage): for an undocumented request, when a [`BodySampler`] is installed and asks for it,
//! the JSON request and response bodies are copied as they stream through (at most the
//! sampler's cap of each; past it the copy is dropped, the body goes on untouched) and handed
//! to the sampler once both are done. Documented requests, and every request when no sampler
//! is installed, never come here.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;

use super::response::answer::{is_json, media_type};
use crate::observe::{BodySample, BodySampler};
use crate::proxy::{Body, BoxError};

/// One sampled request: its bodies' copies, delivered when the last body is done with.
pub(crate) struct Tap {
    sampler: Arc<dyn BodySampler>,
    sample: Mutex<BodySample>,
    cap: usize,
}

impl Drop for Tap {
    fn drop(&mut self) {
        let sample = std::mem::take(self.sample.get_mut().unwrap_or_else(|p| p.into_inner()));
        if sample.request.is_some() || sample.response.is_some() {
            self.sampler.deliver(sample);
        }
    }
}

/// Asks the sampler (when one is installed) whether to copy this undocumented request.
pub(crate) fn tap(
    sampler: Option<&Arc<dyn BodySampler>>,
    api: &Arc<str>,
    parts: &http::request::Parts,
) -> Option<Arc<Tap>> {
    let sampler = sampler?;
    let cap = sampler.wants(api, &parts.method, parts.uri.path())?;
    Some(Arc::new(Tap {
        sampler: sampler.clone(),
        sample: Mutex::new(BodySample {
            api: api.clone(),
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            ..BodySample::default()
        }),
        cap,
    }))
}

/// The request body, copied when it is JSON.
pub(crate) fn request(tap: &Arc<Tap>, headers: &http::HeaderMap, body: Body) -> Body {
    if is_json(&media_type(headers)) && headers.get(http::header::CONTENT_ENCODING).is_none() {
        Tee::new(tap.clone(), Side::Request, body).boxed()
    } else {
        body
    }
}

/// The answer's body, copied when it is JSON; the status noted.
pub(crate) fn response(tap: Arc<Tap>, response: &mut Response<Body>) {
    if let Ok(mut s) = tap.sample.lock() {
        s.status = response.status().as_u16();
    }
    let headers = response.headers();
    if is_json(&media_type(headers)) && headers.get(http::header::CONTENT_ENCODING).is_none() {
        let body = std::mem::replace(response.body_mut(), super::full(Bytes::new()));
        *response.body_mut() = Tee::new(tap, Side::Response, body).boxed();
    }
}

#[derive(Clone, Copy)]
enum Side {
    Request,
    Response,
}

/// A body passed on frame by frame, its data copied up to the tap's cap.
struct Tee {
    inner: Body,
    tap: Arc<Tap>,
    side: Side,
    copy: Vec<u8>,
    over: bool,
}

impl Tee {
    fn new(tap: Arc<Tap>, side: Side, inner: Body) -> Tee {
        Tee {
            inner,
            tap,
            side,
            copy: Vec::new(),
            over: false,
        }
    }

    fn done(&mut self) {
        if self.over {
            return;
        }
        let bytes = Bytes::from(std::mem::take(&mut self.copy));
        if let Ok(mut s) = self.tap.sample.lock() {
            match self.side {
                Side::Request => s.request = Some(bytes),
                Side::Response => s.response = Some(bytes),
            }
        }
        // Noted once.
        self.over = true;
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // A body known to be over that was never polled to its end (or at all: empty).
        if self.inner.is_end_stream() {
            self.done();
        }
    }
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && !self.over
                {
                    if self.copy.len() + data.len() <= self.tap.cap {
                        self.copy.extend_from_slice(data);
                    } else {
                        self.over = true;
                        self.copy = Vec::new();
                    }
                }
                // hyper stops polling a body that says it is over.
                if self.inner.is_end_stream() {
                    self.done();
                }
            }
            Poll::Ready(None) => self.done(),
            Poll::Ready(Some(Err(_))) => {
                self.over = true;
                self.copy = Vec::new();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Keep(Mutex<Vec<BodySample>>, usize);
    impl BodySampler for Keep {
        fn wants(&self, _: &str, _: &http::Method, path: &str) -> Option<usize> {
            (path != "/skip").then_some(self.1)
        }
        fn deliver(&self, sample: BodySample) {
            self.0.lock().unwrap().push(sample);
        }
    }

    fn parts(path: &str) -> http::request::Parts {
        http::Request::post(path)
            .header("content-type", "application/json")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[tokio::test]
    async fn copies_json_bodies_up_to_the_cap_and_delivers_once_both_are_done() {
        let keep = Arc::new(Keep(Mutex::new(Vec::new()), 16));
        let sampler: Arc<dyn BodySampler> = keep.clone();
        let api: Arc<str> = Arc::from("bank");
        assert!(tap(Some(&sampler), &api, &parts("/skip")).is_none());
        assert!(tap(None, &api, &parts("/x")).is_none());
        let p = parts("/debug/echo");
        let t = tap(Some(&sampler), &api, &p).unwrap();
        let body = request(&t, &p.headers, super::super::full(Bytes::from("{\"a\":1}")));
        let mut answer = Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .body(super::super::full(Bytes::from(
                "{\"long\":\"over sixteen bytes\"}",
            )))
            .unwrap();
        response(t, &mut answer);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "{\"a\":1}");
        assert!(
            keep.0.lock().unwrap().is_empty(),
            "delivered before the answer"
        );
        let sent = answer.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(sent, "{\"long\":\"over sixteen bytes\"}");
        let got = keep.0.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].request.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(got[0].response, None, "over the cap: not copied");
        assert_eq!(got[0].status, 201);
        assert_eq!(got[0].path, "/debug/echo");
    }
}
