//! Ops 5 to 10, the IMS v2 tag operations.

use ims_tags_client::types;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{P1, P2, TestServer, Who, client_error, pairs};

fn ims_tag(key: &str, value: &str) -> types::ImsTag {
    types::ImsTag::builder().key(key).value(value).try_into().expect("a valid IMS tag")
}

async fn add(s: &TestServer, image: Uuid, key: &str, value: &str) -> Result<(), (u16, String)> {
    s.client(Who::Owner)
        .add_image_tag()
        .project_id(P1)
        .image_id(image.to_string())
        .body(types::AddImageTagRequest { tag: ims_tag(key, value) })
        .send()
        .await
        .map(|_| ())
        .map_err(|e| client_error::<()>(Err(e)))
}

async fn batch(s: &TestServer, image: Uuid, body: Value) -> crate::harness::Raw {
    s.raw(
        "POST",
        &format!("/v2/{P1}/images/{image}/tags/action"),
        Some(Who::Owner),
        &[],
        Some(&body.to_string()),
    )
    .await
}

#[tokio::test]
async fn add_update_list_and_delete_one_tag() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    add(&s, image, "env", "prod").await.expect("added");
    add(&s, image, "a", "").await.expect("added");
    add(&s, image, "env", "prod").await.expect("same key and value is a no-op");
    add(&s, image, "env", "dev").await.expect("updated");
    assert_eq!(s.tags(image).await, pairs(&[("a", ""), ("env", "dev")]), "sorted by key");
    let client = s.client(Who::Owner);
    client
        .delete_image_tag()
        .project_id(P1)
        .image_id(image.to_string())
        .key("env")
        .send()
        .await
        .expect("204");
    assert_eq!(s.tags(image).await, pairs(&[("a", "")]));
    let missing =
        client.delete_image_tag().project_id(P1).image_id(image.to_string()).key("env").send().await;
    assert_eq!(client_error(missing), (404, "IMG.0115".to_string()));
}

#[tokio::test]
async fn add_refuses_invalid_tags_at_the_limits() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let post = |body: Value| {
        let s = &s;
        async move {
            s.raw(
                "POST",
                &format!("/v2/{P1}/images/{image}/tags"),
                Some(Who::Owner),
                &[],
                Some(&body.to_string()),
            )
            .await
        }
    };
    assert_eq!(post(json!({"tag": {"key": "k".repeat(36), "value": "v".repeat(43)}})).await.status, 204);
    post(json!({"tag": {"key": "k".repeat(37), "value": ""}})).await.expect_error(400, "IMG.0115");
    post(json!({"tag": {"key": "k", "value": "v".repeat(44)}})).await.expect_error(400, "IMG.0115");
    post(json!({"tag": {"key": "", "value": "v"}})).await.expect_error(400, "IMG.0115");
    post(json!({"tag": {"key": "a.b", "value": "v"}})).await.expect_error(400, "IMG.0115");
    post(json!({"tag": {"key": "k"}})).await.expect_error(400, "IMG.0001");
    post(json!({"tag": "k.v"})).await.expect_error(400, "IMG.0001");
    post(json!({})).await.expect_error(400, "IMG.0001");
    s.raw("POST", &format!("/v2/{P1}/images/{image}/tags"), Some(Who::Owner), &[], None)
        .await
        .expect_error(400, "IMG.0007");
    assert_eq!(s.tags(image).await.len(), 1, "only the valid tag was written");
}

#[tokio::test]
async fn delete_by_key_accepts_any_stored_key() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let client = s.client(Who::Owner);
    for key in ["my key/é", "a+b", "中文", "action", "resource_instances"] {
        client.glance_create_tag().image_id(image.to_string()).tag(key).send().await.expect("added natively");
    }
    for key in ["my key/é", "a+b", "中文", "resource_instances"] {
        client
            .delete_image_tag()
            .project_id(P1)
            .image_id(image.to_string())
            .key(key)
            .send()
            .await
            .expect("deleted");
    }
    let r =
        s.raw("DELETE", &format!("/v2/{P1}/images/{image}/tags/action"), Some(Who::Owner), &[], None).await;
    assert_eq!(r.status, 204, "a key named `action` can be deleted: {}", r.text);
    assert!(s.tags(image).await.is_empty());
    let r = s
        .raw(
            "DELETE",
            &format!("/v2/{P1}/images/{image}/tags/{}", "k".repeat(256)),
            Some(Who::Owner),
            &[],
            None,
        )
        .await;
    r.expect_error(400, "IMG.0115");
}

