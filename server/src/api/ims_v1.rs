//! The IMS v1 tag operations: add or modify one tag (`create_or_update_tags`), and list the tag strings of the
//! images the project can see (`list_tags`), with the reading of its query parameters. The project comes from
//! `X-Project-Id` or the credential's default.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::documented::{CreateOrUpdateTagsErrors, ListTagsErrors};
use super::extract::{ApiJson, GlanceBoolean};
use super::ims_v2::ImsTag;
use super::{AppState, IMS_V1_TAGS};
use crate::auth::identity::Caller;
use crate::domain::query::image_filter::{
    ImageFilter, ImageType, StringPage, TimeCondition, parse_bool, parse_visibility,
};
use crate::domain::query::{InvalidQuery, QueryLimits};
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

/// Sets a parameter's condition in the filter (the parameter's name, for messages, and its value).
type SetCondition = fn(&mut ImageFilter, &str, &str) -> Result<(), InvalidQuery>;

/// The parameters that select images by a base attribute or a tag, each with how it sets the filter: a new
/// filter is one line here (and its field in `ListTagsParams`, which a test holds to this table).
const ATTRIBUTE_FILTERS: &[(&str, SetCondition)] = &[
    ("id", |f, _, v| set(&mut f.id, Ok(v.to_owned()))),
    ("name", |f, _, v| set(&mut f.name, Ok(v.to_owned()))),
    ("status", |f, _, v| set(&mut f.status, Ok(v.to_owned()))),
    ("visibility", |f, _, v| set(&mut f.visibility, parse_visibility(v))),
    ("owner", |f, _, v| set(&mut f.owner, Ok(v.to_owned()))),
    ("container_format", |f, _, v| set(&mut f.container_format, Ok(v.to_owned()))),
    ("disk_format", |f, _, v| set(&mut f.disk_format, Ok(v.to_owned()))),
    ("min_disk", |f, n, v| set(&mut f.min_disk, parse_int(n, v))),
    ("min_ram", |f, n, v| set(&mut f.min_ram, parse_int(n, v))),
    ("protected", |f, n, v| set(&mut f.protected, parse_bool(n, v))),
    ("__imagetype", |f, _, v| set(&mut f.image_type, ImageType::parse(v))),
    ("created_at", |f, n, v| set(&mut f.created_at, TimeCondition::parse(n, v))),
    ("updated_at", |f, n, v| set(&mut f.updated_at, TimeCondition::parse(n, v))),
    ("tag", add_tag),
];

/// Sets a filter condition to a parsed value (a repeated parameter: the last one counts).
fn set<T>(condition: &mut Option<T>, value: Result<T, InvalidQuery>) -> Result<(), InvalidQuery> {
    *condition = Some(value?);
    Ok(())
}

/// Adds a tag the images must have (repeated `tag` parameters add up), in the string view.
fn add_tag(filter: &mut ImageFilter, _: &str, value: &str) -> Result<(), InvalidQuery> {
    filter.tags.push(Tag::from_string_view(value.trim()));
    Ok(())
}

fn parse_int(field: &str, text: &str) -> Result<i64, InvalidQuery> {
    text.parse::<i64>().map_err(|_| InvalidQuery(format!("'{field}' must be an integer; got {text:?}.")))
}

/// The parameters that select images by an extra property of the same name (besides any name starting `__`).
const PROPERTY_FILTERS: &[&str] = &["architecture", "virtual_env_type", "flavor_id"];
/// The parameters that page the result.
const PAGING: &[&str] = &["limit", "page"];

