//! Prometheus metrics: the names and help of every metric the service reports, the process-wide recorder
//! (the `metrics` facade with `metrics-exporter-prometheus`) and the `GET /metrics` route that renders it in
//! the text exposition format.
//!
//! Code that reports a metric uses the `metrics` macros with a name from here; without a recorder (metrics
//! switched off, or a command that does not serve) the macros do nothing. The recorder is global: a process
//! serves one instance of the service, so its metrics are the process's.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use metrics::{Gauge, Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by OpenAPI operation id (`unmatched` for a path and method of no operation) and status.
pub const HTTP_REQUESTS: &str = "ims_tags_http_requests_total";
/// Time from a request's arrival to its answer's head, by operation id.
pub const HTTP_REQUEST_DURATION: &str = "ims_tags_http_request_duration_seconds";
/// Connections open.
pub const HTTP_CONNECTIONS_OPEN: &str = "ims_tags_http_connections_open";
/// The cap on open connections.
pub const HTTP_CONNECTIONS_MAX: &str = "ims_tags_http_connections_max";
/// Connections closed, by reason.
pub const HTTP_CONNECTIONS_CLOSED: &str = "ims_tags_http_connections_closed_total";
/// Bytes of request bodies held in memory.
pub const HTTP_BODY_MEMORY: &str = "ims_tags_http_body_memory_bytes";
/// The memory budget of request bodies.
pub const HTTP_BODY_MEMORY_BUDGET: &str = "ims_tags_http_body_memory_budget_bytes";
/// Expensive reads running (fair-share slots taken).
pub const FAIR_SHARE_SLOTS_IN_USE: &str = "ims_tags_fair_share_slots_in_use";
/// The fair-share slots over all projects.
pub const FAIR_SHARE_SLOTS: &str = "ims_tags_fair_share_slots";
/// Expensive reads refused, by reason.
pub const FAIR_SHARE_REFUSALS: &str = "ims_tags_fair_share_refusals_total";
/// Reader connections of the SQLite store.
pub const SQLITE_READERS: &str = "ims_tags_sqlite_readers";
/// SQLite reader connections running a read.
pub const SQLITE_READERS_IN_USE: &str = "ims_tags_sqlite_readers_in_use";
/// Reads waiting for a SQLite reader connection.
pub const SQLITE_READERS_WAITING: &str = "ims_tags_sqlite_readers_waiting";
/// Writes queued for the SQLite writer thread.
pub const SQLITE_WRITER_QUEUE_DEPTH: &str = "ims_tags_sqlite_writer_queue_depth";
/// Writes committed together by one SQLite transaction (group commit).
pub const SQLITE_WRITE_GROUP_SIZE: &str = "ims_tags_sqlite_write_group_size";
/// Connections the PostgreSQL store's pool holds open.
pub const POSTGRES_POOL_CONNECTIONS: &str = "ims_tags_postgres_pool_connections";
/// The cap on the PostgreSQL store's pool (`postgres.pool_size`).
pub const POSTGRES_POOL_CONNECTIONS_MAX: &str = "ims_tags_postgres_pool_connections_max";
/// PostgreSQL connections taken from the pool (running a query or a transaction).
pub const POSTGRES_POOL_IN_USE: &str = "ims_tags_postgres_pool_in_use";
/// Requests waiting for a PostgreSQL connection from the pool.
pub const POSTGRES_POOL_WAITING: &str = "ims_tags_postgres_pool_waiting";
/// Always 1, labelled with the version.
pub const BUILD_INFO: &str = "ims_tags_build_info";

/// Label of [`HTTP_CONNECTIONS_CLOSED`]: the client closed the connection, or an answer closed it.
pub const CLOSED_ENDED: &str = "ended";
/// A malformed request or an I/O error.
pub const CLOSED_ERROR: &str = "error";
/// No complete request head within `http.header_read_timeout_ms`.
pub const CLOSED_HEADER_READ_TIMEOUT: &str = "header_read_timeout";
/// Idle for `http.keep_alive_timeout_ms`.
pub const CLOSED_KEEP_ALIVE_TIMEOUT: &str = "keep_alive_timeout";
/// Closed to make room at the connection cap.
pub const CLOSED_EVICTED: &str = "evicted";
/// Closed by the drain on shutdown.
pub const CLOSED_SHUTDOWN: &str = "shutdown";
/// Label of [`FAIR_SHARE_REFUSALS`]: the project was at its own share (429).
pub const REFUSED_PROJECT_SHARE: &str = "project_share";
/// Every slot was taken by other projects (503).
pub const REFUSED_BUSY: &str = "busy";

