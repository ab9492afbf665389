//! `ApiError`: every way a request can fail, and the one place that maps a failure to its HTTP status, its
//! IMS error code and the error envelope `{"error": {"code", "message"}}`.
//!
//! Messages are written for the client. Internal detail (database errors, panics) is logged with the request id
//! and never sent.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::domain::query::InvalidQuery;
use crate::domain::tag::{InvalidTag, NewImageTagsError, TagChangeError};
use crate::store::StoreError;

/// The error envelope of every error response of every route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `IMG.xxxx` for IMS errors, `APIGW.xxxx` for gateway errors (authentication, unknown route).
    #[schema(example = "IMG.0115")]
    pub code: String,
    /// A human-readable explanation.
    #[schema(example = "The tag key must be 1 to 36 characters long; got 37.")]
    pub message: String,
}

/// Every failure a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No, unknown or wrong credentials (401 `APIGW.0301`).
    #[error("Authentication failed: {0}")]
    Unauthenticated(String),
    /// Permission, project scope or ownership denied (403 `IMG.0026`).
    #[error("{0}")]
    Forbidden(String),
    /// A malformed body or parameter (400 `IMG.0001`).
    #[error("{0}")]
    BadRequest(String),
    /// A required body is empty (400 `IMG.0007`).
    #[error("The request body is empty.")]
    EmptyBody,
    /// An invalid tag (400 `IMG.0115`).
    #[error("{0}")]
    InvalidTag(String),
    /// Too many tags (400, or 413 on the native and create paths; `IMG.0116`).
    #[error("The number of image tags exceeds the quota: {detail}")]
    TagQuota {
        /// Which limit and how far over.
        detail: String,
        /// 413 instead of 400 (the Glance paths).
        too_large: bool,
    },
    /// The image does not exist or is not visible (404 `IMG.0144`).
    #[error("The image does not exist.")]
    ImageNotFound,
    /// The tag is not on the image (404 `IMG.0115`).
    #[error("{0}")]
    TagNotFound(String),
    /// No route has this path (404 `APIGW.0101`).
    #[error("The API does not exist.")]
    RouteNotFound,
    /// The route exists but not with this method (405 `IMG.0001`, with `Allow`).
    #[error("The method is not allowed for this resource; allowed: {allow}.")]
    MethodNotAllowed {
        /// The `Allow` header value.
        allow: String,
    },
    /// The resource already exists (409 `IMG.0001`).
    #[error("{0}")]
    Conflict(String),
    /// The body exceeds the limit (413 `IMG.0001`).
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// An operation this service does not implement (501 `IMG.0501`).
    #[error("{0}")]
    NotImplemented(String),
    /// The request took longer than the configured timeout (503 `IMG.0503`).
    #[error("The request timed out.")]
    Timeout,
    /// Anything else (500 `IMG.0500`); the detail is logged, never sent.
    #[error("An internal error occurred.")]
    Internal(String),
    /// The project already runs as many expensive reads as its share allows (429 `APIGW.0308`, with
    /// `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// What to do.
        message: String,
        /// The `Retry-After`.
        retry_after: Duration,
    },
    /// The service cannot answer now but may later: every slot for expensive reads is taken, or the query ran
    /// past the time limit (503 `IMG.0503`, with `Retry-After`).
    #[error("{message}")]
    Unavailable {
        /// What happened and what to do.
        message: String,
        /// The `Retry-After`.
        retry_after: Duration,
    },
    /// The request body did not arrive within the body-read timeout (408 `IMG.0001`): the client's
    /// fault, so not a retryable 503.
    #[error("The request body was not received in time.")]
    RequestTimeout,
    /// The request URI is longer than the server reads (414 `IMG.0001`).
    #[error("The request URI is too long.")]
    UriTooLong,
    /// The request head is larger than `http.max_request_head_bytes` (431 `IMG.0001`).
    #[error("The request header fields are too large.")]
    HeaderFieldsTooLarge,
}

