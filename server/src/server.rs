//! Starting and stopping the service: open the store, build the app, bind the listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{App, AppState};
use crate::app::{self, HttpSettings};
use crate::auth::Authenticator;
use crate::config::Config;
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
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Opens the store, binds `config.listen` and starts serving in the background.
    pub async fn start(config: &Config) -> Result<Server, StartError> {
        let database = config.database().map_err(StartError::Config)?;
        config
            .fair_sharing
            .check(config.read_connections().map_err(StartError::Config)?)
            .map_err(StartError::Config)?;
        config.query_limits.check().map_err(StartError::Config)?;
        let store = database.open(&config.sqlite_options(), &config.postgres_options()).await?;
        let store = FairShare::new(store, config.fair_sharing);
        let state = AppState(Arc::new(App {
            store: Arc::new(store),
            limits: config.limits,
            query_limits: config.query_limits,
        }));
        let auth = Arc::new(Authenticator::new(&config.auth, config.body_limit_bytes));
        let settings = HttpSettings {
            body_limit: config.body_limit_bytes,
            timeout: Duration::from_secs(config.request_timeout_secs),
        };
        let router = app::router(state, auth, settings);
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let addr =
            listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await
        });
        Ok(Server { addr, shutdown, task })
    }

    /// Stops accepting connections, finishes the requests in flight and waits for the server to end.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.map_err(std::io::Error::other)?
    }
}
