//! The Glance image registry subset: create, show, list, delete, and the upload that is not implemented.

use ims_tags_client::types;
use serde_json::{Value, json};

use crate::harness::{P1, TestServer, Who, client_error};

#[tokio::test]
async fn create_returns_the_image_document() {
    let s = TestServer::start().await;
    let body = json!({
        "name": "ubuntu", "visibility": "public", "container_format": "bare", "disk_format": "qcow2",
        "min_disk": 40, "min_ram": 1024, "protected": false, "tags": ["b", "a", "a", "os=linux"],
        "__os_type": "Linux", "architecture": "x86"
    });
    let r = s.raw("POST", "/v2/images", Some(Who::Owner), &[], Some(&body.to_string())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let doc = r.json();
    let id = doc["id"].as_str().expect("id").to_owned();
    assert_eq!(r.headers["location"], format!("/v2/images/{id}"));
    assert_eq!(doc["status"], "queued");
    assert_eq!(doc["owner"], P1);
    assert_eq!(doc["tags"], json!(["a", "b", "os=linux"]), "duplicates collapse, sorted");
    assert_eq!(doc["__os_type"], "Linux");
    assert_eq!(doc["architecture"], "x86");
    assert_eq!(
        (doc["size"].clone(), doc["virtual_size"].clone(), doc["checksum"].clone()),
        (Value::Null, Value::Null, Value::Null)
    );
    assert_eq!(doc["self"], format!("/v2/images/{id}"));
    assert_eq!(doc["file"], format!("/v2/images/{id}/file"));
    assert_eq!(doc["schema"], "/v2/schemas/image");
    let stamp = doc["created_at"].as_str().expect("created_at");
    assert_eq!(stamp.len(), 20, "YYYY-MM-DDTHH:MM:SSZ: {stamp}");
    assert!(stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T');
    let shown =
        s.client(Who::Owner).glance_show_image().image_id(id.clone()).send().await.expect("200").into_inner();
    assert_eq!(shown.id, id);
    assert_eq!(shown.extra.get("__os_type").map(String::as_str), Some("Linux"));
    assert_eq!(shown.visibility, types::Visibility::Public);
    let defaults = s
        .client(Who::Owner)
        .glance_create_image()
        .body(types::CreateImageRequest::builder().extra(std::collections::HashMap::new()))
        .send()
        .await
        .expect("201");
    assert_eq!(defaults.status(), 201);
    let defaults = defaults.into_inner();
    assert_eq!(
        (defaults.visibility, defaults.name.clone(), defaults.min_disk),
        (types::Visibility::Private, None, 0)
    );
}

#[tokio::test]
async fn create_refuses_invalid_bodies() {
    let s = TestServer::start().await;
    let post = |body: Value| {
        let s = &s;
        async move { s.raw("POST", "/v2/images", Some(Who::Owner), &[], Some(&body.to_string())).await }
    };
    for body in [
        json!({"disk_format": "floppy"}),
        json!({"container_format": "zip"}),
        json!({"visibility": "everyone"}),
        json!({"min_disk": -1}),
        json!({"min_ram": "big"}),
        json!({"name": "n".repeat(256)}),
        json!({"status": "active"}),
        json!({"owner": "someone"}),
        json!({"extra": 5}),
        json!({"id": "not-a-uuid"}),
        json!({"tags": "a"}),
    ] {
        post(body.clone()).await.expect_error(400, "IMG.0001");
    }
    post(json!({"tags": ["os=linux", "os=windows"]})).await.expect_error(400, "IMG.0115");
    post(json!({"tags": ["bad=a/b"]})).await.expect_error(400, "IMG.0115");
    post(json!({"tags": ["a b "]})).await.expect_error(400, "IMG.0115");
    let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    post(json!({"tags": eleven})).await.expect_error(413, "IMG.0116");
    s.raw("POST", "/v2/images", Some(Who::Owner), &[], None).await.expect_error(400, "IMG.0007");
    let list = s.client(Who::Owner).glance_list_images().send().await.expect("200");
    assert!(list.images.is_empty(), "nothing was created");
}

#[tokio::test]
async fn create_with_a_chosen_id_and_a_conflict() {
    let s = TestServer::start().await;
    let id = "4d2c0b0e-1111-2222-3333-444455556666";
    let body = json!({"id": id}).to_string();
    assert_eq!(s.raw("POST", "/v2/images", Some(Who::Owner), &[], Some(&body)).await.status, 201);
    s.raw("POST", "/v2/images", Some(Who::Other), &[], Some(&body)).await.expect_error(409, "IMG.0001");
}

#[tokio::test]
async fn visibility_rules_for_show_and_tagging() {
    let s = TestServer::start().await;
    let public = s.image(Who::Other, json!({"visibility": "public"})).await;
    let community = s.image(Who::Other, json!({"visibility": "community"})).await;
    let private = s.image(Who::Other, json!({})).await;
    let mine = s.client(Who::Owner);
    mine.glance_show_image().image_id(public.to_string()).send().await.expect("public images are readable");
    for hidden in [community, private] {
        let r = mine.glance_show_image().image_id(hidden.to_string()).send().await;
        assert_eq!(client_error(r), (404, "IMG.0144".to_string()), "owner-only here");
        let r = mine.glance_create_tag().image_id(hidden.to_string()).tag("x").send().await;
        assert_eq!(client_error(r), (404, "IMG.0144".to_string()));
    }
    let r = mine.glance_create_tag().image_id(public.to_string()).tag("x").send().await;
    assert_eq!(client_error(r), (403, "IMG.0026".to_string()), "visible but not owned");
    let r = mine.glance_delete_image().image_id(public.to_string()).send().await;
    assert_eq!(client_error(r), (403, "IMG.0026".to_string()));
    let r = mine.glance_delete_image().image_id(private.to_string()).send().await;
    assert_eq!(client_error(r), (404, "IMG.0144".to_string()));
    // The generated client refuses a malformed id (the document says UUID); the server answers it as unknown.
    assert!(mine.glance_show_image().image_id("abcd").send().await.is_err());
    s.raw("GET", "/v2/images/abcd", Some(Who::Owner), &[], None).await.expect_error(404, "IMG.0144");
}

#[tokio::test]
async fn list_filters_sorts_and_pages() {
    let s = TestServer::start().await;
    s.image(Who::Owner, json!({"name": "fa", "tags": ["x", "y"]})).await;
    s.image(Who::Owner, json!({"name": "fb", "tags": ["x"]})).await;
    s.image(Who::Owner, json!({"name": "fc", "tags": ["y", "X"]})).await;
    s.image(Who::Owner, json!({"name": "hidden", "os_hidden": true, "tags": ["x"]})).await;
    s.image(Who::Other, json!({"name": "pub", "visibility": "public", "tags": ["x"]})).await;
    s.image(Who::Other, json!({"name": "theirs", "tags": ["x"]})).await;
    let client = s.client(Who::Owner);
    let list = |tags: Vec<&'static str>| {
        let client = &client;
        async move {
            let mut names: Vec<String> = client
                .glance_list_images()
                .tag(tags.into_iter().map(String::from).collect::<Vec<_>>())
                .send()
                .await
                .expect("200")
                .into_inner()
                .images
                .into_iter()
                .map(|i| i.name.unwrap_or_default())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(list(vec!["x"]).await, vec!["fa", "fb", "pub"], "owned and public; hidden left out");
    assert_eq!(list(vec!["X"]).await, vec!["fc"], "case-sensitive");
    assert_eq!(list(vec!["x", "y"]).await, vec!["fa"], "repeated tag means AND");
    assert_eq!(list(vec!["x", "nope"]).await, Vec::<String>::new());
    let raw = s.raw("GET", "/v2/images?tag=%20x%20&os_hidden=true", Some(Who::Owner), &[], None).await.json();
    assert_eq!(
        raw["images"].as_array().map(Vec::len),
        Some(1),
        "values are stripped; os_hidden=true lists hidden images"
    );
    let sorted =
        client.glance_list_images().sort_key("name").sort_dir("asc").send().await.expect("200").into_inner();
    let names: Vec<String> = sorted.images.iter().map(|i| i.name.clone().unwrap_or_default()).collect();
    assert_eq!(names, vec!["fa", "fb", "fc", "pub"]);
    assert_eq!(sorted.schema, "/v2/schemas/images");
    assert!(sorted.next.is_none(), "the page is not full");
    // Page through two at a time by following `next`.
    let mut seen = Vec::new();
    let mut path = "/v2/images?limit=2&sort_key=name&sort_dir=desc".to_string();
    loop {
        let page = s.raw("GET", &path, Some(Who::Owner), &[], None).await.json();
        seen.extend(
            page["images"]
                .as_array()
                .expect("images")
                .iter()
                .map(|i| i["name"].as_str().unwrap_or("").to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, vec!["pub", "fc", "fb", "fa"]);
    for bad in [
        "sort_key=tags",
        "sort_dir=up",
        "marker=nope",
        "marker=4d2c0b0e-1111-2222-3333-444455556666",
        "limit=x",
        "visibility=everyone",
    ] {
        s.raw("GET", &format!("/v2/images?{bad}"), Some(Who::Owner), &[], None)
            .await
            .expect_error(400, "IMG.0001");
    }
}

#[tokio::test]
async fn a_deleted_image_vanishes_from_every_view() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"name": "gone", "tags": ["env=prod", "k"]})).await;
    let keep = s.image(Who::Owner, json!({"name": "kept", "tags": ["other"]})).await;
    let client = s.client(Who::Owner);
    let r = s
        .raw(
            "DELETE",
            &format!("/v2/images/{image}"),
            Some(Who::Owner),
            &[],
            Some(r#"{"delete_backup": false}"#),
        )
        .await;
    assert_eq!(r.status, 204, "a body is accepted and ignored: {}", r.text);
    assert_eq!(
        client_error(client.glance_show_image().image_id(image.to_string()).send().await),
        (404, "IMG.0144".into())
    );
    assert_eq!(
        client_error(client.list_image_tags().project_id(P1).image_id(image.to_string()).send().await),
        (404, "IMG.0144".into())
    );
    assert_eq!(
        client_error(client.glance_create_tag().image_id(image.to_string()).tag("x").send().await),
        (404, "IMG.0144".into())
    );
    assert_eq!(
        client_error(client.glance_delete_image().image_id(image.to_string()).send().await),
        (404, "IMG.0144".into())
    );
    let all = client.list_images_tags().project_id(P1).send().await.expect("200").into_inner();
    assert_eq!(all.tags.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), vec!["other"]);
    assert_eq!(client.list_tags().send().await.expect("200").into_inner().tags, vec!["other"]);
    let found = s
        .raw(
            "POST",
            &format!("/v2/{P1}/images/resource_instances/action"),
            Some(Who::Owner),
            &[],
            Some(r#"{"action":"filter"}"#),
        )
        .await
        .json();
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["resources"][0]["resource_id"], keep.to_string());
    let listed = client.glance_list_images().send().await.expect("200").into_inner();
    assert_eq!(listed.images.len(), 1);
}

#[tokio::test]
async fn protected_images_cannot_be_deleted() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"protected": true, "tags": ["t"]})).await;
    let r = s.client(Who::Owner).glance_delete_image().image_id(image.to_string()).send().await;
    assert_eq!(client_error(r), (403, "IMG.0026".to_string()));
    assert_eq!(s.string_tags(image).await, vec!["t"], "nothing was lost");
    s.client(Who::Owner)
        .glance_create_tag()
        .image_id(image.to_string())
        .tag("u")
        .send()
        .await
        .expect("protected images can be tagged");
}