#[tokio::test]
async fn list_image_tags_of_a_public_image_of_another_project() {
    let s = TestServer::start().await;
    let public = s.image(Who::Other, json!({"visibility": "public", "tags": ["os=linux"]})).await;
    let private = s.image(Who::Other, json!({"tags": ["secret=1"]})).await;
    let client = s.client(Who::Owner);
    let list =
        client.list_image_tags().project_id(P1).image_id(public.to_string()).send().await.expect("visible");
    assert_eq!(
        list.into_inner().tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect::<Vec<_>>(),
        vec![("os", "linux")]
    );
    let hidden = client.list_image_tags().project_id(P1).image_id(private.to_string()).send().await;
    assert_eq!(client_error(hidden), (404, "IMG.0144".to_string()), "never disclosed");
    // The document types the id as a UUID, so the generated client refuses "nope" before sending; the server
    // answers a malformed id as an unknown image.
    assert!(client.list_image_tags().project_id(P1).image_id("nope").send().await.is_err());
    s.raw("GET", &format!("/v2/{P1}/images/nope/tags"), Some(Who::Owner), &[], None)
        .await
        .expect_error(404, "IMG.0144");
}

#[tokio::test]
async fn batch_create_is_all_or_nothing() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["keep"]})).await;
    let client = s.client(Who::Owner);
    client
        .batch_add_or_delete_tags()
        .project_id(P1)
        .image_id(image.to_string())
        .body(types::BatchAddOrDeleteTagsRequest {
            action: types::BatchAction::Create,
            tags: vec![
                types::BatchTag {
                    key: "env".try_into().expect("key"),
                    value: Some("prod".try_into().expect("value")),
                },
                types::BatchTag {
                    key: "team".try_into().expect("key"),
                    value: Some("".try_into().expect("value")),
                },
            ],
        })
        .send()
        .await
        .expect("204");
    assert_eq!(s.tags(image).await, pairs(&[("env", "prod"), ("keep", ""), ("team", "")]));
    let refused = [
        json!({"action": "create", "tags": [{"key": "new", "value": "1"}, {"key": "bad key", "value": "x"}]}),
        json!({"action": "create", "tags": [{"key": "new", "value": "1"}, {"key": "novalue"}]}),
        json!({"action": "create", "tags": [{"key": "new", "value": "1"}, {"key": "new", "value": "2"}]}),
        json!({"action": "create", "tags": []}),
    ];
    for body in refused {
        batch(&s, image, body.clone()).await.expect_error(400, "IMG.0115");
    }
    batch(&s, image, json!({"action": "Create", "tags": [{"key": "a", "value": "b"}]}))
        .await
        .expect_error(400, "IMG.0001");
    batch(&s, image, json!({"action": "create"})).await.expect_error(400, "IMG.0001");
    let eight: Vec<Value> = (0..8).map(|i| json!({"key": format!("n{i}"), "value": ""})).collect();
    batch(&s, image, json!({"action": "create", "tags": eight})).await.expect_error(400, "IMG.0116");
    assert_eq!(
        s.tags(image).await,
        pairs(&[("env", "prod"), ("keep", ""), ("team", "")]),
        "nothing was written"
    );
}

#[tokio::test]
async fn batch_delete_ignores_missing_keys_and_values() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["env=prod", "team", "other key"]})).await;
    let r = batch(&s, image, json!({"action": "delete", "tags": [{"key": "env", "value": "not-compared"}, {"key": "missing"}, {"key": "other key"}]})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(s.tags(image).await, pairs(&[("team", "")]));
    batch(&s, image, json!({"action": "delete", "tags": [{"key": "k".repeat(256)}]}))
        .await
        .expect_error(400, "IMG.0115");
    batch(&s, image, json!({"action": "delete", "tags": [{"key": "a"}, {"key": "a"}]}))
        .await
        .expect_error(400, "IMG.0115");
}

