//! The image registry: the subset of the Glance v2 image API that tags need and that python-glanceclient,
//! openstacksdk and the Huawei SDK's `glance_*` methods call, with the reading of `GET /v2/images`' query
//! parameters.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Query;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::documented::{
    GlanceCreateImageErrors, GlanceDeleteImageErrors, GlanceListImagesErrors, GlanceShowImageErrors,
    GlanceUploadImageDataErrors,
};
use super::extract::{ApiJson, ApiPath, GlanceBoolean};
use super::{AppState, IMAGES};
use crate::auth::identity::Caller;
use crate::domain::image::{Image, Status, Visibility};
use crate::domain::query::image_filter::{ImageFilter, TimeCondition, parse_visibility};
use crate::domain::query::image_list::{ImageListQuery, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, SortKey};
use crate::domain::query::{InvalidQuery, QueryLimits};
use crate::domain::tag::{Tag, string_view_of};
use crate::domain::time;
use crate::error::ApiError;
use crate::service::images::ImageDraft;
use crate::service::operation::Operation;

/// The routes of this family.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(glance_create_image, glance_list_images))
        .routes(routes!(glance_show_image, glance_delete_image))
        .routes(routes!(glance_upload_image_data))
}

/// An image as Glance shows it. Extra string properties appear as further fields.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ImageDocument {
    /// The image id.
    pub id: String,
    /// The name, or null.
    pub name: Option<String>,
    /// The status.
    pub status: Status,
    /// The visibility.
    pub visibility: Visibility,
    /// The owner project.
    pub owner: String,
    /// Whether deletion is refused.
    pub protected: bool,
    /// Whether lists leave it out by default.
    pub os_hidden: bool,
    /// Tags in the string view (`k` or `k=v`), sorted by their bytes.
    pub tags: Vec<String>,
    /// The container format, or null.
    pub container_format: Option<String>,
    /// The disk format, or null.
    pub disk_format: Option<String>,
    /// Minimum disk in GB.
    pub min_disk: i64,
    /// Minimum RAM in MB.
    pub min_ram: i64,
    /// Data size in bytes, or null.
    pub size: Option<i64>,
    /// Virtual size in bytes, or null.
    pub virtual_size: Option<i64>,
    /// Data checksum, or null.
    pub checksum: Option<String>,
    /// Creation time, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_at: String,
    /// Last change, `YYYY-MM-DDTHH:MM:SSZ`; every tag write bumps it.
    pub updated_at: String,
    /// `/v2/images/{id}`.
    #[serde(rename = "self")]
    pub self_link: String,
    /// `/v2/images/{id}/file`.
    pub file: String,
    /// `/v2/schemas/image`.
    pub schema: String,
    /// Extra string properties (`__os_type`, `architecture`, ...).
    #[serde(flatten)]
    pub properties: BTreeMap<String, String>,
}

impl From<Image> for ImageDocument {
    fn from(image: Image) -> Self {
        let id = image.id.to_string();
        ImageDocument {
            self_link: format!("/v2/images/{id}"),
            file: format!("/v2/images/{id}/file"),
            schema: "/v2/schemas/image".to_owned(),
            tags: string_view_of(&image.tags),
            id,
            name: image.name,
            status: image.status,
            visibility: image.visibility,
            owner: image.owner,
            protected: image.protected,
            os_hidden: image.os_hidden,
            container_format: image.container_format,
            disk_format: image.disk_format,
            min_disk: image.min_disk,
            min_ram: image.min_ram,
            size: image.size,
            virtual_size: image.virtual_size,
            checksum: image.checksum,
            created_at: time::format(image.created_at),
            updated_at: time::format(image.updated_at),
            properties: image.properties,
        }
    }
}

