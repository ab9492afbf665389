//! Error messages on the Glance-family paths: an ims-tags choice (docs/decisions.md) so that
//! python-glanceclient, which prints `HTTP <message>`, shows the status as it does against Glance.

use crate::harness::{P1, TestServer, Who};

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
