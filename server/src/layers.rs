//! The layers every request passes before the routes, as one service: written as one function rather than a
//! stack of tower layers and `from_fn` middlewares, because each of those cost a boxed future, a clone of the
//! service beneath it and a poll level per request, which together were a third of the CPU of a request that
//! needs no storage. Outermost first:
//!
//! 1. the request id: the client's `X-Request-Id`, or a new UUID, set on the request (and on the answer at
//!    the end, unless the answer has its own);
//! 2. observation (`ops::requests`): the operation, metrics and, with JSON logs, the request's log line;
//! 3. the `request` span (id, method, path), in which everything below runs, and `tower_http`'s own request,
//!    response, failure and end-of-stream events (debug, debug, error for a 5xx answer, debug), as its
//!    `TraceLayer` wrote them;
//! 4. on an error answer: the status line in the message on Glance paths (`error`), after the envelope for a
//!    framework answer that has none;
//! 5. the `Host` check (`host`);
//! 6. the request timeout (503 in the envelope);
//! 7. the body guard (`body`);
//! 8. the routes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tower::ServiceExt;
use tower_http::classify::{ClassifiedResponse, ClassifyResponse, ServerErrorsAsFailures};
use tower_http::trace::{
    DefaultOnEos, DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, OnEos, OnFailure, OnRequest,
    OnResponse,
};
use tracing::{Instrument, Level, Span};
use uuid::Uuid;

use crate::body::{BodyGuard, guard_bodies};
use crate::error::{ApiError, envelope_framework_error, is_glance_path, status_line_in_glance_errors};
use crate::host::{HostPolicy, check_host};
use crate::ops::requests::RequestObserver;

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What the layers need.
pub struct LayerSettings {
    /// Operations, metrics and the request log.
    pub observer: RequestObserver,
    /// Where links point.
    pub host: Arc<HostPolicy>,
    /// Time before a request is abandoned with 503.
    pub timeout: Duration,
    /// Body size limit, read timeout and memory budget.
    pub body: Arc<BodyGuard>,
}

/// The routes behind the layers: the service the connections call.
#[derive(Clone)]
pub struct Layers {
    routes: Router,
    settings: Arc<LayerSettings>,
}

impl Layers {
    /// `routes` behind the layers.
    pub fn new(routes: Router, settings: LayerSettings) -> Layers {
        Layers { routes, settings: Arc::new(settings) }
    }

    /// The answer to `request`.
    pub fn answer(&self, request: Request) -> impl Future<Output = Response> + Send + 'static {
        answer(self.settings.clone(), self.routes.clone(), request)
    }
}

impl tower::Service<Request> for Layers {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let answer = self.answer(request);
        Box::pin(async move { Ok(answer.await) })
    }
}

/// A new request id: a random UUID.
fn new_request_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_str(Uuid::new_v4().hyphenated().encode_lower(&mut text))
        .expect("a UUID is a valid header value")
}

async fn answer(settings: Arc<LayerSettings>, routes: Router, mut request: Request) -> Response {
    let request_id = match request.headers().get(REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let id = new_request_id();
            request.headers_mut().insert(REQUEST_ID, id.clone());
            id
        }
    };
    let observation = settings.observer.start(&mut request, &request_id);
    let span = tracing::info_span!(
        "request",
        id = request_id.to_str().unwrap_or("-"),
        method = %request.method(),
        path = %request.uri().path()
    );
    let traced = traced(&settings, routes, request, request_id, observation.started(), span.clone());
    let response = traced.instrument(span).await;
    observation.finish(&response);
    response
}

