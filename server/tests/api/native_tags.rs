//! Ops 1 and 2, the Glance native tag operations.

use serde_json::json;

use crate::harness::{P1, TestServer, Who, client_error, pairs};

#[tokio::test]
async fn put_adds_a_key_only_tag_and_delete_removes_it() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let client = s.client(Who::Owner);
    client.glance_create_tag().image_id(image.to_string()).tag("beta").send().await.expect("204");
    assert_eq!(s.tags(image).await, pairs(&[("beta", "")]));
    assert_eq!(s.string_tags(image).await, vec!["beta"]);
    client.glance_delete_tag().image_id(image.to_string()).tag("beta").send().await.expect("204");
    assert!(s.tags(image).await.is_empty());
}

#[tokio::test]
async fn re_adding_a_tag_is_a_no_op_that_bumps_updated_at() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let client = s.client(Who::Owner);
    let updated_at = || async {
        client.glance_show_image().image_id(image.to_string()).send().await.expect("shown").updated_at.clone()
    };
    client.glance_create_tag().image_id(image.to_string()).tag("same").send().await.expect("204");
    let before = updated_at().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    client.glance_create_tag().image_id(image.to_string()).tag("same").send().await.expect("204 again");
    let after = updated_at().await;
    assert_eq!(s.tags(image).await, pairs(&[("same", "")]), "still one tag");
    assert!(after > before, "updated_at moved from {before} to {after}");
}

#[tokio::test]
async fn put_on_a_key_with_a_value_empties_the_value() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["env=prod"]})).await;
    s.client(Who::Owner)
        .glance_create_tag()
        .image_id(image.to_string())
        .tag("env")
        .send()
        .await
        .expect("204");
    assert_eq!(s.tags(image).await, pairs(&[("env", "")]));
}

#[tokio::test]
async fn encoded_path_segments_are_decoded_once() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let client = s.client(Who::Owner);
    for tag in ["a b/c~d_é", "x+y", "镜像标签", "100%", "a%2Fb", "q?uery#frag"] {
        client
            .glance_create_tag()
            .image_id(image.to_string())
            .tag(tag)
            .send()
            .await
            .expect("the client encodes it");
    }
    // Raw: `%2F` is part of the tag, `+` stays `+`, `%252F` decodes once to `%2F`.
    for (raw, expected) in
        [("slash%2Finside", "slash/inside"), ("plus+sign", "plus+sign"), ("twice%252F", "twice%2F")]
    {
        let r = s.raw("PUT", &format!("/v2/images/{image}/tags/{raw}"), Some(Who::Owner), &[], None).await;
        assert_eq!(r.status, 204, "{raw}: {}", r.text);
        assert!(s.string_tags(image).await.contains(&expected.to_string()), "{raw} -> {expected}");
    }
    let tags = s.string_tags(image).await;
    for tag in ["a b/c~d_é", "x+y", "镜像标签", "100%", "a%2Fb", "q?uery#frag"] {
        assert!(tags.contains(&tag.to_string()), "{tag} in {tags:?}");
    }
    let mut sorted = tags.clone();
    sorted.sort();
    assert_eq!(tags, sorted, "the string view is sorted by bytes");
    client
        .glance_delete_tag()
        .image_id(image.to_string())
        .tag("a b/c~d_é")
        .send()
        .await
        .expect("deleted by name");
    assert!(!s.string_tags(image).await.contains(&"a b/c~d_é".to_string()));
}

#[tokio::test]
async fn invalid_utf8_in_a_tag_is_a_400_and_changes_nothing() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["keep"]})).await;
    for method in ["PUT", "DELETE"] {
        let r =
            s.raw(method, &format!("/v2/images/{image}/tags/bad%FF%FE"), Some(Who::Owner), &[], None).await;
        r.expect_error(400, "IMG.0001");
    }
    assert_eq!(s.string_tags(image).await, vec!["keep"]);
}

