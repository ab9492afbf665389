//! SDK-HMAC-SM3, V11-HMAC-SHA256 and security-token vectors produced by the real SDK (the
//! wire contract prints those signatures truncated).
//!
//! Produced with `huaweicloudsdkcore==3.1.219` from PyPI (Python 3, in a throwaway venv),
//! calling the SDK's own signing path `BasicCredentials.sign_request` (which adds
//! `X-Project-Id` and `X-Security-Token`, then runs `Signer`, `SM3Signer` or
//! `DerivationAKSKSigner`) on an `SdkRequest` with a fixed `X-Sdk-Date` of
//! `20261122T145905Z`, host `127.0.0.1:18080`, project `0123456789abcdef0123456789abcdef`,
//! the User-Agent of the section 7 captures, and, for V11, region `cn-north-4` and service
//! `ims`. The same script, given section 6.3 vector 1 and the captured `add_image_tag`
//! request as inputs, reproduced their published signatures, as a check on itself:
//!
//! ```python
//! from huaweicloudsdkcore.auth.credentials import BasicCredentials
//! from huaweicloudsdkcore.sdk_request import SdkRequest
//! from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
//! AK, SK, PID = "AKTESTAK0000000000", "SKtestsecret0000000000000000000000000000", "0123456789abcdef0123456789abcdef"
//! UA = "huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/1e75e6c7-c426-4b27-ba73-c1f848dde35a"
//! IMG = "4d2c0b0e-1111-2222-3333-444455556666"
//! def sign(name, method, path, query, ctype, body, alg="sha256", token=None):
//!     cred = BasicCredentials(AK, SK, PID)
//!     if token: cred.security_token = token
//!     if alg == "v11":
//!         cred.with_derived_predicate(lambda r: True)
//!         cred._process_derived_auth_params("ims", "cn-north-4")
//!     headers = {"X-Sdk-Date": "20261122T145905Z", "User-Agent": UA, "Content-Type": ctype}
//!     req = SdkRequest(method=method, schema="http", host="127.0.0.1:18080", resource_path=path,
//!                      query_params=list(query), header_params=headers, body=body,
//!                      signing_algorithm=SigningAlgorithm.HMAC_SM3 if alg == "sm3" else SigningAlgorithm.HMAC_SHA256)
//!     cred.sign_request(req)
//!     print(name, req.method, req.uri, req.header_params["Authorization"])
//! J, JU = "application/json", "application/json;charset=utf-8"
//! sign("sm3_put_tag", "PUT", "/v1/cloudimages/tags", [], JU, '{"image_id": "%s", "tag": "env.prod"}' % IMG, alg="sm3")
//! sign("sm3_list_tags", "GET", "/v1/cloudimages/tags", [("limit", 10), ("name", "my image"), ("page", 1)], J, None, alg="sm3")
//! sign("v11_add_image_tag", "POST", f"/v2/{PID}/images/{IMG}/tags", [], JU, '{"tag": {"key": "env", "value": "prod"}}', alg="v11")
//! sign("v11_create_tag_path", "PUT", f"/v2/images/{IMG}/tags/a%20b%2Fc~d_%C3%A9", [], J, None, alg="v11")
//! sign("sha256_token_list_tags", "GET", "/v1/cloudimages/tags", [("limit", 5)], J, None, token="TOKEN123")
//! sign("sm3_token_delete", "DELETE", f"/v2/{PID}/images/{IMG}/tags/env", [], J, None, alg="sm3", token="TOKEN123")
//! sign("v11_token_list_image_tags", "GET", f"/v2/{PID}/images/{IMG}/tags", [], J, None, alg="v11", token="TOKEN123")
//! sign("sha256_repeated_query", "GET", "/v2/images", [("tag", ["k=v", "a b", "é~"]), ("limit", 5)], J, None)
//! ```
//!
//! The query strings below are the `req.uri` the SDK sends.

use http::Method;
use ims_tags_signing::{Algorithm, Credentials, V11Scope};

use crate::support::{
    AK, IMAGE, JSON, JSON_UTF8, PROJECT, SK, assert_sdk_signature, capture_time, sdk_request,
};

const DATE: &str = "20261122T145905Z";
const TOKEN: &str = "TOKEN123";

fn credentials(algorithm: Algorithm, token: bool) -> Credentials {
    let mut credentials = Credentials::new(AK, SK);
    credentials.algorithm = algorithm;
    credentials.security_token = token.then(|| TOKEN.to_owned());
    if algorithm == Algorithm::V11HmacSha256 {
        credentials.v11_scope = Some(V11Scope { region: "cn-north-4".to_owned(), service: "ims".to_owned() });
    }
    credentials
}

