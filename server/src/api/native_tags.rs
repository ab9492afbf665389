//! The OpenStack Glance native tag operations (`glance_create_tag`, `glance_delete_tag`): a tag is a string;
//! `k` is the key `k` with an empty value and `k=v` names the key `k` with the value `v`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documented::{GlanceCreateTagErrors, GlanceDeleteTagErrors};
use super::extract::{ApiPath, NoBody};
use super::{AppState, NATIVE_TAGS};
use crate::auth::identity::Caller;
use crate::error::ApiError;
use crate::service::operation::Operation;

/// The routes of this family.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(glance_create_tag, glance_delete_tag))
}

/// Path of a native tag.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NativeTagPath {
    /// The image id (a UUID; any other text names no image: 404).
    #[param(format = Uuid, example = "4d2c0b0e-1111-2222-3333-444455556666")]
    image_id: String,
    /// The tag, percent-encoded as one path segment (`%2F` is part of the tag).
    #[param(min_length = 1, example = "gold")]
    tag: String,
}

/// Add a tag to an image (Glance native)
///
/// Adds the key `tag` with an empty value; an existing key keeps its place and its value becomes empty.
/// Adding a tag the image already has is a no-op 204. The tag is 1-255 characters, without `=`, control
/// characters or surrounding whitespace. Over the tag quota is 413 `IMG.0116`. Deprecated in IMS, kept for
/// OpenStack clients.
#[utoipa::path(
    put,
    path = "/v2/images/{image_id}/tags/{tag}",
    operation_id = "glance_create_tag",
    tag = NATIVE_TAGS,
    params(NativeTagPath),
    responses((status = 204, description = "The tag is on the image."), GlanceCreateTagErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_create_tag(
    State(service): State<AppState>,
    caller: Caller,
    no_body: NoBody,
    path: ApiPath<NativeTagPath>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::GlanceCreateTag)?;
    no_body.check()?;
    let path = path.parse()?;
    service.glance_create_tag(&caller, &path.image_id, path.tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a tag from an image (Glance native)
///
/// `tag` is read in the string view: `k` deletes the key `k` whatever its value, `k=v` deletes `k` only if
/// its value is `v`. A tag that is not on the image is 404 `IMG.0115`. Any characters are accepted (up to
/// 255 per key and value), so every stored tag can be deleted.
#[utoipa::path(
    delete,
    path = "/v2/images/{image_id}/tags/{tag}",
    operation_id = "glance_delete_tag",
    tag = NATIVE_TAGS,
    params(NativeTagPath),
    responses((status = 204, description = "The tag is gone."), GlanceDeleteTagErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_delete_tag(
    State(service): State<AppState>,
    caller: Caller,
    no_body: NoBody,
    path: ApiPath<NativeTagPath>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::GlanceDeleteTag)?;
    no_body.check()?;
    let path = path.parse()?;
    service.glance_delete_tag(&caller, &path.image_id, &path.tag).await?;
    Ok(StatusCode::NO_CONTENT)
}
