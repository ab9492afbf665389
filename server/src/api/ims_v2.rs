//! The IMS v2 tag operations: tags as `{key, value}` objects, per image and per project, batch
//! changes, and the tag query over the project's images.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documented::{
    AddImageTagErrors, BatchAddOrDeleteTagsErrors, DeleteImageTagErrors, ListImageByTagsErrors,
    ListImageTagsErrors, ListImagesTagsErrors,
};
use super::extract::{ApiJson, ApiPath};
use super::{AppState, IMS_V2_TAGS};
use crate::auth::identity::Caller;
use crate::domain::query::tag_query::{RawCondition, RawMatch, RawTagQuery};
use crate::domain::tag::Tag;
use crate::error::ApiError;
use crate::service::operation::Operation;
use crate::service::tags::{BatchEntry, RawPage, TagBatch, TagQueryAnswer};
use crate::store::TaggedImage;

/// The routes of this family.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_image_by_tags))
        .routes(routes!(batch_add_or_delete_tags))
        .routes(routes!(add_image_tag, list_image_tags))
        .routes(routes!(delete_image_tag))
        .routes(routes!(list_images_tags))
}

/// A tag written by an IMS operation.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ImsTag {
    /// 1-36 characters: letters, digits, `_`, `-` and CJK (U+4E00-U+9FFF).
    #[schema(min_length = 1, max_length = 36, pattern = r"^[A-Za-z0-9_\-\u4E00-\u9FFF]+$", example = "env")]
    pub key: String,
    /// 0-43 characters: the key characters and `.`.
    #[schema(max_length = 43, pattern = r"^[A-Za-z0-9_.\-\u4E00-\u9FFF]*$", example = "prod")]
    pub value: String,
}

/// A stored tag, as read. Keys added through the Glance path may hold any character.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ResourceTag {
    /// The key.
    pub key: String,
    /// The value; `""` for a key-only tag.
    pub value: String,
}

impl From<Tag> for ResourceTag {
    fn from(tag: Tag) -> Self {
        ResourceTag { key: tag.key, value: tag.value }
    }
}

/// Path of one image in a project.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectImagePath {
    /// The project to act in, one the credential is scoped to; `X-Project-Id`, if sent, must match it.
    #[param(min_length = 1, max_length = 64, example = "0000000000000000000000000000dem0")]
    #[expect(dead_code, reason = "read by the Caller extractor")]
    project_id: String,
    /// The image id (a UUID; any other text names no image: 404).
    #[param(format = Uuid, example = "4d2c0b0e-1111-2222-3333-444455556666")]
    image_id: String,
}

/// Path of one tag key of an image in a project.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectImageKeyPath {
    /// The project to act in, one the credential is scoped to; `X-Project-Id`, if sent, must match it.
    #[param(min_length = 1, max_length = 64, example = "0000000000000000000000000000dem0")]
    #[expect(dead_code, reason = "read by the Caller extractor")]
    project_id: String,
    /// The image id (a UUID; any other text names no image: 404).
    #[param(format = Uuid, example = "4d2c0b0e-1111-2222-3333-444455556666")]
    image_id: String,
    /// The tag key, percent-encoded as one path segment.
    #[param(min_length = 1, max_length = 255, example = "env")]
    key: String,
}

/// Path of a project.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// The project to act in, one the credential is scoped to; `X-Project-Id`, if sent, must match it.
    #[param(min_length = 1, max_length = 64, example = "0000000000000000000000000000dem0")]
    #[expect(dead_code, reason = "read by the Caller extractor")]
    project_id: String,
}

/// What `resource_instances/action` returns.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum QueryAction {
    /// A page of images and the total.
    Filter,
    /// Only the total.
    Count,
}

/// A tag condition: the key, with any of the values (any value when `values` is empty).
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct TagsFilter {
    /// The key (up to 255 characters, any characters).
    #[schema(max_length = 255)]
    pub key: String,
    /// Accepted values, at most 10; `[]` means any value.
    #[schema(max_items = 10)]
    pub values: Option<Vec<String>>,
}

/// A `matches` entry.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct TagKeyValue {
    /// `resource_name` (case-insensitive substring; exact when `value` is `""`) or `resource_id` (exact).
    #[schema(example = "resource_name")]
    pub key: String,
    /// The value to match.
    #[schema(max_length = 255)]
    pub value: String,
}

