//! Issue 7 items 4 and 5: one project cannot starve the others (a per-project limit on concurrent expensive
//! reads, with point reads keeping a connection of their own), a query past the time limit is stopped with a
//! retryable answer, and no request can grow a database query past what the database accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ims_tags::domain::query::{QUERY_LIMIT_CEILINGS, QueryLimits};
use ims_tags::seed::{SeedPlan, image};
use serde_json::{Value, json};

use crate::harness::{P1, P2, Raw, TestServer, Who, postgres_admin_url, test_config};

/// `count` images owned by P1, ten tags each (`env`, `team`, `app`, `tier`, `flag-4` ... `flag-9`).
fn p1_images(count: u64) -> Vec<ims_tags::domain::image::NewImage> {
    let plan = SeedPlan { images: count, projects: vec![P1.to_owned()], tags_per_image: 10, first: 0 };
    (0..count).map(|n| image(&plan, n)).collect()
}

/// An op 5 body as expensive as the limits allow, one that examines every image of the project on the backend
/// under test. SQLite: ten `tags_any` and ten `not_tags_any` entries of ten values each, none of which any
/// image has (each image is probed for each entry). PostgreSQL answers those two lists from the tag index
/// without looking at any image, so there: ten `not_tags` entries of ten values each, none of which any image
/// has, whose tags are counted image by image.
fn expensive_query() -> String {
    let keys = ["env", "team", "app", "tier", "flag-4", "flag-5", "flag-6", "flag-7", "flag-8", "flag-9"];
    let entries = |prefix: &str| -> Vec<Value> {
        keys.iter()
            .map(|key| json!({"key": key, "values": (0..10).map(|v| format!("{prefix}{v}")).collect::<Vec<_>>()}))
            .collect()
    };
    if postgres_admin_url().is_some() {
        return json!({"action": "filter", "limit": "10", "not_tags": entries("none-")}).to_string();
    }
    json!({"action": "filter", "limit": "10", "tags_any": entries("none-"), "not_tags_any": entries("nor-")})
        .to_string()
}

/// The status, code and `Retry-After` of an answer: 2xx, or a refusal in the envelope.
fn outcome(r: &Raw) -> (u16, Option<String>, Option<String>) {
    let code = (r.status >= 400).then(|| r.code());
    let retry_after = r.headers.get("retry-after").map(|v| v.to_str().expect("text").to_owned());
    (r.status, code, retry_after)
}

