//! The OpenAPI document: built from the same routes the server serves, checked in under `openapi/` both as
//! emitted (OpenAPI 3.1) and projected to OpenAPI 3.0.3 for progenitor.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi};
use utoipa::{PartialSchema, ToSchema};

use crate::api;
use crate::api::extract::GlanceBoolean;
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
            "A token from the service's config file (the demo token is printed at start-up). In Swagger UI, \
             paste it in this box; generated clients must send it as the `X-Auth-Token` header, not as \
             `Authorization: Bearer`.",
        ))),
    );
    doc.components = Some(components);
    doc
}

/// The license of the service and its documents (the workspace's).
const LICENSE: &str = "Apache-2.0";

/// How an AK/SK caller authenticates. Declared as an HTTP scheme named after the signature algorithm, which
/// Swagger UI shows without an input box (an AK/SK signature is computed per request, never pasted), and
/// generic generators leave to the caller.
const AKSK_DESCRIPTION: &str = "Huawei Cloud AK/SK request signing, as the Huawei SDKs and the generated Rust \
client (`Client::with_aksk`) do it. It is not a value to paste: each request carries its own signature, \
`Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>` (or `SDK-HMAC-SM3`, or \
`V11-HMAC-SHA256 Credential=<AK>/<date>/<region>/<service>/sdk_request, ...`), an HMAC with the secret key \
over the canonical request (method, path, query, the signed headers and the hash of the body), with \
`X-Sdk-Date` (within 15 minutes) and `Host` signed, and `X-Project-Id` / `X-Security-Token` signed whenever \
sent. Swagger UI cannot compute it: use the token there.";

/// What a secured operation reads from `X-Project-Id`.
const PROJECT_HEADER_DESCRIPTION: &str = "The project to act in, for a credential scoped to several; \
without it, the project in the path, else the credential's default project. A project the credential is \
not scoped to, or one that differs from the path's `{project_id}`, is 403 `IMG.0026`. With an AK/SK \
signature it must be among the signed headers.";

/// Completes the emitted document with what utoipa's types cannot express or what holds for every
/// operation: the servers, the license, the AK/SK scheme, `security: []` on public operations and the
/// `X-Project-Id` header on every secured one.
fn complete(doc: &mut Value) {
    doc["servers"] = json!([{
        "url": "/",
        "description": "The server that serves this document (http://127.0.0.1:9292 by default)."
    }]);
    doc["info"]["license"] = json!({"name": LICENSE, "url": "https://www.apache.org/licenses/LICENSE-2.0"});
    doc["components"]["securitySchemes"]["aksk"] =
        json!({"type": "http", "scheme": "SDK-HMAC-SHA256", "description": AKSK_DESCRIPTION});
    let project_header = json!({
        "name": "X-Project-Id",
        "in": "header",
        "description": PROJECT_HEADER_DESCRIPTION,
        "required": false,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
        "example": crate::config::demo::PROJECT
    });
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for operation in item.values_mut() {
            let Some(operation) = operation.as_object_mut() else { continue };
            let secured = operation.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            if secured {
                let parameters = operation.entry("parameters").or_insert_with(|| json!([]));
                if let Some(parameters) = parameters.as_array_mut() {
                    parameters.push(project_header.clone());
                }
            } else {
                operation.insert("security".to_owned(), json!([]));
            }
        }
    }
}

/// The document as served at `/openapi.json` and checked in (OpenAPI 3.1).
pub fn emitted(doc: &OpenApi) -> Value {
    let mut value = serde_json::to_value(doc).unwrap_or(Value::Null);
    complete(&mut value);
    value
}

/// The document as JSON text, as checked in (pretty, with a final newline).
pub fn to_text(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The two checked-in documents' text: (3.1 as emitted, 3.0 projection).
pub fn documents() -> (String, String) {
    let emitted = emitted(&crate::app::openapi());
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
