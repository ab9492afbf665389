//! The README's walk-through with the generated client: create an image, tag it through the IMS and Glance
//! paths, query by tag, read every view, and clean up. Run it against a server started with the demo identity:
//!
//! ```text
//! cargo run --release -p ims-tags            # in one terminal
//! cargo run -p ims-tags-client --example walkthrough
//! ```

use ims_tags_client::{Client, Credentials, types};

const BASE: &str = "http://127.0.0.1:9292";
const PROJECT: &str = "0000000000000000000000000000dem0";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The demo token; `Client::with_aksk` signs like the Huawei SDKs instead.
    let client = Client::with_token(BASE, "ims-tags-demo-token");

    let image = client
        .glance_create_image()
        .body(
            types::CreateImageRequest::builder()
                .name(Some("walkthrough".try_into()?))
                .tags(Some(vec!["os=linux".into()]))
                .extra(std::collections::HashMap::from([("__os_type".to_owned(), "Linux".to_owned())])),
        )
        .send()
        .await?
        .into_inner();
    println!("created image {}", image.id);

    client
        .add_image_tag()
        .project_id(PROJECT)
        .image_id(image.id.as_str())
        .body(types::AddImageTagRequest {
            tag: types::ImsTag::builder().key("env").value("prod").try_into()?,
        })
        .send()
        .await?;
    client.glance_create_tag().image_id(image.id.as_str()).tag("web server").send().await?;

    let tags =
        client.list_image_tags().project_id(PROJECT).image_id(image.id.as_str()).send().await?.into_inner();
    for tag in &tags.tags {
        println!("  {} = {:?}", tag.key, tag.value);
    }

    let found = client
        .list_image_by_tags()
        .project_id(PROJECT)
        .body(types::ListImageByTagsRequest::builder().action(types::QueryAction::Filter).tags(Some(vec![
            types::TagsFilter { key: "env".try_into()?, values: Some(vec!["prod".into()]) },
        ])))
        .send()
        .await?
        .into_inner();
    println!("images tagged env=prod: {}", found.total_count);

    // The AK/SK path: the same call, signed with the demo credential (SDK-HMAC-SHA256).
    let signed = Client::with_aksk(
        BASE,
        Credentials::new("DEMOACCESSKEY0000000", "DEMOSECRETKEY000000000000000000000000000"),
        Some(PROJECT.to_owned()),
    );
    let strings = signed.list_tags().send().await?.into_inner();
    println!("tag strings (signed request): {:?}", strings.tags);

    client.glance_delete_image().image_id(image.id.as_str()).send().await?;
    println!("deleted image {}", image.id);
    Ok(())
}
