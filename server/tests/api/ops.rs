//! Health and readiness (issue 8): both answer without credentials and stay out of the OpenAPI document;
//! readiness follows the database down (another process holding SQLite's write lock, so the writer cannot
//! commit) and back up, without a restart, while liveness stays up.

use std::time::{Duration, Instant};

use crate::harness::{TestServer, Who};

/// Asks `GET /readyz` until it answers `status`, for at most `within`.
async fn readiness_becomes(server: &TestServer, status: u16, within: Duration) -> crate::harness::Raw {
    let started = Instant::now();
    loop {
        let answer = server.raw("GET", "/readyz", None, &[], None).await;
        if answer.status == status {
            return answer;
        }
        assert!(started.elapsed() < within, "/readyz did not become {status}: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn health_and_readiness_answer_without_credentials_outside_the_openapi_document() {
    let server = TestServer::start().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let answer = server.raw("GET", path, None, &[], None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        assert_eq!(answer.json(), serde_json::json!({ "status": status }), "{path}");
        assert!(answer.headers.contains_key("x-request-id"));
        server.raw("POST", path, None, &[], Some("{}")).await.expect_error(405, "IMG.0001");
    }
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../openapi/ims-tags.json")).expect("JSON");
    let paths = doc["paths"].as_object().expect("paths");
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(!paths.contains_key(path), "{path} is not an operation of the API");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_down_and_back_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_path_buf();
    let server = TestServer::start_with(|config| {
        // SQLite's write lock is what this test takes away; `database_outage` does it for PostgreSQL.
        config.database_url = None;
        config.data_dir = data_dir;
        config.observability.readiness_timeout_ms = 300;
    })
    .await;
    readiness_becomes(&server, 200, Duration::from_secs(5)).await;

    // Another process (a backup tool, a forgotten `sqlite3` shell) takes the database's write lock: the
    // writer can no longer commit, so the service is not ready, though it still lives and reads.
    let other = rusqlite::Connection::open(dir.path().join("ims-tags.sqlite3")).expect("opens");
    other.execute_batch("BEGIN IMMEDIATE").expect("takes the write lock");
    let down = readiness_becomes(&server, 503, Duration::from_secs(10)).await;
    down.expect_error(503, "IMG.0503");
    assert!(down.headers.contains_key("retry-after"));
    assert_eq!(server.raw("GET", "/healthz", None, &[], None).await.status, 200, "the process still answers");
    let read = server.raw("GET", "/v2/images", Some(Who::Owner), &[], None).await;
    assert_eq!(read.status, 200, "reads go on: {}", read.text);

    other.execute_batch("COMMIT").expect("lets go");
    readiness_becomes(&server, 200, Duration::from_secs(15)).await;
    server.p1_image().await;
}
