//! Contract section 6: one envelope on every error of every route, each error row with a raw request, the
//! order of checks, and no input ever giving a 5xx or changing data it was rejected for.

use std::collections::BTreeSet;

use serde_json::json;

use crate::harness::{P1, P2, TestServer, Who};

#[tokio::test]
async fn authentication_failures_are_401_in_the_envelope() {
    let s = TestServer::start().await;
    let r = s.raw("GET", "/v1/cloudimages/tags", None, &[], None).await;
    r.expect_error(401, "APIGW.0301");
    assert!(r.json()["error"]["message"].as_str().expect("message").contains("no credentials"));
    let r = s.raw("GET", "/v1/cloudimages/tags", None, &[("x-auth-token", "wrong")], None).await;
    r.expect_error(401, "APIGW.0301");
    assert!(r.json()["error"]["message"].as_str().expect("message").contains("token"));
    let r = s.raw("GET", "/v1/cloudimages/tags", None, &[("authorization", "Bearer abc")], None).await;
    r.expect_error(401, "APIGW.0301");
}

#[tokio::test]
async fn project_and_permission_failures_are_403() {
    let s = TestServer::start().await;
    s.raw("GET", &format!("/v2/{P2}/images/tags"), Some(Who::Owner), &[], None)
        .await
        .expect_error(403, "IMG.0026");
    s.raw("GET", &format!("/v2/{P1}/images/tags"), Some(Who::Owner), &[("x-project-id", P2)], None)
        .await
        .expect_error(403, "IMG.0026");
    s.raw("GET", "/v1/cloudimages/tags", Some(Who::Owner), &[("x-project-id", P2)], None)
        .await
        .expect_error(403, "IMG.0026");
    s.raw("GET", "/v1/cloudimages/tags", Some(Who::Without("ims:images:list")), &[], None)
        .await
        .expect_error(403, "IMG.0026");
    let r =
        s.raw("GET", &format!("/v2/{P1}/images/tags"), Some(Who::Owner), &[("x-project-id", P1)], None).await;
    assert_eq!(r.status, 200, "a matching X-Project-Id is fine");
}

#[tokio::test]
async fn checks_run_in_the_contract_order() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let public = s.image(Who::Other, json!({"visibility": "public"})).await;
    let missing = "4d2c0b0e-1111-2222-3333-444455556666";
    let bad_body = Some("{not json");
    // 401 before everything.
    s.raw("POST", &format!("/v2/{P2}/images/{missing}/tags"), None, &[], bad_body)
        .await
        .expect_error(401, "APIGW.0301");
    // 403 project before 403 permission and 400 body.
    s.raw(
        "POST",
        &format!("/v2/{P2}/images/{missing}/tags"),
        Some(Who::Without("ims:images:update")),
        &[],
        bad_body,
    )
    .await
    .expect_error(403, "IMG.0026");
    // 403 permission before 400 body.
    let r = s
        .raw(
            "POST",
            &format!("/v2/{P1}/images/{missing}/tags"),
            Some(Who::Without("ims:images:update")),
            &[],
            bad_body,
        )
        .await;
    r.expect_error(403, "IMG.0026");
    assert!(r.text.contains("ims:images:update"), "{}", r.text);
    // 400 body before 404 image.
    s.raw("POST", &format!("/v2/{P1}/images/{missing}/tags"), Some(Who::Owner), &[], bad_body)
        .await
        .expect_error(400, "IMG.0001");
    let invalid_tag = json!({"tag": {"key": "bad key", "value": ""}}).to_string();
    s.raw("POST", &format!("/v2/{P1}/images/{missing}/tags"), Some(Who::Owner), &[], Some(&invalid_tag))
        .await
        .expect_error(400, "IMG.0115");
    // 400 path parameter before 404 image.
    s.raw("PUT", &format!("/v2/images/{missing}/tags/%FF"), Some(Who::Owner), &[], None)
        .await
        .expect_error(400, "IMG.0001");
    // 404 image, then 403 not owner, then 404 tag.
    s.raw("DELETE", &format!("/v2/{P1}/images/{missing}/tags/k"), Some(Who::Owner), &[], None)
        .await
        .expect_error(404, "IMG.0144");
    s.raw("DELETE", &format!("/v2/{P1}/images/{public}/tags/k"), Some(Who::Owner), &[], None)
        .await
        .expect_error(403, "IMG.0026");
    s.raw("DELETE", &format!("/v2/{P1}/images/{image}/tags/k"), Some(Who::Owner), &[], None)
        .await
        .expect_error(404, "IMG.0115");
}