/// Reads the query parameters of `GET /v1/cloudimages/tags` as name/value pairs (any name starting `__` is a
/// property filter, so they are no fixed struct): the image filter, and the page. Attribute filters are
/// exact; property filters (`__*`, `architecture`, `virtual_env_type`, `flavor_id`) match the extra property of
/// that name; `limit` and `page` are integers of at least 1 (`page` without `limit` is ignored); anything else
/// (`member_status`, `enterprise_project_id`, unknown names) is ignored. Repeated `tag` parameters and
/// property filters count against `max_filter_terms`.
pub fn list_tags_query(
    pairs: &[(String, String)],
    limits: &QueryLimits,
) -> Result<(ImageFilter, Option<StringPage>), InvalidQuery> {
    let mut filter = ImageFilter::default();
    let (mut limit, mut page) = (None, None);
    for (name, value) in pairs {
        match name.as_str() {
            paging if PAGING.contains(&paging) => {
                let n = value.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    InvalidQuery(format!("'{name}' must be an integer of at least 1; got {value:?}."))
                })?;
                if name == "limit" { limit = Some(n) } else { page = Some(n) }
            }
            other if let Some((_, set)) = ATTRIBUTE_FILTERS.iter().find(|(n, _)| *n == other) => {
                set(&mut filter, other, value)?
            }
            other if other.starts_with("__") || PROPERTY_FILTERS.contains(&other) => {
                filter.properties.push((other.to_owned(), value.clone()));
            }
            _ => {}
        }
    }
    limits.check_filter_terms(
        filter.tags.len() + filter.properties.len(),
        "'tag' parameters and property filters together",
    )?;
    let paging = limit.map(|limit| StringPage { limit, page: page.unwrap_or(1) });
    Ok((filter, paging))
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
    let (filter, page) = list_tags_query(&pairs, service.query_limits())?;
    let tags = service.list_tags(&caller, &filter, page).await?;
    Ok(Json(ListTagsResponse { tags }))
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use super::*;

    /// Every documented parameter is one the parser reads (or one it is documented to ignore), and every name
    /// the parser reads is documented.
    #[test]
    fn documented_parameters_match_the_parser() {
        let documented: Vec<String> =
            ListTagsParams::into_params(|| None).into_iter().map(|p| p.name).collect();
        let ignored = ["member_status", "enterprise_project_id"];
        for name in &documented {
            let known = ATTRIBUTE_FILTERS.iter().any(|(n, _)| n == name)
                || PROPERTY_FILTERS.contains(&name.as_str())
                || PAGING.contains(&name.as_str())
                || name.starts_with("__")
                || ignored.contains(&name.as_str());
            assert!(known, "{name} is documented but not parsed");
        }
        let names = ATTRIBUTE_FILTERS.iter().map(|(n, _)| n).chain(PROPERTY_FILTERS).chain(PAGING);
        for name in names {
            assert!(documented.iter().any(|d| d == name), "{name} is parsed but not documented");
        }
    }

    #[test]
    fn list_tags_parameters() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let (f, page) = list_tags_query(
            &pairs(&[
                ("__imagetype", "gold"),
                ("__os_type", "Linux"),
                ("architecture", "x86"),
                ("member_status", "accepted"),
                ("enterprise_project_id", "0"),
                ("whatever", "ignored"),
                ("min_disk", "40"),
            ]),
            &QueryLimits::default(),
        )
        .expect("valid");
        assert_eq!(f.image_type, Some(ImageType::Gold));
        assert_eq!(f.min_disk, Some(40));
        assert_eq!(
            f.properties,
            vec![("__os_type".to_string(), "Linux".to_string()), ("architecture".into(), "x86".into())]
        );
        assert_eq!(page, None);
        assert_eq!(
            list_tags_query(&pairs(&[("page", "2")]), &QueryLimits::default()).map(|r| r.1),
            Ok(None),
            "page without limit is ignored"
        );
        assert_eq!(
            list_tags_query(&pairs(&[("limit", "2"), ("page", "3")]), &QueryLimits::default()).map(|r| r.1),
            Ok(Some(StringPage { limit: 2, page: 3 }))
        );
        for bad in
            [("limit", "0"), ("page", "0"), ("limit", "x"), ("min_disk", "big"), ("__imagetype", "other")]
        {
            assert!(list_tags_query(&pairs(&[bad]), &QueryLimits::default()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn filter_terms_are_capped() {
        let limits = QueryLimits::default();
        let query = |tags: usize, properties: usize| {
            let mut pairs: Vec<(String, String)> =
                (0..tags).map(|i| ("tag".to_owned(), format!("k{i}"))).collect();
            pairs.extend((0..properties).map(|i| (format!("__p{i}"), "v".to_owned())));
            pairs.push(("name".into(), "n".into()));
            list_tags_query(&pairs, &limits)
        };
        assert!(query(25, 25).is_ok(), "tags and properties together up to the cap");
        assert!(query(25, 26).is_err());
        assert!(query(0, 51).is_err());
        assert!(query(51, 0).is_err());
    }
}
