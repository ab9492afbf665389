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
