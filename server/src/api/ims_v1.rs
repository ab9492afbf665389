//! The IMS v1 tag operations (ops 3 and 4): add or modify one tag, and list the tag strings of the images the
//! project can see. The project comes from `X-Project-Id` or the credential's default.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documented::{CreateOrUpdateTagsErrors, ListTagsErrors};
use super::extract::ApiJson;
use super::ims_v2::ImsTag;
use super::{AppState, IMS_V1_TAGS};
use crate::auth::identity::Caller;
use crate::domain::query::{GlanceBoolean, parse_op4};
use crate::domain::tag::Tag;
use crate::error::ApiError;
use crate::service::operation::Operation;

/// The routes of this family.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_or_update_tags, list_tags))
}

/// Body of `PUT /v1/cloudimages/tags`: exactly one of `tag` and `image_tag`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(example = json!({"image_id": "4d2c0b0e-1111-2222-3333-444455556666", "tag": "env.prod"}))]
pub struct CreateOrUpdateTagsRequest {
    /// The image id (a UUID; any other text names no image: 404).
    #[schema(format = Uuid)]
    pub image_id: String,
    /// The tag as `"key.value"`, split at the first `.`; without a `.` the value is empty.
    #[schema(
        max_length = 80,
        pattern = r"^[A-Za-z0-9_\-\u4E00-\u9FFF]{1,36}(\.[A-Za-z0-9_.\-\u4E00-\u9FFF]{0,43})?$",
        example = "env.prod"
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The tag as an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<ImsTag>,
}

impl CreateOrUpdateTagsRequest {
    /// The image id and the tag the body names, in `tag` or in `image_tag` (exactly one of them).
    fn into_parts(self) -> Result<(String, Tag), ApiError> {
        let tag = match (self.tag, self.image_tag) {
            (Some(dotted), None) => Tag::from_dotted(&dotted),
            (None, Some(object)) => Tag::new(object.key, object.value),
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest("Give either 'tag' or 'image_tag', not both.".into()));
            }
            (None, None) => return Err(ApiError::BadRequest("Give one of 'tag' or 'image_tag'.".into())),
        };
        Ok((self.image_id, tag))
    }
}

