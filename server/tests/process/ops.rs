//! Operating the real binary (issue 8): `/metrics` counts every request under its OpenAPI operation id and
//! status, times it in a histogram and exposes the connection, body-memory, fair-share and SQLite gauges (one
//! process, so every count is exact), or on PostgreSQL the pool's; `--log-format json` writes one JSON object per line, with a `request`
//! line per request carrying its id, operation, method, path, status, latency, caller and project, and no
//! secret.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use ims_tags_signing::{Credentials, RequestToSign, sign_request};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{AK, PROJECT, SK, TOKEN, create_image, http, start, start_with_args, status_of};

/// One sample of the Prometheus text exposition.
#[derive(Debug)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) value: f64,
}

/// The labels inside `{...}`: `name="value"` pairs, values with `\\`, `\"` and `\n` escapes.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closed label value") {
                (_, '\\') => match chars.next().expect("an escape").1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (at, '"') => break at,
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.trim_start_matches(',').to_owned(), value);
        rest = &after[end + 1..];
    }
    labels
}

/// The samples of an exposition (comments and blank lines skipped).
fn parse_exposition(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample: {line:?}"));
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => {
                    (name, parse_labels(labels.strip_suffix('}').expect("closed labels")))
                }
                None => (series, BTreeMap::new()),
            };
            let value = value.parse().unwrap_or_else(|_| panic!("a number: {line:?}"));
            Sample { name: name.to_owned(), labels, value }
        })
        .collect()
}

/// The value of the series with exactly these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> =
        labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    samples.iter().find(|s| s.name == name && s.labels == wanted).map(|s| s.value)
}