/// A project running expensive op 5 queries at full concurrency (32 at once, each examining 30,000 images)
/// gets its share and 429 `APIGW.0308` with `Retry-After` beyond it, never a 5xx; meanwhile another
/// project's op 9 reads answer within 2 s each (without fair sharing they wait for a connection behind the
/// whole queue, many seconds), and its own op 5 still gets a slot. Default limits throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_project_cannot_starve_the_others() {
    let s = Arc::new(TestServer::start_with_images(|_| {}, p1_images(30_000)).await);
    let light = s.image(Who::Other, json!({"name": "light", "tags": ["a=b"]})).await;
    let stop = Arc::new(AtomicBool::new(false));
    let heavy: Vec<_> = (0..32)
        .map(|_| {
            let (s, stop) = (s.clone(), stop.clone());
            tokio::spawn(async move {
                let path = format!("/v2/{P1}/images/resource_instances/action");
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let r = s.raw("POST", &path, Some(Who::Owner), &[], Some(&expensive_query())).await;
                    outcomes.push(outcome(&r));
                }
                outcomes
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let r = s.raw("GET", &format!("/v2/{P2}/images/{light}/tags"), Some(Who::Other), &[], None).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["tags"], json!([{"key": "a", "value": "b"}]));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let count = json!({"action": "count", "tags": [{"key": "a", "values": []}]}).to_string();
    let r = s
        .raw(
            "POST",
            &format!("/v2/{P2}/images/resource_instances/action"),
            Some(Who::Other),
            &[],
            Some(&count),
        )
        .await;
    let other_expensive = started.elapsed();
    stop.store(true, Ordering::Relaxed);

    let mut outcomes = Vec::new();
    for task in heavy {
        outcomes.extend(task.await.expect("heavy client"));
    }
    println!(
        "other project: slowest op 9 {slowest:?}, op 5 {other_expensive:?}; heavy project: {} answers",
        outcomes.len()
    );
    assert!(slowest < Duration::from_secs(2), "op 9 of the other project took {slowest:?}");
    assert_eq!((r.status, r.json()["total_count"].clone()), (200, json!(1)), "{}", r.text);
    assert!(other_expensive < Duration::from_secs(2), "op 5 of the other project took {other_expensive:?}");
    let served = outcomes.iter().filter(|o| o.0 == 200).count();
    let refused: Vec<_> = outcomes.iter().filter(|o| o.0 != 200).collect();
    println!("heavy project: {served} served, {} refused", refused.len());
    assert!(served > 0, "the heavy project gets its share");
    assert!(!refused.is_empty(), "the heavy project is refused beyond its share");
    for (status, code, retry_after) in refused {
        assert_eq!((*status, code.as_deref()), (429, Some("APIGW.0308")), "never a 5xx");
        assert_eq!(retry_after.as_deref(), Some("1"), "with Retry-After");
    }
}

/// A query that runs past the time limit is stopped: 503 `IMG.0503` with `Retry-After` and a message naming
/// the limit; the connection goes back to the pool and the next reads succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_the_time_limit_is_stopped_and_the_pool_stays_healthy() {
    let s = TestServer::start_with_images(|c| c.query_time_limit_ms = 20, p1_images(20_000)).await;
    let path = format!("/v2/{P1}/images/resource_instances/action");
    let tagged = s.image(Who::Owner, json!({"tags": ["a=b"]})).await;
    for _ in 0..3 {
        let r = s.raw("POST", &path, Some(Who::Owner), &[], Some(&expensive_query())).await;
        assert_eq!(outcome(&r), (503, Some("IMG.0503".into()), Some("1".into())), "{}", r.text);
        assert!(r.text.contains("limit of 20 ms"), "{}", r.text);
        assert_eq!(s.tags(tagged).await, vec![("a".to_owned(), "b".to_owned())], "the next read succeeds");
        let count = json!({"action": "count", "tags": [{"key": "a", "values": ["b"]}]}).to_string();
        let r = s.raw("POST", &path, Some(Who::Owner), &[], Some(&count)).await;
        assert_eq!((r.status, r.json()["total_count"].clone()), (200, json!(1)), "{}", r.text);
    }
}

/// Fair-sharing limits that leave point reads no reader connection are refused at start-up.
#[tokio::test]
async fn limits_that_leave_point_reads_no_connection_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path()).await;
    // The connections that serve reads: SQLite's readers, or the PostgreSQL pool.
    config.sqlite_readers = 3;
    config.postgres.pool_size = 3;
    let refused = ims_tags::server::Server::start(&config).await.err().map(|e| e.to_string());
    assert!(refused.as_deref().is_some_and(|e| e.contains("expensive_reads (3)")), "{refused:?}");
    config.fair_sharing.expensive_reads = 2;
    let server = ims_tags::server::Server::start(&config).await.expect("starts");
    server.stop().await.expect("stops");
}

fn repeated(name: impl Fn(usize) -> String, count: usize) -> String {
    (0..count).map(|i| format!("{}=v", name(i))).collect::<Vec<_>>().join("&")
}

