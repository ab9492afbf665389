//! Ops 5 to 10, the IMS v2 tag operations: what only ims-tags promises (the contract cases are in
//! `conformance/`).

use ims_tags_client::types;
use serde_json::json;

use crate::harness::{P1, TestServer, Who, client_error};

#[tokio::test]
async fn quota_is_a_config_setting() {
    let s = TestServer::start_with(|c| c.limits.tags_per_image = 2).await;
    let image = s.image(Who::Owner, json!({"tags": ["a", "b"]})).await;
    let tag = types::ImsTag::builder().key("c").value("").try_into().expect("a valid IMS tag");
    let added = s
        .client(Who::Owner)
        .add_image_tag()
        .project_id(P1)
        .image_id(image.to_string())
        .body(types::AddImageTagRequest { tag })
        .send()
        .await;
    assert_eq!(client_error(added), (400, "IMG.0116".to_string()));
    let r = s
        .raw("POST", "/v2/images", Some(Who::Owner), &[], Some(&json!({"tags": ["a", "b", "c"]}).to_string()))
        .await;
    r.expect_error(413, "IMG.0116");
}
