//! The request a load run sends over and over: method, path (naming a random seeded image or not), body and
//! credentials, built afresh and, for AK/SK, signed anew for every request.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request};
use http_body_util::Full;
use ims_tags_signing::{Credentials, RequestToSign, SignatureError, sign_request};

/// The placeholder a path may hold once: it becomes the number of a random seeded image of the first project,
/// as twelve lower-case hex digits (the last group of `ims-tags seed`'s ids). The same placeholder as the wrk
/// script's, so that both generators take the same paths.
pub const IMAGE_PLACEHOLDER: &str = "%012x";

/// How each request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials (the ceiling row, `GET /versions`).
    None,
    /// An `X-Auth-Token` header.
    Token(HeaderValue),
    /// An AK/SK signature, computed for every request as the Huawei SDK computes it.
    AkSk(Credentials),
}

/// The images `ims-tags seed` created: image `n` belongs to project `n % projects`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeededImages {
    /// Images seeded.
    pub images: u64,
    /// Projects they were spread over.
    pub projects: u64,
}

impl SeededImages {
    /// The number of an image owned by the first project, chosen by `random` (any number).
    pub fn pick(&self, random: u64) -> u64 {
        let projects = self.projects.max(1);
        let owned = (self.images / projects).max(1);
        (random % owned) * projects
    }
}