/// Marks a response as already carrying the envelope, so the catch-all layer leaves it alone.
#[derive(Clone, Copy, Debug)]
pub struct Enveloped;

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) | ApiError::EmptyBody | ApiError::InvalidTag(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::TagQuota { too_large: false, .. } => StatusCode::BAD_REQUEST,
            ApiError::TagQuota { too_large: true, .. } | ApiError::PayloadTooLarge => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::ImageNotFound | ApiError::TagNotFound(_) | ApiError::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UriTooLong => StatusCode::URI_TOO_LONG,
            ApiError::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "APIGW.0301",
            ApiError::Forbidden(_) => "IMG.0026",
            ApiError::BadRequest(_)
            | ApiError::MethodNotAllowed { .. }
            | ApiError::Conflict(_)
            | ApiError::PayloadTooLarge => "IMG.0001",
            ApiError::EmptyBody => "IMG.0007",
            ApiError::InvalidTag(_) | ApiError::TagNotFound(_) => "IMG.0115",
            ApiError::TagQuota { .. } => "IMG.0116",
            ApiError::ImageNotFound => "IMG.0144",
            ApiError::RouteNotFound => "APIGW.0101",
            ApiError::NotImplemented(_) => "IMG.0501",
            ApiError::Timeout => "IMG.0503",
            ApiError::Internal(_) => "IMG.0500",
            ApiError::TooManyRequests { .. } => "APIGW.0308",
            ApiError::Unavailable { .. } => "IMG.0503",
            ApiError::RequestTimeout | ApiError::UriTooLong | ApiError::HeaderFieldsTooLarge => "IMG.0001",
        }
    }

    /// The message sent to the client.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The envelope sent to the client.
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse { error: ErrorDetail { code: self.code().to_owned(), message: self.message() } }
    }

    /// Reports a quota error as 413, the way the Glance paths do.
    pub fn quota_as_413(self) -> ApiError {
        match self {
            ApiError::TagQuota { detail, .. } => ApiError::TagQuota { detail, too_large: true },
            other => other,
        }
    }

    /// An internal error, with detail for the log.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(detail.to_string())
    }

    /// The `Retry-After` of a refusal that may succeed later, in whole seconds (at least 1).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests { retry_after, .. } | ApiError::Unavailable { retry_after, .. } => {
                Some((retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1))
            }
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let ApiError::MethodNotAllowed { allow } = &self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        if let Some(seconds) = self.retry_after_secs() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(Enveloped);
        response
    }
}

impl From<InvalidTag> for ApiError {
    fn from(e: InvalidTag) -> Self {
        ApiError::InvalidTag(e.0)
    }
}

impl From<InvalidQuery> for ApiError {
    fn from(e: InvalidQuery) -> Self {
        ApiError::BadRequest(e.0)
    }
}

impl From<TagChangeError> for ApiError {
    fn from(e: TagChangeError) -> Self {
        match e {
            TagChangeError::TagNotFound(_) => ApiError::TagNotFound(e.to_string()),
            TagChangeError::QuotaExceeded { .. } => {
                ApiError::TagQuota { detail: e.to_string(), too_large: false }
            }
        }
    }
}

impl From<NewImageTagsError> for ApiError {
    fn from(e: NewImageTagsError) -> Self {
        match e {
            NewImageTagsError::Invalid(invalid) => invalid.into(),
            NewImageTagsError::Quota(quota) => ApiError::from(quota).quota_as_413(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ImageNotFound => ApiError::ImageNotFound,
            StoreError::NotOwner => ApiError::Forbidden(
                "The image belongs to another project; only its owner may change it.".into(),
            ),
            StoreError::Protected => {
                ApiError::Forbidden("The image is protected and cannot be deleted.".into())
            }
            StoreError::MarkerNotFound => {
                ApiError::BadRequest("The marker names no image in this list.".into())
            }
            StoreError::Conflict => ApiError::Conflict("An image with this id already exists.".into()),
            StoreError::Tags(e) => e.into(),
            StoreError::Backend(detail) => ApiError::Internal(detail),
            StoreError::QueryTimeLimit { limit } => ApiError::Unavailable {
                message: format!(
                    "The query ran longer than the limit of {} ms and was stopped; narrow it, or try again later.",
                    limit.as_millis()
                ),
                retry_after: limit,
            },
            StoreError::OverShare { retry_after } => ApiError::TooManyRequests {
                message: "This project is already running as many list queries as it may run at once; try \
                          again after the ones in progress."
                    .into(),
                retry_after,
            },
            StoreError::Busy { retry_after } => ApiError::Unavailable {
                message: "The service is busy with list queries of other projects; try again later.".into(),
                retry_after,
            },
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "the database is unavailable");
                ApiError::Unavailable {
                    message: "The database is unavailable for a moment; try again later.".into(),
                    retry_after: Duration::from_secs(1),
                }
            }
        }
    }
}

/// Gives a framework response that carries no envelope (unknown route, wrong method, body limit, timeout) the
/// one envelope, keeping its status and `Allow` header; any other response is returned as it is.
pub fn envelope_framework_error(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Enveloped>().is_some()
    {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed {
            allow: response
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        },
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::Timeout,
        s if s.is_client_error() => ApiError::BadRequest(format!(
            "The request could not be processed ({}).",
            s.canonical_reason().unwrap_or("client error")
        )),
        s => ApiError::internal(format!("framework response with status {s}")),
    };
    error.into_response()
}

