//! Issue 8: rules that span requests hold across replicas, because the database transaction enforces them.
//! On PostgreSQL (`IMS_TAGS_TEST_POSTGRES`) two replicas serve one database and the racing requests are
//! spread over both; on SQLite the one server takes them all (its single writer gives the same guarantees).
//! Outcomes are checked through the API and, for orphans, in the tables themselves.

use std::sync::Arc;

use ims_tags::store::Database;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{P1, Raw, TestServer, Who, count_rows};

/// The replicas of one database: two on PostgreSQL, the one server on SQLite.
async fn replicas() -> Vec<Arc<TestServer>> {
    let first = TestServer::start().await;
    let second = first.second_replica().await;
    std::iter::once(first).chain(second).map(Arc::new).collect()
}

/// Sends `count` requests at once, request `n` through replica `n % replicas`, and gathers the answers in
/// request order.
async fn race(
    replicas: &[Arc<TestServer>],
    count: usize,
    request: impl Fn(usize) -> (&'static str, String, Option<Value>),
) -> Vec<Raw> {
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let server = replicas[n % replicas.len()].clone();
            let (method, path, body) = request(n);
            tokio::spawn(async move {
                let body = body.map(|b| b.to_string());
                server.raw(method, &path, Some(Who::Owner), &[], body.as_deref()).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(count);
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// 64 concurrent adds of distinct keys to one image, spread over the replicas, give exactly 10 successes
/// (the quota) and 54 `IMG.0116`; both replicas then show the same 10 tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quota_holds_across_replicas() {
    let replicas = replicas().await;
    let image = replicas[0].p1_image().await;
    let answers = race(&replicas, 64, |n| {
        (
            "POST",
            format!("/v2/{P1}/images/{image}/tags"),
            Some(json!({"tag": {"key": format!("k{n}"), "value": "v"}})),
        )
    })
    .await;
    let accepted: Vec<usize> = (0..64).filter(|n| answers[*n].status == 204).collect();
    assert_eq!(accepted.len(), 10, "{answers:?}");
    for refused in answers.iter().filter(|a| a.status != 204) {
        refused.expect_error(400, "IMG.0116");
    }
    let expected: Vec<(String, String)> = {
        let mut keys: Vec<String> = accepted.iter().map(|n| format!("k{n}")).collect();
        keys.sort();
        keys.into_iter().map(|k| (k, "v".to_owned())).collect()
    };
    for server in &replicas {
        assert_eq!(server.tags(image).await, expected, "every replica sees the accepted tags");
    }
    println!("{} replica(s): 64 concurrent adds, 10 accepted", replicas.len());
}

/// Racing op 6 batches never leave a partial batch. Quota: 16 batches of three new keys race for an empty
/// image; exactly three fit (nine tags), and the image holds exactly their keys. Values: 16 batches setting
/// the same four keys, each to its own value, race with 8 batches deleting them and with readers on every
/// replica; every state anyone sees, and the final one, is no keys or the four keys with one batch's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_batches_are_all_or_nothing_across_replicas() {
    let replicas = replicas().await;
    let action = |image: Uuid| format!("/v2/{P1}/images/{image}/tags/action");

    let image = replicas[0].p1_image().await;
    let answers = race(&replicas, 16, |n| {
        let tags: Vec<Value> =
            ["x", "y", "z"].iter().map(|k| json!({"key": format!("b{n}-{k}"), "value": "v"})).collect();
        ("POST", action(image), Some(json!({"action": "create", "tags": tags})))
    })
    .await;
    let accepted: Vec<usize> = (0..16).filter(|n| answers[*n].status == 204).collect();
    assert_eq!(accepted.len(), 3, "three batches of three fit the quota of ten: {answers:?}");
    for refused in answers.iter().filter(|a| a.status != 204) {
        refused.expect_error(400, "IMG.0116");
    }
    let mut expected: Vec<(String, String)> = accepted
        .iter()
        .flat_map(|n| ["x", "y", "z"].map(|k| (format!("b{n}-{k}"), "v".to_owned())))
        .collect();
    expected.sort();
    for server in &replicas {
        assert_eq!(server.tags(image).await, expected, "the accepted batches, whole, and nothing else");
    }

    let image = replicas[0].p1_image().await;
    let keys = ["a", "b", "c", "d"];
    let whole = |tags: &[(String, String)]| {
        tags.is_empty()
            || (tags.len() == keys.len()
                && tags.iter().zip(keys).all(|((k, _), key)| k == key)
                && tags.iter().all(|(_, v)| *v == tags[0].1))
    };
    let readers: Vec<_> = (0..4)
        .map(|n| {
            let server = replicas[n % replicas.len()].clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..20 {
                    seen.push(server.tags(image).await);
                }
                seen
            })
        })
        .collect();
    let answers = race(&replicas, 24, |n| {
        if n % 3 == 2 {
            let tags: Vec<Value> = keys.iter().map(|k| json!({"key": k})).collect();
            ("POST", action(image), Some(json!({"action": "delete", "tags": tags})))
        } else {
            let tags: Vec<Value> = keys.iter().map(|k| json!({"key": k, "value": format!("v{n}")})).collect();
            ("POST", action(image), Some(json!({"action": "create", "tags": tags})))
        }
    })
    .await;
    for answer in &answers {
        assert_eq!(answer.status, 204, "{}", answer.text);
    }
    for reader in readers {
        for seen in reader.await.expect("reader") {
            assert!(whole(&seen), "a reader saw a partial batch: {seen:?}");
        }
    }
    for server in &replicas {
        let last = server.tags(image).await;
        assert!(whole(&last), "the last state is whole: {last:?}");
    }
}

