//! The connection layer, as nginx and Envoy do it: an accept loop with a cap on open connections, HTTP/1.1
//! connections served by hyper with header-read and keep-alive timeouts, hyper's own error answers put in
//! the error envelope, lingering close, and a graceful drain on shutdown. docs/operations.md lists every
//! setting.

mod connection;
mod io;
mod listener;

use std::time::Duration;

pub(crate) use listener::serve;

use crate::config::HttpConfig;

/// Connections kept free of the file-descriptor limit for the database and the process itself.
const RESERVED_FILES: u64 = 64;
/// The connection cap when none is configured and the file-descriptor limit allows it.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The settings of the connection layer.
#[derive(Clone, Debug)]
pub struct NetSettings {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time to receive a request head.
    pub header_read_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub keep_alive_timeout: Duration,
    /// Time unread input is still read after an answer that closes the connection.
    pub lingering_close: Duration,
    /// Time requests in flight have to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Largest request head, in bytes.
    pub max_request_head_bytes: usize,
}

impl NetSettings {
    /// The settings from the configuration, with the connection cap derived from `open_files_limit`
    /// when not configured: 1024, or the limit less 64 when that is lower.
    pub fn from_config(http: &HttpConfig, open_files_limit: Option<u64>) -> NetSettings {
        let fitting = open_files_limit.map_or(DEFAULT_MAX_CONNECTIONS, |limit| {
            usize::try_from(limit.saturating_sub(RESERVED_FILES).max(16)).unwrap_or(DEFAULT_MAX_CONNECTIONS)
        });
        let max_connections = http.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS.min(fitting));
        if let Some(limit) = open_files_limit
            && max_connections as u64 + RESERVED_FILES > limit
        {
            tracing::warn!(
                max_connections,
                open_files_limit = limit,
                "http.max_connections is above what the open-files limit allows; accept will back off"
            );
        }
        NetSettings {
            max_connections,
            header_read_timeout: Duration::from_millis(http.header_read_timeout_ms),
            keep_alive_timeout: Duration::from_millis(http.keep_alive_timeout_ms),
            lingering_close: Duration::from_millis(http.lingering_close_ms),
            shutdown_grace: Duration::from_millis(http.shutdown_grace_ms),
            max_request_head_bytes: http.max_request_head_bytes,
        }
    }
}

/// Raises the soft open-files limit to the hard limit (as nginx's `worker_rlimit_nofile` lets one do) and
/// returns the soft limit in force, `None` when unlimited or unknown.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit { current: limit.maximum, maximum: limit.maximum };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(%error, "cannot raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current
}