/// Body of `POST /v2/images`. Further fields are extra string properties, stored and returned as given.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "4d2c0b0e-1111-2222-3333-444455556666",
    "name": "ubuntu-22.04",
    "visibility": "private",
    "container_format": "bare",
    "disk_format": "qcow2",
    "tags": ["os=linux", "gold"],
    "__os_type": "Linux"
}))]
pub struct CreateImageRequest {
    /// An id to use (a UUID); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub id: Option<String>,
    /// The name, up to 255 characters.
    #[schema(max_length = 255)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `private` (default), `public`, `shared` or `community` (the last two behave as owner-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// One of Glance's container formats (`bare`, `ovf`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "bare")]
    pub container_format: Option<String>,
    /// One of Glance's disk formats (`raw`, `qcow2`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "qcow2")]
    pub disk_format: Option<String>,
    /// Minimum disk in GB.
    #[schema(minimum = 0)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_disk: Option<i64>,
    /// Minimum RAM in MB.
    #[schema(minimum = 0)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ram: Option<i64>,
    /// Refuse deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Leave out of lists by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_hidden: Option<bool>,
    /// Tags in the string view (`k` or `k=v`); duplicates collapse.
    #[schema(max_items = 10)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Extra string properties.
    #[serde(flatten)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub properties: BTreeMap<String, serde_json::Value>,
}

impl From<CreateImageRequest> for ImageDraft {
    fn from(body: CreateImageRequest) -> Self {
        ImageDraft {
            id: body.id,
            name: body.name,
            visibility: body.visibility,
            container_format: body.container_format,
            disk_format: body.disk_format,
            min_disk: body.min_disk,
            min_ram: body.min_ram,
            protected: body.protected,
            os_hidden: body.os_hidden,
            tags: body.tags,
            properties: body.properties,
        }
    }
}

/// Create an image
///
/// Registers an image owned by the caller's project, in status `queued`. Any project may create public
/// images. `tags` are strings in the string view; two values for one key are 400 `IMG.0115`, more than the
/// quota 413 `IMG.0116`.
#[utoipa::path(
    post,
    path = "/v2/images",
    operation_id = "glance_create_image",
    tag = IMAGES,
    request_body = CreateImageRequest,
    responses((status = 201, description = "The new image.", body = ImageDocument), GlanceCreateImageErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_create_image(
    State(service): State<AppState>,
    caller: Caller,
    body: ApiJson<CreateImageRequest>,
) -> Result<Response, ApiError> {
    let caller = caller.authorize(Operation::GlanceCreateImage)?;
    let created = ImageDocument::from(service.glance_create_image(&caller, body.parse()?.into()).await?);
    let location = created.self_link.clone();
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(created)).into_response())
}

/// Path of one image.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ImagePath {
    /// The image id (a UUID; any other text names no image: 404).
    #[param(format = Uuid, example = "4d2c0b0e-1111-2222-3333-444455556666")]
    image_id: String,
}

