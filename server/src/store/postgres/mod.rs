//! The PostgreSQL store, for several stateless replicas on one database: the plumbing (connection pool,
//! session settings, transactions, migrations, errors). The queries are in `queries`, the SQL text they share
//! with SQLite in `store::sql`.
//!
//! Every rule that spans requests is enforced inside a database transaction (the image row is locked while a
//! tag change is planned against the current tags), never in process memory, so it holds however many
//! replicas serve the same database.
//!
//! Each connection starts with `synchronous_commit` from the durability setting (`on` by default: a commit is
//! acknowledged once its WAL is flushed) and `statement_timeout` from the per-query time limit; write
//! transactions lift the time limit for themselves (`SET LOCAL`), as on SQLite, where it stops reads only.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config as PgConfig, NoTls};

use super::{Durability, StoreError};
use crate::ops::prometheus::{
    POSTGRES_POOL_CONNECTIONS, POSTGRES_POOL_CONNECTIONS_MAX, POSTGRES_POOL_IN_USE, POSTGRES_POOL_WAITING,
};

mod queries;

/// The schema migrations, applied in order; the table `schema_migrations` records which have run.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_images_and_tags.sql")),
    (2, include_str!("migrations/0002_tags_in_image_order.sql")),
];

/// The key of the advisory lock that serialises migrations when several replicas start at once.
const MIGRATION_LOCK: i64 = 0x696d_735f_7461_6773; // "ims_tags"

