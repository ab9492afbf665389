//! The HTTP API, one module per family. Handlers are thin: authorise the caller, parse, call the domain and
//! the store, shape the response. Their `utoipa` annotations are the OpenAPI document.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};

use crate::auth::identity::Caller;
use crate::domain::query::QueryLimits;
use crate::domain::tag::{TagChange, TagLimits};
use crate::error::ApiError;
use crate::store::Store;

pub mod discovery;
pub mod extract;
pub mod ims_v1;
pub mod ims_v2;
pub mod native_tags;
pub mod registry;

/// OpenAPI tag of the Glance native tag operations.
pub const NATIVE_TAGS: &str = "native-tags";
/// OpenAPI tag of the IMS v1 tag operations.
pub const IMS_V1_TAGS: &str = "ims-v1-tags";
/// OpenAPI tag of the IMS v2 tag operations.
pub const IMS_V2_TAGS: &str = "ims-v2-tags";
/// OpenAPI tag of the image registry.
pub const IMAGES: &str = "images";
/// OpenAPI tag of version discovery and schemas.
pub const DISCOVERY: &str = "discovery";

/// What handlers share: the store and the limits.
pub struct App {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Tag limits.
    pub limits: TagLimits,
    /// Op 5 limits.
    pub query_limits: QueryLimits,
}

impl App {
    /// Applies a tag change to an image of the caller's project, within the configured quota.
    pub async fn change_tags(&self, caller: &Caller, image: &str, change: TagChange) -> Result<(), ApiError> {
        let id = extract::image_id(image)?;
        Ok(self.store.change_tags(id, &caller.project, change, self.limits.tags_per_image).await?)
    }
}

/// The router state: a cheap handle on `App`.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// What each documented error status means.
fn describe(status: u16) -> &'static str {
    match status {
        400 => {
            "Malformed body or parameters (IMG.0001), empty body (IMG.0007), invalid tag (IMG.0115) or tag quota exceeded (IMG.0116)."
        }
        401 => "Missing or invalid credentials (APIGW.0301).",
        403 => "Permission, project scope or ownership denied (IMG.0026).",
        404 => {
            "The image does not exist or is not visible (IMG.0144), or the tag is not on the image (IMG.0115)."
        }
        409 => "An image with this id already exists (IMG.0001).",
        413 => {
            "The request body is larger than the limit (IMG.0001), or, on the Glance paths, the tag quota is exceeded (IMG.0116)."
        }
        429 => {
            "The project already runs as many list queries at once as its share allows (APIGW.0308); retry after Retry-After seconds."
        }
        500 => "An internal error (IMG.0500); the detail is in the server log under the request id.",
        501 => "Not implemented by this service (IMG.0501).",
        503 => {
            "The request timed out, its query ran past the time limit, or the service is busy with other projects' list queries (IMG.0503); retry after Retry-After seconds when given."
        }
        _ => "An error.",
    }
}

/// The documented error responses for a list of statuses, all with the one envelope.
pub fn error_responses(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|status| {
            let response = ResponseBuilder::new()
                .description(describe(*status))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// Declares a type that documents a fixed set of error statuses for `responses(...)`.
macro_rules! error_statuses {
    ($(#[$doc:meta])* $name:ident: $($status:literal),+) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>> {
                $crate::api::error_responses(&[$($status),+])
            }
        }
    };
}

error_statuses!(
    /// Errors of an operation on one image.
    ImageErrors: 400, 401, 403, 404, 413, 500, 503
);
error_statuses!(
    /// Errors of an authenticated list that names no image.
    ListErrors: 400, 401, 403, 413, 429, 500, 503
);
error_statuses!(
    /// Errors of image creation.
    CreateErrors: 400, 401, 403, 409, 413, 500, 503
);
error_statuses!(
    /// Errors of the image data upload, which is not implemented.
    UploadErrors: 401, 403, 404, 413, 500, 501, 503
);
error_statuses!(
    /// Errors of an unauthenticated document.
    PublicErrors: 500, 503
);
