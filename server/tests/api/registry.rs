//! The Glance image registry: what only ims-tags promises (the contract cases are in `conformance/`).

use serde_json::json;

use crate::harness::{TestServer, Who};

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
