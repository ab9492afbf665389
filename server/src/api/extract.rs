//! Extractors whose failures become `ApiError`s, held back until the handler has authorised the caller, so
//! that a caller without permission learns nothing about the validity of its input (the check order:
//! 401, 403 project, 403 permission, then 400).

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::domain::query::InvalidQuery;
use crate::domain::query::image_filter::parse_bool;
#[cfg(doc)]
use crate::domain::query::image_filter::{FALSE_WORDS, TRUE_WORDS};
use crate::error::ApiError;

/// Path parameters, percent-decoded once per segment; invalid UTF-8 is a 400.
pub struct ApiPath<T>(Result<T, ApiError>);

impl<T> ApiPath<T> {
    /// The parameters, or the 400 they produced.
    pub fn parse(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiPath(Path::<T>::from_request_parts(parts, state).await.map(|Path(t)| t).map_err(path_error)))
    }
}

/// The 400 for a path segment that is not UTF-8 once percent-decoded.
pub fn path_not_utf8() -> ApiError {
    ApiError::BadRequest("A path segment is not valid UTF-8 after percent-decoding.".into())
}

/// The 400 for a body sent to an operation that takes none (Glance's words).
pub fn body_not_expected() -> ApiError {
    ApiError::BadRequest("A body is not expected with this request.".into())
}

fn path_error(rejection: PathRejection) -> ApiError {
    match &rejection {
        PathRejection::FailedToDeserializePathParams(e)
            if matches!(e.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
        {
            path_not_utf8()
        }
        _ => ApiError::BadRequest(format!("Invalid path parameters: {}", rejection.body_text())),
    }
}

/// Whether a request carries a body, for the operations that take none: Glance's `body_reject` answers 400
/// when `Content-Length` is above 0 or any `Transfer-Encoding` is present (`Content-Length: 0` is fine). Held
/// back like the other extractors, so that it is reported after authorisation.
pub struct NoBody(Result<(), ApiError>);

impl NoBody {
    /// Nothing, or the 400 `IMG.0001` for a body.
    pub fn check(self) -> Result<(), ApiError> {
        self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for NoBody {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        let has_body = headers.contains_key(header::TRANSFER_ENCODING)
            || length.is_some_and(|v| v.trim().parse::<u64>().map_or(true, |n| n > 0));
        Ok(NoBody(if has_body { Err(body_not_expected()) } else { Ok(()) }))
    }
}

/// A JSON body, parsed after authorisation: an empty body is 400 `IMG.0007`, malformed JSON or a wrong type
/// 400 `IMG.0001` naming the field. `Content-Type` is not looked at; unknown fields are ignored.
pub struct ApiJson<T>(Result<T, ApiError>);

impl<T> ApiJson<T> {
    /// The body, or the 400 it produced.
    pub fn parse(self) -> Result<T, ApiError> {
        self.0
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(body_error)?;
        Ok(ApiJson(parse_json(&bytes)))
    }
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        crate::body::body_read_error(&rejection)
    }
}

/// Parses a JSON body the way every operation does.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::EmptyBody);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::BadRequest(format!("The request body is not valid: {inner}"))
        } else {
            ApiError::BadRequest(format!("The request body is not valid at '{path}': {inner}"))
        }
    })?;
    deserializer.end().map_err(|e| ApiError::BadRequest(format!("The request body is not valid: {e}")))?;
    Ok(value)
}

/// A boolean query parameter as it arrives, read with [`parse_bool`]. In the OpenAPI document it is a string
/// of the words Glance accepts (`True` from Python clients among them), not a JSON boolean.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct GlanceBoolean(pub String);

/// The pattern of [`GlanceBoolean`]: the words of [`TRUE_WORDS`] and [`FALSE_WORDS`] in any case, with
/// optional surrounding whitespace.
pub const BOOLEAN_PATTERN: &str = r"^\s*(1|0|[tT]([rR][uU][eE])?|[fF]([aA][lL][sS][eE])?|[oO]([nN]|[fF][fF])|[yY]([eE][sS])?|[nN][oO]?)\s*$";

impl utoipa::PartialSchema for GlanceBoolean {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A boolean as Glance reads it: `1`, `t`, `true`, `on`, `y`, `yes` or `0`, `f`, `false`, `off`, `n`, \
                 `no`, in any case, surrounding whitespace ignored.",
            ))
            .pattern(Some(BOOLEAN_PATTERN))
            .examples(["true"])
            .into()
    }
}

impl utoipa::ToSchema for GlanceBoolean {}

impl GlanceBoolean {
    /// The value, or a 400 naming `field`.
    pub fn parse(&self, field: &str) -> Result<bool, InvalidQuery> {
        parse_bool(field, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[expect(dead_code, reason = "read only to check deserialisation")]
        tag: Inner,
    }

    #[derive(serde::Deserialize, Debug)]
    struct Inner {
        #[expect(dead_code, reason = "read only to check deserialisation")]
        key: String,
    }

    #[test]
    fn empty_and_malformed_bodies() {
        assert!(matches!(parse_json::<Body>(b""), Err(ApiError::EmptyBody)));
        assert!(matches!(parse_json::<Body>(b"  \n"), Err(ApiError::EmptyBody)));
        let Err(ApiError::BadRequest(message)) = parse_json::<Body>(br#"{"tag": {"key": 5}}"#) else {
            panic!("a wrong type is a bad request")
        };
        assert!(message.contains("tag.key"), "{message}");
        assert!(matches!(parse_json::<Body>(b"{"), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_json::<Body>(br#"{"tag": {"key": "k"}} x"#), Err(ApiError::BadRequest(_))));
        assert!(parse_json::<Body>(br#"{"tag": {"key": "k", "extra": 1}, "more": []}"#).is_ok());
    }
}
