//! Typed configuration: defaults, then a TOML file, then `IMS_TAGS_*` environment variables
//! (`IMS_TAGS_LISTEN`, `IMS_TAGS_LIMITS__TAGS_PER_IMAGE`, ...). Secrets are redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::query::QueryLimits;
use crate::domain::tag::TagLimits;
use crate::ops::ObservabilityConfig;
use crate::store::fair::FairShareLimits;
use crate::store::postgres::PostgresOptions;
use crate::store::sqlite::SqliteOptions;
use crate::store::{Database, Durability};

/// A secret string (SK, token, security token): compared and used, never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for signing and comparison only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database.
    pub data_dir: PathBuf,
    /// Reader connections of the SQLite store.
    pub sqlite_readers: usize,
    /// Seconds before a request is abandoned with 503.
    pub request_timeout_secs: u64,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Tag limits.
    pub limits: TagLimits,
    /// Query limits: tag-query bodies and filter terms.
    pub query_limits: QueryLimits,
    /// Who may call the API.
    pub auth: AuthConfig,
    /// Longest the database read of one request may run, in milliseconds, before it is stopped (503
    /// `IMG.0503`); 0: no limit. SQLite's progress handler; PostgreSQL's `statement_timeout`.
    pub query_time_limit_ms: u64,
    /// When a write is acknowledged: `full` (flushed to disk first; survives power loss) or `normal` (survives
    /// a crash of the process, not of the machine).
    pub durability: Durability,
    /// Limits on concurrent expensive reads, per project and in all.
    pub fair_sharing: FairShareLimits,
    /// Where the data lives: `sqlite://<path>`, or `postgres://user:password@host:port/database` for several
    /// replicas on one PostgreSQL database. Unset: the SQLite file `ims-tags.sqlite3` in `data_dir`. May hold
    /// a password, so it is never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<Secret>,
    /// Settings of the PostgreSQL store.
    #[serde(default)]
    pub postgres: PostgresConfig,
    /// Connections, timeouts, body memory and the public address (docs/operations.md).
    #[serde(default)]
    pub http: HttpConfig,
    /// Health, metrics and logs: the log format, whether `/metrics` is served, the readiness timeout
    /// (docs/operations.md).
    #[serde(default)]
    pub observability: ObservabilityConfig,
}

/// Settings of the PostgreSQL store (config table `[postgres]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// Most connections each replica opens; reads and writes share them. Replicas times this must stay below
    /// the server's `max_connections`.
    pub pool_size: usize,
    /// Longest a replica waits to open a connection, in milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig { pool_size: 16, connect_timeout_ms: 5000 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 9292)),
            data_dir: PathBuf::from("data"),
            sqlite_readers: 4,
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            limits: TagLimits::default(),
            query_limits: QueryLimits::default(),
            auth: AuthConfig::default(),
            query_time_limit_ms: 5000,
            durability: Durability::Full,
            fair_sharing: FairShareLimits::default(),
            database_url: None,
            postgres: PostgresConfig::default(),
            http: HttpConfig::default(),
            observability: ObservabilityConfig::default(),
        }
    }
}

/// The HTTP front door: how many connections, how long each phase of a request may take, how much
/// memory request bodies may hold, and the address clients use. Every value is documented, with its
/// default, in docs/operations.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Open connections at most; unset: 1024, or less when the file-descriptor limit is lower.
    pub max_connections: Option<usize>,
    /// Time to receive a whole request head (request line and headers), counted from the accept
    /// for the first request of a connection and from the first byte for later ones.
    pub header_read_timeout_ms: u64,
    /// Time a kept-alive connection may wait for the first byte of its next request.
    pub keep_alive_timeout_ms: u64,
    /// Time to receive a whole request body, counted from the end of its head; 408 after it.
    /// Must be below `request_timeout_secs`.
    pub body_read_timeout_ms: u64,
    /// On SIGTERM or Ctrl-C: how long requests in flight may take to finish before the rest
    /// is closed.
    pub shutdown_grace_ms: u64,
    /// After an answer that closes the connection: how long unread input is still read and
    /// discarded (so that the client reads the answer instead of a reset).
    pub lingering_close_ms: u64,
    /// Largest request head (request line and headers), in bytes; 431 above it. URIs longer
    /// than 65,534 bytes are 414.
    pub max_request_head_bytes: usize,
    /// Bytes of request bodies held in memory at once, across all connections.
    pub body_memory_budget_bytes: usize,
    /// How long a body waits for room in that budget before 503 with `Retry-After`.
    pub body_memory_wait_ms: u64,
    /// The URL clients reach the service at (`https://images.example.com`); the version links of
    /// `GET /` and `GET /versions` start with it. Unset: built from the validated `Host` header and
    /// an `X-Forwarded-Proto` of `http` or `https`.
    pub public_base_url: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: None,
            header_read_timeout_ms: 10_000,
            keep_alive_timeout_ms: 60_000,
            body_read_timeout_ms: 20_000,
            shutdown_grace_ms: 10_000,
            lingering_close_ms: 5_000,
            max_request_head_bytes: 128 * 1024,
            body_memory_budget_bytes: 32 * 1024 * 1024,
            body_memory_wait_ms: 1_000,
            public_base_url: None,
        }
    }
}

