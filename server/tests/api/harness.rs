//! The test harness: a server with known identities on an ephemeral port, clients for each identity, and
//! raw HTTP helpers.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ims_tags::config::{AuthConfig, Config, CredentialConfig, Grant, Secret, TokenConfig};
use ims_tags::domain::image::NewImage;
use ims_tags::server::Server;
use ims_tags::store::{Database, Store};
use ims_tags_client::{Client, types};
use reqwest::Method;
use serde_json::Value;
use tempfile::TempDir;
use uuid::Uuid;

/// The main test project.
pub const P1: &str = "0123456789abcdef0123456789abcdef";
/// Another project.
pub const P2: &str = "fedcba9876543210fedcba9876543210";
/// A third project, in the owner's scope but not its default.
pub const P3: &str = "33333333333333333333333333333333";

/// Every IAM action.
pub const ALL_ACTIONS: &[&str] =
    &["ims:images:get", "ims:images:list", "ims:images:update", "ims:images:create", "ims:images:delete"];

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Token of project P1 (also scoped to P3), every action.
    Owner,
    /// Token of project P2, every action.
    Other,
    /// Token of P1 without one action.
    Without(&'static str),
}

/// The token of an identity.
pub fn token(who: Who) -> String {
    match who {
        Who::Owner => "owner-token".into(),
        Who::Other => "other-token".into(),
        Who::Without(action) => format!("without-{action}"),
    }
}

/// The owner's access key and secret key.
pub const AK: &str = "AKTESTAK0000000000";
/// The owner's secret key.
pub const SK: &str = "SKtestsecret0000000000000000000000000000";

fn grant(project: &str, projects: &[&str], actions: &[&str]) -> Grant {
    Grant {
        default_project: project.into(),
        projects: projects.iter().map(|p| p.to_string()).collect(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
    }
}

/// The identities every test server knows.
pub fn test_auth() -> AuthConfig {
    let mut tokens = vec![
        TokenConfig {
            name: "owner".into(),
            token: Secret::new(token(Who::Owner)),
            grant: grant(P1, &[P3], ALL_ACTIONS),
        },
        TokenConfig {
            name: "other".into(),
            token: Secret::new(token(Who::Other)),
            grant: grant(P2, &[], ALL_ACTIONS),
        },
    ];
    for missing in ALL_ACTIONS {
        let actions: Vec<&str> = ALL_ACTIONS.iter().copied().filter(|a| a != missing).collect();
        tokens.push(TokenConfig {
            name: format!("without-{missing}"),
            token: Secret::new(token(Who::Without(missing))),
            grant: grant(P1, &[], &actions),
        });
    }
    AuthConfig {
        max_clock_skew_secs: None,
        tokens,
        credentials: vec![CredentialConfig {
            access_key: AK.into(),
            secret_key: Secret::new(SK),
            security_token: None,
            grant: grant(P1, &[], ALL_ACTIONS),
        }],
    }
}

/// The environment variable naming a PostgreSQL cluster to run the suite against, as an admin URL without
/// query parameters (`postgres://postgres@127.0.0.1:PORT/postgres`; `scripts/test-postgres start` prints
/// one). Unset: every test server uses SQLite.
pub const POSTGRES_ENV: &str = "IMS_TAGS_TEST_POSTGRES";

/// The admin URL of the PostgreSQL cluster under test, if any.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|url| !url.is_empty())
}

/// Connects to a PostgreSQL URL for the test's own checks.
pub async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("the test cluster answers");
    tokio::spawn(connection);
    client
}

/// A fresh, empty place for one test's data on the PostgreSQL cluster under test: a new schema, named in
/// the URL's `search_path`, so that every test starts empty without the cost of a database each.
pub async fn fresh_postgres_url(admin: &str) -> String {
    let schema = format!("t_{}", Uuid::new_v4().simple());
    postgres_client(admin).await.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("schema");
    format!("{admin}?options=-c%20search_path%3D{schema}")
}

/// The configuration of a test server: the test identities, an ephemeral port, `dir` for its data, and on
/// PostgreSQL a fresh schema.
pub async fn test_config(dir: &Path) -> Config {
    let database_url = match postgres_admin_url() {
        Some(admin) => Some(Secret::new(fresh_postgres_url(&admin).await)),
        None => None,
    };
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.to_path_buf(),
        auth: test_auth(),
        database_url,
        ..Config::default()
    }
}

/// Opens the store a configuration names, as the server would (without fair sharing).
pub async fn open_store(config: &Config) -> Arc<dyn Store> {
    config
        .database()
        .expect("a database")
        .open(&config.sqlite_options(), &config.postgres_options())
        .await
        .expect("store opens")
}

