//! Request bodies: a declared `Content-Length` over the limit is refused at once (413), and every body
//! is read through [`GuardedBody`], which enforces the size limit as bytes arrive (413), the body-read
//! timeout (408), and the memory budget shared by all bodies in flight (503 with `Retry-After` after a
//! bounded wait). An answer given before the body was read to its end carries `Connection: close`, and
//! the connection then closes cleanly (see `net::connection`).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Sleep, error::Elapsed};

use crate::error::ApiError;
use crate::ops::prometheus::{HTTP_BODY_MEMORY, HTTP_BODY_MEMORY_BUDGET};

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// More bytes than the body limit.
    TooLarge,
    /// Not received within the body-read timeout.
    Timeout,
    /// No room in the memory budget within the wait.
    OverBudget,
    /// The connection failed or ended before the body did.
    Transport(axum::Error),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge => f.write_str("the request body is larger than the limit"),
            BodyError::Timeout => f.write_str("the request body was not received in time"),
            BodyError::OverBudget => f.write_str("no memory is free for the request body"),
            BodyError::Transport(e) => write!(f, "the request body could not be read: {e}"),
        }
    }
}

impl StdError for BodyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            BodyError::Transport(e) => Some(e),
            _ => None,
        }
    }
}

impl BodyError {
    /// The answer to a request whose body failed this way.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            BodyError::TooLarge => ApiError::PayloadTooLarge,
            BodyError::Timeout => ApiError::RequestTimeout,
            BodyError::OverBudget => ApiError::Unavailable {
                message: "The server is busy: request bodies in flight fill the memory budget. Retry later."
                    .into(),
                retry_after: std::time::Duration::from_secs(1),
            },
            BodyError::Transport(e) => {
                ApiError::BadRequest(format!("The request body could not be read: {e}"))
            }
        }
    }
}

/// The answer to a body read that failed with `error`: the [`BodyError`] somewhere in its source chain
/// decides; anything else is a 400.
pub fn body_read_error(error: &(dyn StdError + 'static)) -> ApiError {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(body_error) = current.downcast_ref::<BodyError>() {
            return body_error.to_api_error();
        }
        next = current.source();
    }
    ApiError::BadRequest(format!("The request body could not be read: {error}"))
}

/// The memory budget of request bodies in flight: one permit per byte.
#[derive(Debug)]
pub struct BodyBudget {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl BodyBudget {
    /// A budget of `bytes`, where a body waits at most `wait` for room.
    pub fn new(bytes: usize, wait: Duration) -> BodyBudget {
        let bytes = bytes.min(Semaphore::MAX_PERMITS);
        metrics::gauge!(HTTP_BODY_MEMORY_BUDGET).set(bytes as f64);
        metrics::gauge!(HTTP_BODY_MEMORY).increment(0.0);
        BodyBudget { permits: Arc::new(Semaphore::new(bytes)), wait }
    }