/// About 1,000 filter terms in a 9 KB URL (repeated `tag=` on both list operations, property filters on op 4)
/// are 400 `IMG.0001` naming the cap; the cap itself is accepted.
#[tokio::test]
async fn filter_terms_beyond_the_cap_are_400() {
    let s = TestServer::start().await;
    let tag = |i: usize| format!("tag=k{i}");
    let property = |i: usize| format!("__p{i}");
    for path in [
        format!("/v2/images?{}", (0..1000).map(tag).collect::<Vec<_>>().join("&")),
        format!("/v1/cloudimages/tags?{}", (0..1000).map(tag).collect::<Vec<_>>().join("&")),
        format!("/v1/cloudimages/tags?{}", repeated(property, 1000)),
        format!(
            "/v1/cloudimages/tags?{}&{}",
            (0..30).map(tag).collect::<Vec<_>>().join("&"),
            repeated(property, 21)
        ),
    ] {
        let r = s.raw("GET", &path, Some(Who::Owner), &[], None).await;
        r.expect_error(400, "IMG.0001");
        assert!(r.text.contains("At most 50 filter terms"), "{}", r.text);
    }
    for path in [
        format!("/v2/images?{}", (0..50).map(tag).collect::<Vec<_>>().join("&")),
        format!(
            "/v1/cloudimages/tags?{}&{}",
            (0..25).map(tag).collect::<Vec<_>>().join("&"),
            repeated(property, 25)
        ),
    ] {
        let r = s.raw("GET", &path, Some(Who::Owner), &[], None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
}

/// Sends the largest requests `limits` allow: an op 5 body with every list full (`entries` entries of
/// `values` values, keys and values `text_len` characters long, both `matches` keys) for `count` and
/// `filter`, with and without `matches`; and `max_filter_terms` filter terms on both list operations. Each is
/// answered 200.
async fn largest_requests_are_answered(s: &TestServer, limits: QueryLimits, text_len: usize) {
    let text = |prefix: &str, i: usize| format!("{prefix}{i:03}{}", "x".repeat(text_len - 4));
    let list = |prefix: &str| -> Vec<Value> {
        (0..limits.max_entries)
            .map(|k| {
                let values: Vec<String> = (0..limits.max_values).map(|v| text("v", v)).collect();
                json!({"key": text(prefix, k), "values": values})
            })
            .collect()
    };
    let path = format!("/v2/{P1}/images/resource_instances/action");
    for action in ["count", "filter"] {
        for with_matches in [false, true] {
            let mut body = json!({
                "action": action, "limit": 1000, "offset": 0,
                "tags": list("a"), "tags_any": list("b"), "not_tags": list("c"), "not_tags_any": list("d"),
            });
            if with_matches {
                body["matches"] = json!([
                    {"key": "resource_name", "value": text("n", 0)},
                    {"key": "resource_id", "value": text("i", 0)},
                ]);
            }
            let r = s.raw("POST", &path, Some(Who::Owner), &[], Some(&body.to_string())).await;
            assert_eq!(r.status, 200, "{action} {with_matches}: {}", r.text);
            assert_eq!(r.json()["total_count"], 0);
        }
    }
    let terms = limits.max_filter_terms;
    let tags = |n: usize| (0..n).map(|i| format!("tag=k{i}")).collect::<Vec<_>>().join("&");
    for path in [
        format!("/v2/images?{}", tags(terms)),
        format!("/v1/cloudimages/tags?{}", tags(terms)),
        format!("/v1/cloudimages/tags?{}", repeated(|i| format!("__p{i}"), terms)),
        format!(
            "/v1/cloudimages/tags?{}&{}",
            tags(terms / 2),
            repeated(|i| format!("__p{i}"), terms - terms / 2)
        ),
    ] {
        let r = s.raw("GET", &path, Some(Who::Owner), &[], None).await;
        assert_eq!(r.status, 200, "{} terms: {}", terms, r.text);
    }
}

/// The largest requests the default limits allow (an op 5 body of 4 x 10 entries of 10 values, keys and
/// values of 255 characters; 50 filter terms) are answered.
#[tokio::test]
async fn the_largest_valid_requests_are_answered() {
    let s = TestServer::start_with_images(|_| {}, p1_images(200)).await;
    let limits = QueryLimits::default();
    assert_eq!((limits.max_entries, limits.max_values, limits.max_filter_terms), (10, 10, 50));
    largest_requests_are_answered(&s, limits, 255).await;
}

/// So are the largest requests of a configuration at the ceilings a configuration may set (50 entries of 50
/// values, 500 filter terms); a configuration beyond them is refused at start-up.
#[tokio::test]
async fn limits_at_their_ceilings_still_give_queries_the_database_accepts() {
    let (max_entries, max_values, max_filter_terms) = QUERY_LIMIT_CEILINGS;
    let ceilings = QueryLimits { max_entries, max_values, max_filter_terms, ..QueryLimits::default() };
    let s = TestServer::start_with_images(|c| c.query_limits = ceilings, p1_images(200)).await;
    largest_requests_are_answered(&s, ceilings, 8).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path()).await;
    config.query_limits = QueryLimits { max_filter_terms: max_filter_terms + 1, ..ceilings };
    let refused = ims_tags::server::Server::start(&config).await.err().map(|e| e.to_string());
    assert!(refused.as_deref().is_some_and(|e| e.contains("max_filter_terms (501)")), "{refused:?}");
}