/// An image deleted while concurrent requests tag it leaves no tag behind: each tag write is either done
/// before the delete (204) or finds the image gone (404 `IMG.0144`), and the tables hold no tag (nor, on
/// PostgreSQL, no directory entry) without its image. Eight rounds, requests spread over the replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_image_while_tagging_it_leaves_no_orphan_tags() {
    let replicas = replicas().await;
    let mut deleted = Vec::new();
    for round in 0..8 {
        let image = replicas[0].image(Who::Owner, json!({"tags": ["seed=1"]})).await;
        // Nine tag writes (with the seed tag, the quota) and the delete, at a different place each round.
        let delete_at = 1 + round;
        let answers = race(&replicas, 10, |n| {
            if n == delete_at {
                ("DELETE", format!("/v2/images/{image}"), None)
            } else {
                let tag = json!({"tag": {"key": format!("k{n}"), "value": "v"}});
                ("POST", format!("/v2/{P1}/images/{image}/tags"), Some(tag))
            }
        })
        .await;
        assert_eq!(answers[delete_at].status, 204, "{}", answers[delete_at].text);
        for (n, answer) in answers.iter().enumerate().filter(|(n, _)| *n != delete_at) {
            if answer.status != 204 {
                answer.expect_error(404, "IMG.0144");
            }
            assert!(answer.status == 204 || answer.status == 404, "request {n}: {}", answer.text);
        }
        for server in replicas.iter() {
            let gone = server.raw("GET", &format!("/v2/images/{image}"), Some(Who::Owner), &[], None).await;
            gone.expect_error(404, "IMG.0144");
        }
        deleted.push(image);
    }
    let config = &replicas[0].config;
    let orphans = count_rows(
        config,
        "SELECT COUNT(*) FROM image_tags t WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.id = t.image_id)",
    )
    .await;
    assert_eq!(orphans, 0, "tags without their image");
    for image in &deleted {
        let left =
            count_rows(config, &format!("SELECT COUNT(*) FROM image_tags WHERE image_id = '{image}'")).await;
        assert_eq!(left, 0, "tags of the deleted image {image}");
    }
    if let Database::Postgres(_) = config.database().expect("a database") {
        let stray = count_rows(
            config,
            "SELECT COUNT(*) FROM image_directory d WHERE NOT EXISTS \
             (SELECT 1 FROM images i WHERE i.owner = d.owner AND i.id = d.id)",
        )
        .await;
        assert_eq!(stray, 0, "directory entries without their image");
    }
}

/// Creating one image id at once through every replica, by two projects, gives one 201 and 409s: ids are
/// unique across projects and replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_id_is_created_once_across_replicas() {
    let replicas = replicas().await;
    let id = Uuid::new_v4();
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let server = replicas[n % replicas.len()].clone();
            let who = if n % 4 == 3 { Who::Other } else { Who::Owner };
            tokio::spawn(async move {
                let body = json!({"id": id, "name": format!("n{n}")}).to_string();
                server.raw("POST", "/v2/images", Some(who), &[], Some(&body)).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let answer = task.await.expect("request task");
        if answer.status == 201 {
            created += 1;
        } else {
            answer.expect_error(409, "IMG.0001");
        }
    }
    assert_eq!(created, 1);
}