impl Config {
    /// Checks what the types cannot: the relations between settings and the public URL.
    pub fn check(&self) -> Result<(), String> {
        self.database()?;
        self.fair_sharing.check(self.read_connections()?)?;
        self.query_limits.check()?;
        self.observability.check()?;
        let http = &self.http;
        if http.body_read_timeout_ms == 0 || http.body_read_timeout_ms >= self.request_timeout_secs * 1000 {
            return Err(format!(
                "http.body_read_timeout_ms ({}) must be above 0 and below request_timeout_secs ({} s), so that \
                 a slow body is answered 408 rather than 503",
                http.body_read_timeout_ms, self.request_timeout_secs
            ));
        }
        if http.body_memory_budget_bytes < self.body_limit_bytes {
            return Err(format!(
                "http.body_memory_budget_bytes ({}) must be at least body_limit_bytes ({})",
                http.body_memory_budget_bytes, self.body_limit_bytes
            ));
        }
        if http.max_request_head_bytes < 8192 {
            return Err("http.max_request_head_bytes must be at least 8192".into());
        }
        if http.max_connections == Some(0) {
            return Err("http.max_connections must be at least 1".into());
        }
        for (name, value) in [
            ("header_read_timeout_ms", http.header_read_timeout_ms),
            ("keep_alive_timeout_ms", http.keep_alive_timeout_ms),
        ] {
            if value == 0 {
                return Err(format!("http.{name} must be above 0"));
            }
        }
        if let Some(url) = &http.public_base_url {
            crate::host::check_public_base_url(url)?;
        }
        Ok(())
    }
}

/// Credentials and tokens.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Largest difference between `X-Sdk-Date` and the server clock, in seconds.
    pub max_clock_skew_secs: Option<u64>,
    /// `X-Auth-Token` tokens.
    pub tokens: Vec<TokenConfig>,
    /// AK/SK credentials.
    pub credentials: Vec<CredentialConfig>,
}

/// What a token or credential may do: its projects and IAM actions.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The project used when a request names none.
    pub default_project: String,
    /// Further projects the caller may name.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Permitted IAM actions (`ims:images:get`, ...); `*` and `prefix:*` are wildcards.
    pub actions: Vec<String>,
}

/// An `X-Auth-Token` token.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs.
    pub name: String,
    /// The token.
    pub token: Secret,
    /// What it may do.
    #[serde(flatten)]
    pub grant: Grant,
}

/// An AK/SK credential.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// The access key (AK); shown in logs.
    pub access_key: String,
    /// The secret key (SK).
    pub secret_key: Secret,
    /// For a temporary AK: the security token it must be sent with.
    #[serde(default)]
    pub security_token: Option<Secret>,
    /// What it may do.
    #[serde(flatten)]
    pub grant: Grant,
}

/// Every IAM action this service knows.
pub const ALL_ACTIONS: &[&str] =
    &["ims:images:get", "ims:images:list", "ims:images:update", "ims:images:create", "ims:images:delete"];

/// The demo identity used when no config file gives one: printed at start-up.
pub mod demo {
    /// Demo project.
    pub const PROJECT: &str = "0000000000000000000000000000dem0";
    /// Demo `X-Auth-Token`.
    pub const TOKEN: &str = "ims-tags-demo-token";
    /// Demo access key.
    pub const ACCESS_KEY: &str = "DEMOACCESSKEY0000000";
    /// Demo secret key.
    pub const SECRET_KEY: &str = "DEMOSECRETKEY000000000000000000000000000";
}