/// How the PostgreSQL store connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Most connections this process opens (reads and writes share them).
    pub pool_size: usize,
    /// When a commit is acknowledged.
    pub durability: Durability,
    /// Longest a read statement may run before the server cancels it; `None`: no limit.
    pub query_time_limit: Option<Duration>,
    /// Longest the store waits to open a connection.
    pub connect_timeout: Duration,
}

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    query_time_limit: Option<Duration>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database?...`), applies the
    /// migrations that have not run yet (one replica at a time) and keeps a pool of connections.
    pub async fn connect(url: &str, options: &PostgresOptions) -> Result<PostgresStore, StoreError> {
        let mut config: PgConfig =
            url.parse().map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        let mut session = session_options(options);
        if let Some(given) = config.get_options() {
            session = format!("{given} {session}");
        }
        config.options(&session);
        if config.get_application_name().is_none() {
            config.application_name("ims-tags");
        }
        config.connect_timeout(options.connect_timeout);
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        report_pool_state(&pool);
        let store = PostgresStore { pool, query_time_limit: options.query_time_limit };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations not yet recorded, each in its own transaction, under an advisory lock so that
    /// replicas starting together apply each migration once.
    async fn migrate(&self) -> Result<(), StoreError> {
        // A connection of its own, closed afterwards: without a time limit (waiting for another replica's
        // migrations, or running a long one, must not time out), and not handed on in that state.
        let client = Object::take(self.client().await?);
        client
            .batch_execute("SET statement_timeout = 0")
            .await
            .and(client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await)
            .map_err(|e| self.error(e))?;
        let migrated = async {
            client
                .batch_execute(
                    "SET client_min_messages = warning;
                     CREATE TABLE IF NOT EXISTS schema_migrations (
                         version    integer PRIMARY KEY,
                         applied_at timestamptz NOT NULL DEFAULT now()
                     );
                     RESET client_min_messages",
                )
                .await?;
            let applied: Vec<i32> = client
                .query("SELECT version FROM schema_migrations", &[])
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            for (version, migration) in MIGRATIONS {
                if applied.contains(version) {
                    continue;
                }
                client
                    .batch_execute(&format!(
                        "BEGIN; {migration}; INSERT INTO schema_migrations (version) VALUES ({version}); COMMIT;"
                    ))
                    .await?;
                tracing::info!(version, "applied a PostgreSQL migration");
            }
            Ok::<(), tokio_postgres::Error>(())
        }
        .await;
        let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
        migrated.map_err(|e| self.error(e))?;
        unlocked.map_err(|e| self.error(e))?;
        Ok(())
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => self.error(e),
            other => StoreError::Unavailable(format!("no database connection: {other}")),
        })
    }

    /// Starts a transaction of `kind` on a pooled connection.
    async fn begin(&self, kind: TransactionKind) -> Result<Transaction, StoreError> {
        // The guard holds the connection from before `BEGIN` is sent, so that a request abandoned at any
        // point after it closes the connection rather than pooling it inside a transaction.
        let tx = Transaction { client: Some(self.client().await?) };
        let begin = match kind {
            // The row locks taken by writes, and the statements after them, see the latest commits: READ
            // COMMITTED takes a new snapshot for each statement.
            TransactionKind::Write => "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = 0",
            TransactionKind::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        };
        tx.client()?.batch_execute(begin).await.map_err(|e| self.error(e))?;
        Ok(tx)
    }

    /// Ends a transaction: commits it when `result` is `Ok`, rolls it back otherwise; a commit that fails
    /// turns the result into its error.
    async fn end<T>(&self, mut tx: Transaction, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let Some(client) = tx.client.take() else {
            return Err(StoreError::Backend("the transaction has already ended".into()));
        };
        let ending = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        match client.batch_execute(ending).await {
            Ok(()) => result,
            Err(e) => {
                // The connection's state is unknown: close it rather than give it back.
                drop(Object::take(client));
                result.and(Err(self.error(e)))
            }
        }
    }

    /// What a database error means for the caller.
    fn error(&self, e: tokio_postgres::Error) -> StoreError {
        let retryable = [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::READ_ONLY_SQL_TRANSACTION,
        ];
        match e.code() {
            Some(code) if *code == SqlState::QUERY_CANCELED => match self.query_time_limit {
                Some(limit) => {
                    tracing::warn!(
                        limit_ms = limit.as_millis(),
                        "a read ran past the time limit and was stopped"
                    );
                    StoreError::QueryTimeLimit { limit }
                }
                None => StoreError::Unavailable(e.to_string()),
            },
            Some(code) if retryable.contains(code) => StoreError::Unavailable(e.to_string()),
            Some(_) => StoreError::Backend(e.to_string()),
            // No SQLSTATE: the connection failed (refused, reset, closed, timed out), or the error is ours
            // (a value that did not convert).
            None if e.is_closed() || connection_failed(&e) => StoreError::Unavailable(e.to_string()),
            None => StoreError::Backend(e.to_string()),
        }
    }
}

/// Whether an error without SQLSTATE comes from the network: an I/O error anywhere in its chain, or a
/// connection attempt that failed or timed out (tokio-postgres exposes its error kinds only as their text).
fn connection_failed(e: &tokio_postgres::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    let text = e.to_string();
    text.starts_with("error connecting") || text.starts_with("timeout waiting for server")
}

/// The settings every connection starts with (PostgreSQL's start-up `options`): `synchronous_commit` from the
/// durability setting, `statement_timeout` from the per-query time limit (0: none), READ COMMITTED.
fn session_options(options: &PostgresOptions) -> String {
    let synchronous_commit = match options.durability {
        Durability::Full => "on",
        Durability::Normal => "off",
    };
    let statement_timeout = options.query_time_limit.map_or(0, |l| l.as_millis().max(1));
    format!(
        "-c synchronous_commit={synchronous_commit} -c statement_timeout={statement_timeout} \
         -c default_transaction_isolation=read\\ committed"
    )
}

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransactionKind {
    /// Reads and writes, READ COMMITTED, no time limit.
    Write,
    /// Several reads from one snapshot, within the time limit.
    Read,
}

/// An open transaction on a pooled connection. Ended by `PostgresStore::end`; if it is dropped before that
/// (the request was abandoned), its connection is closed instead of going back to the pool open, and the
/// server rolls the transaction back.
struct Transaction {
    client: Option<Object>,
}

impl Transaction {
    /// The connection.
    fn client(&self) -> Result<&Object, StoreError> {
        self.client.as_ref().ok_or_else(|| StoreError::Backend("the transaction has already ended".into()))
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

/// How often the pool's state is sampled into its gauges.
const POOL_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Reports the pool's state (connections open, taken, waited for, and the cap) as gauges, sampled every
/// [`POOL_SAMPLE_INTERVAL`] for as long as the pool lives. deadpool keeps these counts itself and has no hook
/// on a connection's return, so a sample is the exact state at its instant; a scrape is at most that old.
fn report_pool_state(pool: &Pool) {
    metrics::gauge!(POSTGRES_POOL_CONNECTIONS_MAX).set(pool.status().max_size as f64);
    let pool = pool.weak();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(POOL_SAMPLE_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(pool) = pool.upgrade() else { break };
            let status = pool.status();
            metrics::gauge!(POSTGRES_POOL_CONNECTIONS).set(status.size as f64);
            metrics::gauge!(POSTGRES_POOL_IN_USE).set(status.size.saturating_sub(status.available) as f64);
            metrics::gauge!(POSTGRES_POOL_WAITING).set(status.waiting as f64);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits are flushed before they are acknowledged by default (`synchronous_commit=on`), `normal`
    /// switches it off, and the time limit becomes `statement_timeout` in milliseconds.
    #[test]
    fn connections_start_with_the_durability_and_the_time_limit() {
        let options = |durability, limit| PostgresOptions {
            pool_size: 4,
            durability,
            query_time_limit: limit,
            connect_timeout: Duration::from_secs(1),
        };
        let full = session_options(&options(Durability::default(), Some(Duration::from_millis(1500))));
        assert!(full.contains("-c synchronous_commit=on "), "{full}");
        assert!(full.contains("-c statement_timeout=1500 "), "{full}");
        let normal = session_options(&options(Durability::Normal, None));
        assert!(normal.contains("-c synchronous_commit=off "), "{normal}");
        assert!(normal.contains("-c statement_timeout=0 "), "no limit: {normal}");
    }
}