/// A decimal string or an integer (the Huawei SDKs send strings). Its schema is given per field
/// (`limit_schema`, `offset_schema`), with that field's bounds.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum IntegerOrString {
    /// An integer.
    Integer(u64),
    /// A decimal string.
    String(String),
}

impl IntegerOrString {
    fn text(&self) -> String {
        match self {
            IntegerOrString::Integer(n) => n.to_string(),
            IntegerOrString::String(s) => s.clone(),
        }
    }
}

/// A page size or offset: an integer within `minimum`/`maximum`, or the same as a decimal string.
fn page_number_schema(description: &str, minimum: u64, maximum: Option<u64>, example: &str) -> Schema {
    let integer = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(minimum as f64))
        .maximum(maximum.map(|m| m as f64));
    let string = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*[0-9]+\s*$"));
    OneOfBuilder::new().item(integer).item(string).description(Some(description)).examples([example]).into()
}

/// The schema of `list_image_by_tags`' `limit`: 1-1000.
fn limit_schema() -> Schema {
    page_number_schema(
        "Page size, 1-1000 (default 10), as an integer or a decimal string; ignored for `count`.",
        1,
        Some(1000),
        "10",
    )
}

/// The schema of `list_image_by_tags`' `offset`: 0 or more.
fn offset_schema() -> Schema {
    page_number_schema(
        "Results to skip, 0 or more (default 0), as an integer or a decimal string; ignored for `count`.",
        0,
        None,
        "0",
    )
}

/// Body of `resource_instances/action`. Lists may be omitted but not empty; at most 10 entries each, keys
/// unique per list.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"action": "filter", "tags": [{"key": "env", "values": ["prod"]}], "limit": "10", "offset": "0"}))]
pub struct ListImageByTagsRequest {
    /// `filter` (a page and the total) or `count` (the total only).
    pub action: QueryAction,
    /// Images having every one of these.
    #[schema(max_items = 10)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagsFilter>>,
    /// Images having at least one of these.
    #[schema(max_items = 10)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_any: Option<Vec<TagsFilter>>,
    /// Excludes images having every one of these.
    #[schema(max_items = 10)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_tags: Option<Vec<TagsFilter>>,
    /// Excludes images having any of these.
    #[schema(max_items = 10)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_tags_any: Option<Vec<TagsFilter>>,
    /// `true`: only images without tags; the four lists are then ignored (but still validated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_any_tag: Option<bool>,
    /// Page size, 1-1000 (default 10); ignored for `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = limit_schema)]
    pub limit: Option<IntegerOrString>,
    /// Results to skip, 0 or more (default 0); ignored for `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = offset_schema)]
    pub offset: Option<IntegerOrString>,
    /// Matches on the image name or id.
    #[schema(max_items = 10)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<TagKeyValue>>,
}

/// The status of a found image.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ResourceDetail {
    /// The image status.
    pub status: String,
}

/// An image found by a tag query.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ImageByTags {
    /// The image id.
    pub resource_id: String,
    /// The image name (`""` when unnamed).
    pub resource_name: String,
    /// The image status.
    pub resource_detail: ResourceDetail,
    /// Its tags, sorted by key.
    pub tags: Vec<ResourceTag>,
}

/// Response of `resource_instances/action`: `resources` only for `filter`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ListImageByTagsResponse {
    /// Images matching the query in all (not only this page).
    pub total_count: u64,
    /// This page, newest first (`created_at` descending, then id); absent for `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ImageByTags>>,
}

fn raw_conditions(list: Option<Vec<TagsFilter>>) -> Option<Vec<RawCondition>> {
    list.map(|entries| entries.into_iter().map(|e| RawCondition { key: e.key, values: e.values }).collect())
}

impl ListImageByTagsRequest {
    /// The query, and the page the `filter` action asks for (`None` for `count`).
    fn into_parts(self) -> (RawTagQuery, Option<RawPage>) {
        let query = RawTagQuery {
            tags: raw_conditions(self.tags),
            tags_any: raw_conditions(self.tags_any),
            not_tags: raw_conditions(self.not_tags),
            not_tags_any: raw_conditions(self.not_tags_any),
            without_any_tag: self.without_any_tag,
            matches: self
                .matches
                .map(|m| m.into_iter().map(|m| RawMatch { key: m.key, value: m.value }).collect()),
        };
        let page = match self.action {
            QueryAction::Count => None,
            QueryAction::Filter => Some(RawPage {
                limit: self.limit.as_ref().map(IntegerOrString::text),
                offset: self.offset.as_ref().map(IntegerOrString::text),
            }),
        };
        (query, page)
    }
}

