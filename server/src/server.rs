//! Starting and stopping the service: the configuration names the store (`database_url`), fair sharing wraps
//! it, the service takes it, the router serves the service; then bind the listener, serve connections (`net`)
//! until stopped, and drain.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{self, HttpSettings};
use crate::auth::Authenticator;
use crate::body::{BodyBudget, BodyGuard};
use crate::config::Config;
use crate::host::HostPolicy;
use crate::layers::Layers;
use crate::net::{self, NetSettings};
use crate::ops::logging::LogFormat;
use crate::ops::{self, OpsSettings};
use crate::service::Service;
use crate::store::fair::FairShare;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running service.
pub struct Server {
    /// The address it listens on (with the real port when the config said 0).
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// Opens the store, binds `config.listen` and starts serving in the background.
    pub async fn start(config: &Config) -> Result<Server, StartError> {
        let layers = service(config).await?;
        let net_settings = NetSettings::from_config(&config.http, net::raise_open_files_limit());
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let addr =
            listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(net::serve(listener, layers, net_settings, async {
            let _ = stop.await;
        }));
        Ok(Server { addr, shutdown, task })
    }

    /// Stops accepting connections, lets the requests in flight finish for the grace period
    /// (`http.shutdown_grace_ms`), closes what is left and waits for the server to end.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.map_err(std::io::Error::other)
    }
}

/// The service a server runs, built from `config`: the metrics recorder (installed once per process), the
/// store, authentication and every layer; everything but the listener. The benchmark of the layer stack
/// (`server/benches/stack.rs`) calls it too.
pub async fn service(config: &Config) -> Result<Layers, StartError> {
    config.check().map_err(StartError::Config)?;
    // Before anything that reports a metric is built.
    let metrics = if config.observability.metrics {
        Some(ops::prometheus::install().map_err(StartError::Config)?)
    } else {
        None
    };
    let database = config.database().map_err(StartError::Config)?;
    let store = database.open(&config.sqlite_options(), &config.postgres_options()).await?;
    let store = FairShare::new(store, config.fair_sharing);
    let service = Arc::new(Service::new(Arc::new(store), config.limits, config.query_limits));
    let auth = Arc::new(Authenticator::new(&config.auth));
    let http = &config.http;
    let settings = HttpSettings {
        timeout: Duration::from_secs(config.request_timeout_secs),
        body: Arc::new(BodyGuard {
            limit: config.body_limit_bytes,
            read_timeout: Duration::from_millis(http.body_read_timeout_ms),
            budget: Arc::new(BodyBudget::new(
                http.body_memory_budget_bytes,
                Duration::from_millis(http.body_memory_wait_ms),
            )),
        }),
        host: Arc::new(HostPolicy {
            public_base_url: http.public_base_url.as_ref().map(|url| url.trim_end_matches('/').to_owned()),
        }),
        ops: OpsSettings {
            metrics,
            log_requests: config.observability.log_format == LogFormat::Json,
            readiness_timeout: Duration::from_millis(config.observability.readiness_timeout_ms),
        },
    };
    Ok(app::router(service, auth, settings))
}