#[tokio::test]
async fn tag_rules_at_the_limits() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let put = |tag: String| {
        let s = &s;
        async move { s.raw("PUT", &format!("/v2/images/{image}/tags/{tag}"), Some(Who::Owner), &[], None).await }
    };
    assert_eq!(put("t".repeat(255)).await.status, 204);
    put("t".repeat(256)).await.expect_error(400, "IMG.0115");
    put("é".repeat(255)).await; // 255 characters, 510 bytes: counted in characters
    assert!(s.string_tags(image).await.contains(&"é".repeat(255)));
    put("a=b".into()).await.expect_error(400, "IMG.0115");
    put("%20lead".into()).await.expect_error(400, "IMG.0115");
    put("trail%20".into()).await.expect_error(400, "IMG.0115");
    put("ctl%07".into()).await.expect_error(400, "IMG.0115");
    assert_eq!(s.string_tags(image).await.len(), 2, "the refused tags left nothing behind");
}

#[tokio::test]
async fn delete_reads_the_string_view() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["env=prod", "solo"]})).await;
    let client = s.client(Who::Owner);
    let (status, code) =
        client_error(client.glance_delete_tag().image_id(image.to_string()).tag("env=dev").send().await);
    assert_eq!((status, code.as_str()), (404, "IMG.0115"), "k=v deletes only when the value matches");
    client.glance_delete_tag().image_id(image.to_string()).tag("env=prod").send().await.expect("k=v matches");
    client.glance_delete_tag().image_id(image.to_string()).tag("solo").send().await.expect("k");
    assert!(s.tags(image).await.is_empty());
    let image = s.image(Who::Owner, json!({"tags": ["os=linux"]})).await;
    client
        .glance_delete_tag()
        .image_id(image.to_string())
        .tag("os")
        .send()
        .await
        .expect("a bare key deletes any value");
    let (status, code) =
        client_error(client.glance_delete_tag().image_id(image.to_string()).tag("os").send().await);
    assert_eq!((status, code.as_str()), (404, "IMG.0115"), "a missing tag is 404");
}

#[tokio::test]
async fn delete_accepts_any_characters_up_to_255() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let r = s
        .raw("DELETE", &format!("/v2/images/{image}/tags/{}", "k".repeat(255)), Some(Who::Owner), &[], None)
        .await;
    r.expect_error(404, "IMG.0115");
    let r = s
        .raw("DELETE", &format!("/v2/images/{image}/tags/{}", "k".repeat(256)), Some(Who::Owner), &[], None)
        .await;
    r.expect_error(400, "IMG.0115");
}

#[tokio::test]
async fn over_the_quota_is_413_and_re_adding_at_the_quota_is_fine() {
    let s = TestServer::start().await;
    let tags: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let image = s.image(Who::Owner, json!({"tags": tags})).await;
    let client = s.client(Who::Owner);
    let (status, code) =
        client_error(client.glance_create_tag().image_id(image.to_string()).tag("t10").send().await);
    assert_eq!((status, code.as_str()), (413, "IMG.0116"));
    client
        .glance_create_tag()
        .image_id(image.to_string())
        .tag("t3")
        .send()
        .await
        .expect("re-adding never counts");
    assert_eq!(s.tags(image).await.len(), 10);
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    for method in ["GET", "POST", "PATCH"] {
        let r = s.raw(method, &format!("/v2/images/{image}/tags/x"), Some(Who::Owner), &[], None).await;
        r.expect_error(405, "IMG.0001");
        assert_eq!(r.headers["allow"], "PUT,DELETE");
    }
}

