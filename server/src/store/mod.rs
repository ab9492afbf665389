//! Storage: one trait for everything the API reads and writes, and its implementations.
//!
//! Every method is one transaction. Writes to an image's tags lock the image (SQLite's single writer, or a row
//! lock) while the change is planned against the current tags, so the quota holds under concurrency and across
//! replicas. The store never sees HTTP; the rules it applies inside its transactions come from `domain`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::image::{Image, NewImage};
use crate::domain::query::image_filter::ImageFilter;
use crate::domain::query::image_list::ImageListQuery;
use crate::domain::query::tag_query::{Page, TagQuery};
use crate::domain::tag::{Tag, TagChange, TagChangeError};

pub mod fair;
pub mod postgres;
pub mod sql;
pub mod sqlite;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The image does not exist or the project cannot see it.
    #[error("image not found")]
    ImageNotFound,
    /// The project can see the image but does not own it.
    #[error("image not owned by the caller's project")]
    NotOwner,
    /// The image is protected and cannot be deleted.
    #[error("image is protected")]
    Protected,
    /// The `marker` of a list request names no image the project can see.
    #[error("marker not found")]
    MarkerNotFound,
    /// An image with this id already exists.
    #[error("image id already exists")]
    Conflict,
    /// The tag change cannot be applied.
    #[error(transparent)]
    Tags(#[from] TagChangeError),
    /// The database failed.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The database stopped a read that ran longer than the per-query time limit.
    #[error("the query ran longer than the time limit of {limit:?}")]
    QueryTimeLimit {
        /// The limit.
        limit: Duration,
    },
    /// The project already runs as many expensive reads as its share allows, and none ended in time.
    #[error("the project is over its share of expensive reads")]
    OverShare {
        /// When the caller may try again.
        retry_after: Duration,
    },
    /// Every slot for expensive reads is taken (by other projects), and none came free in time.
    #[error("no slot for an expensive read came free in time")]
    Busy {
        /// When the caller may try again.
        retry_after: Duration,
    },
    /// The database cannot be reached, or refused the transaction for a passing reason (restarting, a
    /// deadlock, too many connections): the same request may succeed later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

/// The database a configuration names (`database_url`).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite store in this file (`sqlite://<path>`).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://...` or `postgresql://...`), shared by any number of replicas.
    Postgres(String),
}

impl Database {
    /// Reads a `database_url`: `sqlite://<path>` (relative or absolute: `sqlite:///var/lib/x.sqlite3`), or a
    /// `postgres://` / `postgresql://` connection URL.
    pub fn parse(url: &str) -> Result<Database, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(
                    "database_url sqlite:// needs a file path (sqlite://data/ims-tags.sqlite3)".into()
                );
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.parse::<tokio_postgres::Config>()
                .map_err(|e| format!("database_url is not a valid PostgreSQL URL: {e}"))?;
            return Ok(Database::Postgres(url.to_owned()));
        }
        Err("database_url must start with sqlite:// or postgres://".into())
    }

    /// Opens the store: the SQLite file (created if needed), or a pool of connections to PostgreSQL. Either
    /// applies its pending migrations.
    pub async fn open(
        &self,
        sqlite: &sqlite::SqliteOptions,
        postgres: &postgres::PostgresOptions,
    ) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path, sqlite)?),
            Database::Postgres(url) => Arc::new(postgres::PostgresStore::connect(url, postgres).await?),
        })
    }
}

/// Names the database without its password: "the embedded SQLite store at PATH", "PostgreSQL database DB on
/// HOST:PORT".
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "the embedded SQLite store at {}", path.display()),
            Database::Postgres(url) => {
                let config = url.parse::<tokio_postgres::Config>().map_err(|_| fmt::Error)?;
                let hosts: Vec<String> = config
                    .get_hosts()
                    .iter()
                    .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
                    .map(|(host, port)| match host {
                        tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                        tokio_postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
                    })
                    .collect();
                write!(
                    f,
                    "PostgreSQL database {} on {}",
                    config.get_dbname().or(config.get_user()).unwrap_or("postgres"),
                    hosts.join(",")
                )
            }
        }
    }
}