/// The content type and samples of the server's `/metrics`.
pub(super) async fn scrape(client: &reqwest::Client, base: &str) -> (String, Vec<Sample>) {
    let r = client.get(format!("{base}/metrics")).send().await.expect("scraped");
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().expect("text").to_owned();
    let text = r.text().await.expect("body");
    let samples = parse_exposition(&text);
    (content_type, samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_request_by_operation_and_status_and_expose_the_gauges() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start(dir.path(), &[], None);
    let (base, client) = (server.base(), http());
    let mut image = String::new();
    for n in 0..3 {
        image = create_image(&client, &base, &format!("m-{n}")).await.expect("created");
    }
    let missing = format!("{base}/v2/images/00000000-0000-4000-8000-00000000dead");
    for _ in 0..2 {
        let r = client.get(&missing).header("x-auth-token", TOKEN).send().await.expect("answered");
        assert_eq!(r.status(), 404);
    }
    assert_eq!(client.get(&missing).send().await.expect("answered").status(), 401);
    assert_eq!(client.get(format!("{base}/nowhere")).send().await.expect("answered").status(), 404);
    // Op 8 for the key `action` (a route outside the document) counts as op 8.
    let action = format!("{base}/v2/{PROJECT}/images/{image}/tags/action");
    let r = client.delete(&action).header("x-auth-token", TOKEN).send().await.expect("answered");
    assert_eq!(r.status(), 404, "the image has no key `action`");
    // A request hyper cannot parse: answered 400, and its connection ends with an error.
    let mut raw = TcpStream::connect(&server.addr).await.expect("connects");
    raw.write_all(b"GET /versions HTTP/9.9\r\nHost: x\r\n\r\n").await.expect("writes");
    assert_eq!(status_of(&mut raw).await, Some(400));
    drop(raw);

    let (content_type, samples) = scrape(&client, &base).await;
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let requests = |operation: &str, status: &str| {
        value(&samples, "ims_tags_http_requests_total", &[("operation", operation), ("status", status)])
    };
    assert_eq!(requests("glance_create_image", "201"), Some(3.0));
    assert_eq!(requests("glance_show_image", "404"), Some(2.0));
    assert_eq!(requests("glance_show_image", "401"), Some(1.0), "refused before its handler, still counted");
    assert_eq!(requests("unmatched", "404"), Some(1.0));
    assert_eq!(requests("delete_image_tag", "404"), Some(1.0));
    assert_eq!(requests("unmatched", "400"), Some(1.0), "hyper's own answer");
    assert_eq!(requests("glance_show_image", "200"), None, "no such request was made");

    // Latency: a histogram per operation, cumulative buckets ending in +Inf = count.
    let duration = "ims_tags_http_request_duration_seconds";
    let create = [("operation", "glance_create_image")];
    assert_eq!(value(&samples, &format!("{duration}_count"), &create), Some(3.0));
    assert!(value(&samples, &format!("{duration}_sum"), &create).is_some_and(|s| s > 0.0));
    let buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.name == format!("{duration}_bucket") && s.labels["operation"] == "glance_create_image")
        .map(|s| (s.labels["le"].parse::<f64>().expect("le"), s.value))
        .collect();
    assert!(buckets.len() >= 10, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "cumulative: {buckets:?}");
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 3.0)));

    // The gauges, at rest: nothing queued, waiting or held.
    for (name, expected) in [
        ("ims_tags_sqlite_readers", 4.0),
        ("ims_tags_sqlite_readers_in_use", 0.0),
        ("ims_tags_sqlite_readers_waiting", 0.0),
        ("ims_tags_sqlite_writer_queue_depth", 0.0),
        ("ims_tags_fair_share_slots", 3.0),
        ("ims_tags_fair_share_slots_in_use", 0.0),
        ("ims_tags_http_body_memory_bytes", 0.0),
        ("ims_tags_http_body_memory_budget_bytes", 32.0 * 1024.0 * 1024.0),
    ] {
        assert_eq!(value(&samples, name, &[]), Some(expected), "{name}");
    }
    assert!(value(&samples, "ims_tags_http_connections_max", &[]).is_some_and(|max| max >= 16.0));
    assert!(
        value(&samples, "ims_tags_http_connections_open", &[]).is_some_and(|open| open >= 1.0),
        "this scrape"
    );
    assert_eq!(value(&samples, "ims_tags_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), Some(1.0));
    for reason in ["project_share", "busy"] {
        assert_eq!(value(&samples, "ims_tags_fair_share_refusals_total", &[("reason", reason)]), Some(0.0));
    }
    // Four writes (three creations, the failed delete), in one or more groups.
    let groups = value(&samples, "ims_tags_sqlite_write_group_size_count", &[]).expect("group sizes");
    let writes = value(&samples, "ims_tags_sqlite_write_group_size_sum", &[]).expect("group sizes");
    assert!((1.0..=4.0).contains(&groups) && writes == 4.0, "{groups} groups of {writes} writes");

    // The unparsable request's connection, once closed, is counted under `error`.
    let started = Instant::now();
    loop {
        let (_, samples) = scrape(&client, &base).await;
        if value(&samples, "ims_tags_http_connections_closed_total", &[("reason", "error")]) == Some(1.0) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the closed connection is counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_when_switched_off() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start(dir.path(), &[("IMS_TAGS_OBSERVABILITY__METRICS", "false")], None);
    let r = http().get(format!("{}/metrics", server.base())).send().await.expect("answered");
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.expect("envelope");
    assert_eq!(body["error"]["code"], "APIGW.0101");
}

/// The headers of a GET signed with the test AK/SK.
fn signed(addr: &str, path: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let request =
        RequestToSign { method: &Method::GET, host: addr, raw_path: path, raw_query: None, body: b"" };
    sign_request(&Credentials::new(AK, SK), &request, &mut headers, SystemTime::now()).expect("signed");
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_have_a_line_per_request_with_its_fields_and_no_secret() {
    let dir = tempfile::tempdir().expect("dir");
    let settings = [("RUST_LOG", "debug,hyper=info,hyper_util=info")];
    let mut server = start_with_args(dir.path(), &settings, None, &["--log-format", "json"]);
    let (base, client) = (server.base(), http());

    let r = client
        .post(format!("{base}/v2/images"))
        .header("x-auth-token", TOKEN)
        .body(r#"{"name": "logged"}"#)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 201);
    let created_id = r.headers()["x-request-id"].to_str().expect("id").to_owned();
    let r = client.get(format!("{base}/v2/images")).headers(signed(&server.addr, "/v2/images")).send().await;
    let r = r.expect("answered");
    assert_eq!(r.status(), 200);
    let listed_id = r.headers()["x-request-id"].to_str().expect("id").to_owned();
    let r = client.get(format!("{base}/v2/images")).header("x-auth-token", "not-a-token").send().await;
    let refused_id = r.expect("answered").headers()["x-request-id"].to_str().expect("id").to_owned();

    server.signal("TERM");
    let exited = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(15)));
    assert!(exited.is_some(), "the server stops");
    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    for line in &lines {
        assert!(line["timestamp"].is_string() && line["level"].is_string(), "{line}");
    }
    assert!(lines.iter().any(|l| l["message"] == "authenticated"), "debug events are written too");
    let request = |id: &str| {
        let found: Vec<&Value> =
            lines.iter().filter(|l| l["message"] == "request" && l["request_id"] == id).collect();
        assert_eq!(found.len(), 1, "one line for request {id}");
        found[0].clone()
    };
    let created = request(&created_id);
    assert_eq!(created["operation"], "glance_create_image");
    assert_eq!(created["method"], "POST");
    assert_eq!(created["path"], "/v2/images");
    assert_eq!(created["status"], 201);
    assert!(created["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{created}");
    assert_eq!(created["caller"], "token:t");
    assert_eq!(created["project"], PROJECT);
    let listed = request(&listed_id);
    assert_eq!((&listed["operation"], &listed["status"]), (&"glance_list_images".into(), &200.into()));
    assert_eq!(listed["caller"], format!("ak:{AK}"));
    assert_eq!(listed["project"], PROJECT);
    let refused = request(&refused_id);
    assert_eq!(refused["status"], 401);
    assert!(refused.get("caller").is_none() && refused.get("project").is_none(), "{refused}");

    for secret in [TOKEN, SK] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

/// On PostgreSQL (`IMS_TAGS_TEST_POSTGRES`, as `scripts/test` runs it) the pool's state is in `/metrics`:
/// its cap follows `postgres.pool_size`, it holds at least the connection the requests used and at most the
/// cap, and at rest nothing is taken or waited for. The gauges are sampled each second, hence the polling.
/// On SQLite there is no pool, and the test has nothing to do (the SQLite gauges are checked above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_pool_state_is_in_the_metrics() {
    let Ok(admin) = std::env::var("IMS_TAGS_TEST_POSTGRES") else {
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (db, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("connects");
    tokio::spawn(connection);
    db.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("schema");
    let url = format!("{admin}?options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().expect("dir");
    let server =
        start(dir.path(), &[("IMS_TAGS_DATABASE_URL", &url), ("IMS_TAGS_POSTGRES__POOL_SIZE", "5")], None);
    let (client, base) = (http(), server.base());
    for n in 0..3 {
        create_image(&client, &base, &format!("pool-{n}")).await.expect("created");
    }
    let started = Instant::now();
    let gauges = loop {
        let (_, samples) = scrape(&client, &base).await;
        let gauges = [
            "ims_tags_postgres_pool_connections_max",
            "ims_tags_postgres_pool_connections",
            "ims_tags_postgres_pool_in_use",
            "ims_tags_postgres_pool_waiting",
        ]
        .map(|name| value(&samples, name, &[]));
        if gauges[1].is_some_and(|open| open >= 1.0) && gauges[2] == Some(0.0) {
            break gauges;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the pool's gauges are reported: {gauges:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let [max, open, in_use, waiting] = gauges;
    assert_eq!(max, Some(5.0), "the cap is postgres.pool_size");
    assert!(open.is_some_and(|open| (1.0..=5.0).contains(&open)), "{open:?} connections open");
    assert_eq!((in_use, waiting), (Some(0.0), Some(0.0)), "at rest");
    assert_eq!(
        value(&(scrape(&client, &base).await.1), "ims_tags_sqlite_readers", &[]),
        None,
        "no SQLite store"
    );
    drop(server);
    db.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("dropped");
}