#[tokio::test]
async fn project_comes_from_x_project_id() {
    let s = TestServer::start().await;
    let in_p3 = s
        .raw(
            "POST",
            "/v2/images",
            Some(Who::Owner),
            &[("x-project-id", "33333333333333333333333333333333")],
            Some("{}"),
        )
        .await;
    assert_eq!(in_p3.status, 201);
    let id = in_p3.json()["id"].as_str().expect("id").to_owned();
    let r = s.raw("PUT", &format!("/v2/images/{id}/tags/x"), Some(Who::Owner), &[], None).await;
    r.expect_error(404, "IMG.0144");
    let r = s
        .raw(
            "PUT",
            &format!("/v2/images/{id}/tags/x"),
            Some(Who::Owner),
            &[("x-project-id", "33333333333333333333333333333333")],
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let _ = P1;
}

/// Glance's `body_reject` on ops 1 and 2: a body (`Content-Length` above 0, or a chunked one) is 400 `IMG.0001`
/// "A body is not expected with this request." and changes nothing; `Content-Length: 0` is fine. The check
/// comes after authentication and permission, before the image is looked up.
#[tokio::test]
async fn a_body_on_ops_1_and_2_is_400_and_changes_nothing() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"tags": ["keep"]})).await;
    let missing = "4d2c0b0e-1111-2222-3333-444455556666";
    for method in ["PUT", "DELETE"] {
        for (label, path) in [
            ("an image", format!("/v2/images/{image}/tags/keep")),
            ("a missing image", format!("/v2/images/{missing}/tags/keep")),
        ] {
            let r = s.raw(method, &path, Some(Who::Owner), &[], Some("{}")).await;
            r.expect_error(400, "IMG.0001");
            let message = r.json()["error"]["message"].as_str().expect("message").to_owned();
            assert!(
                message.ends_with("A body is not expected with this request."),
                "{method} {label}: {message}"
            );
        }
        // A chunked body (no Content-Length) is refused too.
        let chunks = futures::stream::iter(vec![Ok::<_, std::io::Error>("x")]);
        let response = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}/v2/images/{image}/tags/keep", s.base),
            )
            .header("x-auth-token", "owner-token")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status().as_u16(), 400, "{method} with a chunked body");
        // Authentication and permission come first.
        s.raw(method, &format!("/v2/images/{image}/tags/keep"), None, &[], Some("{}"))
            .await
            .expect_error(401, "APIGW.0301");
        s.raw(
            method,
            &format!("/v2/images/{image}/tags/keep"),
            Some(Who::Without("ims:images:update")),
            &[],
            Some("{}"),
        )
        .await
        .expect_error(403, "IMG.0026");
    }
    assert_eq!(s.string_tags(image).await, vec!["keep"], "nothing changed");
    let r = s
        .raw(
            "PUT",
            &format!("/v2/images/{image}/tags/added"),
            Some(Who::Owner),
            &[("content-length", "0")],
            None,
        )
        .await;
    assert_eq!(r.status, 204, "Content-Length: 0 is fine: {}", r.text);
    let r = s
        .raw(
            "DELETE",
            &format!("/v2/images/{image}/tags/added"),
            Some(Who::Owner),
            &[("content-length", "0")],
            None,
        )
        .await;
    assert_eq!(r.status, 204, "Content-Length: 0 is fine: {}", r.text);
}

/// python-glanceclient prints `HTTP <message>`, so on the Glance-family paths the message starts with the
/// status line as Glance's own error pages do; the IMS paths keep the IMS message; the code is the same.
#[tokio::test]
async fn glance_path_errors_start_with_the_status_line() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let missing = "4d2c0b0e-1111-2222-3333-444455556666";
    let message =
        |r: &crate::harness::Raw| r.json()["error"]["message"].as_str().expect("message").to_owned();
    let r = s.raw("DELETE", &format!("/v2/images/{image}/tags/absent"), Some(Who::Owner), &[], None).await;
    r.expect_error(404, "IMG.0115");
    assert!(message(&r).starts_with("404 Not Found: "), "{}", r.text);
    let r = s.raw("GET", &format!("/v2/images/{missing}"), Some(Who::Owner), &[], None).await;
    r.expect_error(404, "IMG.0144");
    assert_eq!(message(&r), "404 Not Found: The image does not exist.");
    let r = s.raw("PUT", &format!("/v2/images/{image}/tags/a=b"), Some(Who::Owner), &[], None).await;
    r.expect_error(400, "IMG.0115");
    assert!(message(&r).starts_with("400 Bad Request: "), "{}", r.text);
    let r = s.raw("PUT", &format!("/v2/images/{image}/tags/t"), None, &[], None).await;
    r.expect_error(401, "APIGW.0301");
    assert!(message(&r).starts_with("401 Unauthorized: "), "{}", r.text);
    let r = s.raw("POST", "/versions", None, &[], None).await;
    r.expect_error(405, "IMG.0001");
    assert!(message(&r).starts_with("405 Method Not Allowed: "), "{}", r.text);
    // The IMS paths keep the IMS message as it is.
    let r =
        s.raw("DELETE", &format!("/v2/{P1}/images/{image}/tags/absent"), Some(Who::Owner), &[], None).await;
    r.expect_error(404, "IMG.0115");
    assert!(!message(&r).starts_with("404"), "{}", r.text);
}