/// Like `Display`: a database URL may hold a password.
impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// When an acknowledged write is safe: what the store waits for before it answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Every acknowledged commit is on stable storage first (flushed): it survives a process crash, an OS
    /// crash and a power loss. SQLite `synchronous=FULL`; PostgreSQL `synchronous_commit=on`.
    #[default]
    Full,
    /// Commits are written to the OS but flushed only at checkpoints: they survive a process crash, but the
    /// last commits before an OS crash or power loss can be lost (never corrupted). SQLite
    /// `synchronous=NORMAL` in WAL mode; the nearest PostgreSQL setting is `synchronous_commit=off`.
    Normal,
}

/// One image found by a tag query (`list_image_by_tags`), with its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedImage {
    /// Image id.
    pub id: Uuid,
    /// Name (`""` when unnamed).
    pub name: String,
    /// Status wire name.
    pub status: String,
    /// Tags sorted by `(key, value)`.
    pub tags: Vec<Tag>,
}

/// Everything the API needs from storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an image.
    async fn create_image(&self, image: NewImage) -> Result<Image, StoreError>;

    /// Creates many images in one transaction (the seeding command); all or nothing.
    async fn create_images(&self, images: Vec<NewImage>) -> Result<(), StoreError>;

    /// An image the project can see (owned or public), with tags and properties.
    async fn image(&self, id: Uuid, project: &str) -> Result<Image, StoreError>;

    /// Images the project can see that pass the query, in its order, one page after its marker.
    async fn list_images(&self, project: &str, query: &ImageListQuery) -> Result<Vec<Image>, StoreError>;

    /// Deletes an image the project owns, with its tags; refuses protected images.
    async fn delete_image(&self, id: Uuid, project: &str) -> Result<(), StoreError>;

    /// Applies a tag change to an image the project owns, atomically, and bumps its `updated_at`.
    async fn change_tags(
        &self,
        id: Uuid,
        project: &str,
        change: TagChange,
        max_tags: usize,
    ) -> Result<(), StoreError>;

    /// The tags of an image the project can see, sorted by `(key, value)`.
    async fn image_tags(&self, id: Uuid, project: &str) -> Result<Vec<Tag>, StoreError>;

    /// The distinct tags of the project's images, sorted by `(key, value)` (`list_images_tags`).
    async fn project_tags(&self, project: &str) -> Result<Vec<Tag>, StoreError>;

    /// The distinct tags of the images the project can see that pass the filter (`list_tags`).
    async fn filtered_tags(&self, project: &str, filter: &ImageFilter) -> Result<Vec<Tag>, StoreError>;

    /// The project's images selected by a tag query: the total count, and the page when one is asked for
    /// (`list_image_by_tags`). Order: `created_at` descending, then id ascending.
    async fn query_images(
        &self,
        project: &str,
        query: &TagQuery,
        page: Option<Page>,
    ) -> Result<(u64, Vec<TaggedImage>), StoreError>;

    /// Whether the database answers: a trivial query succeeds (readiness, `GET /readyz`). The caller bounds
    /// the wait.
    async fn ping(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_sqlite_files_or_postgres_databases_without_their_password() {
        assert_eq!(Database::parse("sqlite://data/x.sqlite3"), Ok(Database::Sqlite("data/x.sqlite3".into())));
        assert_eq!(
            Database::parse("sqlite:///var/lib/x.sqlite3"),
            Ok(Database::Sqlite("/var/lib/x.sqlite3".into()))
        );
        for url in ["postgres://u:s3cret@db:6432/ims", "postgresql://u:s3cret@db:6432/ims?sslmode=disable"] {
            let database = Database::parse(url).expect("a PostgreSQL URL");
            assert_eq!(database.to_string(), "PostgreSQL database ims on db:6432");
            assert!(!format!("{database:?}").contains("s3cret"));
        }
        for bad in ["sqlite://", "mysql://db/ims", "data/x.sqlite3", "postgres://db:notaport/ims"] {
            assert!(Database::parse(bad).is_err(), "{bad}");
        }
    }
}