#[tokio::test]
async fn the_quota_counts_tags_from_every_path() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["c0", "c1"]})).await;
    let client = s.client(Who::Owner);
    for i in 0..2 {
        client
            .glance_create_tag()
            .image_id(image.to_string())
            .tag(format!("n{i}"))
            .send()
            .await
            .expect("native");
    }
    for i in 0..2 {
        let body = json!({"image_id": image, "tag": format!("v{i}.x")}).to_string();
        assert_eq!(
            s.raw("PUT", "/v1/cloudimages/tags", Some(Who::Owner), &[], Some(&body)).await.status,
            204
        );
    }
    for i in 0..2 {
        add(&s, image, &format!("a{i}"), "").await.expect("op 7");
    }
    let two: Vec<Value> = (0..2).map(|i| json!({"key": format!("b{i}"), "value": ""})).collect();
    assert_eq!(batch(&s, image, json!({"action": "create", "tags": two})).await.status, 204);
    assert_eq!(s.tags(image).await.len(), 10);
    assert_eq!(add(&s, image, "eleventh", "").await, Err((400, "IMG.0116".to_string())));
    let body = json!({"image_id": image, "tag": "eleventh"}).to_string();
    s.raw("PUT", "/v1/cloudimages/tags", Some(Who::Owner), &[], Some(&body))
        .await
        .expect_error(400, "IMG.0116");
    batch(&s, image, json!({"action": "create", "tags": [{"key": "eleventh", "value": ""}]}))
        .await
        .expect_error(400, "IMG.0116");
    let native = client.glance_create_tag().image_id(image.to_string()).tag("eleventh").send().await;
    assert_eq!(client_error(native), (413, "IMG.0116".to_string()));
    add(&s, image, "a0", "changed").await.expect("updating an existing key at the quota is fine");
    let mixed =
        json!({"action": "create", "tags": [{"key": "a1", "value": "x"}, {"key": "b0", "value": "y"}]});
    assert_eq!(batch(&s, image, mixed).await.status, 204, "re-adds never count");
    assert_eq!(s.tags(image).await.len(), 10);
}

#[tokio::test]
async fn quota_is_a_config_setting() {
    let s = TestServer::start_with(|c| c.limits.tags_per_image = 2).await;
    let image = s.image(Who::Owner, json!({"tags": ["a", "b"]})).await;
    assert_eq!(add(&s, image, "c", "").await, Err((400, "IMG.0116".to_string())));
    let r = s
        .raw("POST", "/v2/images", Some(Who::Owner), &[], Some(&json!({"tags": ["a", "b", "c"]}).to_string()))
        .await;
    r.expect_error(413, "IMG.0116");
}

#[tokio::test]
async fn list_images_tags_aggregates_the_project() {
    let s = TestServer::start().await;
    s.image(Who::Owner, json!({"tags": ["env=prod", "team", "k=b"]})).await;
    s.image(Who::Owner, json!({"tags": ["env=dev", "k=a", "team"]})).await;
    s.image(Who::Owner, json!({"tags": ["env"]})).await;
    s.image(Who::Other, json!({"visibility": "public", "tags": ["foreign=1"]})).await;
    let list = s.client(Who::Owner).list_images_tags().project_id(P1).send().await.expect("200").into_inner();
    let got: Vec<(String, Vec<String>)> = list.tags.into_iter().map(|t| (t.key, t.values)).collect();
    let want = vec![
        ("env".to_string(), vec!["".to_string(), "dev".into(), "prod".into()]),
        ("k".to_string(), vec!["a".to_string(), "b".into()]),
        ("team".to_string(), vec!["".to_string()]),
    ];
    assert_eq!(got, want, "owned images only; a key-only tag contributes \"\"");
    let other = s.client(Who::Owner).list_images_tags().project_id(P2).send().await;
    assert_eq!(client_error(other), (403, "IMG.0026".to_string()), "P2 is out of the owner's scope");
}

/// Images for the query tests: (name, tags), created in order (so the last is the newest).
async fn query_fixture(s: &TestServer) -> Vec<(String, Uuid)> {
    let specs: Vec<(&str, Vec<&str>)> = vec![
        ("Web-Prod", vec!["env=prod", "team=web"]),
        ("web-dev", vec!["env=dev", "team=web"]),
        ("db-prod", vec!["env=prod", "team=db", "deprecated=true"]),
        ("bare", vec![]),
        ("", vec!["solo"]),
    ];
    let mut out = Vec::new();
    for (name, tags) in specs {
        let id = s.image(Who::Owner, json!({"name": name, "tags": tags})).await;
        out.push((name.to_string(), id));
    }
    s.image(Who::Other, json!({"name": "web-foreign", "visibility": "public", "tags": ["env=prod"]})).await;
    out
}

