//! The error responses each operation documents: for every status it can return, the IMS codes with a
//! realistic example of the envelope for each. The examples are real `ApiError`s (most built by the code
//! that raises them), so their status and code come from the one mapping in `error.rs`, and on the Glance
//! paths their message carries the status line as the server sends it.
//!
//! Every operation's list is assembled here from shared sets; statuses that many operations share are added
//! in one place each: [`http_layer`] (answers of the HTTP layers to any request), [`secured`] (authentication,
//! project and permission), [`stored`] (operations that reach the store) and [`expensive`] (list and query
//! operations that may be throttled).

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};

use super::extract::{body_not_expected, parse_json, path_not_utf8};
use super::ims_v1::list_tags_query;
use super::registry::ImageListParams;
use crate::domain::query::QueryLimits;
use crate::domain::query::tag_query::{RawTagQuery, TagQuery};
use crate::domain::tag::{Tag, TagChangeError, TagLimits};
use crate::error::{ApiError, glance_message};
use crate::service::operation::Operation;
use crate::store::StoreError;

/// How an operation's error messages read: IMS paths as raised, Glance paths with the status line first
/// (`crate::error::status_line_in_glance_errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `/v1/...` and `/v2/{project_id}/...`.
    Ims,
    /// `/`, `/versions`, `/v2/schemas/*`, `/v2/images` and `/v2/images/*`.
    Glance,
}

/// One error an operation can answer: what it means (the example's name) and an instance of it.
pub struct DocumentedError {
    /// A short description, unique within the operation's status.
    pub label: &'static str,
    /// A realistic instance.
    pub error: ApiError,
}

fn error(label: &'static str, error: impl Into<ApiError>) -> DocumentedError {
    DocumentedError { label, error: error.into() }
}

fn bad_request(label: &'static str, result: Result<impl Sized, impl Into<ApiError>>) -> DocumentedError {
    match result {
        Err(e) => error(label, e),
        Ok(_) => error(label, ApiError::internal("an example that should fail passed")),
    }
}

/// What the HTTP layers (`net/`, `host.rs`, the timeout) can answer to any request, whatever the operation: a
/// malformed or oversized request head, a bad `Host`, and a request over the time limit.
pub fn http_layer() -> Vec<DocumentedError> {
    vec![
        error(
            "a request hyper cannot parse, or a missing or invalid Host",
            ApiError::BadRequest("The Host header is missing or is not host[:port].".into()),
        ),
        error("a request URI over the limit", ApiError::UriTooLong),
        error("a request head over the limit", ApiError::HeaderFieldsTooLarge),
        error("the request took longer than the time limit", ApiError::Timeout),
    ]
}

/// What the body guard (`body.rs`) answers to a request body: over the size limit, not received in time, or
/// finding no room in the memory budget. Listed on the operations that take or refuse a body; a body sent
/// with a `GET` meets the same guard but is no part of those operations.
fn body_guard() -> Vec<DocumentedError> {
    vec![
        error("a body over the size limit", ApiError::PayloadTooLarge),
        error("a body not received in time", ApiError::RequestTimeout),
        error(
            "request bodies in flight fill the memory budget",
            crate::body::BodyError::OverBudget.to_api_error(),
        ),
    ]
}

/// What an operation that needs credentials answers before anything else (the check order: credentials, then
/// project, then permission): 401 without valid credentials, 403 for a project out of scope (in the path or
/// `X-Project-Id`) or a missing permission.
pub fn secured(operation: Operation) -> Vec<DocumentedError> {
    let mut errors = vec![
        error(
            "no or invalid credentials",
            ApiError::Unauthenticated("no credentials: send X-Auth-Token or an AK/SK signature".into()),
        ),
        error(
            "a project the credential is not scoped to",
            ApiError::Forbidden(
                "The credential is not scoped to project \"fedcba9876543210fedcba9876543210\".".into(),
            ),
        ),
    ];
    if let Some(action) = operation.actions().last() {
        errors.push(error(
            "a missing IAM permission",
            ApiError::Forbidden(format!("The caller lacks the IAM permission {}.", action.as_str())),
        ));
    }
    errors
}