/// Why a request shape cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// The method is not an HTTP method.
    #[error("invalid method {0:?}")]
    Method(String),
    /// The path is not an absolute, already percent-encoded request target.
    #[error("invalid path {0:?}: it must start with '/' and hold only URI characters")]
    Path(String),
    /// The path holds the image placeholder more than once.
    #[error("the path holds {IMAGE_PLACEHOLDER} more than once")]
    Placeholders,
    /// A header value (token, project id, host) holds characters a header cannot.
    #[error("{0} is not a valid header value")]
    HeaderValue(&'static str),
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Signature(#[from] SignatureError),
}

/// One request shape: everything but the image number, the host and the time.
#[derive(Clone, Debug)]
pub struct RequestShape {
    method: Method,
    /// The path up to the placeholder (or the whole path and query when there is none).
    path_head: String,
    /// The rest after the placeholder, when there is one.
    path_tail: Option<String>,
    body: Bytes,
    auth: Auth,
    project_id: Option<HeaderValue>,
}

const X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

impl RequestShape {
    /// A shape. `path` is the request target as sent (path and optional query, percent-encoded), holding
    /// [`IMAGE_PLACEHOLDER`] at most once; a non-empty `body` is sent as `application/json`; `project_id`, when
    /// given, goes into `X-Project-Id` (and is signed).
    pub fn new(
        method: &str,
        path: &str,
        body: impl Into<Bytes>,
        auth: Auth,
        project_id: Option<&str>,
    ) -> Result<RequestShape, ShapeError> {
        let method =
            Method::from_bytes(method.as_bytes()).map_err(|_| ShapeError::Method(method.to_owned()))?;
        let valid = path.starts_with('/')
            && path.replace(IMAGE_PLACEHOLDER, "000000000000").parse::<http::uri::PathAndQuery>().is_ok();
        if !valid {
            return Err(ShapeError::Path(path.to_owned()));
        }
        let (path_head, path_tail) = match path.split_once(IMAGE_PLACEHOLDER) {
            Some((_, tail)) if tail.contains(IMAGE_PLACEHOLDER) => return Err(ShapeError::Placeholders),
            Some((head, tail)) => (head.to_owned(), Some(tail.to_owned())),
            None => (path.to_owned(), None),
        };
        let project_id = project_id
            .map(|project| {
                HeaderValue::from_str(project).map_err(|_| ShapeError::HeaderValue("the project id"))
            })
            .transpose()?;
        Ok(RequestShape { method, path_head, path_tail, body: body.into(), auth, project_id })
    }

    /// Whether the path names an image (holds the placeholder).
    pub fn names_image(&self) -> bool {
        self.path_tail.is_some()
    }

    /// The request target for image number `image`.
    pub fn target(&self, image: u64) -> String {
        match &self.path_tail {
            Some(tail) => format!("{}{image:012x}{tail}", self.path_head),
            None => self.path_head.clone(),
        }
    }

    /// The request for image number `image`, to be sent to `authority` (`host:port`, also the `Host` header),
    /// signed at `now` when the shape authenticates with AK/SK.
    pub fn build(
        &self,
        authority: &HeaderValue,
        image: u64,
        now: SystemTime,
    ) -> Result<Request<Full<Bytes>>, ShapeError> {
        let target = self.target(image);
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(HOST, authority.clone());
        if !self.body.is_empty() {
            headers.insert(CONTENT_TYPE, APPLICATION_JSON);
        }
        if let Some(project) = &self.project_id {
            headers.insert(X_PROJECT_ID, project.clone());
        }
        match &self.auth {
            Auth::None => {}
            Auth::Token(token) => {
                headers.insert(X_AUTH_TOKEN, token.clone());
            }
            Auth::AkSk(credentials) => {
                let host = authority.to_str().map_err(|_| ShapeError::HeaderValue("the host"))?;
                let (raw_path, raw_query) = match target.split_once('?') {
                    Some((path, query)) => (path, Some(query)),
                    None => (target.as_str(), None),
                };
                let request =
                    RequestToSign { method: &self.method, host, raw_path, raw_query, body: &self.body };
                sign_request(credentials, &request, &mut headers, now)?;
            }
        }
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = target.parse().map_err(|_| ShapeError::Path(target.clone()))?;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::BodyExt;
    use ims_tags_signing::{RequestParts, SignatureError, verify};

    use super::*;

    const AK: &str = "BENCHACCESSKEY000000";
    const SK: &str = "BENCHSECRETKEY00000000000000000000000000";

    fn authority() -> HeaderValue {
        HeaderValue::from_static("127.0.0.1:9292")
    }

    /// The parts of a built request, as a server sees them.
    async fn parts(request: Request<Full<Bytes>>) -> (Method, String, Option<String>, HeaderMap, Bytes) {
        let (head, body) = request.into_parts();
        let body = body.collect().await.expect("a full body never fails").to_bytes();
        let path = head.uri.path().to_owned();
        let query = head.uri.query().map(str::to_owned);
        (head.method, path, query, head.headers, body)
    }

    #[test]
    fn picks_only_images_of_the_first_project() {
        let seeded = SeededImages { images: 1000, projects: 10 };
        for random in [0, 1, 99, 100, 12_345, u64::MAX] {
            let n = seeded.pick(random);
            assert_eq!(n % 10, 0, "image {n} belongs to project p0");
            assert!(n < 1000, "image {n} was seeded");
        }
        assert_eq!(
            SeededImages { images: 5, projects: 10 }.pick(7),
            0,
            "fewer images than projects: image 0"
        );
    }

    #[test]
    fn the_placeholder_becomes_twelve_hex_digits() {
        let shape = RequestShape::new(
            "GET",
            "/v2/p0/images/00000000-0000-4000-8000-%012x/tags",
            "",
            Auth::None,
            None,
        )
        .expect("valid");
        assert!(shape.names_image());
        assert_eq!(shape.target(255), "/v2/p0/images/00000000-0000-4000-8000-0000000000ff/tags");
        let fixed = RequestShape::new("GET", "/versions", "", Auth::None, None).expect("valid");
        assert!(!fixed.names_image());
        assert_eq!(fixed.target(255), "/versions");
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(matches!(RequestShape::new("G T", "/", "", Auth::None, None), Err(ShapeError::Method(_))));
        assert!(matches!(
            RequestShape::new("GET", "versions", "", Auth::None, None),
            Err(ShapeError::Path(_))
        ));
        assert!(matches!(RequestShape::new("GET", "/a b", "", Auth::None, None), Err(ShapeError::Path(_))));
        assert!(matches!(
            RequestShape::new("GET", "/%012x/%012x", "", Auth::None, None),
            Err(ShapeError::Placeholders)
        ));
        assert!(matches!(
            RequestShape::new("GET", "/", "", Auth::None, Some("p\n0")),
            Err(ShapeError::HeaderValue(_))
        ));
    }

    #[tokio::test]
    async fn a_token_request_carries_the_token_and_no_signature() {
        let shape = RequestShape::new(
            "PUT",
            "/v2/images/00000000-0000-4000-8000-%012x/tags/bench-native",
            "",
            Auth::Token(HeaderValue::from_static("bench-token")),
            None,
        )
        .expect("valid");
        let request = shape.build(&authority(), 10, SystemTime::now()).expect("builds");
        let (method, path, _, headers, body) = parts(request).await;
        assert_eq!(method, Method::PUT);
        assert_eq!(path, "/v2/images/00000000-0000-4000-8000-00000000000a/tags/bench-native");
        assert_eq!(headers["x-auth-token"], "bench-token");
        assert_eq!(headers[HOST], "127.0.0.1:9292");
        assert!(!headers.contains_key("authorization") && !headers.contains_key(CONTENT_TYPE));
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn a_signed_request_verifies_with_the_signing_crate() {
        let body = r#"{"action": "filter", "tags": [{"key": "app", "values": ["app-10"]}], "limit": "10"}"#;
        let shape = RequestShape::new(
            "POST",
            "/v2/p0/images/resource_instances/action?x=%2F%20y",
            body,
            Auth::AkSk(Credentials::new(AK, SK)),
            Some("p0"),
        )
        .expect("valid");
        let now = SystemTime::now();
        let request = shape.build(&authority(), 0, now).expect("builds");
        let (method, path, query, headers, body) = parts(request).await;
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        let request = RequestParts {
            method: &method,
            raw_path: &path,
            raw_query: query.as_deref(),
            headers: &headers,
            body: &body,
        };
        let verified = verify(&request, SK, now).expect("the server's verifier accepts it");
        assert_eq!(verified.authorization.access_key, AK);
        assert_eq!(verified.project_id.as_deref(), Some("p0"), "X-Project-Id is signed");
        assert_eq!(verify(&request, "another-secret", now), Err(SignatureError::SignatureMismatch));
        let tampered = RequestParts { body: b"{}", ..request };
        assert_eq!(verify(&tampered, SK, now), Err(SignatureError::SignatureMismatch));
    }

    #[tokio::test]
    async fn every_signed_request_is_signed_at_its_own_time() {
        let shape = RequestShape::new(
            "GET",
            "/v2/p0/images/00000000-0000-4000-8000-%012x/tags",
            "",
            Auth::AkSk(Credentials::new(AK, SK)),
            None,
        )
        .expect("valid");
        let first = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let later = first + Duration::from_secs(61);
        let (_, _, _, a, _) = parts(shape.build(&authority(), 0, first).expect("builds")).await;
        let (_, _, _, b, _) = parts(shape.build(&authority(), 0, later).expect("builds")).await;
        assert_eq!(a["x-sdk-date"], "20270115T080000Z");
        assert_eq!(b["x-sdk-date"], "20270115T080101Z");
        assert_ne!(a["authorization"], b["authorization"]);
    }
}