    /// Bytes free right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// The settings of [`guard_bodies`].
#[derive(Debug)]
pub struct BodyGuard {
    /// Largest body, in bytes.
    pub limit: usize,
    /// Time to receive a whole body.
    pub read_timeout: Duration,
    /// The shared memory budget.
    pub budget: Arc<BodyBudget>,
}

/// What one request's body has taken and where it got to.
#[derive(Debug, Default)]
struct BodyProgress {
    held: AtomicUsize,
    finished: AtomicBool,
}

impl BodyProgress {
    /// Counts `length` more bytes taken from the budget.
    fn hold(&self, length: usize) {
        self.held.fetch_add(length, Ordering::AcqRel);
        metrics::gauge!(HTTP_BODY_MEMORY).increment(length as f64);
    }
}

/// Gives the budget back when the request is answered.
struct BudgetRelease {
    budget: Arc<BodyBudget>,
    progress: Arc<BodyProgress>,
}

impl Drop for BudgetRelease {
    fn drop(&mut self) {
        let held = self.progress.held.swap(0, Ordering::AcqRel);
        if held > 0 {
            self.budget.permits.add_permits(held);
            metrics::gauge!(HTTP_BODY_MEMORY).decrement(held as f64);
        }
    }
}

/// The body guard, in front of `next` (the routes): 413 at once for a declared length over the limit,
/// otherwise the body, if there is one, is wrapped in a [`GuardedBody`]; an answer given before the body ended
/// says `Connection: close`. A request without a body goes to `next` as it is.
pub async fn guard_bodies<F, A>(guard: &BodyGuard, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> A,
    A: Future<Output = Response>,
{
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared.is_some_and(|length| length > guard.limit as u64) {
        let mut response = ApiError::PayloadTooLarge.into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    if request.body().is_end_stream() {
        return next(request).await;
    }
    let progress = Arc::new(BodyProgress::default());
    let release = BudgetRelease { budget: guard.budget.clone(), progress: progress.clone() };
    let request = request.map(|body| {
        Body::new(GuardedBody {
            inner: body,
            remaining: guard.limit,
            deadline: Box::pin(tokio::time::sleep(guard.read_timeout)),
            budget: guard.budget.clone(),
            waiting: None,
            progress: progress.clone(),
        })
    });
    let mut response = next(request).await;
    drop(release);
    if !progress.finished.load(Ordering::Acquire) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

type Acquire =
    Pin<Box<dyn Future<Output = Result<Result<OwnedSemaphorePermit, AcquireError>, Elapsed>> + Send>>;

/// A request body read within the limit, the deadline and the memory budget.
pub struct GuardedBody {
    inner: Body,
    remaining: usize,
    deadline: Pin<Box<Sleep>>,
    budget: Arc<BodyBudget>,
    /// A frame that arrived and waits for room in the budget.
    waiting: Option<(Frame<Bytes>, Acquire)>,
    progress: Arc<BodyProgress>,
}

impl GuardedBody {
    fn admit(&mut self, frame: Frame<Bytes>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(data) = frame.data_ref() else { return Poll::Ready(Some(Ok(frame))) };
        let length = data.len();
        if length > self.remaining {
            return Poll::Ready(Some(Err(BodyError::TooLarge)));
        }
        self.remaining -= length;
        let Ok(permits) = u32::try_from(length) else { return Poll::Ready(Some(Err(BodyError::TooLarge))) };
        if permits == 0 {
            return Poll::Ready(Some(Ok(frame)));
        }
        match self.budget.permits.clone().try_acquire_many_owned(permits) {
            Ok(permit) => {
                permit.forget();
                self.progress.hold(length);
                Poll::Ready(Some(Ok(frame)))
            }
            Err(_) => {
                let semaphore = self.budget.permits.clone();
                let wait = self.budget.wait;
                let acquire: Acquire = Box::pin(async move {
                    tokio::time::timeout(wait, semaphore.acquire_many_owned(permits)).await
                });
                self.waiting = Some((frame, acquire));
                Poll::Pending
            }
        }
    }
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Some((_, acquire)) = &mut this.waiting {
            let outcome = ready!(acquire.as_mut().poll(cx));
            let (frame, _) = this.waiting.take().expect("a waiting frame");
            return match outcome {
                Ok(Ok(permit)) => {
                    let length = frame.data_ref().map_or(0, Bytes::len);
                    permit.forget();
                    this.progress.hold(length);
                    Poll::Ready(Some(Ok(frame)))
                }
                _ => Poll::Ready(Some(Err(BodyError::OverBudget))),
            };
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match this.admit(frame) {
                Poll::Pending => {
                    // Register the waker with the budget wait.
                    self.poll_frame(cx)
                }
                ready => ready,
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Transport(e)))),
            Poll::Ready(None) => {
                this.progress.finished.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(BodyError::Timeout)));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let ended = self.waiting.is_none() && self.inner.is_end_stream();
        if ended {
            self.progress.finished.store(true, Ordering::Release);
        }
        ended
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl fmt::Debug for GuardedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedBody").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}