async fn query(s: &TestServer, body: Value) -> crate::harness::Raw {
    s.raw(
        "POST",
        &format!("/v2/{P1}/images/resource_instances/action"),
        Some(Who::Owner),
        &[],
        Some(&body.to_string()),
    )
    .await
}

fn names(response: &Value) -> Vec<String> {
    let mut names: Vec<String> = response["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["resource_name"].as_str().expect("name").to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn query_by_each_tag_list() {
    let s = TestServer::start().await;
    query_fixture(&s).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"tags": [{"key": "env", "values": ["prod"]}]}), vec!["Web-Prod", "db-prod"]),
        (
            json!({"tags": [{"key": "env", "values": ["prod", "dev"]}, {"key": "team", "values": ["web"]}]}),
            vec!["Web-Prod", "web-dev"],
        ),
        (json!({"tags": [{"key": "team", "values": []}]}), vec!["Web-Prod", "db-prod", "web-dev"]),
        (
            json!({"tags_any": [{"key": "solo", "values": []}, {"key": "team", "values": ["db"]}]}),
            vec!["", "db-prod"],
        ),
        (
            json!({"not_tags": [{"key": "env", "values": ["prod"]}, {"key": "team", "values": ["web"]}]}),
            vec!["", "bare", "db-prod", "web-dev"],
        ),
        (
            json!({"not_tags_any": [{"key": "deprecated", "values": []}, {"key": "env", "values": ["dev"]}]}),
            vec!["", "Web-Prod", "bare"],
        ),
        (json!({"without_any_tag": true, "tags": [{"key": "env", "values": []}]}), vec!["bare"]),
        (json!({"tags": [{"key": "ENV", "values": []}]}), vec![]),
    ];
    for (mut body, want) in cases {
        body["action"] = json!("filter");
        let r = query(&s, body.clone()).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text);
        let json = r.json();
        assert_eq!(names(&json), want, "{body}");
        assert_eq!(json["total_count"], want.len(), "{body}");
        body["action"] = json!("count");
        let count = query(&s, body.clone()).await.json();
        assert_eq!(count, json!({"total_count": want.len()}), "count returns only the total: {body}");
    }
}

#[tokio::test]
async fn query_matches_names_and_ids() {
    let s = TestServer::start().await;
    let images = query_fixture(&s).await;
    let by_match =
        |key: &str, value: &str| json!({"action": "filter", "matches": [{"key": key, "value": value}]});
    assert_eq!(names(&query(&s, by_match("resource_name", "WEB")).await.json()), vec!["Web-Prod", "web-dev"]);
    assert_eq!(
        names(&query(&s, by_match("resource_name", "")).await.json()),
        vec![""],
        "empty value is exact"
    );
    let id = images[2].1.to_string();
    assert_eq!(names(&query(&s, by_match("resource_id", &id)).await.json()), vec!["db-prod"]);
    assert!(
        names(&query(&s, by_match("resource_id", &id[..8])).await.json()).is_empty(),
        "ids match exactly"
    );
    let both = json!({"action": "filter", "matches": [{"key": "resource_name", "value": "prod"}, {"key": "resource_id", "value": id}]});
    assert_eq!(names(&query(&s, both).await.json()), vec!["db-prod"]);
}

