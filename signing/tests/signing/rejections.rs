//! Requests the verifier must reject, each with the check that catches it.

use std::time::Duration;

use http::{HeaderValue, Method};
use ims_tags_signing::{
    Algorithm, Authorization, CredentialScope, Credentials, SignatureError, Verifier, canonical_request,
    request_authorization, signature, string_to_sign, verify,
};

use crate::support::{AK, IMAGE, JSON_UTF8, PROJECT, Request, SK, capture_time, sdk_request};

const DATE: &str = "20261122T145905Z";
const BODY: &str = r#"{"tag": {"key": "env", "value": "prod"}}"#;
/// SignedHeaders of the SDK's own requests.
const SDK_SIGNED: [&str; 5] = ["content-type", "host", "user-agent", "x-project-id", "x-sdk-date"];

/// An unsigned `add_image_tag` request as the SDK sends it.
fn add_image_tag() -> Request {
    sdk_request(
        Method::POST,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags"),
        None,
        JSON_UTF8,
        DATE,
        BODY.as_bytes(),
    )
}

/// Signs `request` correctly but over exactly `signed` (which may break the verifier's
/// rules), and adds the `Authorization` header.
fn authorize(
    request: &mut Request,
    algorithm: Algorithm,
    scope: Option<CredentialScope>,
    signed: &[&str],
) -> Authorization {
    let signed_headers = signed.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
    let canonical =
        canonical_request(algorithm, &request.parts(), &signed_headers).expect("canonical request");
    let date = request.headers["x-sdk-date"].to_str().expect("ASCII date").to_owned();
    let to_sign = string_to_sign(algorithm, &date, scope.as_ref(), &canonical);
    let authorization = Authorization {
        algorithm,
        access_key: AK.to_owned(),
        signature: signature(algorithm, AK, SK, scope.as_ref(), &to_sign),
        scope,
        signed_headers,
    };
    request.set("authorization", &authorization.to_string());
    authorization
}

/// The `add_image_tag` request, signed as the SDK signs it.
fn signed() -> Request {
    let mut request = add_image_tag();
    authorize(&mut request, Algorithm::SdkHmacSha256, None, &SDK_SIGNED);
    request.verify_at(capture_time()).expect("the untampered request verifies");
    request
}

fn rejected(request: &Request) -> SignatureError {
    request.verify_at(capture_time()).expect_err("the verifier rejects it")
}

#[test]
fn wrong_signature() {
    let mut request = signed();
    let mut authorization = request_authorization(&request.headers).expect("parses");
    let last = if authorization.signature.ends_with('0') { "1" } else { "0" };
    authorization.signature.replace_range(63.., last);
    request.set("authorization", &authorization.to_string());
    let error = rejected(&request);
    assert_eq!(error, SignatureError::SignatureMismatch);
    assert_eq!(error.to_string(), "signature does not match");
}

#[test]
fn wrong_secret_key() {
    let request = signed();
    assert_eq!(
        verify(&request.parts(), "SKtestsecret0000000000000000000000000001", capture_time()),
        Err(SignatureError::SignatureMismatch)
    );
}

#[test]
fn body_changed_after_signing() {
    let mut request = signed();
    request.body = br#"{"tag": {"key": "env", "value": "dev!"}}"#.to_vec();
    assert_eq!(rejected(&request), SignatureError::SignatureMismatch);
    request.body.clear();
    assert_eq!(rejected(&request), SignatureError::SignatureMismatch);
}

#[test]
fn signed_header_changed_after_signing() {
    for (name, value) in [
        ("user-agent", "curl/8"),
        ("content-type", "application/json"),
        ("x-project-id", "ffffffffffffffffffffffffffffffff"),
        ("host", "127.0.0.1:18081"),
    ] {
        let mut request = signed();
        request.set(name, value);
        assert_eq!(rejected(&request), SignatureError::SignatureMismatch, "{name}");
    }
}

#[test]
fn path_query_or_method_changed_after_signing() {
    let mut request = signed();
    request.path.push_str("/x");
    assert_eq!(rejected(&request), SignatureError::SignatureMismatch);
    let mut request = signed();
    request.query = Some("limit=1".to_owned());
    assert_eq!(rejected(&request), SignatureError::SignatureMismatch);
    let mut request = signed();
    request.method = Method::PUT;
    assert_eq!(rejected(&request), SignatureError::SignatureMismatch);
}

#[test]
fn unsigned_headers_may_change() {
    let mut request = signed();
    request.set("accept", "application/json");
    request.set("content-length", "999");
    request.set("x_custom_header", "anything");
    assert!(request.verify_at(capture_time()).is_ok());
}

#[test]
fn host_not_signed() {
    let mut request = add_image_tag();
    authorize(
        &mut request,
        Algorithm::SdkHmacSha256,
        None,
        &["content-type", "user-agent", "x-project-id", "x-sdk-date"],
    );
    assert_eq!(rejected(&request), SignatureError::HeaderNotSigned("host"));
}