/// Show an image
///
/// An image the project owns, or a public one.
#[utoipa::path(
    get,
    path = "/v2/images/{image_id}",
    operation_id = "glance_show_image",
    tag = IMAGES,
    params(ImagePath),
    responses((status = 200, description = "The image.", body = ImageDocument), GlanceShowImageErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_show_image(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ImagePath>,
) -> Result<Json<ImageDocument>, ApiError> {
    let caller = caller.authorize(Operation::GlanceShowImage)?;
    let path = path.parse()?;
    Ok(Json(service.glance_show_image(&caller, &path.image_id).await?.into()))
}

/// Delete an image
///
/// Deletes an image the project owns, with its tags; it vanishes from every view at once. A protected
/// image is 403. A request body (such as `{"delete_backup": false}`) is accepted and ignored.
#[utoipa::path(
    delete,
    path = "/v2/images/{image_id}",
    operation_id = "glance_delete_image",
    tag = IMAGES,
    params(ImagePath),
    responses((status = 204, description = "The image is gone."), GlanceDeleteImageErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_delete_image(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ImagePath>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::GlanceDeleteImage)?;
    let path = path.parse()?;
    service.glance_delete_image(&caller, &path.image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Upload image data (not implemented)
///
/// Image data is out of scope for this service: for an image the caller owns the answer is 501 `IMG.0501`
/// (an image it cannot see is 404, one it can see but not change 403, as everywhere). Use the seeding command
/// to create images in other statuses.
#[utoipa::path(
    put,
    path = "/v2/images/{image_id}/file",
    operation_id = "glance_upload_image_data",
    tag = IMAGES,
    params(ImagePath),
    responses((status = 204, description = "Never: data upload is not implemented."), GlanceUploadImageDataErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_upload_image_data(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ImagePath>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::GlanceUploadImageData)?;
    let path = path.parse()?;
    match service.glance_upload_image_data(&caller, &path.image_id).await? {}
}

/// The query parameters of `GET /v2/images`, as they arrive (and as the OpenAPI document describes them).
#[derive(Clone, Debug, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageListParams {
    /// Page size (default 25, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Return images after this id (from `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = Uuid)]
    pub marker: Option<String>,
    /// `name`, `status`, `container_format`, `disk_format`, `size`, `id`, `created_at` (default) or `updated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// `asc` or `desc` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_dir: Option<String>,
    /// Exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exact status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A visibility, or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Exact owner project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `true` lists only hidden images, `false` (the default) only the others; Glance's boolean words.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub os_hidden: Option<GlanceBoolean>,
    /// Only protected (`true`) or unprotected (`false`) images; a boolean as for `os_hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub protected: Option<GlanceBoolean>,
    /// Exact image id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = Uuid)]
    pub id: Option<String>,
    /// `op:time`, op in gt, gte, lt, lte, eq, neq; time `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD HH:MM:SS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(example = "gte:2024-01-01T00:00:00Z")]
    pub created_at: Option<String>,
    /// Like `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(example = "gte:2024-01-01T00:00:00Z")]
    pub updated_at: Option<String>,
    /// A tag the images must have (string view, exact, case-sensitive); repeat for more (AND), at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[param(style = Form, explode = true)]
    pub tag: Vec<String>,
}

impl ImageListParams {
    /// The list these parameters ask for, read the way Glance reads them: `limit` capped at 1000 (default
    /// 25), `sort_dir` `asc`/`desc` (default `desc` by `created_at`), `tag` values stripped and ANDed (at most
    /// `max_filter_terms` of them), hidden images left out unless `os_hidden=true`.
    pub fn to_query(&self, limits: &QueryLimits) -> Result<ImageListQuery, InvalidQuery> {
        limits.check_filter_terms(self.tag.len(), "'tag' parameters")?;
        let limit = self.limit.map_or(LIST_DEFAULT_LIMIT, |l| u64::from(l).min(LIST_MAX_LIMIT));
        let marker = self
            .marker
            .as_ref()
            .map(|m| {
                Uuid::parse_str(m).map_err(|_| InvalidQuery(format!("The marker {m:?} is not an image id.")))
            })
            .transpose()?;
        let sort_key =
            self.sort_key.as_deref().map(SortKey::parse).transpose()?.unwrap_or(SortKey::CreatedAt);
        let ascending = match self.sort_dir.as_deref() {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(other) => {
                return Err(InvalidQuery(format!("'sort_dir' must be asc or desc; got {other:?}.")));
            }
        };
        let visibility = match self.visibility.as_deref() {
            None | Some("all") => None,
            Some(text) => Some(parse_visibility(text)?),
        };
        let filter = ImageFilter {
            name: self.name.clone(),
            status: self.status.clone(),
            visibility,
            owner: self.owner.clone(),
            os_hidden: Some(
                self.os_hidden.as_ref().map(|v| v.parse("os_hidden")).transpose()?.unwrap_or(false),
            ),
            protected: self.protected.as_ref().map(|v| v.parse("protected")).transpose()?,
            id: self.id.clone(),
            created_at: self
                .created_at
                .as_deref()
                .map(|v| TimeCondition::parse("created_at", v))
                .transpose()?,
            updated_at: self
                .updated_at
                .as_deref()
                .map(|v| TimeCondition::parse("updated_at", v))
                .transpose()?,
            tags: self.tag.iter().map(|t| Tag::from_string_view(t.trim())).collect(),
            ..ImageFilter::default()
        };
        Ok(ImageListQuery { filter, sort_key, ascending, limit, marker })
    }
}

/// Reads a parameter that is present as `Some`, even when its value is empty (`os_hidden=` is a 400, as in
/// Glance, not a missing parameter); absent parameters take the field's default.
fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// Response of `GET /v2/images`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ImageList {
    /// This page of images.
    pub images: Vec<ImageDocument>,
    /// This list's first page.
    pub first: String,
    /// `/v2/schemas/images`.
    pub schema: String,
    /// The next page, when this one is full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// List images
///
/// The images the project owns and public images, filtered (`name`, `status`, `visibility`, `owner`,
/// repeated `tag`), sorted (`sort_key`, `sort_dir`; ties by id) and paged (`limit`, `marker`). At most 50
/// `tag` parameters per request; more is 400 `IMG.0001`.
#[utoipa::path(
    get,
    path = "/v2/images",
    operation_id = "glance_list_images",
    tag = IMAGES,
    params(ImageListParams),
    responses((status = 200, description = "A page of images.", body = ImageList), GlanceListImagesErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn glance_list_images(
    State(service): State<AppState>,
    caller: Caller,
    params: Result<Query<ImageListParams>, axum_extra::extract::QueryRejection>,
) -> Result<Json<ImageList>, ApiError> {
    let caller = caller.authorize(Operation::GlanceListImages)?;
    let Query(params) =
        params.map_err(|e| ApiError::BadRequest(format!("Invalid query parameters: {}", e.body_text())))?;
    let query = params.to_query(service.query_limits())?;
    let images: Vec<ImageDocument> =
        service.glance_list_images(&caller, &query).await?.into_iter().map(ImageDocument::from).collect();
    let unmarked = ImageListParams { marker: None, ..params };
    let query_string = serde_html_form::to_string(&unmarked).map_err(ApiError::internal)?;
    let link = |extra: &str| {
        let joined =
            [query_string.as_str(), extra].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>();
        if joined.is_empty() { "/v2/images".to_owned() } else { format!("/v2/images?{}", joined.join("&")) }
    };
    let next = match images.last() {
        Some(last) if query.limit > 0 && images.len() as u64 == query.limit => {
            Some(link(&format!("marker={}", last.id)))
        }
        _ => None,
    };
    Ok(Json(ImageList { first: link(""), schema: "/v2/schemas/images".to_owned(), next, images }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_defaults_and_errors() {
        let parse = |params: ImageListParams| params.to_query(&QueryLimits::default());
        let q = parse(ImageListParams::default()).expect("valid");
        assert_eq!((q.limit, q.sort_key, q.ascending), (25, SortKey::CreatedAt, false));
        assert_eq!(q.filter.os_hidden, Some(false));
        let q = parse(ImageListParams {
            limit: Some(5000),
            tag: vec![" a ".into(), "k=v".into()],
            visibility: Some("all".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(q.limit, 1000);
        assert_eq!(q.filter.tags, vec![Tag::new("a", ""), Tag::new("k", "v")]);
        assert!(parse(ImageListParams { sort_dir: Some("up".into()), ..Default::default() }).is_err());
        assert!(parse(ImageListParams { marker: Some("nope".into()), ..Default::default() }).is_err());
        assert!(parse(ImageListParams { sort_key: Some("tags".into()), ..Default::default() }).is_err());
    }

    #[test]
    fn tag_filters_are_capped() {
        let limits = QueryLimits::default();
        let tags = |n: usize| (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>();
        let list = |n: usize| ImageListParams { tag: tags(n), ..Default::default() };
        assert!(list(limits.max_filter_terms).to_query(&limits).is_ok());
        let over = list(limits.max_filter_terms + 1).to_query(&limits).expect_err("over the cap");
        assert!(over.0.contains("At most 50 filter terms"), "the message names the cap: {over}");
    }
}