/// What an operation that reaches the store can answer: an internal failure (detail only in the log), and a
/// read stopped at the query time limit.
pub fn stored() -> Vec<DocumentedError> {
    vec![
        error("an internal failure", ApiError::internal("detail for the log")),
        error(
            "the query ran past the time limit",
            StoreError::QueryTimeLimit { limit: std::time::Duration::from_secs(5) },
        ),
    ]
}

/// What list and query operations whose cost grows with the data can answer when they are throttled
/// (`store/fair.rs`): the project is over its share (429), or every slot is taken by others (503).
pub fn expensive() -> Vec<DocumentedError> {
    let retry_after = std::time::Duration::from_secs(1);
    vec![
        error(
            "the project runs as many list queries as its share allows",
            StoreError::OverShare { retry_after },
        ),
        error("every slot for list queries is taken by other projects", StoreError::Busy { retry_after }),
    ]
}

/// What an operation with a JSON body answers to a malformed, empty or oversized body.
fn json_body() -> Vec<DocumentedError> {
    let mut errors = vec![
        bad_request("a malformed body", parse_json::<Value>(b"{\"tag\": ")),
        error("an empty body", ApiError::EmptyBody),
    ];
    errors.extend(body_guard());
    errors
}

/// What an operation on one image answers when the image is missing, hidden, or its id is not UTF-8.
fn image_lookup() -> Vec<DocumentedError> {
    vec![
        error("the image does not exist or is not visible", ApiError::ImageNotFound),
        error("a path segment that is not UTF-8", path_not_utf8()),
    ]
}

/// What a write to an image answers when the image is visible but another project owns it.
fn not_owner() -> DocumentedError {
    error("the image belongs to another project", StoreError::NotOwner)
}

fn invalid_ims_tag() -> DocumentedError {
    bad_request("an invalid IMS tag", TagLimits::default().check_ims_tag(&Tag::new("bad key", "prod")))
}

fn quota() -> DocumentedError {
    error("over the tag quota", TagChangeError::QuotaExceeded { attempted: 11, max: 10 })
}

fn quota_413() -> DocumentedError {
    error(
        "over the tag quota",
        ApiError::from(TagChangeError::QuotaExceeded { attempted: 11, max: 10 }).quota_as_413(),
    )
}

fn lookup_too_long() -> DocumentedError {
    bad_request(
        "a key or value over 255 characters",
        TagLimits::default().check_lookup("tag key", &"k".repeat(256)),
    )
}

fn tag_not_found(tag: &str) -> DocumentedError {
    error("the tag is not on the image", TagChangeError::TagNotFound(tag.to_owned()))
}