#[tokio::test]
async fn query_pages_newest_first_with_string_or_integer_limits() {
    let s = TestServer::start().await;
    let images = query_fixture(&s).await;
    let all = query(&s, json!({"action": "filter", "limit": 1000})).await.json();
    let order: Vec<String> = all["resources"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["resource_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(all["total_count"], 5, "the other project's public image is not in scope");
    let mut expected: Vec<String> = images.iter().map(|(_, id)| id.to_string()).collect();
    expected.sort();
    let mut sorted_order = order.clone();
    sorted_order.sort();
    assert_eq!(sorted_order, expected);
    let first = query(&s, json!({"action": "filter", "limit": "2", "offset": "0"})).await.json();
    let second = query(&s, json!({"action": "filter", "limit": 2, "offset": 2})).await.json();
    let ids = |v: &Value| -> Vec<String> {
        v["resources"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["resource_id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&first), order[0..2].to_vec());
    assert_eq!(ids(&second), order[2..4].to_vec());
    assert_eq!(first["total_count"], 5, "the total is not the page size");
    let default = query(&s, json!({"action": "filter"})).await.json();
    assert_eq!(ids(&default).len(), 5, "default limit 10");
    let past = query(&s, json!({"action": "filter", "offset": "10"})).await.json();
    assert!(ids(&past).is_empty());
    let resource = &all["resources"][0];
    assert_eq!(resource["resource_detail"], json!({"status": "queued"}));
    assert!(resource["tags"].is_array());
}

#[tokio::test]
async fn query_refuses_malformed_bodies() {
    let s = TestServer::start().await;
    query_fixture(&s).await;
    let eleven: Vec<Value> = (0..11).map(|i| json!({"key": format!("k{i}"), "values": []})).collect();
    let ten_values: Vec<String> = (0..11).map(|i| i.to_string()).collect();
    let refused = vec![
        json!({"action": "FILTER"}),
        json!({"action": "delete"}),
        json!({}),
        json!({"action": "filter", "tags": []}),
        json!({"action": "filter", "tags_any": eleven}),
        json!({"action": "filter", "tags": [{"key": "k", "values": ten_values}]}),
        json!({"action": "filter", "tags": [{"key": "k", "values": []}, {"key": "k", "values": ["v"]}]}),
        json!({"action": "filter", "not_tags": [{"key": "k"}]}),
        json!({"action": "filter", "matches": []}),
        json!({"action": "filter", "matches": [{"key": "status", "value": "active"}]}),
        json!({"action": "filter", "limit": "0"}),
        json!({"action": "filter", "limit": 1001}),
        json!({"action": "filter", "limit": "-1"}),
        json!({"action": "filter", "offset": "-1"}),
        json!({"action": "filter", "limit": "ten"}),
        json!({"action": "filter", "without_any_tag": true, "tags": [{"key": "k".repeat(256), "values": []}]}),
        json!({"action": "filter", "tags": [{"key": "k", "values": ["v".repeat(256)]}]}),
    ];
    for body in refused {
        query(&s, body.clone()).await.expect_error(400, "IMG.0001");
    }
    let count_ignores_paging = query(&s, json!({"action": "count", "limit": "0", "offset": "-1"})).await;
    assert_eq!(
        count_ignores_paging.json(),
        json!({"total_count": 5}),
        "limit and offset are ignored for count"
    );
}

#[tokio::test]
async fn query_through_the_generated_client() {
    let s = TestServer::start().await;
    query_fixture(&s).await;
    let response = s
        .client(Who::Owner)
        .list_image_by_tags()
        .project_id(P1)
        .body(
            types::ListImageByTagsRequest::builder()
                .action(types::QueryAction::Filter)
                .tags(Some(vec![types::TagsFilter {
                    key: "env".try_into().expect("key"),
                    values: Some(vec!["prod".into()]),
                }]))
                .limit(Some(types::ListImageByTagsRequestLimit::String(
                    "1".parse().expect("a decimal string"),
                )))
                .offset(Some(types::ListImageByTagsRequestOffset::Int64(0))),
        )
        .send()
        .await
        .expect("200")
        .into_inner();
    assert_eq!(response.total_count, 2);
    let resources = response.resources.expect("filter returns resources");
    assert_eq!(resources.len(), 1);
    assert!(resources[0].tags.iter().any(|t| t.key == "env" && t.value == "prod"));
}

/// Concurrent writes share transactions (group commit); the quota still holds exactly.
#[tokio::test]
async fn concurrent_adds_never_exceed_the_quota() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let attempts = (0..30).map(|i| {
        let s = &s;
        async move {
            if i % 2 == 0 {
                add(s, image, &format!("k{i}"), "v").await
            } else {
                s.client(Who::Owner)
                    .glance_create_tag()
                    .image_id(image.to_string())
                    .tag(format!("k{i}"))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| client_error::<()>(Err(e)))
            }
        }
    });
    let results = futures::future::join_all(attempts).await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 10, "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(refused, (400 | 413, code) if code == "IMG.0116"), "{refused:?}");
    }
    assert_eq!(s.tags(image).await.len(), 10);
}
