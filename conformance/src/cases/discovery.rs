//! Unauthenticated discovery (`GET /`, `GET /versions`) and the image schemas.

use serde_json::{Value, json};

use crate::case::{Case, Ctx};
use crate::cases::call;
use crate::http::Request;
use crate::outcome::{CaseResult, Failure};
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "discovery.root_is_300_with_the_versions",
            Discovery,
            root,
            "GET / answers 300 with a CURRENT v2 version, no credentials needed"
        ),
        case!(
            contract,
            "discovery.versions_is_200",
            Discovery,
            versions,
            "GET /versions answers 200 with a CURRENT v2 version, no credentials needed"
        ),
        case!(
            contract,
            "discovery.version_links_point_at_v2",
            Discovery,
            links,
            "the version's self link is <scheme>://<Host>/v2/"
        ),
        case!(
            choice,
            "discovery.version_is_v2_16",
            Discovery,
            version_id,
            "the one version reported is v2.16"
        ),
        case!(
            contract,
            "discovery.image_schema_describes_the_document",
            Discovery,
            image_schema,
            "GET /v2/schemas/image declares every non-string field, additionalProperties string, no required, no tag pattern"
        ),
        case!(
            contract,
            "discovery.images_schema_lists_image_documents",
            Discovery,
            images_schema,
            "GET /v2/schemas/images describes a list of image documents"
        ),
        case!(
            choice,
            "discovery.image_schema_marks_server_fields_read_only",
            Discovery,
            read_only,
            "status, timestamps, size, checksum, self, file and schema are readOnly"
        ),
    ]
}

fn current_v2(body: &Value) -> Result<&Value, Failure> {
    let versions = body["versions"].as_array().ok_or_else(|| Failure::new(format!("no versions: {body}")))?;
    versions
        .iter()
        .find(|v| v["status"] == "CURRENT" && v["id"].as_str().is_some_and(|id| id.starts_with("v2")))
        .ok_or_else(|| Failure::new(format!("no CURRENT v2 version in {body}")))
}

async fn root(c: &Ctx) -> CaseResult {
    let r = c.anonymous(Request::new("GET", "/").header("accept", "application/json")).await?;
    current_v2(&r.expect_json(300)?).map_err(|f| r.fail(f.message))?;
    // progenitor treats only 2xx as success: the generated client reports the 300 as an unexpected response.
    match c.anonymous_client().list_versions_root().send().await {
        Err(ims_tags_client::Error::UnexpectedResponse(response)) => {
            ensure_eq!(response.status().as_u16(), 300, "the status through the generated client");
            let body: Value = response.json().await.map_err(|e| Failure::new(format!("not JSON: {e}")))?;
            current_v2(&body)?;
        }
        Ok(_) => return Err(Failure::new("the generated client took the 300 for a success")),
        Err(other) => {
            return Err(Failure::new(format!(
                "the generated client: expected the 300 as an unexpected response, got {other}"
            )));
        }
    }
    Ok(())
}

async fn versions(c: &Ctx) -> CaseResult {
    let list = call("list_versions", c.anonymous_client().list_versions().send()).await?;
    ensure!(
        list.versions.iter().any(|v| v.id.starts_with("v2") && v.status == "CURRENT"),
        "no CURRENT v2 version: {list:?}"
    );
    Ok(())
}

async fn links(c: &Ctx) -> CaseResult {
    for path in ["/", "/versions"] {
        let r = c.anonymous(Request::new("GET", path).header("accept", "application/json")).await?;
        let body = r.json()?;
        let version = current_v2(&body).map_err(|f| r.fail(f.message))?;
        let href = version["links"]
            .as_array()
            .and_then(|links| links.iter().find(|l| l["rel"] == "self"))
            .and_then(|l| l["href"].as_str())
            .unwrap_or_default();
        let expected = format!("{}/v2/", c.target.base_url);
        if href != expected {
            return Err(r.fail(format!("{path}: the self link is {href:?}, expected {expected:?}")));
        }
    }
    Ok(())
}

async fn version_id(c: &Ctx) -> CaseResult {
    let list = call("list_versions", c.anonymous_client().list_versions().send()).await?;
    let ids: Vec<&str> = list.versions.iter().map(|v| v.id.as_str()).collect();
    ensure_eq!(ids, vec!["v2.16"], "the versions");
    Ok(())
}

async fn image_schema(c: &Ctx) -> CaseResult {
    let r = c.anonymous(Request::new("GET", "/v2/schemas/image")).await?;
    let schema = r.expect_json(200)?;
    if schema["additionalProperties"] != json!({"type": "string"}) {
        return Err(r.fail("additionalProperties is not {\"type\": \"string\"}"));
    }
    if schema.get("required").is_some() {
        return Err(r.fail("the schema has `required`"));
    }
    if schema["properties"]["tags"]["items"].get("pattern").is_some() {
        return Err(r.fail("tags items have a pattern"));
    }
    for field in [
        "id",
        "status",
        "visibility",
        "owner",
        "protected",
        "os_hidden",
        "tags",
        "min_disk",
        "min_ram",
        "size",
        "virtual_size",
        "checksum",
        "created_at",
        "updated_at",
        "self",
        "file",
        "schema",
    ] {
        if schema["properties"].get(field).is_none() {
            return Err(r.fail(format!("{field} is not declared")));
        }
    }
    Ok(())
}

async fn images_schema(c: &Ctx) -> CaseResult {
    let client = c.anonymous_client();
    let image = call("glance_show_image_schema", client.glance_show_image_schema().send()).await?;
    let images = call("glance_show_images_schema", client.glance_show_images_schema().send()).await?;
    let items = &images["properties"]["images"]["items"];
    ensure!(items.is_object(), "images.items is not a schema: {images:?}");
    ensure_eq!(items["properties"]["tags"], image["properties"]["tags"], "the tags of a listed image");
    Ok(())
}

async fn read_only(c: &Ctx) -> CaseResult {
    let schema =
        call("glance_show_image_schema", c.anonymous_client().glance_show_image_schema().send()).await?;
    for field in
        ["status", "created_at", "updated_at", "size", "virtual_size", "checksum", "self", "file", "schema"]
    {
        ensure_eq!(schema["properties"][field]["readOnly"], json!(true), "{field} readOnly");
    }
    Ok(())
}