/// Upper bounds of the request-duration buckets, in seconds (the request timeout is 30 s).
const DURATION_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Upper bounds of the write-group buckets (a group holds at most 256 writes).
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder's handle, once installed.
static INSTALLED: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle) and describes every metric.
pub fn install() -> Result<PrometheusHandle, String> {
    INSTALLED
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.into()), DURATION_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(SQLITE_WRITE_GROUP_SIZE.into()), GROUP_BUCKETS)
                })
                .map_err(|e| e.to_string())?;
            let handle = builder
                .install_recorder()
                .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
            describe();
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1);
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
            Ok(handle)
        })
        .clone()
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, Unit::Count, "Requests answered, by OpenAPI operation id and status.");
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer's head, by OpenAPI operation id."
    );
    describe_gauge!(HTTP_CONNECTIONS_OPEN, Unit::Count, "HTTP connections open.");
    describe_gauge!(HTTP_CONNECTIONS_MAX, Unit::Count, "The cap on open HTTP connections.");
    describe_counter!(HTTP_CONNECTIONS_CLOSED, Unit::Count, "HTTP connections closed, by reason.");
    describe_gauge!(HTTP_BODY_MEMORY, Unit::Bytes, "Bytes of request bodies held in memory.");
    describe_gauge!(HTTP_BODY_MEMORY_BUDGET, Unit::Bytes, "The memory budget of request bodies.");
    describe_gauge!(
        FAIR_SHARE_SLOTS_IN_USE,
        Unit::Count,
        "Expensive reads running (fair-share slots taken)."
    );
    describe_gauge!(FAIR_SHARE_SLOTS, Unit::Count, "Fair-share slots for expensive reads over all projects.");
    describe_counter!(FAIR_SHARE_REFUSALS, Unit::Count, "Expensive reads refused, by reason.");
    describe_gauge!(SQLITE_READERS, Unit::Count, "Reader connections of the SQLite store.");
    describe_gauge!(SQLITE_READERS_IN_USE, Unit::Count, "SQLite reader connections running a read.");
    describe_gauge!(SQLITE_READERS_WAITING, Unit::Count, "Reads waiting for a SQLite reader connection.");
    describe_gauge!(SQLITE_WRITER_QUEUE_DEPTH, Unit::Count, "Writes queued for the SQLite writer thread.");
    describe_histogram!(
        SQLITE_WRITE_GROUP_SIZE,
        Unit::Count,
        "Writes committed together by one SQLite transaction (group commit)."
    );
    describe_gauge!(POSTGRES_POOL_CONNECTIONS, Unit::Count, "Connections the PostgreSQL pool holds open.");
    describe_gauge!(POSTGRES_POOL_CONNECTIONS_MAX, Unit::Count, "The cap on the PostgreSQL pool.");
    describe_gauge!(POSTGRES_POOL_IN_USE, Unit::Count, "PostgreSQL connections taken from the pool.");
    describe_gauge!(POSTGRES_POOL_WAITING, Unit::Count, "Requests waiting for a PostgreSQL connection.");
    describe_gauge!(BUILD_INFO, Unit::Count, "Always 1, labelled with the version of ims-tags.");
}

/// The `GET /metrics` route: the recorder's metrics in the Prometheus text exposition format.
pub fn route(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move {
            handle.run_upkeep();
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
        }),
    )
}

/// A gauge raised by an amount for as long as this value lives (a connection open, a slot taken).
#[derive(Debug)]
#[must_use = "the gauge is lowered again when this is dropped"]
pub struct GaugeHeld {
    gauge: Gauge,
    amount: f64,
}

impl GaugeHeld {
    /// Raises `gauge` by `amount` until the result is dropped or [`GaugeHeld::hand_over`] is called.
    pub fn raise(gauge: Gauge, amount: f64) -> GaugeHeld {
        gauge.increment(amount);
        GaugeHeld { gauge, amount }
    }

    /// Leaves the gauge raised: something else lowers it (the SQLite writer, once it takes a queued write).
    pub fn hand_over(mut self) {
        self.amount = 0.0;
    }
}

impl Drop for GaugeHeld {
    fn drop(&mut self) {
        if self.amount != 0.0 {
            self.gauge.decrement(self.amount);
        }
    }
}