/// Add or modify an image tag (IMS v1)
///
/// Sets one tag on an image the project owns: a new key is added (counting against the quota of 10), an
/// existing key gets the new value, the same key and value is a no-op. Give either `tag` (`"key.value"`) or
/// `image_tag`, not both. Keys are 1-36 characters of letters, digits, `_`, `-` and CJK; values 0-43 of the
/// same plus `.`.
#[utoipa::path(
    put,
    path = "/v1/cloudimages/tags",
    operation_id = "create_or_update_tags",
    tag = IMS_V1_TAGS,
    request_body = CreateOrUpdateTagsRequest,
    responses((status = 204, description = "The tag is set."), CreateOrUpdateTagsErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn create_or_update_tags(
    State(service): State<AppState>,
    caller: Caller,
    body: ApiJson<CreateOrUpdateTagsRequest>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.authorize(Operation::CreateOrUpdateTags)?;
    let (image_id, tag) = body.parse()?.into_parts()?;
    service.create_or_update_tags(&caller, &image_id, tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query parameters of `GET /v1/cloudimages/tags`. Every parameter is optional; parameters not listed here
/// are ignored, except names starting with `__`, which filter on the extra property of that name.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTagsParams {
    /// Strings per page (at least 1); without it every string is returned.
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// Page number, from 1; ignored without `limit`.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// `gold` (public images), `private` (owned images), `shared` or `market` (none here).
    #[serde(rename = "__imagetype")]
    pub imagetype: Option<String>,
    /// Exact image id.
    pub id: Option<String>,
    /// Exact image name.
    pub name: Option<String>,
    /// Exact status (`queued`, `active`, ...).
    pub status: Option<String>,
    /// Exact visibility.
    pub visibility: Option<String>,
    /// Exact owner project.
    pub owner: Option<String>,
    /// Exact container format.
    pub container_format: Option<String>,
    /// Exact disk format.
    pub disk_format: Option<String>,
    /// Exact minimum disk (GB).
    pub min_disk: Option<i64>,
    /// Exact minimum RAM (MB).
    pub min_ram: Option<i64>,
    /// Protected flag; Glance's boolean words (`true`, `yes`, `1`, `false`, `no`, `0`, ... in any case).
    pub protected: Option<GlanceBoolean>,
    /// `op:time`, op in gt, gte, lt, lte, eq, neq; time `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD HH:MM:SS`.
    pub created_at: Option<String>,
    /// Like `created_at`.
    pub updated_at: Option<String>,
    /// A tag the images must have, in the string view (`k` or `k=v`); repeat for more (at most 50 in all).
    pub tag: Option<Vec<String>>,
    /// Extra property `__os_type`.
    #[serde(rename = "__os_type")]
    pub os_type: Option<String>,
    /// Extra property `__platform`.
    #[serde(rename = "__platform")]
    pub platform: Option<String>,
    /// Extra property `architecture`.
    pub architecture: Option<String>,
    /// Extra property `virtual_env_type`.
    pub virtual_env_type: Option<String>,
    /// Extra property `flavor_id`.
    pub flavor_id: Option<String>,
    /// Accepted and ignored (no member API).
    pub member_status: Option<String>,
    /// Accepted and ignored (no enterprise projects).
    pub enterprise_project_id: Option<String>,
}

/// Response of `GET /v1/cloudimages/tags`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ListTagsResponse {
    /// Distinct tag strings (`k` or `k=v`), sorted by their bytes.
    pub tags: Vec<String>,
}

/// List the tags of the project's images (IMS v1)
///
/// The distinct tags of the images the project owns and of public images, as strings (`k` for a key-only
/// tag, `k=v` otherwise), sorted by their bytes, filtered by image attributes and paged by `limit`/`page`.
/// At most 50 filter terms (repeated `tag` parameters and property filters together) per request; more is
/// 400 `IMG.0001`.
#[utoipa::path(
    get,
    path = "/v1/cloudimages/tags",
    operation_id = "list_tags",
    tag = IMS_V1_TAGS,
    params(ListTagsParams),
    responses((status = 200, description = "The tag strings.", body = ListTagsResponse), ListTagsErrors),
    security(("token" = []), ("aksk" = []))
)]
async fn list_tags(
    State(service): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListTagsResponse>, ApiError> {
    let caller = caller.authorize(Operation::ListTags)?;
    let Query(pairs) =
        query.map_err(|e| ApiError::BadRequest(format!("Invalid query string: {}", e.body_text())))?;
    let (filter, page) = parse_op4(&pairs, service.query_limits())?;
    let tags = service.list_tags(&caller, &filter, page).await?;
    Ok(Json(ListTagsResponse { tags }))
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use crate::domain::query::{OP4_ATTRIBUTE_FILTERS, OP4_PAGING, OP4_PROPERTY_FILTERS};

    /// Every documented parameter is one the parser reads (or one it is documented to ignore), and every name
    /// the parser reads is documented.
    #[test]
    fn documented_parameters_match_the_parser() {
        let documented: Vec<String> =
            super::ListTagsParams::into_params(|| None).into_iter().map(|p| p.name).collect();
        let ignored = ["member_status", "enterprise_project_id"];
        for name in &documented {
            let known = OP4_ATTRIBUTE_FILTERS.contains(&name.as_str())
                || OP4_PROPERTY_FILTERS.contains(&name.as_str())
                || OP4_PAGING.contains(&name.as_str())
                || name.starts_with("__")
                || ignored.contains(&name.as_str());
            assert!(known, "{name} is documented but not parsed");
        }
        for name in OP4_ATTRIBUTE_FILTERS.iter().chain(OP4_PROPERTY_FILTERS).chain(OP4_PAGING) {
            assert!(documented.iter().any(|d| d == name), "{name} is parsed but not documented");
        }
    }
}
