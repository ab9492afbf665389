//! Operating the service: health and readiness probes (`health`), Prometheus metrics (`prometheus`), the
//! per-request metrics and log line (`requests`) and the log format (`logging`). docs/operations.md describes
//! the endpoints, metrics and log fields.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use serde::{Deserialize, Serialize};

pub mod health;
pub mod logging;
pub mod prometheus;
pub mod requests;

use logging::LogFormat;

/// Health, metrics and logs (config table `[observability]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObservabilityConfig {
    /// `text` (default) or `json`; the `--log-format` option wins over it.
    pub log_format: LogFormat,
    /// Whether `GET /metrics` is served, unauthenticated, on the service's port.
    pub metrics: bool,
    /// Longest `GET /readyz` waits for the database to answer, in milliseconds.
    pub readiness_timeout_ms: u64,
}

impl Default for ObservabilityConfig {
    fn default() -> Self {
        ObservabilityConfig { log_format: LogFormat::Text, metrics: true, readiness_timeout_ms: 1000 }
    }
}

impl ObservabilityConfig {
    /// Checks what the types cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.readiness_timeout_ms == 0 {
            return Err("observability.readiness_timeout_ms must be above 0".into());
        }
        Ok(())
    }
}

/// What the router needs to serve the probes, the metrics and the request log.
#[derive(Clone, Debug)]
pub struct OpsSettings {
    /// The recorder's handle, when `GET /metrics` is served.
    pub metrics: Option<PrometheusHandle>,
    /// Whether each request gets a log line.
    pub log_requests: bool,
    /// Longest `GET /readyz` waits for the database.
    pub readiness_timeout: Duration,
}
