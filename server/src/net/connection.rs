//! One connection: hyper's HTTP/1.1 state machine over [`ConnIo`], watched by a driver that closes it
//! when it has waited too long for a request head (header-read timeout) or for the next request
//! (keep-alive timeout), when the listener needs its slot (eviction at the connection cap), or on
//! shutdown; and that ends it cleanly: after an answer that closes the connection, the write side is shut
//! and unread input is read and discarded for a bounded time (lingering close), so that a client still
//! sending reads the answer rather than a reset.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::NetSettings;
use super::io::ConnIo;
use super::listener::Registry;
use crate::host::LocalAddr;
use crate::layers::Layers;
use crate::ops::prometheus::{
    CLOSED_ENDED, CLOSED_ERROR, CLOSED_EVICTED, CLOSED_HEADER_READ_TIMEOUT, CLOSED_KEEP_ALIVE_TIMEOUT,
    CLOSED_SHUTDOWN, GaugeHeld, HTTP_CONNECTIONS_CLOSED, HTTP_CONNECTIONS_OPEN,
};

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Between requests: waiting for the first byte of the next one.
    Idle = 0,
    /// Receiving a request head (a new connection starts here).
    Head = 1,
    /// A request is being served.
    Request = 2,
}

/// What the listener asks of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Nothing.
    No = 0,
    /// Finish the request in flight, if any, then close.
    Graceful = 1,
    /// Close now.
    Now = 2,
}

/// A connection's state, shared by its driver, its socket, its service and the listener.
#[derive(Debug)]
pub(crate) struct ConnState {
    origin: Instant,
    phase: AtomicU8,
    /// When the phase started, in milliseconds since `origin`.
    since_ms: AtomicU64,
    stop: AtomicU8,
    /// Wakes the driver: a stop was asked.
    wake: Notify,
}

