//! Ops 3 and 4, the IMS v1 tag operations.

use ims_tags_client::types;
use serde_json::json;

use crate::harness::{P2, TestServer, Who, client_error, pairs};

/// Op 3 through the generated client, with the `tag` string or the `image_tag` object.
async fn put(client: &ims_tags_client::Client, image: uuid::Uuid, tag: Result<&str, (&str, &str)>) {
    let body = types::CreateOrUpdateTagsRequest::builder().image_id(image.to_string());
    let body = match tag {
        Ok(dotted) => body.tag(Some(dotted.try_into().expect("a valid dotted tag"))),
        Err((key, value)) => body.image_tag(Some(
            types::ImsTag::builder().key(key).value(value).try_into().expect("a valid IMS tag"),
        )),
    };
    client.create_or_update_tags().body(body).send().await.expect("204");
}

#[tokio::test]
async fn put_with_a_dotted_tag_and_with_an_object() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let client = s.client(Who::Owner);
    put(&client, image, Ok("ver.1.2")).await;
    put(&client, image, Err(("env", "prod"))).await;
    put(&client, image, Ok("solo")).await;
    assert_eq!(s.tags(image).await, pairs(&[("env", "prod"), ("solo", ""), ("ver", "1.2")]));
    put(&client, image, Ok("env.dev")).await;
    assert_eq!(
        s.tags(image).await,
        pairs(&[("env", "dev"), ("solo", ""), ("ver", "1.2")]),
        "an existing key gets the new value"
    );
}

#[tokio::test]
async fn put_refuses_bad_bodies_and_writes_nothing() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["keep"]})).await;
    let put = |body: String| {
        let s = &s;
        async move { s.raw("PUT", "/v1/cloudimages/tags", Some(Who::Owner), &[], Some(&body)).await }
    };
    put(String::new()).await.expect_error(400, "IMG.0007");
    put("{".into()).await.expect_error(400, "IMG.0001");
    put(json!({"image_id": image, "tag": 5}).to_string()).await.expect_error(400, "IMG.0001");
    put(json!({"tag": "a.b"}).to_string()).await.expect_error(400, "IMG.0001");
    put(json!({"image_id": image}).to_string()).await.expect_error(400, "IMG.0001");
    put(json!({"image_id": image, "tag": "a.b", "image_tag": {"key": "a", "value": "b"}}).to_string())
        .await
        .expect_error(400, "IMG.0001");
    put(json!({"image_id": image, "tag": format!("{}.v", "k".repeat(37))}).to_string())
        .await
        .expect_error(400, "IMG.0115");
    put(json!({"image_id": image, "tag": format!("k.{}", "v".repeat(44))}).to_string())
        .await
        .expect_error(400, "IMG.0115");
    put(json!({"image_id": image, "image_tag": {"key": "a b", "value": ""}}).to_string())
        .await
        .expect_error(400, "IMG.0115");
    put(json!({"image_id": image, "image_tag": {"key": "k", "value": "a/b"}}).to_string())
        .await
        .expect_error(400, "IMG.0115");
    put(json!({"image_id": "4d2c0b0e-1111-2222-3333-444455556666", "tag": "a.b"}).to_string())
        .await
        .expect_error(404, "IMG.0144");
    put(json!({"image_id": "not-a-uuid", "tag": "a.b"}).to_string()).await.expect_error(404, "IMG.0144");
    assert_eq!(s.string_tags(image).await, vec!["keep"]);
    let ok = put(
        json!({"image_id": image, "tag": format!("{}.{}", "k".repeat(36), "v".repeat(43)), "unknown": [1]})
            .to_string(),
    )
    .await;
    assert_eq!(ok.status, 204, "36/43 characters and an unknown field are fine: {}", ok.text);
    let ok =
        put(json!({"image_id": image, "image_tag": {"key": "中文键", "value": "值.v1"}}).to_string()).await;
    assert_eq!(ok.status, 204, "CJK keys and values: {}", ok.text);
}

#[tokio::test]
async fn list_tags_shows_the_string_view_of_owned_and_public_images() {
    let s = TestServer::start().await;
    s.image(Who::Owner, json!({"name": "a", "tags": ["env=prod", "zeta", "a-b"]})).await;
    s.image(Who::Owner, json!({"name": "b", "tags": ["env=prod", "a=b"]})).await;
    s.image(Who::Other, json!({"name": "public", "visibility": "public", "tags": ["shared-public"]})).await;
    s.image(Who::Other, json!({"name": "hidden", "tags": ["secret"]})).await;
    let list = s.client(Who::Owner).list_tags().send().await.expect("200").into_inner();
    assert_eq!(
        list.tags,
        vec!["a-b", "a=b", "env=prod", "shared-public", "zeta"],
        "distinct, sorted by bytes"
    );
}