/// Runs a `SELECT COUNT(*) ...` straight on the database of `config`, whichever backend it is (the tables
/// `images (id, owner, ...)` and `image_tags (image_id, owner, key, value)` exist on both).
pub async fn count_rows(config: &Config, sql: &str) -> i64 {
    match config.database().expect("a database") {
        Database::Sqlite(path) => {
            let conn =
                rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .expect("the SQLite file opens");
            conn.query_row(sql, [], |r| r.get(0)).expect("counted")
        }
        Database::Postgres(url) => {
            postgres_client(&url).await.query_one(sql, &[]).await.expect("counted").get(0)
        }
    }
}

/// A running server with its own data directory.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    server: Option<Server>,
    /// Its configuration.
    pub config: Config,
    _dir: Arc<TempDir>,
    http: reqwest::Client,
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Raw {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body text.
    pub text: String,
}

impl Raw {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    /// The error code of an error envelope.
    pub fn code(&self) -> String {
        let body = self.json();
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "the envelope has one member: {body}");
        body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error.code in {body}")).to_owned()
    }

    /// Asserts status and error code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.code(), code, "{}", self.text);
        assert!(self.headers.contains_key("x-request-id"), "every response carries X-Request-Id");
    }
}

impl TestServer {
    /// A server with the test identities and default limits.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server with the test identities and a config adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_with_images(adjust, Vec::new()).await
    }

    /// A server whose database already holds `images`, written in bulk through the store before the server
    /// starts (much faster than one request per image), with a config adjusted by `adjust`.
    pub async fn start_with_images(adjust: impl FnOnce(&mut Config), images: Vec<NewImage>) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path()).await;
        adjust(&mut config);
        if !images.is_empty() {
            let store = open_store(&config).await;
            for batch in images.chunks(5000) {
                store.create_images(batch.to_vec()).await.expect("images are written");
            }
        }
        let server = Server::start(&config).await.expect("server starts");
        TestServer {
            base: format!("http://{}", server.addr),
            server: Some(server),
            config,
            _dir: Arc::new(dir),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
        }
    }

    /// A second replica on the same PostgreSQL database; `None` on SQLite, whose single writer belongs to one
    /// process (tests of replicas then send everything through the one server).
    pub async fn second_replica(&self) -> Option<TestServer> {
        if let Database::Sqlite(_) = self.config.database().expect("a database") {
            return None;
        }
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().expect("address");
        let server = Server::start(&config).await.expect("the replica starts");
        Some(TestServer {
            base: format!("http://{}", server.addr),
            server: Some(server),
            config,
            _dir: self._dir.clone(),
            http: self.http.clone(),
        })
    }

    /// Stops the server and starts a new one on the same data directory (a new port).
    pub async fn restart(mut self) -> TestServer {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("server stops");
        }
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().expect("address");
        let server = Server::start(&config).await.expect("server restarts");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
        self
    }

    /// The generated client for an identity.
    pub fn client(&self, who: Who) -> Client {
        Client::with_token(&self.base, token(who))
    }

    /// A raw request with a token (if any), optional extra headers and an optional body sent as is.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        who: Option<Who>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Raw {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(who) = who {
            request = request.header("x-auth-token", token(who));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("request is answered");
        Raw {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    /// Creates an image as `who` with a JSON body; returns its id.
    pub async fn image(&self, who: Who, body: Value) -> Uuid {
        let raw = self.raw("POST", "/v2/images", Some(who), &[], Some(&body.to_string())).await;
        assert_eq!(raw.status, 201, "{}", raw.text);
        raw.json()["id"].as_str().and_then(|id| id.parse().ok()).expect("an id")
    }

    /// Creates a private image owned by P1.
    pub async fn p1_image(&self) -> Uuid {
        self.image(Who::Owner, serde_json::json!({"name": "p1-image"})).await
    }

    /// The IMS v2 view of an image's tags, as the owner sees it.
    pub async fn tags(&self, image: Uuid) -> Vec<(String, String)> {
        let list = self
            .client(Who::Owner)
            .list_image_tags()
            .project_id(P1)
            .image_id(image.to_string())
            .send()
            .await
            .expect("tags are listed")
            .into_inner();
        list.tags.into_iter().map(|t| (t.key, t.value)).collect()
    }

    /// The string view of an image's tags (Glance `tags`).
    pub async fn string_tags(&self, image: Uuid) -> Vec<String> {
        self.client(Who::Owner)
            .glance_show_image()
            .image_id(image.to_string())
            .send()
            .await
            .expect("shown")
            .tags
            .clone()
    }
}

/// The error envelope and status of a failed client call.
#[track_caller]
pub fn client_error<T: std::fmt::Debug>(
    result: Result<T, ims_tags_client::Error<types::ErrorResponse>>,
) -> (u16, String) {
    match result {
        Err(ims_tags_client::Error::ErrorResponse(response)) => {
            (response.status().as_u16(), response.into_inner().error.code)
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}