/// Whether a path belongs to the Glance family (discovery, schemas, the image registry and the native tag
/// operations), whose clients show only the error message: python-glanceclient prints `HTTP <message>`.
pub fn is_glance_path(path: &str) -> bool {
    path == "/"
        || path == "/versions"
        || path.starts_with("/v2/schemas/")
        || path == "/v2/images"
        || path.starts_with("/v2/images/")
}

/// The message of an error on a Glance-family path: the status line first, as Glance's own error pages have
/// it, so that `glance image-tag-delete` prints `HTTP 404 Not Found: ...` as it does against Glance.
pub fn glance_message(status: StatusCode, message: &str) -> String {
    format!("{} {}: {message}", status.as_str(), status.canonical_reason().unwrap_or("Error"))
}

/// Puts the status line in front of the message of an error envelope answering a request on a Glance-family
/// path (`glance`, see [`is_glance_path`] and [`glance_message`]); the code, the status and the envelope's
/// shape stay as they are. Other responses are returned as they are, without waiting.
pub async fn status_line_in_glance_errors(glance: bool, response: Response) -> Response {
    let status = response.status();
    if !glance || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return ApiError::internal("an error body could not be read").into_response();
    };
    let Ok(mut envelope) = serde_json::from_slice::<ErrorResponse>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    envelope.error.message = glance_message(status, &envelope.error.message);
    let text = serde_json::to_vec(&envelope).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let cases = [
            (ApiError::Unauthenticated("x".into()), 401, "APIGW.0301"),
            (ApiError::Forbidden("x".into()), 403, "IMG.0026"),
            (ApiError::BadRequest("x".into()), 400, "IMG.0001"),
            (ApiError::EmptyBody, 400, "IMG.0007"),
            (ApiError::InvalidTag("x".into()), 400, "IMG.0115"),
            (ApiError::TagQuota { detail: "x".into(), too_large: false }, 400, "IMG.0116"),
            (ApiError::TagQuota { detail: "x".into(), too_large: true }, 413, "IMG.0116"),
            (ApiError::ImageNotFound, 404, "IMG.0144"),
            (ApiError::TagNotFound("x".into()), 404, "IMG.0115"),
            (ApiError::MethodNotAllowed { allow: "PUT".into() }, 405, "IMG.0001"),
            (ApiError::PayloadTooLarge, 413, "IMG.0001"),
            (ApiError::NotImplemented("x".into()), 501, "IMG.0501"),
            (ApiError::Internal("secret detail".into()), 500, "IMG.0500"),
            (
                ApiError::TooManyRequests { message: "x".into(), retry_after: Duration::from_secs(1) },
                429,
                "APIGW.0308",
            ),
            (
                ApiError::Unavailable { message: "x".into(), retry_after: Duration::from_secs(1) },
                503,
                "IMG.0503",
            ),
            (ApiError::RequestTimeout, 408, "IMG.0001"),
            (ApiError::UriTooLong, 414, "IMG.0001"),
            (ApiError::HeaderFieldsTooLarge, 431, "IMG.0001"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    #[test]
    fn refusals_that_may_succeed_later_carry_retry_after() {
        let response =
            ApiError::from(StoreError::OverShare { retry_after: Duration::from_secs(3) }).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let stopped = ApiError::from(StoreError::QueryTimeLimit { limit: Duration::from_millis(1500) });
        assert_eq!(stopped.retry_after_secs(), Some(2), "rounded up");
        assert!(stopped.message().contains("1500 ms"), "{}", stopped.message());
        let busy = ApiError::from(StoreError::Busy { retry_after: Duration::ZERO });
        assert_eq!((busy.status().as_u16(), busy.retry_after_secs()), (503, Some(1)), "never 0");
        assert_eq!(ApiError::Timeout.retry_after_secs(), None);
    }

    #[test]
    fn glance_paths_and_messages() {
        for path in ["/", "/versions", "/v2/schemas/image", "/v2/images", "/v2/images/x/tags/y"] {
            assert!(is_glance_path(path), "{path}");
        }
        for path in ["/v1/cloudimages/tags", "/v2/p/images/tags", "/v2/imagesx", "/openapi.json", "/v2"] {
            assert!(!is_glance_path(path), "{path}");
        }
        assert_eq!(
            glance_message(StatusCode::NOT_FOUND, "The image does not exist."),
            "404 Not Found: The image does not exist."
        );
    }

    #[test]
    fn internal_detail_is_not_sent() {
        let body = ApiError::internal("database is locked at /var/lib/x").body();
        assert!(!body.error.message.contains("locked"));
    }
}