#[tokio::test]
async fn upload_is_not_implemented() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let r = s.client(Who::Owner).glance_upload_image_data().image_id(image.to_string()).send().await;
    assert_eq!(client_error(r), (501, "IMG.0501".to_string()));
    let r = s
        .raw(
            "PUT",
            &format!("/v2/images/{image}/file"),
            Some(Who::Owner),
            &[("content-type", "application/octet-stream")],
            Some("data"),
        )
        .await;
    r.expect_error(501, "IMG.0501");
}

#[tokio::test]
async fn data_survives_a_restart() {
    let s = TestServer::start().await;
    let image =
        s.image(Who::Owner, json!({"name": "durable", "tags": ["env=prod"], "__os_type": "Linux"})).await;
    s.client(Who::Owner)
        .glance_create_tag()
        .image_id(image.to_string())
        .tag("late")
        .send()
        .await
        .expect("204");
    let s = s.restart().await;
    let shown = s
        .client(Who::Owner)
        .glance_show_image()
        .image_id(image.to_string())
        .send()
        .await
        .expect("still there")
        .into_inner();
    assert_eq!(shown.tags, vec!["env=prod", "late"]);
    assert_eq!(shown.extra.get("__os_type").map(String::as_str), Some("Linux"));
    assert_eq!(shown.name.as_deref(), Some("durable"));
}

