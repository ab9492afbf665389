//! Unauthenticated discovery: the versions document OpenStack clients read first, and the JSON schemas of the
//! image document that python-glanceclient builds its models from.

use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documented::PublicErrors;
use super::{AppState, DISCOVERY};
use crate::domain::image::{CONTAINER_FORMATS, DISK_FORMATS, Status, Visibility};
use crate::host::BaseUrl;

/// The routes of this family.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_versions_root))
        .routes(routes!(list_versions))
        .routes(routes!(show_image_schema))
        .routes(routes!(show_images_schema))
}

/// The API version this service implements.
pub const API_VERSION: &str = "v2.16";

/// A link.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct Link {
    /// `self`.
    pub rel: String,
    /// The version's root URL.
    pub href: String,
}

/// One API version.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct Version {
    /// The version id (`v2.N`).
    pub id: String,
    /// `CURRENT`.
    pub status: String,
    /// Where it is served.
    pub links: Vec<Link>,
}

/// The versions document.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct VersionList {
    /// The versions served.
    pub versions: Vec<Version>,
}

/// The versions document, its links under the request's base URL (the configured `public_base_url`, or
/// the validated `Host` and `X-Forwarded-Proto`: see `crate::host`).
fn versions(base: Option<&BaseUrl>) -> VersionList {
    let base = base.map_or("http://localhost", |BaseUrl(base)| base.as_str());
    VersionList {
        versions: vec![Version {
            id: API_VERSION.to_owned(),
            status: "CURRENT".to_owned(),
            links: vec![Link { rel: "self".to_owned(), href: format!("{base}/v2/") }],
        }],
    }
}

/// List API versions (root)
///
/// The versions document with status 300 (Multiple Choices), as Glance answers at its root; openstacksdk's
/// version discovery starts here.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "list_versions_root",
    tag = DISCOVERY,
    responses((status = 300, description = "The versions document.", body = VersionList), PublicErrors)
)]
async fn list_versions_root(base: Option<Extension<BaseUrl>>) -> (StatusCode, Json<VersionList>) {
    (StatusCode::MULTIPLE_CHOICES, Json(versions(base.as_deref())))
}

/// List API versions
///
/// The versions document; python-glanceclient reads it before every command.
#[utoipa::path(
    get,
    path = "/versions",
    operation_id = "list_versions",
    tag = DISCOVERY,
    responses((status = 200, description = "The versions document.", body = VersionList), PublicErrors)
)]
async fn list_versions(base: Option<Extension<BaseUrl>>) -> Json<VersionList> {
    Json(versions(base.as_deref()))
}

/// The JSON schema of the image document: every non-string field declared, other properties strings, and the
/// fields clients may not set marked `readOnly` (python-glanceclient turns every other property into a CLI
/// option, and a writable `file` would clash with its own `--file`). The enumerations come from the image
/// model; a test checks that the properties are the fields of `ImageDocument`.
pub fn image_schema() -> Value {
    let read_only_nullable = |t: &str| json!({"type": [t, "null"], "readOnly": true});
    let read_only = |t: &str| json!({"type": t, "readOnly": true});
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let visibilities: Vec<&str> = Visibility::ALL.iter().map(|v| v.as_str()).collect();
    // null first: the formats are unset until given.
    let or_null = |formats: &[&str]| -> Vec<Value> {
        std::iter::once(Value::Null).chain(formats.iter().map(|f| json!(f))).collect()
    };
    json!({
        "name": "image",
        "properties": {
            "id": {"type": "string", "description": "An identifier for the image"},
            "name": {"type": ["null", "string"], "maxLength": 255},
            "status": {"type": "string", "readOnly": true, "enum": statuses},
            "visibility": {"type": "string", "enum": visibilities},
            "owner": {"type": ["null", "string"]},
            "protected": {"type": "boolean"},
            "os_hidden": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
            "container_format": {"type": ["null", "string"], "enum": or_null(CONTAINER_FORMATS)},
            "disk_format": {"type": ["null", "string"], "enum": or_null(DISK_FORMATS)},
            "min_disk": {"type": "integer"},
            "min_ram": {"type": "integer"},
            "size": read_only_nullable("integer"),
            "virtual_size": read_only_nullable("integer"),
            "checksum": read_only_nullable("string"),
            "created_at": read_only("string"),
            "updated_at": read_only("string"),
            "self": read_only("string"),
            "file": read_only("string"),
            "schema": read_only("string")
        },
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    })
}

/// Show the image schema
///
/// The JSON schema of the image document, as `GET /v2/schemas/image` in Glance.
#[utoipa::path(
    get,
    path = "/v2/schemas/image",
    operation_id = "glance_show_image_schema",
    tag = DISCOVERY,
    responses((status = 200, description = "The JSON schema of an image.", body = Object), PublicErrors)
)]
async fn show_image_schema() -> Json<Value> {
    Json(image_schema())
}

/// Show the image list schema
///
/// The JSON schema of the image list, as `GET /v2/schemas/images` in Glance.
#[utoipa::path(
    get,
    path = "/v2/schemas/images",
    operation_id = "glance_show_images_schema",
    tag = DISCOVERY,
    responses((status = 200, description = "The JSON schema of an image list.", body = Object), PublicErrors)
)]
async fn show_images_schema() -> Json<Value> {
    Json(json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"}
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    }))
}
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::PartialSchema;

    use super::*;
    use crate::api::registry::ImageDocument;
    use crate::domain::image::READ_ONLY_ATTRIBUTES;

    /// The schema python-glanceclient builds its image model from declares exactly the fields of the image
    /// document (a new attribute fails here until the schema has it too), and marks read-only only fields
    /// that creating an image refuses.
    #[test]
    fn the_image_schema_declares_the_fields_of_the_image_document() {
        let document = serde_json::to_value(ImageDocument::schema()).expect("a schema");
        let fields: BTreeSet<&String> =
            document["properties"].as_object().expect("the document's fields").keys().collect();
        let schema = image_schema();
        let properties = schema["properties"].as_object().expect("the schema's properties");
        assert_eq!(properties.keys().collect::<BTreeSet<_>>(), fields);
        for (name, property) in properties {
            if property["readOnly"] == true {
                assert!(READ_ONLY_ATTRIBUTES.contains(&name.as_str()), "{name} is read-only but settable");
            }
        }
    }
}
