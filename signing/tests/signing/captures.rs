//! Requests captured from `huaweicloudsdkims` 3.1.219 (wire contract, section 7): each one
//! verifies, and the client signer reproduces its signature from the same inputs.

use http::Method;
use ims_tags_signing::{Algorithm, Credentials, canonical_request};

use crate::support::{
    AK, IMAGE, JSON, JSON_UTF8, PROJECT, SK, assert_sdk_signature, capture_time, sdk_request,
};

/// Checks one capture: `signature` of an SDK request with these inputs.
fn check(
    method: Method,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    date: &str,
    body: &str,
    signature: &str,
) {
    let request = sdk_request(method, path, query, content_type, date, body.as_bytes());
    let authorization = format!(
        "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature={signature}"
    );
    assert_sdk_signature(&request, &authorization, &Credentials::new(AK, SK), capture_time());
}

const T5: &str = "20261122T145905Z";
const T6: &str = "20261122T145906Z";

#[test]
fn glance_create_tag() {
    check(
        Method::PUT,
        &format!("/v2/images/{IMAGE}/tags/mytag"),
        None,
        JSON,
        T5,
        "",
        "100c8e97e17a875601fca74d6c53eae57892f1082937143d13b0d3db93e8d86f",
    );
}

#[test]
fn glance_create_tag_with_escaped_slash_space_and_utf8() {
    let path = format!("/v2/images/{IMAGE}/tags/a%20b%2Fc~d_%C3%A9");
    let request = sdk_request(Method::PUT, &path, None, JSON, T5, b"");
    let signed_headers =
        ["content-type", "host", "user-agent", "x-project-id", "x-sdk-date"].map(String::from);
    assert_eq!(
        canonical_request(Algorithm::SdkHmacSha256, &request.parts(), &signed_headers).as_deref(),
        Ok("PUT\n\
            /v2/images/4d2c0b0e-1111-2222-3333-444455556666/tags/a%20b/c~d_%C3%A9/\n\
            \n\
            content-type:application/json\n\
            host:127.0.0.1:18080\n\
            user-agent:huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/1e75e6c7-c426-4b27-ba73-c1f848dde35a\n\
            x-project-id:0123456789abcdef0123456789abcdef\n\
            x-sdk-date:20261122T145905Z\n\
            \n\
            content-type;host;user-agent;x-project-id;x-sdk-date\n\
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    check(
        Method::PUT,
        &path,
        None,
        JSON,
        T5,
        "",
        "8ab7b86db612119ace79ac7ccce4e1d6ea05ff320c20ef4d8e8361bb5688f4e2",
    );
}

#[test]
fn glance_delete_tag() {
    check(
        Method::DELETE,
        &format!("/v2/images/{IMAGE}/tags/mytag"),
        None,
        JSON,
        T5,
        "",
        "60179e441c872c44864ced2cd3edd6f723861d4a3c5ab5642da632a96ea5d2d8",
    );
}

#[test]
fn create_or_update_tags_with_tag_string() {
    let body = r#"{"image_id": "4d2c0b0e-1111-2222-3333-444455556666", "tag": "env.prod"}"#;
    assert_eq!(body.len(), 71);
    check(
        Method::PUT,
        "/v1/cloudimages/tags",
        None,
        JSON_UTF8,
        T5,
        body,
        "a1148b572d993caf3b6b87f4360093b94fba5a64039233eeafebd1e99c889953",
    );
}

#[test]
fn create_or_update_tags_with_image_tag_object() {
    let body = r#"{"image_id": "4d2c0b0e-1111-2222-3333-444455556666", "image_tag": {"key": "env", "value": "prod"}}"#;
    assert_eq!(body.len(), 98);
    check(
        Method::PUT,
        "/v1/cloudimages/tags",
        None,
        JSON_UTF8,
        T5,
        body,
        "47214739a234be5adf2a02841a7b313afda4cc42faa0bc04409a91adbc776841",
    );
}

#[test]
fn list_tags_without_params() {
    check(
        Method::GET,
        "/v1/cloudimages/tags",
        None,
        JSON,
        T5,
        "",
        "93079daae5b7fba7519265af2edf229f8f3de7b7edffda4be737a1d914f972aa",
    );
}

#[test]
fn list_tags_with_every_sdk_param() {
    check(
        Method::GET,
        "/v1/cloudimages/tags",
        Some(
            "__imagetype=private&__os_type=Linux&__platform=Ubuntu&architecture=x86\
             &created_at=gt%3A2018-10-28T10%3A00%3A00Z&enterprise_project_id=0\
             &id=4d2c0b0e-1111-2222-3333-444455556666&limit=10&member_status=accepted\
             &min_disk=40&name=my%20image&page=1&status=active\
             &updated_at=lte%3A2024-01-01%2000%3A00%3A00&virtual_env_type=FusionCompute",
        ),
        JSON,
        T5,
        "",
        "0a6f39a3237c0c0f3ae513395f88b6968ffe645bff1898643deb4da685192f4b",
    );
}

#[test]
fn list_image_by_tags_filter() {
    let body = r#"{"action": "filter", "tags": [{"key": "env", "values": ["prod", "dev"]}], "tags_any": [{"key": "team", "values": []}], "not_tags": [{"key": "deprecated", "values": ["true"]}], "not_tags_any": [{"key": "x", "values": ["y"]}], "limit": "10", "offset": "0", "matches": [{"key": "resource_name", "value": "my-image"}]}"#;
    assert_eq!(body.len(), 314);
    check(
        Method::POST,
        &format!("/v2/{PROJECT}/images/resource_instances/action"),
        None,
        JSON_UTF8,
        T6,
        body,
        "bd3133a0f674ed5a25ae7d3904739cc456ebc252e7f2662ecf3a03e48b88a658",
    );
}

#[test]
fn batch_add_or_delete_tags_create() {
    let body =
        r#"{"action": "create", "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": ""}]}"#;
    assert_eq!(body.len(), 93);
    check(
        Method::POST,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags/action"),
        None,
        JSON_UTF8,
        T6,
        body,
        "b4cb237378c1996e61848089b74c00e6ec46affde9daa149b100cc7d0baa1f4b",
    );
}

#[test]
fn add_image_tag() {
    check(
        Method::POST,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags"),
        None,
        JSON_UTF8,
        T6,
        r#"{"tag": {"key": "env", "value": "prod"}}"#,
        "cf4daf325e5b5e9c617e4a6b460604ce689d2fd4c4d98e0a944e330a86073f0b",
    );
}

#[test]
fn delete_image_tag() {
    check(
        Method::DELETE,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags/env"),
        None,
        JSON,
        T6,
        "",
        "21ae91d4a587287db4afc7c6c21634c7c1649adaeb02d9be4ed9e161357068cd",
    );
}

#[test]
fn list_image_tags_and_list_images_tags() {
    check(
        Method::GET,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags"),
        None,
        JSON,
        T6,
        "",
        "37541d8ed1cb297daf7529a9c15dcba2e8febfd3d4f3534c9483cb0a38ebed10",
    );
    check(
        Method::GET,
        &format!("/v2/{PROJECT}/images/tags"),
        None,
        JSON,
        T6,
        "",
        "19264181036ced91242937f5cb971754dc7a4d8f4c5febeb870bb8b90537239d",
    );
}