/// Everything inside the request span.
async fn traced(
    settings: &LayerSettings,
    routes: Router,
    mut request: Request,
    request_id: HeaderValue,
    started: Instant,
    span: Span,
) -> Response {
    DefaultOnRequest::default().on_request(&request, &span);
    let glance = is_glance_path(request.uri().path());
    let response = match check_host(&settings.host, &mut request) {
        Err(refused) => refused.into_response(),
        Ok(()) => {
            let guarded = guard_bodies(&settings.body, request, |request| async move {
                match routes.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            });
            tokio::time::timeout(settings.timeout, guarded)
                .await
                .unwrap_or_else(|_| ApiError::Timeout.into_response())
        }
    };
    let mut response = status_line_in_glance_errors(glance, envelope_framework_error(response)).await;
    if !response.headers().contains_key(REQUEST_ID) {
        response.headers_mut().insert(REQUEST_ID, request_id);
    }
    let latency = started.elapsed();
    let classified = ServerErrorsAsFailures::new().classify_response(&response);
    DefaultOnResponse::default().on_response(&response, latency, &span);
    if let ClassifiedResponse::Ready(Err(failure)) = classified {
        DefaultOnFailure::default().on_failure(failure, latency, &span);
    }
    if tracing::enabled!(target: "tower_http::trace::on_eos", Level::DEBUG) {
        let stream_start = Some(Instant::now());
        response = response.map(|inner| Body::new(EndOfStream { inner, span, stream_start }));
    }
    response
}

/// An answer's body that writes `tower_http`'s "end of stream" debug event (in the request span) when it ends,
/// as the body of its `TraceLayer` did; put on answers only when that event is enabled.
struct EndOfStream {
    inner: Body,
    span: Span,
    /// When the answer's head was ready; taken when the event is written.
    stream_start: Option<Instant>,
}

/// Writes the event, once.
fn end_of_stream(stream_start: &mut Option<Instant>, trailers: Option<&HeaderMap>, span: &Span) {
    if let Some(stream_start) = stream_start.take() {
        DefaultOnEos::default().on_eos(trailers, stream_start.elapsed(), span);
    }
}

impl HttpBody for EndOfStream {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => match frame.trailers_ref() {
                Some(trailers) => end_of_stream(&mut this.stream_start, Some(trailers), &this.span),
                None if this.inner.is_end_stream() => end_of_stream(&mut this.stream_start, None, &this.span),
                None => {}
            },
            Some(Err(_)) => {}
            None => end_of_stream(&mut this.stream_start, None, &this.span),
        }
        Poll::Ready(frame)
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
    use axum::routing::get;
    use http_body_util::BodyExt;

    use super::*;
    use crate::body::BodyBudget;
    use crate::ops::requests::Operations;

    fn layers(routes: Router, timeout: Duration) -> Layers {
        let budget = Arc::new(BodyBudget::new(1 << 20, Duration::from_millis(100)));
        let body = BodyGuard { limit: 1024, read_timeout: Duration::from_secs(5), budget };
        let observer = RequestObserver {
            operations: Operations::new(&utoipa::openapi::OpenApi::default()),
            log_requests: false,
        };
        Layers::new(
            routes,
            LayerSettings { observer, host: Arc::new(HostPolicy::default()), timeout, body: Arc::new(body) },
        )
    }

    fn get_request(path: &str, request_id: Option<&str>) -> Request {
        let mut request = Request::get(path).header("host", "localhost:9292");
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        request.body(Body::empty()).expect("a request")
    }

    async fn text(response: Response) -> String {
        let bytes = response.into_body().collect().await.expect("a body").to_bytes();
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    /// A request that outlasts the timeout gets the timeout's 503 in the envelope, with the Glance status line
    /// on a Glance path and the client's request id.
    #[tokio::test]
    async fn a_request_past_the_timeout_gets_503_in_the_envelope_with_its_request_id() {
        let slow = Router::new().route(
            "/versions",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let layers = layers(slow, Duration::from_millis(50));
        let response = layers.answer(get_request("/versions", Some("client-id-1"))).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[REQUEST_ID], "client-id-1", "the client's id comes back");
        assert_eq!(
            text(response).await,
            r#"{"error":{"code":"IMG.0503","message":"503 Service Unavailable: The request timed out."}}"#
        );
    }

    /// Without a client id, the request and its answer get one new UUID.
    #[tokio::test]
    async fn a_request_without_an_id_gets_a_new_uuid_that_the_handler_sees_too() {
        let echo = Router::new().route(
            "/v2/p/images/tags",
            get(|request: Request| async move {
                request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned()
            }),
        );
        let response =
            layers(echo, Duration::from_secs(5)).answer(get_request("/v2/p/images/tags", None)).await;
        assert_eq!(response.status(), 200);
        let answered = response.headers()[REQUEST_ID].to_str().expect("text").to_owned();
        assert!(Uuid::parse_str(&answered).is_ok(), "{answered}");
        assert_eq!(text(response).await, answered, "the handler saw the id the answer carries");
    }
}