impl From<TaggedImage> for ImageByTags {
    fn from(TaggedImage { id, name, status, tags }: TaggedImage) -> Self {
        ImageByTags {
            resource_id: id.to_string(),
            resource_name: name,
            resource_detail: ResourceDetail { status },
            tags: tags.into_iter().map(ResourceTag::from).collect(),
        }
    }
}

/// Query images by tag
///
/// Selects the project's images by tags (`tags`: all of, `tags_any`: any of, `not_tags`: not all of,
/// `not_tags_any`: none of; each entry a key with any of its values), untagged images
/// (`without_any_tag`), and name or id (`matches`). `filter` returns a page (`limit`/`offset`, as strings
/// or integers) and the total; `count` returns the total only.
#[utoipa::path(
    post,
    path = "/v2/{project_id}/images/resource_instances/action",
    operation_id = "list_image_by_tags",
    tag = IMS_V2_TAGS,
    params(ProjectPath),
    request_body = ListImageByTagsRequest,
    responses((status = 200, description = "The total, and for `filter` a page of images.", body = ListImageByTagsResponse), ListImageByTagsErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn list_image_by_tags(
    State(service): State<AppState>,
    caller: Caller,
    body: ApiJson<ListImageByTagsRequest>,
) -> Result<Json<ListImageByTagsResponse>, ApiError> {
    let caller = caller.authorize(Operation::ListImageByTags)?;
    let (query, page) = body.parse()?.into_parts();
    let TagQueryAnswer { total_count, images } = service.list_image_by_tags(&caller, query, page).await?;
    let resources = images.map(|images| images.into_iter().map(ImageByTags::from).collect());
    Ok(Json(ListImageByTagsResponse { total_count, resources }))
}

/// `create` or `delete`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BatchAction {
    /// Add or update every tag, all or nothing.
    Create,
    /// Delete every key; missing keys are ignored.
    Delete,
}

/// A tag in a batch: `value` is required for `create`, optional and not compared for `delete`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct BatchTag {
    /// The key: IMS rules for `create`; any characters (up to 255) for `delete`.
    #[schema(max_length = 255)]
    pub key: String,
    /// The value: IMS rules for `create`.
    #[schema(max_length = 255)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Body of `tags/action`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"action": "create", "tags": [{"key": "team", "value": "web"}]}))]
pub struct BatchAddOrDeleteTagsRequest {
    /// `create` or `delete`.
    pub action: BatchAction,
    /// The tags; not empty, keys unique.
    #[schema(min_items = 1)]
    pub tags: Vec<BatchTag>,
}

impl From<BatchAddOrDeleteTagsRequest> for TagBatch {
    fn from(body: BatchAddOrDeleteTagsRequest) -> Self {
        let entries = body.tags.into_iter().map(|t| BatchEntry { key: t.key, value: t.value }).collect();
        match body.action {
            BatchAction::Create => TagBatch::Create(entries),
            BatchAction::Delete => TagBatch::Delete(entries),
        }
    }
}

