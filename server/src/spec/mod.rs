//! The OpenAPI document: built from the same routes the server serves, checked in under `openapi/` both as
//! emitted (OpenAPI 3.1) and projected to OpenAPI 3.0.3 for progenitor.

use std::path::{Path, PathBuf};

use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi};
use utoipa::{PartialSchema, ToSchema};

use crate::api;
use crate::domain::query::GlanceBoolean;
use crate::error::ErrorResponse;

pub mod downgrade;

/// The checked-in document as emitted (OpenAPI 3.1).
pub const OPENAPI_FILE: &str = "ims-tags.json";
/// The checked-in document projected to OpenAPI 3.0.3, which the client is generated from.
pub const OPENAPI_3_0_FILE: &str = "ims-tags-3.0.json";

/// Completes the document the routes produced: info, tags with descriptions, security schemes and the error
/// envelope.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("ims-tags")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Huawei Cloud IMS image-tag APIs and OpenStack Glance native tag endpoints, with the Glance image \
             registry subset they need. Errors always have the body {\"error\": {\"code\", \"message\"}}.",
        ))
        .build();
    let tag =
        |name: &str, description: &str| TagBuilder::new().name(name).description(Some(description)).build();
    doc.tags = Some(vec![
        tag(api::NATIVE_TAGS, "OpenStack Glance native tag operations: tags as strings."),
        tag(api::IMS_V1_TAGS, "IMS v1 tag operations: project from X-Project-Id."),
        tag(api::IMS_V2_TAGS, "IMS v2 tag operations: tags as key/value objects."),
        tag(api::IMAGES, "The Glance v2 image registry subset."),
        tag(api::DISCOVERY, "Version discovery and image schemas (no authentication)."),
    ]);
    let mut components = doc.components.take().unwrap_or_else(|| ComponentsBuilder::new().build());
    components.schemas.insert(ErrorResponse::name().into_owned(), ErrorResponse::schema());
    let mut error_detail = Vec::new();
    ErrorResponse::schemas(&mut error_detail);
    components.schemas.extend(error_detail);
    // Query parameters refer to it, and `IntoParams` does not collect the schemas it refers to.
    components.schemas.insert(GlanceBoolean::name().into_owned(), GlanceBoolean::schema());
    components.add_security_scheme(
        "token",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Auth-Token",
            "A token from the service's config file.",
        ))),
    );
    components.add_security_scheme(
        "aksk",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "A Huawei Cloud AK/SK signature (SDK-HMAC-SHA256, SDK-HMAC-SM3 or V11-HMAC-SHA256) over the method, \
             path, query, signed headers (host and x-sdk-date at least) and body, as the Huawei SDKs send it.",
        ))),
    );
    doc.components = Some(components);
    doc
}

/// The document as JSON text, as checked in (pretty, with a final newline).
pub fn to_text(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The two checked-in documents' text: (3.1 as emitted, 3.0 projection).
pub fn documents() -> (String, String) {
    let emitted = serde_json::to_value(crate::app::openapi()).unwrap_or(Value::Null);
    let projected = downgrade::to_openapi_3_0(&emitted);
    (to_text(&emitted), to_text(&projected))
}

/// The `openapi/` directory of the workspace.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("openapi")
}

/// Writes both documents into `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    let (emitted, projected) = documents();
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(OPENAPI_FILE), emitted)?;
    std::fs::write(dir.join(OPENAPI_3_0_FILE), projected)
}