/// The errors of `glance_create_tag`.
pub fn glance_create_tag() -> Vec<DocumentedError> {
    [
        vec![
            error("a request body", body_not_expected()),
            bad_request("an invalid native tag", TagLimits::default().check_native_tag("k=v")),
            not_owner(),
            quota_413(),
        ],
        image_lookup(),
        body_guard(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The errors of `glance_delete_tag`.
pub fn glance_delete_tag() -> Vec<DocumentedError> {
    [
        vec![
            error("a request body", body_not_expected()),
            lookup_too_long(),
            not_owner(),
            tag_not_found("absent"),
        ],
        image_lookup(),
        body_guard(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The errors of `create_or_update_tags`.
pub fn create_or_update_tags() -> Vec<DocumentedError> {
    [
        json_body(),
        vec![
            error(
                "both or neither of tag and image_tag",
                ApiError::BadRequest("Give one of 'tag' or 'image_tag'.".into()),
            ),
            invalid_ims_tag(),
            quota(),
            error("the image does not exist or is not visible", ApiError::ImageNotFound),
            not_owner(),
        ],
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The errors of `list_tags`.
pub fn list_tags() -> Vec<DocumentedError> {
    let limits = QueryLimits::default();
    let too_many: Vec<(String, String)> =
        (0..=limits.max_filter_terms).map(|n| ("tag".to_owned(), format!("k{n}"))).collect();
    vec![
        bad_request(
            "an invalid parameter",
            list_tags_query(&[("limit".to_owned(), "0".to_owned())], &limits),
        ),
        bad_request("more filter terms than the cap", list_tags_query(&too_many, &limits)),
    ]
}

/// The errors of `list_image_by_tags`.
pub fn list_image_by_tags() -> Vec<DocumentedError> {
    let empty = RawTagQuery { tags: Some(Vec::new()), ..RawTagQuery::default() };
    [
        json_body(),
        vec![bad_request(
            "an invalid query",
            TagQuery::parse(empty, &TagLimits::default(), &QueryLimits::default()),
        )],
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The errors of `batch_add_or_delete_tags`.
pub fn batch_add_or_delete_tags() -> Vec<DocumentedError> {
    [
        json_body(),
        vec![
            invalid_ims_tag(),
            quota(),
            error("the image does not exist or is not visible", ApiError::ImageNotFound),
            error("a path segment that is not UTF-8", path_not_utf8()),
            not_owner(),
        ],
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The errors of `add_image_tag`.
pub fn add_image_tag() -> Vec<DocumentedError> {
    batch_add_or_delete_tags()
}

/// The errors of `delete_image_tag`.
pub fn delete_image_tag() -> Vec<DocumentedError> {
    [vec![lookup_too_long(), not_owner(), tag_not_found("env")], image_lookup()]
        .into_iter()
        .flatten()
        .collect()
}

/// The errors of `list_image_tags` (public images are readable: no ownership error).
pub fn list_image_tags() -> Vec<DocumentedError> {
    image_lookup()
}

/// The errors of `glance_create_image`.
pub fn glance_create_image() -> Vec<DocumentedError> {
    [
        json_body(),
        vec![
            error(
                "an invalid attribute",
                ApiError::BadRequest("'id' must be a UUID; got \"string\".".into()),
            ),
            bad_request(
                "an invalid tag",
                crate::domain::tag::tags_for_new_image(
                    &["k=1".to_owned(), "k=2".to_owned()],
                    &TagLimits::default(),
                ),
            ),
            error("an image with this id exists", StoreError::Conflict),
            error(
                "over the tag quota",
                ApiError::from(TagChangeError::QuotaExceeded { attempted: 11, max: 10 }).quota_as_413(),
            ),
        ],
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The errors of `glance_show_image` (public images are readable: no ownership error).
pub fn glance_show_image() -> Vec<DocumentedError> {
    image_lookup()
}

/// The errors of `glance_delete_image` (its optional body is ignored, but one over the limit is refused).
pub fn glance_delete_image() -> Vec<DocumentedError> {
    [image_lookup(), vec![not_owner(), error("the image is protected", StoreError::Protected)], body_guard()]
        .into_iter()
        .flatten()
        .collect()
}

/// The errors of `glance_list_images`.
pub fn glance_list_images() -> Vec<DocumentedError> {
    let params = ImageListParams { sort_dir: Some("up".into()), ..ImageListParams::default() };
    vec![
        bad_request("an invalid parameter", params.to_query(&QueryLimits::default())),
        bad_request(
            "more tag filters than the cap",
            ImageListParams {
                tag: (0..=QueryLimits::default().max_filter_terms).map(|n| format!("k{n}")).collect(),
                ..ImageListParams::default()
            }
            .to_query(&QueryLimits::default()),
        ),
        error("a marker that names no image of the list", StoreError::MarkerNotFound),
    ]
}

/// The errors of `glance_upload_image_data`, which answers 501 to the image's owner.
pub fn glance_upload_image_data() -> Vec<DocumentedError> {
    [
        image_lookup(),
        vec![
            not_owner(),
            error(
                "data upload is not implemented",
                ApiError::NotImplemented("Image data upload is not implemented by this service.".into()),
            ),
        ],
        body_guard(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The documented error responses of a list of errors: one response per status, its description listing
/// each error, with the one envelope schema and an example of the envelope for each error.
pub fn error_responses(family: Family, errors: Vec<DocumentedError>) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<DocumentedError>> = BTreeMap::new();
    for documented in errors {
        let status = documented.error.status().as_u16();
        let same = by_status.entry(status).or_default();
        if !same.iter().any(|d| d.label == documented.label && d.error.code() == documented.error.code()) {
            same.push(documented);
        }
    }
    by_status
        .into_iter()
        .map(|(status, errors)| {
            let reason = errors[0].error.status().canonical_reason().unwrap_or("Error");
            let lines: Vec<String> =
                errors.iter().map(|d| format!("`{}`: {}", d.error.code(), d.label)).collect();
            let examples = errors.iter().map(|d| {
                let mut body = d.error.body();
                if family == Family::Glance {
                    body.error.message = glance_message(d.error.status(), &body.error.message);
                }
                let value = serde_json::to_value(&body).unwrap_or(Value::Null);
                let name = format!("{} {}", d.error.code(), d.label);
                (name, ExampleBuilder::new().summary(d.label).value(Some(value)).build())
            });
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorResponse")))
                .examples_from_iter(examples)
                .build();
            let mut response = ResponseBuilder::new()
                .description(format!("{reason}: {}.", lines.join("; ")))
                .content("application/json", content);
            if errors.iter().any(|d| d.error.retry_after_secs().is_some()) {
                let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1));
                let header = HeaderBuilder::new()
                    .schema(Some(seconds))
                    .description(Some(
                        "Seconds to wait before retrying (on the refusals that may succeed later).",
                    ))
                    .build();
                response = response.header("Retry-After", header);
            }
            let response = response.build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// Declares the type that documents an operation's error responses for `responses(...)`: its own errors, the
/// shared sets it takes, and the HTTP layer's.
macro_rules! operation_errors {
    ($(#[$doc:meta])* $name:ident: $family:ident, $($set:expr),+ $(,)?) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let mut errors = Vec::new();
                $(errors.extend($set);)+
                errors.extend(http_layer());
                error_responses(Family::$family, errors)
            }
        }
    };
}

operation_errors!(
    /// Errors of `glance_create_tag`.
    GlanceCreateTagErrors: Glance, secured(Operation::GlanceCreateTag), stored(), glance_create_tag()
);
operation_errors!(
    /// Errors of `glance_delete_tag`.
    GlanceDeleteTagErrors: Glance, secured(Operation::GlanceDeleteTag), stored(), glance_delete_tag()
);
operation_errors!(
    /// Errors of `create_or_update_tags`.
    CreateOrUpdateTagsErrors: Ims, secured(Operation::CreateOrUpdateTags), stored(), create_or_update_tags()
);
operation_errors!(
    /// Errors of `list_tags`.
    ListTagsErrors: Ims, secured(Operation::ListTags), stored(), expensive(), list_tags()
);
operation_errors!(
    /// Errors of `list_image_by_tags`.
    ListImageByTagsErrors: Ims, secured(Operation::ListImageByTags), stored(), expensive(), list_image_by_tags()
);
operation_errors!(
    /// Errors of `batch_add_or_delete_tags`.
    BatchAddOrDeleteTagsErrors: Ims, secured(Operation::BatchAddOrDeleteTags), stored(), batch_add_or_delete_tags()
);
operation_errors!(
    /// Errors of `add_image_tag`.
    AddImageTagErrors: Ims, secured(Operation::AddImageTag), stored(), add_image_tag()
);
operation_errors!(
    /// Errors of `delete_image_tag`.
    DeleteImageTagErrors: Ims, secured(Operation::DeleteImageTag), stored(), delete_image_tag()
);
operation_errors!(
    /// Errors of `list_image_tags`.
    ListImageTagsErrors: Ims, secured(Operation::ListImageTags), stored(), list_image_tags()
);
operation_errors!(
    /// Errors of `list_images_tags`.
    ListImagesTagsErrors: Ims, secured(Operation::ListImagesTags), stored(), expensive()
);
operation_errors!(
    /// Errors of image creation.
    GlanceCreateImageErrors: Glance, secured(Operation::GlanceCreateImage), stored(), glance_create_image()
);
operation_errors!(
    /// Errors of showing an image.
    GlanceShowImageErrors: Glance, secured(Operation::GlanceShowImage), stored(), glance_show_image()
);
operation_errors!(
    /// Errors of deleting an image.
    GlanceDeleteImageErrors: Glance, secured(Operation::GlanceDeleteImage), stored(), glance_delete_image()
);
operation_errors!(
    /// Errors of listing images.
    GlanceListImagesErrors: Glance, secured(Operation::GlanceListImages), stored(), expensive(), glance_list_images()
);
operation_errors!(
    /// Errors of the image data upload.
    GlanceUploadImageDataErrors: Glance, secured(Operation::GlanceUploadImageData), stored(), glance_upload_image_data()
);
operation_errors!(
    /// Errors of the unauthenticated discovery and schema documents.
    PublicErrors: Glance, Vec::<DocumentedError>::new()
);
