//! The second driver: every case, against ims-tags itself, started in-process on 127.0.0.1 with known
//! identities, on each storage backend. ims-tags must pass every case, its own choices included (`--strict`).
//!
//! And the runner must be able to fail: ims-tags started with one rule deliberately broken (a quota off by
//! one in the config; a proxy that answers op 8's missing key with 204) fails exactly the cases of that rule.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use ims_tags::config::{AuthConfig, Config, CredentialConfig, Grant, Secret, TokenConfig};
use ims_tags::server::Server;
use ims_tags_client::Credentials;
use ims_tags_conformance::run::{self, RunReport, Selection};
use ims_tags_conformance::{Credential, Identity, Target, cases};
use tempfile::TempDir;

/// The environment variable naming a PostgreSQL cluster (an admin URL, as `scripts/test-postgres start` prints
/// it): when set, ims-tags runs on a fresh schema of it instead of SQLite, as the server's own integration
/// suite does. `scripts/test` runs this driver once per backend.
const POSTGRES_ENV: &str = "IMS_TAGS_TEST_POSTGRES";

/// The admin URL of the PostgreSQL cluster under test, if any.
fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|url| !url.is_empty())
}

/// The name of the storage backend under test.
fn backend_name() -> &'static str {
    if postgres_admin_url().is_some() { "postgres" } else { "sqlite" }
}

/// The database URL of a fresh ims-tags: a new schema of the PostgreSQL cluster under test, or `None` (the
/// SQLite file of its data directory).
async fn fresh_database_url() -> Option<Secret> {
    let admin = postgres_admin_url()?;
    let (client, connection) =
        tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("the test cluster answers");
    tokio::spawn(connection);
    let schema = format!("conformance_{}", uuid::Uuid::new_v4().simple());
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("a schema");
    Some(Secret::new(format!("{admin}?options=-c%20search_path%3D{schema}")))
}

const P1: &str = "0123456789abcdef0123456789abcdef";
const P2: &str = "fedcba9876543210fedcba9876543210";
const P3: &str = "33333333333333333333333333333333";
const OWNER_TOKEN: &str = "conformance-owner-token";
const OTHER_AK: &str = "AKCONFORMANCETEMP0";
const OTHER_SK: &str = "SKconformancetemporary00000000000000000000";
const OTHER_SECURITY_TOKEN: &str = "conformance-security-token";
const ACTIONS: [&str; 5] =
    ["ims:images:get", "ims:images:list", "ims:images:update", "ims:images:create", "ims:images:delete"];

fn grant(project: &str, projects: &[&str], actions: &[&str]) -> Grant {
    Grant {
        default_project: project.into(),
        projects: projects.iter().map(|p| p.to_string()).collect(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
    }
}

fn lacking_token(action: &str) -> String {
    format!("conformance-without-{action}")
}

/// The owner (a token of P1, also scoped to P3), another project (a temporary AK/SK of P2 with its security
/// token) and tokens of P1 each without one action.
fn auth() -> AuthConfig {
    let mut tokens = vec![TokenConfig {
        name: "owner".into(),
        token: Secret::new(OWNER_TOKEN),
        grant: grant(P1, &[P3], &ACTIONS),
    }];
    for missing in ACTIONS {
        let actions: Vec<&str> = ACTIONS.iter().copied().filter(|a| *a != missing).collect();
        tokens.push(TokenConfig {
            name: format!("without-{missing}"),
            token: Secret::new(lacking_token(missing)),
            grant: grant(P1, &[], &actions),
        });
    }
    AuthConfig {
        max_clock_skew_secs: None,
        tokens,
        credentials: vec![CredentialConfig {
            access_key: OTHER_AK.into(),
            secret_key: Secret::new(OTHER_SK),
            security_token: Some(Secret::new(OTHER_SECURITY_TOKEN)),
            grant: grant(P2, &[], &ACTIONS),
        }],
    }
}

/// ims-tags on a fresh data directory.
struct Running {
    server: Server,
    _dir: TempDir,
}

async fn start(adjust: impl FnOnce(&mut Config)) -> Running {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database_url = fresh_database_url().await;
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: dir.path().to_path_buf(),
        auth: auth(),
        database_url,
        ..Config::default()
    };
    adjust(&mut config);
    let server = Server::start(&config).await.expect("ims-tags starts");
    Running { server, _dir: dir }
}

/// The target for ims-tags at `addr`, judged strictly (its own choices too).
fn target(addr: SocketAddr) -> Target {
    let owner = Identity { project: P1.into(), credential: Credential::Token(OWNER_TOKEN.into()) };
    let mut target = Target::new(format!("http://{addr}"), owner);
    target.owner_second_project = Some(P3.into());
    let other = Credentials {
        security_token: Some(OTHER_SECURITY_TOKEN.into()),
        ..Credentials::new(OTHER_AK, OTHER_SK)
    };
    target.other = Some(Identity { project: P2.into(), credential: Credential::AkSk(other) });
    target.lacking = ACTIONS
        .iter()
        .map(|a| {
            (a.to_string(), Identity { project: P1.into(), credential: Credential::Token(lacking_token(a)) })
        })
        .collect();
    target.strict = true;
    target
}

async fn run_against(target: &Target, selection: &Selection) -> RunReport {
    run::run(&cases::all(), target, selection, |_| {}).await
}