#[tokio::test]
async fn framework_errors_use_the_envelope() {
    let s = TestServer::start().await;
    let r = s.raw("GET", "/no/such/route", Some(Who::Owner), &[], None).await;
    r.expect_error(404, "APIGW.0101");
    let r = s.raw("DELETE", "/v1/cloudimages/tags", Some(Who::Owner), &[], None).await;
    r.expect_error(405, "IMG.0001");
    let allow: BTreeSet<&str> = r.headers["allow"].to_str().expect("text").split(',').collect();
    assert_eq!(allow, BTreeSet::from(["GET", "HEAD", "PUT"]));
    let r = s.raw("POST", "/versions", None, &[], None).await;
    r.expect_error(405, "IMG.0001");
    assert_eq!(r.headers["allow"], "GET,HEAD");
    let big = format!("{{\"tag\": \"{}\"}}", "x".repeat(1024 * 1024));
    let r = s.raw("PUT", "/v1/cloudimages/tags", Some(Who::Owner), &[], Some(&big)).await;
    r.expect_error(413, "IMG.0001");
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_client_id_is_kept() {
    let s = TestServer::start().await;
    let ok = s.raw("GET", "/versions", None, &[], None).await;
    assert!(ok.headers.contains_key("x-request-id"));
    let mine = s.raw("GET", "/versions", None, &[("x-request-id", "my-request-1")], None).await;
    assert_eq!(mine.headers["x-request-id"], "my-request-1");
    let denied = s.raw("GET", "/v1/cloudimages/tags", None, &[], None).await;
    assert!(denied.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn content_type_is_never_required() {
    let s = TestServer::start().await;
    let image = s.p1_image().await;
    let body = json!({"tag": {"key": "k", "value": "v"}}).to_string();
    for content_type in
        [None, Some("application/octet-stream"), Some("text/plain"), Some("application/json;charset=utf-8")]
    {
        let headers: Vec<(&str, &str)> = content_type.map(|c| vec![("content-type", c)]).unwrap_or_default();
        let r = s
            .raw("POST", &format!("/v2/{P1}/images/{image}/tags"), Some(Who::Owner), &headers, Some(&body))
            .await;
        assert_eq!(r.status, 204, "{content_type:?}: {}", r.text);
    }
    let r = s
        .raw(
            "PUT",
            &format!("/v2/images/{image}/tags/g"),
            Some(Who::Owner),
            &[("content-type", "application/octet-stream"), ("content-length", "0")],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
}

/// Malformed input of every kind, on every operation: never a 5xx, and the stored data stays as it was.
#[tokio::test]
async fn no_input_gives_a_5xx_or_changes_data() {
    let s = TestServer::start().await;
    let image = s.image(Who::Owner, json!({"name": "stable", "tags": ["keep=1", "solo"]})).await;
    let before = s.raw("GET", &format!("/v2/images/{image}"), Some(Who::Owner), &[], None).await.json();
    let paths = [
        format!("/v2/images/{image}/tags/%FF"),
        format!("/v2/images/{image}/tags/%00"),
        "/v2/images/%FF/tags/x".to_string(),
        format!("/v2/{P1}/images/{image}/tags/%C3%28"),
        format!("/v2/%FF/images/{image}/tags"),
        "/v2/%FF/images/tags".to_string(),
        format!("/v2/{P1}/images/{image}/tags/action"),
        format!("/v2/{P1}/images/resource_instances/action"),
        format!("/v2/{P1}/images/{image}/tags"),
        "/v1/cloudimages/tags?limit=%FF&page=-1&created_at=%FF".to_string(),
        "/v2/images?limit=-5&marker=%FF&tag=%FF".to_string(),
        "/v2/images".to_string(),
        "/v1/cloudimages/tags".to_string(),
        format!("/v2/images/{image}/file"),
    ];
    let bodies = [
        None,
        Some("".to_string()),
        Some("null".to_string()),
        Some("[]".to_string()),
        Some("\"string\"".to_string()),
        Some("{\"action\": null, \"tags\": null, \"tag\": null, \"image_id\": null}".to_string()),
        Some("{\"action\": \"create\", \"tags\": [{\"key\": null}]}".to_string()),
        Some("{\"action\": \"filter\", \"limit\": 1e309}".to_string()),
        Some("{\"action\": \"filter\", \"limit\": 18446744073709551616}".to_string()),
        Some("{\"image_id\": \"".to_string() + &image.to_string() + "\", \"tag\": \"\\ud800\"}"),
        Some("\u{0}\u{1}\u{2}".to_string()),
        Some("{\"tags\": [\"".to_string() + &"x".repeat(300) + "\"]}"),
    ];
    let mut statuses = BTreeSet::new();
    for path in &paths {
        for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
            for body in &bodies {
                let r = s.raw(method, path, Some(Who::Owner), &[], body.as_deref()).await;
                let not_implemented = method == "PUT" && path.ends_with("/file") && r.status == 501;
                assert!(
                    r.status < 500 || not_implemented,
                    "{method} {path} {body:?} -> {} {}",
                    r.status,
                    r.text
                );
                if r.status >= 400 {
                    r.code();
                }
                statuses.insert(r.status);
            }
        }
    }
    assert!(statuses.contains(&400) && statuses.contains(&404) && statuses.contains(&405), "{statuses:?}");
    let after = s.raw("GET", &format!("/v2/images/{image}"), Some(Who::Owner), &[], None).await.json();
    assert_eq!(before["tags"], after["tags"], "rejected requests changed no tag");
    assert_eq!(before["name"], after["name"]);
}
