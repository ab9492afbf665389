//! Shared fixtures: the test credentials of the wire contract and request builders.

use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use ims_tags_signing::{
    Authorization, Credentials, RequestParts, RequestToSign, SignatureError, Verified, sign_request, verify,
};
use time::macros::datetime;

/// The access key of every captured and generated vector.
pub const AK: &str = "AKTESTAK0000000000";
/// The secret key of every captured and generated vector.
pub const SK: &str = "SKtestsecret0000000000000000000000000000";
/// The project of every captured and generated vector.
pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// The image id of every captured and generated vector.
pub const IMAGE: &str = "4d2c0b0e-1111-2222-3333-444455556666";
/// The endpoint of the section 7 captures.
pub const CAPTURE_HOST: &str = "127.0.0.1:18080";
/// The (signed) User-Agent of the section 7 captures.
pub const USER_AGENT: &str = "huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/1e75e6c7-c426-4b27-ba73-c1f848dde35a";
/// `Content-Type` of bodiless SDK requests.
pub const JSON: &str = "application/json";
/// `Content-Type` of SDK requests with a JSON body.
pub const JSON_UTF8: &str = "application/json;charset=utf-8";

/// The X-Sdk-Date of most captures, as a clock reading.
pub fn capture_time() -> SystemTime {
    datetime!(2026-11-22 14:59:05 UTC).into()
}

/// A header map from `(name, value)` pairs, repeated names appended.
pub fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
            HeaderValue::from_str(value).expect("test header value"),
        );
    }
    map
}

/// A request as a test describes it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The raw path.
    pub path: String,
    /// The raw query.
    pub query: Option<String>,
    /// The headers, `Authorization` included when signed.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with `headers`.
    pub fn new(
        method: Method,
        path: &str,
        query: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Self {
        Self {
            method,
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: header_map(headers),
            body: body.to_vec(),
        }
    }

    /// The request as the verifier sees it.
    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts {
            method: &self.method,
            raw_path: &self.path,
            raw_query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// Verifies with [`SK`] at `now`.
    pub fn verify_at(&self, now: SystemTime) -> Result<Verified, SignatureError> {
        verify(&self.parts(), SK, now)
    }

    /// Signs in place with `credentials` for `host`, at `now`.
    pub fn sign(&mut self, credentials: &Credentials, host: &str, now: SystemTime) -> Authorization {
        let request = RequestToSign {
            method: &self.method,
            host,
            raw_path: &self.path,
            raw_query: self.query.as_deref(),
            body: &self.body,
        };
        sign_request(credentials, &request, &mut self.headers, now).expect("signing succeeds")
    }

    /// Replaces (or adds) a header.
    pub fn set(&mut self, name: &str, value: &str) {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
            HeaderValue::from_str(value).expect("test header value"),
        );
    }
}

/// A request shaped as the Python SDK sends it (`huaweicloudsdkcore` plus `requests`):
/// the signed `User-Agent`, `Content-Type`, `X-Project-Id`, `X-Sdk-Date` and `Host`, and the
/// unsigned `Accept-Encoding`, `Accept`, `Connection` and (except on GET) `Content-Length`.
/// No `Authorization` yet.
pub fn sdk_request(
    method: Method,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    date: &str,
    body: &[u8],
) -> Request {
    let length = body.len().to_string();
    let mut headers = vec![
        ("user-agent", USER_AGENT),
        ("accept-encoding", "gzip, deflate"),
        ("accept", "*/*"),
        ("connection", "keep-alive"),
        ("content-type", content_type),
        ("x-project-id", PROJECT),
        ("x-sdk-date", date),
        ("host", CAPTURE_HOST),
    ];
    if method != Method::GET {
        headers.push(("content-length", &length));
    }
    Request::new(method, path, query, &headers, body)
}

/// Checks an SDK-signed request both ways: with `authorization` added, [`verify`] accepts
/// it at `now` and parses back the same header value; and [`sign_request`] with
/// `credentials`, on the request without `authorization`, produces exactly that value.
pub fn assert_sdk_signature(
    unsigned: &Request,
    authorization: &str,
    credentials: &Credentials,
    now: SystemTime,
) {
    let mut received = unsigned.clone();
    received.set("authorization", authorization);
    let verified = received.verify_at(now).expect("the SDK's signature verifies");
    assert_eq!(verified.authorization.to_string(), authorization);

    let mut outgoing = unsigned.clone();
    let signed = outgoing.sign(credentials, CAPTURE_HOST, now);
    assert_eq!(signed.to_string(), authorization);
    assert_eq!(outgoing.headers, received.headers, "the signer adds nothing else");
}