/// Add or delete image tags in a batch
///
/// `create` sets every tag (all or nothing; new keys count against the quota of 10); `delete` removes every
/// key, ignoring keys the image does not have and not comparing values. `tags` must not be empty and its
/// keys must be unique.
#[utoipa::path(
    post,
    path = "/v2/{project_id}/images/{image_id}/tags/action",
    operation_id = "batch_add_or_delete_tags",
    tag = IMS_V2_TAGS,
    params(ProjectImagePath),
    request_body = BatchAddOrDeleteTagsRequest,
    responses((status = 204, description = "Every tag is set, or every key is gone."), BatchAddOrDeleteTagsErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn batch_add_or_delete_tags(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ProjectImagePath>,
    body: ApiJson<BatchAddOrDeleteTagsRequest>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::BatchAddOrDeleteTags)?;
    let body = body.parse()?;
    let path = path.parse()?;
    service.batch_add_or_delete_tags(&caller, &path.image_id, body.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST .../tags`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"tag": {"key": "env", "value": "prod"}}))]
pub struct AddImageTagRequest {
    /// The tag to set.
    pub tag: ImsTag,
}

/// Add an image tag
///
/// Sets one tag on an image the project owns: a new key counts against the quota of 10, an existing key
/// gets the new value, the same key and value is a no-op.
#[utoipa::path(
    post,
    path = "/v2/{project_id}/images/{image_id}/tags",
    operation_id = "add_image_tag",
    tag = IMS_V2_TAGS,
    params(ProjectImagePath),
    request_body = AddImageTagRequest,
    responses((status = 204, description = "The tag is set."), AddImageTagErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn add_image_tag(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ProjectImagePath>,
    body: ApiJson<AddImageTagRequest>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::AddImageTag)?;
    let body = body.parse()?;
    let path = path.parse()?;
    let tag = Tag::new(body.tag.key, body.tag.value);
    service.add_image_tag(&caller, &path.image_id, tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete an image tag
///
/// Removes the key from an image the project owns; a key the image does not have is 404 `IMG.0115`. Any
/// characters are accepted (up to 255), so every stored key can be deleted; a key named `action` works too.
#[utoipa::path(
    delete,
    path = "/v2/{project_id}/images/{image_id}/tags/{key}",
    operation_id = "delete_image_tag",
    tag = IMS_V2_TAGS,
    params(ProjectImageKeyPath),
    responses((status = 204, description = "The key is gone."), DeleteImageTagErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn delete_image_tag(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ProjectImageKeyPath>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::DeleteImageTag)?;
    let path = path.parse()?;
    service.delete_image_tag(&caller, &path.image_id, path.key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE .../tags/action`: the static `action` segment of the batch route shadows the key `action`, so this
/// undocumented route gives `delete_image_tag` that key back.
pub async fn delete_image_tag_named_action(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ProjectImagePath>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::DeleteImageTag)?;
    let path = path.parse()?;
    service.delete_image_tag(&caller, &path.image_id, "action".to_owned()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Response of `GET .../images/{image_id}/tags`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ListImageTagsResponse {
    /// The image's tags, sorted by `(key, value)`.
    pub tags: Vec<ResourceTag>,
}

/// List the tags of an image
///
/// The tags of an image the project can see (its own, or a public one), sorted by key.
#[utoipa::path(
    get,
    path = "/v2/{project_id}/images/{image_id}/tags",
    operation_id = "list_image_tags",
    tag = IMS_V2_TAGS,
    params(ProjectImagePath),
    responses((status = 200, description = "The image's tags.", body = ListImageTagsResponse), ListImageTagsErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn list_image_tags(
    State(service): State<AppState>,
    caller: Caller,
    path: ApiPath<ProjectImagePath>,
) -> Result<Json<ListImageTagsResponse>, ApiError> {
    let caller = caller.authorize(Operation::ListImageTags)?;
    let path = path.parse()?;
    let tags = service.list_image_tags(&caller, &path.image_id).await?;
    Ok(Json(ListImageTagsResponse { tags: tags.into_iter().map(ResourceTag::from).collect() }))
}

/// A key with every value it has in the project.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct TagValues {
    /// The key.
    pub key: String,
    /// Its distinct values, sorted; a key-only tag contributes `""`.
    pub values: Vec<String>,
}

/// Response of `GET .../images/tags`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
pub struct ListImagesTagsResponse {
    /// Keys sorted, each with its values.
    pub tags: Vec<TagValues>,
}

/// List the tags of the project's images
///
/// Every key used on the project's images with its distinct values (a key-only tag contributes `""`); keys
/// sorted, values sorted.
#[utoipa::path(
    get,
    path = "/v2/{project_id}/images/tags",
    operation_id = "list_images_tags",
    tag = IMS_V2_TAGS,
    params(ProjectPath),
    responses((status = 200, description = "Keys and their values.", body = ListImagesTagsResponse), ListImagesTagsErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn list_images_tags(
    State(service): State<AppState>,
    caller: Caller,
) -> Result<Json<ListImagesTagsResponse>, ApiError> {
    let caller = caller.authorize(Operation::ListImagesTags)?;
    let grouped = service.list_images_tags(&caller).await?;
    let tags = grouped.into_iter().map(|(key, values)| TagValues { key, values }).collect();
    Ok(Json(ListImagesTagsResponse { tags }))
}
