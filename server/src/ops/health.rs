//! Probes for load balancers and orchestrators, unauthenticated: `GET /healthz` answers 200 while the process
//! serves requests (liveness); `GET /readyz` answers 200 when the database answers a trivial query within the
//! readiness timeout, else 503 `IMG.0503` in the envelope (readiness). Readiness is checked on every call, so
//! it turns false when the database goes away and true again when it returns, without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::error::ApiError;
use crate::store::Store;

/// The body of a successful probe.
#[derive(Debug, Serialize)]
struct ProbeAnswer {
    /// `ok` (liveness) or `ready` (readiness).
    status: &'static str,
}

/// What `GET /readyz` checks.
struct Readiness {
    store: Arc<dyn Store>,
    timeout: Duration,
    /// The last answer, so that only changes are logged.
    ready: AtomicBool,
}

/// The `GET /healthz` and `GET /readyz` routes.
pub fn routes(store: Arc<dyn Store>, readiness_timeout: Duration) -> Router {
    let readiness = Arc::new(Readiness { store, timeout: readiness_timeout, ready: AtomicBool::new(true) });
    Router::new()
        .route("/healthz", get(|| async { Json(ProbeAnswer { status: "ok" }) }))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> Result<Json<ProbeAnswer>, ApiError> {
    let failure = match tokio::time::timeout(readiness.timeout, readiness.store.ping()).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!("no answer within {} ms", readiness.timeout.as_millis())),
    };
    let was_ready = readiness.ready.swap(failure.is_none(), Ordering::AcqRel);
    match failure {
        None => {
            if !was_ready {
                tracing::info!("ready: the database answers again");
            }
            Ok(Json(ProbeAnswer { status: "ready" }))
        }
        Some(detail) => {
            if was_ready {
                tracing::warn!(%detail, "not ready: the database does not answer");
            }
            Err(ApiError::Unavailable {
                message: format!(
                    "Not ready: the database does not answer a trivial query (within {} ms); the server log \
                     has the detail.",
                    readiness.timeout.as_millis()
                ),
                retry_after: Duration::from_secs(1),
            })
        }
    }
}