#[tokio::test]
async fn list_tags_filters_and_pages() {
    let s = TestServer::start().await;
    s.image(Who::Owner, json!({"name": "linux", "min_disk": 40, "__os_type": "Linux", "architecture": "x86", "tags": ["os=linux", "common"]})).await;
    s.image(
        Who::Owner,
        json!({"name": "win", "min_disk": 20, "__os_type": "Windows", "tags": ["os=windows", "common"]}),
    )
    .await;
    s.image(Who::Other, json!({"name": "gold", "visibility": "public", "tags": ["gold"]})).await;
    let client = s.client(Who::Owner);
    let get = |params: &'static str| {
        let s = &s;
        async move { s.raw("GET", &format!("/v1/cloudimages/tags?{params}"), Some(Who::Owner), &[], None).await }
    };
    let tags = |r: crate::harness::Raw| -> Vec<String> {
        assert_eq!(r.status, 200, "{}", r.text);
        serde_json::from_value(r.json()["tags"].clone()).expect("strings")
    };
    assert_eq!(tags(get("__imagetype=gold").await), vec!["gold"]);
    assert_eq!(tags(get("__imagetype=private").await), vec!["common", "os=linux", "os=windows"]);
    assert!(tags(get("__imagetype=shared").await).is_empty());
    assert_eq!(tags(get("__os_type=Linux").await), vec!["common", "os=linux"]);
    assert_eq!(tags(get("architecture=x86&min_disk=40").await), vec!["common", "os=linux"]);
    assert_eq!(tags(get("name=win").await), vec!["common", "os=windows"]);
    assert_eq!(tags(get("tag=os%3Dwindows").await), vec!["common", "os=windows"]);
    assert_eq!(
        tags(get("member_status=accepted&enterprise_project_id=0&virtual_env_type_x=ignored").await).len(),
        4
    );
    assert_eq!(tags(get("created_at=gt:2000-01-01T00:00:00Z").await).len(), 4);
    assert!(tags(get("created_at=lt:2000-01-01%2000:00:00").await).is_empty());
    assert!(tags(get("status=active").await).is_empty(), "new images are queued");
    assert_eq!(tags(get("limit=2").await), vec!["common", "gold"]);
    assert_eq!(tags(get("limit=2&page=2").await), vec!["os=linux", "os=windows"]);
    assert!(tags(get("limit=2&page=3").await).is_empty(), "a page past the end is empty");
    assert_eq!(tags(get("page=2").await).len(), 4, "page without limit is ignored");
    for bad in [
        "limit=0",
        "page=0&limit=1",
        "limit=x",
        "min_disk=big",
        "created_at=after:2020-01-01",
        "__imagetype=weird",
    ] {
        get(bad).await.expect_error(400, "IMG.0001");
    }
    let typed = client
        .list_tags()
        .imagetype("private")
        .limit(std::num::NonZeroU64::new(1).expect("1"))
        .page(std::num::NonZeroU64::new(2).expect("2"))
        .send()
        .await
        .expect("the client expresses filters and paging")
        .into_inner();
    assert_eq!(typed.tags, vec!["os=linux"]);
}

#[tokio::test]
async fn put_acts_in_the_header_project_and_refuses_foreign_images() {
    let s = TestServer::start().await;
    let theirs = s.image(Who::Other, json!({"visibility": "public"})).await;
    let hidden = s.image(Who::Other, json!({})).await;
    let client = s.client(Who::Owner);
    let put = |image: uuid::Uuid| {
        client
            .create_or_update_tags()
            .body(
                types::CreateOrUpdateTagsRequest::builder()
                    .image_id(image.to_string())
                    .tag(Some("a.b".try_into().expect("valid"))),
            )
            .send()
    };
    assert_eq!(client_error(put(theirs).await), (403, "IMG.0026".to_string()), "visible, not owned");
    assert_eq!(client_error(put(hidden).await), (404, "IMG.0144".to_string()), "not visible");
    let r = s
        .raw(
            "PUT",
            "/v1/cloudimages/tags",
            Some(Who::Owner),
            &[("x-project-id", P2)],
            Some(&json!({"image_id": hidden, "tag": "a.b"}).to_string()),
        )
        .await;
    r.expect_error(403, "IMG.0026");
}