#[tokio::test]
async fn discovery_and_schemas_need_no_credentials() {
    let s = TestServer::start().await;
    let anonymous = s.anonymous();
    let versions = anonymous.list_versions().send().await.expect("200").into_inner();
    assert!(versions.versions[0].id.starts_with("v2"));
    assert_eq!(versions.versions[0].links[0].href, format!("{}/v2/", s.base));
    match anonymous.list_versions_root().send().await {
        Err(ims_tags_client::Error::UnexpectedResponse(response)) => {
            assert_eq!(response.status().as_u16(), 300, "the root answers 300 Multiple Choices");
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["versions"][0]["status"], "CURRENT");
        }
        Ok(_) => panic!("a 300 is not a success"),
        Err(other) => panic!("progenitor reports a 300 as an unexpected response; got {other:?}"),
    }
    let schema = anonymous.glance_show_image_schema().send().await.expect("200").into_inner();
    assert_eq!(schema["additionalProperties"], json!({"type": "string"}));
    assert!(schema.get("required").is_none());
    assert!(schema["properties"]["tags"]["items"].get("pattern").is_none());
    for field in ["min_disk", "min_ram", "size", "virtual_size", "protected", "os_hidden", "tags"] {
        assert!(schema["properties"].get(field).is_some(), "{field} is declared");
    }
    let images_schema = anonymous.glance_show_images_schema().send().await.expect("200").into_inner();
    assert_eq!(images_schema["properties"]["images"]["items"], Value::Object(schema));
}