#[test]
fn sdk_date_not_signed() {
    let mut request = add_image_tag();
    authorize(
        &mut request,
        Algorithm::SdkHmacSha256,
        None,
        &["content-type", "host", "user-agent", "x-project-id"],
    );
    assert_eq!(rejected(&request), SignatureError::HeaderNotSigned("x-sdk-date"));
}

#[test]
fn project_id_present_but_not_signed() {
    let mut request = add_image_tag();
    authorize(
        &mut request,
        Algorithm::SdkHmacSha256,
        None,
        &["content-type", "host", "user-agent", "x-sdk-date"],
    );
    assert_eq!(rejected(&request), SignatureError::HeaderNotSigned("x-project-id"));
    // Without the header, not signing it is fine.
    let mut request = add_image_tag();
    request.headers.remove("x-project-id");
    authorize(
        &mut request,
        Algorithm::SdkHmacSha256,
        None,
        &["content-type", "host", "user-agent", "x-sdk-date"],
    );
    assert!(request.verify_at(capture_time()).is_ok());
}

#[test]
fn security_token_present_but_not_signed() {
    let mut request = add_image_tag();
    request.set("x-security-token", "TOKEN123");
    authorize(&mut request, Algorithm::SdkHmacSha256, None, &SDK_SIGNED);
    assert_eq!(rejected(&request), SignatureError::HeaderNotSigned("x-security-token"));
}

#[test]
fn signed_header_missing_from_request() {
    let mut request = add_image_tag();
    request.set("x-extra", "1");
    authorize(
        &mut request,
        Algorithm::SdkHmacSha256,
        None,
        &["content-type", "host", "user-agent", "x-extra", "x-project-id", "x-sdk-date"],
    );
    request.headers.remove("x-extra");
    assert_eq!(rejected(&request), SignatureError::MissingSignedHeader("x-extra".to_owned()));
    let mut request = signed();
    request.headers.remove("host");
    assert_eq!(rejected(&request), SignatureError::MissingSignedHeader("host".to_owned()));
}

#[test]
fn signed_header_value_not_utf8() {
    let mut request = add_image_tag();
    request.headers.insert("user-agent", HeaderValue::from_bytes(b"agent \xe9").expect("opaque bytes"));
    request.set(
        "authorization",
        &format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders={}, Signature={}",
            SDK_SIGNED.join(";"),
            "0".repeat(64)
        ),
    );
    assert_eq!(rejected(&request), SignatureError::InvalidHeaderValue("user-agent".to_owned()));
}

#[test]
fn stale_and_future_dates() {
    let request = signed();
    let minutes = |n: u64| Duration::from_secs(n * 60);
    let stale = capture_time() + minutes(16);
    let future = capture_time() - minutes(16);
    for now in [stale, future] {
        let error = request.verify_at(now).expect_err("16 minutes off");
        assert_eq!(error, SignatureError::DateOutOfRange { max_skew: minutes(15) });
        assert_eq!(error.to_string(), "X-Sdk-Date is more than 15 minutes from server time");
    }
    // 15 minutes either way is still accepted.
    assert!(request.verify_at(capture_time() + minutes(15)).is_ok());
    assert!(request.verify_at(capture_time() - minutes(15)).is_ok());
    // The window is configurable.
    let strict = Verifier { max_skew: minutes(1) };
    assert_eq!(
        strict.verify(&request.parts(), SK, capture_time() + minutes(2)),
        Err(SignatureError::DateOutOfRange { max_skew: minutes(1) })
    );
    assert!(strict.verify(&request.parts(), SK, capture_time() + minutes(1)).is_ok());
}

#[test]
fn malformed_or_missing_date() {
    for date in ["2026-11-22T14:59:05Z", "20261122T145905", "20261131T145905Z", "now"] {
        let mut request = add_image_tag();
        request.set("x-sdk-date", date);
        authorize(&mut request, Algorithm::SdkHmacSha256, None, &SDK_SIGNED);
        assert_eq!(rejected(&request), SignatureError::MalformedDate, "{date}");
    }
    let mut request = signed();
    request.headers.remove("x-sdk-date");
    assert_eq!(rejected(&request), SignatureError::MissingDate);
    let mut request = signed();
    request.headers.append("x-sdk-date", HeaderValue::from_static(DATE));
    assert_eq!(rejected(&request), SignatureError::DuplicateHeader("x-sdk-date"));
}