impl AuthConfig {
    /// The demo token and AK/SK, with every action on the demo project.
    pub fn demo() -> AuthConfig {
        let grant = Grant {
            default_project: demo::PROJECT.to_owned(),
            projects: Vec::new(),
            actions: ALL_ACTIONS.iter().map(|a| a.to_string()).collect(),
        };
        AuthConfig {
            max_clock_skew_secs: None,
            tokens: vec![TokenConfig {
                name: "demo".into(),
                token: Secret::new(demo::TOKEN),
                grant: grant.clone(),
            }],
            credentials: vec![CredentialConfig {
                access_key: demo::ACCESS_KEY.into(),
                secret_key: Secret::new(demo::SECRET_KEY),
                security_token: None,
                grant,
            }],
        }
    }

    /// Whether no caller is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.credentials.is_empty()
    }
}

/// The top-level config fields, the only names `IMS_TAGS_*` variables may set.
const FIELDS: &[&str] = &[
    "listen",
    "data_dir",
    "sqlite_readers",
    "request_timeout_secs",
    "body_limit_bytes",
    "limits",
    "query_limits",
    "auth",
    "query_time_limit_ms",
    "durability",
    "fair_sharing",
    "database_url",
    "postgres",
    "http",
    "observability",
];

impl Config {
    /// Loads the configuration: defaults, then `file` if given, then `IMS_TAGS_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only variables naming a config field: others sharing the prefix (IMS_TAGS_CONFIG, a script's own
        // IMS_TAGS_BIN) are not configuration.
        let env = Env::prefixed("IMS_TAGS_")
            .filter(|key| {
                let field = key.as_str().split("__").next().unwrap_or_default();
                FIELDS.iter().any(|known| known.eq_ignore_ascii_case(field))
            })
            .split("__");
        figment.merge(env).extract().map_err(Box::new)
    }

    /// The SQLite database file.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("ims-tags.sqlite3")
    }

    /// The per-query time limit, if any.
    pub fn query_time_limit(&self) -> Option<Duration> {
        (self.query_time_limit_ms > 0).then(|| Duration::from_millis(self.query_time_limit_ms))
    }

    /// The database `database_url` names (by default the SQLite file under `data_dir`).
    pub fn database(&self) -> Result<Database, String> {
        match &self.database_url {
            Some(url) => Database::parse(url.expose()),
            None => Ok(Database::Sqlite(self.sqlite_path())),
        }
    }

    /// Connections that can serve reads: the SQLite readers, or the PostgreSQL pool.
    pub fn read_connections(&self) -> Result<usize, String> {
        Ok(match self.database()? {
            Database::Sqlite(_) => self.sqlite_readers,
            Database::Postgres(_) => self.postgres.pool_size,
        })
    }

    /// How the server connects to PostgreSQL.
    pub fn postgres_options(&self) -> PostgresOptions {
        PostgresOptions {
            pool_size: self.postgres.pool_size,
            durability: self.durability,
            query_time_limit: self.query_time_limit(),
            connect_timeout: Duration::from_millis(self.postgres.connect_timeout_ms),
        }
    }

    /// How the server opens the SQLite store.
    pub fn sqlite_options(&self) -> SqliteOptions {
        SqliteOptions {
            readers: self.sqlite_readers,
            durability: self.durability,
            query_time_limit: self.query_time_limit(),
        }
    }
}

#[cfg(test)]
#[expect(clippy::result_large_err, reason = "figment::Jail closures return figment's own (large) error type")]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let text = format!("{:?}", AuthConfig::demo());
        assert!(!text.contains(demo::SECRET_KEY) && !text.contains(demo::TOKEN), "{text}");
        assert!(text.contains(demo::ACCESS_KEY), "the AK is not a secret");
    }

    // Tests that load a config run inside `figment::Jail`, which serialises them and isolates the environment.

    #[test]
    fn file_values_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
