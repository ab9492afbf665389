//! The three fixed vectors of the wire contract, section 6.3 (SDK `Signer`, no User-Agent,
//! Host `127.0.0.1:8080`, X-Sdk-Date `20240101T000000Z`).

use std::time::SystemTime;

use http::Method;
use ims_tags_signing::{
    Algorithm, Credentials, canonical_request, canonical_uri, payload_hash, string_to_sign,
};
use time::macros::datetime;

use crate::support::{AK, IMAGE, JSON, JSON_UTF8, PROJECT, Request, SK, assert_sdk_signature};

const DATE: &str = "20240101T000000Z";
const SIGNED: &str = "content-type;host;x-project-id;x-sdk-date";

fn vector_time() -> SystemTime {
    datetime!(2024-01-01 00:00:00 UTC).into()
}

fn vector_request(
    method: Method,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Request {
    Request::new(
        method,
        path,
        query,
        &[
            ("content-type", content_type),
            ("x-project-id", PROJECT),
            ("x-sdk-date", DATE),
            ("host", "127.0.0.1:8080"),
        ],
        body,
    )
}

fn signed_headers() -> Vec<String> {
    SIGNED.split(';').map(str::to_owned).collect()
}

/// The hash of the canonical request, the last line of the string to sign.
fn request_hash(request: &Request) -> String {
    let canonical = canonical_request(Algorithm::SdkHmacSha256, &request.parts(), &signed_headers())
        .expect("canonical request");
    let to_sign = string_to_sign(Algorithm::SdkHmacSha256, DATE, None, &canonical);
    let (head, hash) = to_sign.rsplit_once('\n').expect("three lines");
    assert_eq!(head, format!("SDK-HMAC-SHA256\n{DATE}"));
    hash.to_owned()
}

fn authorization(signature: &str) -> String {
    format!("SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature={signature}")
}

#[test]
fn vector_1_get_with_query() {
    let request = vector_request(
        Method::GET,
        "/v1/cloudimages/tags",
        Some("__imagetype=private&limit=10&name=my%20image&page=1"),
        JSON,
        b"",
    );
    let canonical = canonical_request(Algorithm::SdkHmacSha256, &request.parts(), &signed_headers());
    assert_eq!(
        canonical.as_deref(),
        Ok("GET\n\
            /v1/cloudimages/tags/\n\
            __imagetype=private&limit=10&name=my%20image&page=1\n\
            content-type:application/json\n\
            host:127.0.0.1:8080\n\
            x-project-id:0123456789abcdef0123456789abcdef\n\
            x-sdk-date:20240101T000000Z\n\
            \n\
            content-type;host;x-project-id;x-sdk-date\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(request_hash(&request), "1b014ae169655e6b686b289bbce4a6ba31b49b9bfd8644417c18bf1413cbb511");
    assert_sdk_signature(
        &request,
        &authorization("3a6c48447e609484b8e5c5476770eb9f9be3e8010a0b6c8c3c1970ad04626bce"),
        &Credentials::new(AK, SK),
        vector_time(),
    );
}

#[test]
fn vector_2_post_with_body() {
    let body = br#"{"tag": {"key": "env", "value": "prod"}}"#;
    let path = format!("/v2/{PROJECT}/images/{IMAGE}/tags");
    let request = vector_request(Method::POST, &path, None, JSON_UTF8, body);
    assert_eq!(
        payload_hash(Algorithm::SdkHmacSha256, &request.headers, body).as_deref(),
        Ok("b18a3066486df478c556b1ed48946fed378918a150066077ad6d7d3ae0804553")
    );
    assert_eq!(
        canonical_uri(&path),
        "/v2/0123456789abcdef0123456789abcdef/images/4d2c0b0e-1111-2222-3333-444455556666/tags/"
    );
    assert_eq!(request_hash(&request), "7bc5c0adb614bf39347267a33421ddbbf6c8c1ca922a21548ad82f42dd417ccc");
    assert_sdk_signature(
        &request,
        &authorization("4cc5fe34c79caaaa37ec470ef206ba3efcb715895b3d8f267e6426b9caf07ba7"),
        &Credentials::new(AK, SK),
        vector_time(),
    );
}

#[test]
fn vector_3_delete_with_escaped_key() {
    let path = format!("/v2/{PROJECT}/images/{IMAGE}/tags/my%20key");
    let request = vector_request(Method::DELETE, &path, None, JSON, b"");
    assert_eq!(canonical_uri(&path), format!("/v2/{PROJECT}/images/{IMAGE}/tags/my%20key/"));
    assert_eq!(request_hash(&request), "ff55c67cc85f7111ae22cf486ccca45e1c1af388e1d6330aa94e2c28f37f38c6");
    assert_sdk_signature(
        &request,
        &authorization("a93b52bcba9328784698f380ce6b09b8e478836975d7050132a693a08fe0d8cd"),
        &Credentials::new(AK, SK),
        vector_time(),
    );
}