/// Boolean query parameters read as Glance reads them (oslo `bool_from_string`, strict): openstacksdk sends
/// `os_hidden=True`; every word in any case and with surrounding spaces works; anything else is 400
/// `IMG.0001` naming the parameter.
#[tokio::test]
async fn boolean_query_parameters_read_as_glance_does() {
    let s = TestServer::start().await;
    s.image(Who::Owner, json!({"name": "shown", "tags": ["b"]})).await;
    s.image(Who::Owner, json!({"name": "hidden", "os_hidden": true, "protected": true, "tags": ["b"]})).await;
    let names = |query: String| {
        let s = &s;
        async move {
            let r = s.raw("GET", &format!("/v2/images?{query}"), Some(Who::Owner), &[], None).await;
            assert_eq!(r.status, 200, "{query}: {}", r.text);
            let mut names: Vec<String> = r.json()["images"]
                .as_array()
                .expect("images")
                .iter()
                .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    for word in ["1", "t", "true", "on", "y", "yes", "True", "TRUE", "Yes", "ON", "%20true%20", "T"] {
        assert_eq!(names(format!("os_hidden={word}")).await, vec!["hidden"], "os_hidden={word}");
        assert_eq!(names(format!("protected={word}&os_hidden={word}")).await, vec!["hidden"]);
    }
    for word in ["0", "f", "false", "off", "n", "no", "False", "NO", "Off", "%09false"] {
        assert_eq!(names(format!("os_hidden={word}")).await, vec!["shown"], "os_hidden={word}");
        assert_eq!(names(format!("protected={word}")).await, vec!["shown"], "protected={word}");
    }
    for bad in ["", "maybe", "2", "truee", "yes%20no", "%C3%BF"] {
        for name in ["os_hidden", "protected"] {
            let r = s.raw("GET", &format!("/v2/images?{name}={bad}"), Some(Who::Owner), &[], None).await;
            r.expect_error(400, "IMG.0001");
            assert!(r.text.contains(name), "{name}={bad}: {}", r.text);
        }
        let r =
            s.raw("GET", &format!("/v1/cloudimages/tags?protected={bad}"), Some(Who::Owner), &[], None).await;
        r.expect_error(400, "IMG.0001");
        assert!(r.text.contains("protected"), "{}", r.text);
    }
    // Op 4 reads `protected` the same way.
    for (word, expect) in [("True", true), ("yes", true), ("0", false), ("Off", false)] {
        let r = s
            .raw("GET", &format!("/v1/cloudimages/tags?protected={word}"), Some(Who::Owner), &[], None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["tags"], json!(["b"]), "protected={word} ({expect})");
    }
    // Through the generated client, the parameter is a string of that vocabulary.
    let hidden =
        s.client(Who::Owner).glance_list_images().os_hidden("True").send().await.expect("200").into_inner();
    assert_eq!(
        hidden.images.iter().map(|i| i.name.clone().unwrap_or_default()).collect::<Vec<_>>(),
        vec!["hidden"]
    );
}

/// `id`, `created_at` and `updated_at` filter `GET /v2/images` as they filter op 4 (openstacksdk sends them).
#[tokio::test]
async fn list_filters_by_id_and_time() {
    let s = TestServer::start().await;
    let a = s.image(Who::Owner, json!({"name": "a"})).await;
    s.image(Who::Owner, json!({"name": "b"})).await;
    let r = s.raw("GET", &format!("/v2/images?id={a}"), Some(Who::Owner), &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let listed = r.json();
    let ids: Vec<&str> =
        listed["images"].as_array().expect("images").iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(ids, vec![a.to_string()], "only the image with that id");
    for (query, count) in [
        ("created_at=gte:2000-01-01T00:00:00Z", 2),
        ("created_at=lt:2000-01-01T00:00:00Z", 0),
        ("updated_at=gt:2999-01-01%2000:00:00", 0),
    ] {
        let r = s.raw("GET", &format!("/v2/images?{query}"), Some(Who::Owner), &[], None).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text);
        assert_eq!(r.json()["images"].as_array().map(Vec::len), Some(count), "{query}");
    }
    s.raw("GET", "/v2/images?created_at=yesterday", Some(Who::Owner), &[], None)
        .await
        .expect_error(400, "IMG.0001");
}