/// The failures, each with its message (for the assertion's text).
fn failures(report: &RunReport) -> String {
    report
        .cases
        .iter()
        .filter_map(|c| c.failure.as_ref().map(|f| format!("{}: {f}", c.name)))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ims_tags_passes_every_case() {
    let backend = backend_name();
    let running = start(|_| {}).await;
    let report = run_against(&target(running.server.addr), &Selection::default()).await;
    running.server.stop().await.expect("ims-tags stops");
    let failed: BTreeSet<String> = report.failed_names().into_iter().collect();
    let skipped: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.status == run::Status::Skip)
        .map(|c| format!("{}: {}", c.name, c.skip_reason.clone().unwrap_or_default()))
        .collect();
    assert!(
        skipped.is_empty(),
        "{backend}: every case runs against ims-tags; skipped:\n{}",
        skipped.join("\n")
    );
    assert!(failed.is_empty(), "{backend}: {} cases failed:\n{}", failed.len(), failures(&report));
    // ims-tags has no PATCH, so nothing can unprotect the protected images these two cases make.
    let protected = ["registry.delete.protected_is_403", "registry.tags.protected_images_can_be_tagged"];
    let problems: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !protected.contains(&c.name.as_str()))
        .flat_map(|c| c.cleanup_problems.iter().map(move |p| format!("{}: {p}", c.name)))
        .collect();
    assert!(problems.is_empty(), "{backend}: cases left things behind:\n{}", problems.join("\n"));
    assert!(report.passed > 300, "{backend}: only {} cases passed", report.passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_off_by_one_fails_exactly_the_quota_cases() {
    let running = start(|c| c.limits.tags_per_image = 11).await;
    let target = target(running.server.addr);
    assert_eq!(target.limits.tags_per_image, 10, "the runner judges by the documented quota");
    let report = run_against(&target, &Selection::default()).await;
    running.server.stop().await.expect("ims-tags stops");
    let failed: BTreeSet<String> = report.failed_names().into_iter().collect();
    let expected = names(&[
        "native.put.over_the_quota_is_413",
        "registry.create.tags_over_the_quota_is_413",
        "ims.v1.put.over_the_quota_is_400",
        "ims.v2.add.over_the_quota_is_400",
        "ims.v2.batch.create_over_the_quota_is_400",
        "tags.quota.counts_tags_from_every_path",
        "tags.quota.holds_under_concurrent_adds",
    ]);
    assert_eq!(failed, expected, "{}", failures(&report));
}

/// A proxy in front of ims-tags that answers op 8's 404 for a missing key with 204.
mod flipping_proxy {
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{HeaderName, StatusCode};
    use axum::response::Response;

    /// Hop-by-hop and framing headers the proxy does not copy.
    const NOT_COPIED: [&str; 4] = ["connection", "transfer-encoding", "content-length", "keep-alive"];

    #[derive(Clone)]
    struct Backend {
        base: String,
        client: reqwest::Client,
    }

    fn copyable(name: &HeaderName) -> bool {
        !NOT_COPIED.contains(&name.as_str())
    }

    /// Whether `path` is op 8: `/v2/{project}/images/{image}/tags/{key}`.
    fn is_op_8(method: &axum::http::Method, path: &str) -> bool {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        method == axum::http::Method::DELETE
            && segments.len() == 6
            && segments[0] == "v2"
            && segments[2] == "images"
            && segments[4] == "tags"
    }

    async fn forward(State(backend): State<Backend>, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
        let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut forwarded = backend.client.request(parts.method.clone(), format!("{}{target}", backend.base));
        for (name, value) in parts.headers.iter().filter(|(n, _)| copyable(n)) {
            forwarded = forwarded.header(name, value);
        }
        let Ok(answer) = forwarded.body(body).send().await else {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::empty())
                .unwrap_or_default();
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap_or_default();
        let missing_tag =
            status == StatusCode::NOT_FOUND && String::from_utf8_lossy(&bytes).contains("IMG.0115");
        if missing_tag && is_op_8(&parts.method, parts.uri.path()) {
            // The deliberately broken rule: op 8's missing key answered as if it had been deleted.
            return Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .unwrap_or_default();
        }
        let mut response = Response::builder().status(status);
        for (name, value) in headers.iter().filter(|(n, _)| copyable(n)) {
            response = response.header(name, value);
        }
        response.body(Body::from(bytes)).unwrap_or_default()
    }

    /// Starts the proxy in front of `backend`; returns its address.
    pub async fn start(backend: std::net::SocketAddr) -> std::net::SocketAddr {
        let state = Backend { base: format!("http://{backend}"), client: reqwest::Client::new() };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("the proxy binds");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op_8_answering_204_for_a_missing_key_fails_exactly_its_case() {
    let running = start(|_| {}).await;
    let proxy = flipping_proxy::start(running.server.addr).await;
    // Bytes written to a socket test the proxy's HTTP layer, not ims-tags: those cases are left out.
    let selection = Selection { only: Vec::new(), skip: vec!["*.wire.*".into()] };
    let report = run_against(&target(proxy), &selection).await;
    running.server.stop().await.expect("ims-tags stops");
    let failed: BTreeSet<String> = report.failed_names().into_iter().collect();
    let expected = names(&["ims.v2.delete.missing_key_is_404"]);
    assert_eq!(failed, expected, "{}", failures(&report));
}