impl ConnState {
    pub(crate) fn new(origin: Instant) -> ConnState {
        let state = ConnState {
            origin,
            phase: AtomicU8::new(Phase::Head as u8),
            since_ms: AtomicU64::new(0),
            stop: AtomicU8::new(Stop::No as u8),
            wake: Notify::new(),
        };
        state.since_ms.store(state.now_ms(), Ordering::Release);
        state
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Idle,
            1 => Phase::Head,
            _ => Phase::Request,
        }
    }

    /// When the current phase started, in milliseconds since the listener's origin.
    pub(crate) fn since_ms(&self) -> u64 {
        self.since_ms.load(Ordering::Acquire)
    }

    /// Moves to `phase`. The driver is not woken: its timer looks at the phase when it fires (see
    /// [`next_check`]), so a request costs no wake-up of the driver for its phase changes.
    fn enter(&self, phase: Phase) {
        self.since_ms.store(self.now_ms(), Ordering::Release);
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Bytes arrived: an idle connection starts receiving a request head.
    pub(crate) fn input_arrived(&self) {
        if self.phase() == Phase::Idle {
            self.enter(Phase::Head);
        }
    }

    pub(crate) fn stop(&self) -> Stop {
        match self.stop.load(Ordering::Acquire) {
            0 => Stop::No,
            1 => Stop::Graceful,
            _ => Stop::Now,
        }
    }

    /// Asks the connection to stop (never weakens an earlier, stronger request).
    pub(crate) fn request_stop(&self, stop: Stop) {
        self.stop.fetch_max(stop as u8, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// When the current phase times out, if it does.
    fn deadline(&self, settings: &NetSettings) -> Option<Instant> {
        let limit = match self.phase() {
            Phase::Idle => settings.keep_alive_timeout,
            Phase::Head => settings.header_read_timeout,
            Phase::Request => return None,
        };
        Some(self.origin + Duration::from_millis(self.since_ms()) + limit)
    }
}

/// What every connection shares.
pub(crate) struct ConnContext {
    pub(crate) layers: Layers,
    pub(crate) http: hyper::server::conn::http1::Builder,
    pub(crate) settings: NetSettings,
    pub(crate) registry: Arc<Registry>,
}

/// How the driver loop ended.
enum End {
    /// hyper is done (the client closed, or an answer closed the connection, or an error).
    Finished(Result<(), hyper::Error>),
    /// A timeout, an eviction or a shutdown (the reason's metric label): close without waiting.
    Dropped(&'static str),
}

/// Serves one accepted connection until it ends, then gives back its slot.
pub(crate) async fn run(stream: TcpStream, slot: OwnedSemaphorePermit, context: Arc<ConnContext>) {
    let (id, state) = context.registry.insert();
    let open = GaugeHeld::raise(metrics::gauge!(HTTP_CONNECTIONS_OPEN), 1.0);
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let service = ConnService { layers: context.layers.clone(), state: state.clone(), local };
    let mut conn = context.http.serve_connection(TokioIo::new(ConnIo::new(stream, state.clone())), service);
    let settings = &context.settings;
    let mut graceful_sent = false;
    let timer = tokio::time::sleep_until(next_check(&state, settings, Instant::now()));
    tokio::pin!(timer);
    let end = loop {
        tokio::select! {
            biased;
            result = poll_fn(|cx| conn.poll_without_shutdown(cx)) => break End::Finished(result),
            () = state.wake.notified() => {
                match (state.stop(), state.phase()) {
                    (Stop::No, _) => {}
                    (Stop::Now, _) if context.registry.is_draining() => break End::Dropped(CLOSED_SHUTDOWN),
                    (Stop::Now, _) => break End::Dropped(CLOSED_EVICTED),
                    (Stop::Graceful, Phase::Request) => {
                        if !graceful_sent {
                            Pin::new(&mut conn).graceful_shutdown();
                            graceful_sent = true;
                        }
                    }
                    // After the answer to its last request, hyper closes the connection itself.
                    (Stop::Graceful, _) if graceful_sent => {}
                    (Stop::Graceful, _) => break End::Dropped(CLOSED_SHUTDOWN),
                }
            }
            () = &mut timer => {
                let now = Instant::now();
                if state.deadline(settings).is_some_and(|d| d <= now) {
                    break End::Dropped(match state.phase() {
                        Phase::Idle => CLOSED_KEEP_ALIVE_TIMEOUT,
                        _ => CLOSED_HEADER_READ_TIMEOUT,
                    });
                }
                timer.as_mut().reset(next_check(&state, settings, now));
            }
        }
    };
    let mut io = conn.into_parts().io.into_inner();
    let reason = match end {
        End::Finished(result) => {
            let reason = match result {
                Ok(()) => CLOSED_ENDED,
                Err(error) => {
                    tracing::debug!(%error, "connection ended with an error");
                    CLOSED_ERROR
                }
            };
            lingering_close(&mut io, &state, settings.lingering_close).await;
            reason
        }
        End::Dropped(why) => {
            tracing::debug!(why, "connection closed");
            let _ = tokio::time::timeout(Duration::from_millis(100), io.shutdown()).await;
            why
        }
    };
    drop(io);
    context.registry.remove(id);
    drop(slot);
    drop(open);
    metrics::counter!(HTTP_CONNECTIONS_CLOSED, "reason" => reason).increment(1);
}

/// When the driver next looks at the connection's phase: its deadline, but never later than the shortest
/// of the two timeouts from `now`. The phase changes without waking the driver; a phase entered after this
/// check has a deadline at least that shortest timeout after it, so the check always comes first, and then
/// finds the exact deadline. An idle or busy connection thus costs one timer wake-up per shortest timeout
/// (10 s by default), and a request none.
fn next_check(state: &ConnState, settings: &NetSettings, now: Instant) -> Instant {
    let latest = now + settings.keep_alive_timeout.min(settings.header_read_timeout);
    state.deadline(settings).map_or(latest, |deadline| deadline.min(latest))
}

/// Sends what is left, shuts the write side, then reads and discards input until the client closes,
/// `linger` passes or the listener says stop now.
async fn lingering_close(io: &mut ConnIo, state: &ConnState, linger: Duration) {
    let deadline = Instant::now() + linger;
    let drain = async {
        if io.shutdown().await.is_err() {
            return;
        }
        let mut sink = vec![0u8; 16 * 1024];
        while let Ok(read) = io.read(&mut sink).await {
            if read == 0 {
                break;
            }
        }
    };
    let stopped = async {
        while state.stop() != Stop::Now {
            state.wake.notified().await;
        }
    };
    tokio::select! {
        () = drain => {}
        () = stopped => {}
        () = tokio::time::sleep_until(deadline) => {}
    }
}

/// The service hyper calls for each request head: marks the connection busy, tells the request its
/// local address, and marks the connection idle again once the answer's body is written.
#[derive(Clone)]
struct ConnService {
    layers: Layers,
    state: Arc<ConnState>,
    local: Option<SocketAddr>,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.state.enter(Phase::Request);
        let mut request = request.map(Body::new);
        if let Some(local) = self.local {
            request.extensions_mut().insert(LocalAddr(local));
        }
        let answer = self.layers.answer(request);
        let idle = IdleWhenDropped(self.state.clone());
        Box::pin(async move {
            let response = answer.await;
            Ok(response.map(|body| TrackedBody { inner: body, _idle: idle }))
        })
    }
}

/// Marks the connection idle when dropped (hyper drops an answer's body once it has written it).
struct IdleWhenDropped(Arc<ConnState>);

impl Drop for IdleWhenDropped {
    fn drop(&mut self) {
        self.0.enter(Phase::Idle);
    }
}

/// An answer's body, with the marker above.
pub(crate) struct TrackedBody {
    inner: Body,
    _idle: IdleWhenDropped,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