listen = "127.0.0.1:0"
[limits]
tags_per_image = 20
[[auth.tokens]]
name = "t"
token = "s3cret"
default_project = "p1"
actions = ["ims:images:list"]
"#,
            )?;
            let config = Config::load(Some(Path::new("c.toml"))).expect("loads");
            assert_eq!(config.limits.tags_per_image, 20);
            assert_eq!(config.limits.ims_key_max_chars, 36, "unset limits keep their defaults");
            assert_eq!(config.auth.tokens[0].grant.default_project, "p1");
            assert_eq!(config.auth.tokens[0].token.expose(), "s3cret");
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_apply_and_other_prefixed_variables_are_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("IMS_TAGS_LIMITS__TAGS_PER_IMAGE", "7");
            jail.set_env("IMS_TAGS_CONFIG", "/somewhere.toml");
            jail.set_env("IMS_TAGS_BIN", "/bin/true");
            let config = Config::load(None).expect("loads");
            assert_eq!(config.limits.tags_per_image, 7);
            Ok(())
        });
    }

    #[test]
    fn durability_defaults_to_full_and_can_be_switched() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None).expect("loads").durability, Durability::Full);
            jail.create_file(
                "c.toml",
                "durability = \"normal\"\nquery_time_limit_ms = 0\n[fair_sharing]\nexpensive_reads = 2\n",
            )?;
            let config = Config::load(Some(Path::new("c.toml"))).expect("loads");
            assert_eq!(config.durability, Durability::Normal);
            assert_eq!(config.query_time_limit(), None, "0 means no limit");
            assert_eq!(config.fair_sharing.expensive_reads, 2);
            assert_eq!(
                config.fair_sharing.expensive_reads_per_project, 2,
                "unset limits keep their defaults"
            );
            jail.create_file("bad.toml", "durability = \"off\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err(), "only full and normal");
            Ok(())
        });
    }

    #[test]
    fn the_defaults_pass_the_checks_and_contradictions_are_refused() {
        assert_eq!(Config::default().check(), Ok(()));
        let refused = [
            Config { request_timeout_secs: 20, ..Config::default() },
            Config {
                http: HttpConfig { body_memory_budget_bytes: 1000, ..HttpConfig::default() },
                ..Config::default()
            },
            Config {
                http: HttpConfig { max_request_head_bytes: 4096, ..HttpConfig::default() },
                ..Config::default()
            },
            Config {
                http: HttpConfig { max_connections: Some(0), ..HttpConfig::default() },
                ..Config::default()
            },
            Config {
                http: HttpConfig { keep_alive_timeout_ms: 0, ..HttpConfig::default() },
                ..Config::default()
            },
            Config {
                http: HttpConfig {
                    public_base_url: Some("javascript:alert(1)".into()),
                    ..HttpConfig::default()
                },
                ..Config::default()
            },
        ];
        for config in refused {
            assert!(config.check().is_err(), "{:?}", config.http);
        }
    }

    #[test]
    fn http_settings_load_from_a_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[http]\nmax_connections = 50\npublic_base_url = \"https://x.example\"\n",
            )?;
            jail.set_env("IMS_TAGS_HTTP__SHUTDOWN_GRACE_MS", "1234");
            let config = Config::load(Some(Path::new("c.toml"))).expect("loads");
            assert_eq!(config.http.max_connections, Some(50));
            assert_eq!(config.http.shutdown_grace_ms, 1234);
            assert_eq!(config.http.public_base_url.as_deref(), Some("https://x.example"));
            assert_eq!(config.http.header_read_timeout_ms, 10_000, "unset settings keep their defaults");
            Ok(())
        });
    }

    #[test]
    fn observability_settings_load_from_a_file_and_the_environment() {
        figment::Jail::expect_with(|jail| {
            let defaults = Config::load(None).expect("loads").observability;
            assert_eq!(defaults, ObservabilityConfig::default());
            assert_eq!(defaults.log_format, crate::ops::logging::LogFormat::Text, "text by default");
            assert!(defaults.metrics, "/metrics is served by default");
            jail.create_file("c.toml", "[observability]\nmetrics = false\nreadiness_timeout_ms = 250\n")?;
            jail.set_env("IMS_TAGS_OBSERVABILITY__LOG_FORMAT", "json");
            let config = Config::load(Some(Path::new("c.toml"))).expect("loads");
            assert_eq!(config.observability.log_format, crate::ops::logging::LogFormat::Json);
            assert!(!config.observability.metrics);
            assert_eq!(config.observability.readiness_timeout_ms, 250);
            let mut zero = Config::default();
            zero.observability.readiness_timeout_ms = 0;
            assert!(zero.check().is_err(), "a readiness timeout of 0 is refused");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "lisen = \"127.0.0.1:1\"\n")?;
            assert!(Config::load(Some(Path::new("c.toml"))).is_err());
            Ok(())
        });
    }
}
