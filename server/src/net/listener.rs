//! The accept loop: at most `max_connections` open connections; at the cap it stops accepting (new
//! connections wait in the kernel's backlog) and closes one connection that is not serving a request to
//! make room (the idle kept-alive connection idle longest, else the connection that has waited longest
//! for its request head), so that idle or slowloris sockets cannot lock clients out. Accept errors such
//! as "too many open files" back off instead of spinning. On shutdown it stops accepting, lets requests
//! in flight finish for the grace period, then closes what is left.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::NetSettings;
use super::connection::{self, ConnContext, ConnState, Phase, Stop};
use crate::layers::Layers;
use crate::ops::prometheus::{
    CLOSED_ENDED, CLOSED_ERROR, CLOSED_EVICTED, CLOSED_HEADER_READ_TIMEOUT, CLOSED_KEEP_ALIVE_TIMEOUT,
    CLOSED_SHUTDOWN, HTTP_CONNECTIONS_CLOSED, HTTP_CONNECTIONS_MAX, HTTP_CONNECTIONS_OPEN,
};

/// Every open connection.
#[derive(Debug)]
pub(crate) struct Registry {
    origin: Instant,
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<ConnState>>>,
    /// Set once the shutdown drain has begun.
    draining: AtomicBool,
}

impl Registry {
    fn new() -> Registry {
        Registry {
            origin: Instant::now(),
            next_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
        }
    }

    /// Whether the shutdown drain has begun (a connection told to stop is then not being evicted).
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn insert(&self) -> (u64, Arc<ConnState>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState::new(self.origin));
        self.lock().insert(id, state.clone());
        (id, state)
    }

    pub(crate) fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks one connection that serves no request to close: the one idle longest, else the one that has
    /// waited longest for its request head. Whether there was one.
    fn evict_one(&self) -> bool {
        let connections = self.lock();
        let victim = connections
            .values()
            .filter(|state| state.stop() == Stop::No && state.phase() != Phase::Request)
            .min_by_key(|state| (state.phase() != Phase::Idle, state.since_ms()));
        match victim {
            Some(state) => {
                state.request_stop(Stop::Now);
                true
            }
            None => false,
        }
    }

    /// Asks every connection to stop (the shutdown drain).
    fn stop_all(&self, stop: Stop) -> usize {
        self.draining.store(true, Ordering::Release);
        let connections = self.lock();
        for state in connections.values() {
            state.request_stop(stop);
        }
        connections.len()
    }
}

/// A free connection slot: at the cap, makes room by eviction and waits.
async fn next_slot(slots: &Arc<Semaphore>, registry: &Registry) -> OwnedSemaphorePermit {
    loop {
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return slot;
        }
        registry.evict_one();
        if let Ok(Ok(slot)) =
            tokio::time::timeout(Duration::from_millis(50), slots.clone().acquire_owned()).await
        {
            return slot;
        }
    }
}

/// Whether an accept error is about one connection (try the next one at once) rather than the process
/// (out of file descriptors or memory: back off).
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Serves `listener` with `layers` until `stop` resolves, then drains (see the module documentation).
pub(crate) async fn serve(
    listener: TcpListener,
    layers: Layers,
    settings: NetSettings,
    stop: impl std::future::Future<Output = ()>,
) {
    let registry = Arc::new(Registry::new());
    metrics::gauge!(HTTP_CONNECTIONS_MAX).set(settings.max_connections as f64);
    metrics::gauge!(HTTP_CONNECTIONS_OPEN).increment(0.0);
    for reason in [
        CLOSED_ENDED,
        CLOSED_ERROR,
        CLOSED_HEADER_READ_TIMEOUT,
        CLOSED_KEEP_ALIVE_TIMEOUT,
        CLOSED_EVICTED,
        CLOSED_SHUTDOWN,
    ] {
        metrics::counter!(HTTP_CONNECTIONS_CLOSED, "reason" => reason).increment(0);
    }
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_header_size(settings.max_request_head_bytes)
        .max_buf_size(settings.max_request_head_bytes.max(8192))
        .header_read_timeout(None);
    let grace = settings.shutdown_grace;
    let linger = settings.lingering_close;
    let context = Arc::new(ConnContext { layers, http, settings, registry: registry.clone() });
    let mut backoff = Duration::ZERO;
    let mut last_warning: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut stop => break,
            slot = next_slot(&slots, &registry) => slot,
        };
        let accepted = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                backoff = Duration::ZERO;
                tokio::spawn(connection::run(stream, slot, context.clone()));
            }
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                drop(slot);
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(5)) {
                    tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                    last_warning = Some(Instant::now());
                }
                registry.evict_one();
                tokio::time::sleep(backoff).await;
            }
        }
    }
    drop(listener);
    let open = registry.stop_all(Stop::Graceful);
    tracing::info!(open, grace_ms = grace.as_millis() as u64, "stopped accepting; draining connections");
    let all = u32::try_from(context.settings.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all)).await.is_err() {
        let left = registry.stop_all(Stop::Now);
        tracing::warn!(left, "grace period over; closing the connections left");
        let _ = tokio::time::timeout(linger + Duration::from_secs(1), slots.acquire_many(all)).await;
    }
}