/// Checks one generated vector: `authorization` of an SDK request with these inputs.
fn check(
    credentials: &Credentials,
    method: Method,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    body: &str,
    authorization: &str,
) {
    let mut request = sdk_request(method, path, query, content_type, DATE, body.as_bytes());
    if let Some(token) = &credentials.security_token {
        request.set("x-security-token", token);
    }
    assert_sdk_signature(&request, authorization, credentials, capture_time());
}

#[test]
fn sm3_put_with_body() {
    check(
        &credentials(Algorithm::SdkHmacSm3, false),
        Method::PUT,
        "/v1/cloudimages/tags",
        None,
        JSON_UTF8,
        r#"{"image_id": "4d2c0b0e-1111-2222-3333-444455556666", "tag": "env.prod"}"#,
        "SDK-HMAC-SM3 Access=AKTESTAK0000000000, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=bbf01fc6821f48dc41fdce1b53e451b3c5ea1b9b9e3d08b18b8591ff6c3cc150",
    );
}

#[test]
fn sm3_get_with_query() {
    check(
        &credentials(Algorithm::SdkHmacSm3, false),
        Method::GET,
        "/v1/cloudimages/tags",
        Some("limit=10&name=my%20image&page=1"),
        JSON,
        "",
        "SDK-HMAC-SM3 Access=AKTESTAK0000000000, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=8a478c9ad70fc3f8236095b234cbf276ed30fad5f80e4987e4dfa7d172ca2c39",
    );
}

#[test]
fn v11_post_with_body() {
    check(
        &credentials(Algorithm::V11HmacSha256, false),
        Method::POST,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags"),
        None,
        JSON_UTF8,
        r#"{"tag": {"key": "env", "value": "prod"}}"#,
        "V11-HMAC-SHA256 Credential=AKTESTAK0000000000/20261122/cn-north-4/ims, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=ba1608b2785835d9740d9780b955d10dce17f947c3678f8ed7823cba694cc349",
    );
}

#[test]
fn v11_put_with_escaped_slash_path() {
    check(
        &credentials(Algorithm::V11HmacSha256, false),
        Method::PUT,
        &format!("/v2/images/{IMAGE}/tags/a%20b%2Fc~d_%C3%A9"),
        None,
        JSON,
        "",
        "V11-HMAC-SHA256 Credential=AKTESTAK0000000000/20261122/cn-north-4/ims, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=612dc488ec55b6f438fce2195c510cbfcb31a243c112db67f9db5c632264ca64",
    );
}

#[test]
fn sha256_with_security_token() {
    check(
        &credentials(Algorithm::SdkHmacSha256, true),
        Method::GET,
        "/v1/cloudimages/tags",
        Some("limit=5"),
        JSON,
        "",
        "SDK-HMAC-SHA256 Access=AKTESTAK0000000000, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date;x-security-token, Signature=fad0b3f33106a80f0db850c2989df4fd76cbf168da6303a2d642970fc104a093",
    );
}

#[test]
fn sm3_with_security_token() {
    check(
        &credentials(Algorithm::SdkHmacSm3, true),
        Method::DELETE,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags/env"),
        None,
        JSON,
        "",
        "SDK-HMAC-SM3 Access=AKTESTAK0000000000, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date;x-security-token, Signature=6bc9c29d444ad5b60ed40ccd277fbbb3c6bc72e40fa23f4fc01747960dc15c52",
    );
}

#[test]
fn v11_with_security_token() {
    let verified_token = {
        let credentials = credentials(Algorithm::V11HmacSha256, true);
        let authorization = "V11-HMAC-SHA256 Credential=AKTESTAK0000000000/20261122/cn-north-4/ims, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date;x-security-token, Signature=febfa6f35e6cf4f839b3c283c17456b0205e65705f7d9dcde89a39f06c6396c2";
        let path = format!("/v2/{PROJECT}/images/{IMAGE}/tags");
        check(&credentials, Method::GET, &path, None, JSON, "", authorization);
        let mut request = sdk_request(Method::GET, &path, None, JSON, DATE, b"");
        request.set("x-security-token", TOKEN);
        request.set("authorization", authorization);
        request.verify_at(capture_time()).expect("verifies")
    };
    assert_eq!(verified_token.security_token.as_deref(), Some(TOKEN));
    assert_eq!(verified_token.project_id.as_deref(), Some(PROJECT));
    assert!(!format!("{verified_token:?}").contains(TOKEN), "Debug redacts the token");
}

#[test]
fn sha256_with_repeated_query_key() {
    check(
        &credentials(Algorithm::SdkHmacSha256, false),
        Method::GET,
        "/v2/images",
        Some("limit=5&tag=a%20b&tag=k%3Dv&tag=%C3%A9~"),
        JSON,
        "",
        "SDK-HMAC-SHA256 Access=AKTESTAK0000000000, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=fb253b9a96842284f82e51a1d99ac29f72b8dbfe2d6fd32d65a407ab6ee5ffc5",
    );
}