#[test]
fn missing_duplicate_or_unparsable_authorization() {
    let mut request = signed();
    request.headers.remove("authorization");
    let error = rejected(&request);
    assert_eq!(error, SignatureError::MissingAuthorization);
    assert_eq!(error.to_string(), "missing Authorization header");

    let mut request = signed();
    let value = request.headers["authorization"].clone();
    request.headers.append("authorization", value);
    assert_eq!(rejected(&request), SignatureError::DuplicateHeader("authorization"));

    for garbage in [
        "",
        "SDK-HMAC-SHA256",
        "SDK-HMAC-SHA256 Access=AK",
        "SDK-HMAC-SHA256 Signature=00, Access=AK, SignedHeaders=host",
    ] {
        let mut request = signed();
        request.set("authorization", garbage);
        assert_eq!(rejected(&request), SignatureError::MalformedAuthorization, "{garbage:?}");
    }
}

#[test]
fn unknown_algorithm() {
    let mut request = signed();
    let value = request.headers["authorization"]
        .to_str()
        .expect("ASCII")
        .replace("SDK-HMAC-SHA256", "SDK-HMAC-SHA512");
    request.set("authorization", &value);
    let error = rejected(&request);
    assert_eq!(error, SignatureError::UnknownAlgorithm);
    assert_eq!(error.to_string(), "unknown signing algorithm");
}

#[test]
fn v11_scope_date_must_match_sdk_date() {
    let scope = |date: &str| CredentialScope {
        date: date.to_owned(),
        region: "cn-north-4".to_owned(),
        service: "ims".to_owned(),
    };
    let mut request = add_image_tag();
    authorize(&mut request, Algorithm::V11HmacSha256, Some(scope("20261122")), &SDK_SIGNED);
    assert!(request.verify_at(capture_time()).is_ok());
    let mut request = add_image_tag();
    authorize(&mut request, Algorithm::V11HmacSha256, Some(scope("20261121")), &SDK_SIGNED);
    assert_eq!(rejected(&request), SignatureError::ScopeDateMismatch);
}

#[test]
fn unsigned_payload() {
    for (algorithm, header) in
        [(Algorithm::SdkHmacSha256, "x-sdk-content-sha256"), (Algorithm::SdkHmacSm3, "x-sdk-content-sm3")]
    {
        let mut request = add_image_tag();
        request.set(header, "UNSIGNED-PAYLOAD");
        let mut signed_headers = SDK_SIGNED.to_vec();
        signed_headers.push(header);
        signed_headers.sort_unstable();
        authorize(&mut request, algorithm, None, &signed_headers);
        let error = rejected(&request);
        assert_eq!(error, SignatureError::UnsignedPayload);
        assert_eq!(error.to_string(), "UNSIGNED-PAYLOAD is not accepted");
        // Also with an empty body (where the SDK would hash "" anyway).
        request.body.clear();
        authorize(&mut request, algorithm, None, &signed_headers);
        assert_eq!(rejected(&request), SignatureError::UnsignedPayload);
    }
}

#[test]
fn payload_hash_header_must_match_the_body() {
    let mut request = add_image_tag();
    request.set("x-sdk-content-sha256", &Algorithm::SdkHmacSha256.hash_hex(b"another body"));
    let mut credentials = Credentials::new(AK, SK);
    request.headers.remove("authorization");
    request.sign(&credentials, "unused", capture_time());
    assert_eq!(rejected(&request), SignatureError::PayloadHashMismatch("x-sdk-content-sha256"));

    // The true hash is accepted, for SHA-256 and SM3.
    for algorithm in [Algorithm::SdkHmacSha256, Algorithm::SdkHmacSm3] {
        let mut request = add_image_tag();
        request.set(algorithm.content_hash_header(), &algorithm.hash_hex(BODY.as_bytes()));
        credentials.algorithm = algorithm;
        request.sign(&credentials, "unused", capture_time());
        assert!(request.verify_at(capture_time()).is_ok(), "{algorithm}");
    }
}

#[test]
fn path_bytes_that_are_not_utf8() {
    let credentials = Credentials::new(AK, SK);
    let mut request = Request::new(
        Method::DELETE,
        &format!("/v2/{PROJECT}/images/{IMAGE}/tags/%FF%FE%C3"),
        Some("k=%FF&%C3=v"),
        &[("x-project-id", PROJECT)],
        b"",
    );
    request.sign(&credentials, "127.0.0.1:18080", capture_time());
    assert!(request.verify_at(capture_time()).is_ok());
    request.path = format!("/v2/{PROJECT}/images/{IMAGE}/tags/%FF%FE%C4");
    assert_eq!(rejected(&request), SignatureError::SignatureMismatch);
}

#[test]
fn messages_never_carry_secrets() {
    let mut request = add_image_tag();
    let mut credentials = Credentials::new(AK, SK);
    credentials.security_token = Some("TOKEN-SECRET".to_owned());
    let authorization = request.sign(&credentials, "unused", capture_time());
    request.body = b"{}".to_vec();
    let error = rejected(&request);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(SK) && !shown.contains("TOKEN-SECRET"), "{shown}");
    assert!(!shown.contains(&authorization.signature), "{shown}");
}
