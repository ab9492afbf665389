//! The client signer and the verifier agree, for every algorithm and awkward paths and
//! queries; and the signer follows the SDK's header rules.

use std::time::Duration;

use http::Method;
use ims_tags_signing::{
    Algorithm, CredentialScope, Credentials, RequestToSign, SignatureError, V11Scope, sign_request,
};

use crate::support::{AK, PROJECT, Request, SK, capture_time};

const PATHS: [&str; 7] = [
    "/v2/images/i/tags/a%2Fb",
    "/v2/images/i/tags/a%20b%2F%2Fc~d_%C3%A9",
    "/v2/images/i/tags/%E4%B8%AD%E6%96%87%E6%A0%87%E7%AD%BE",
    "/v2/images/i/tags/a+b",
    "/v2/images/i/tags/trailing/",
    "/v2/images/i/tags/%zz%2",
    "/",
];

const QUERIES: [Option<&str>; 6] = [
    None,
    Some("tag=b%20c&tag=a&limit=10&tag=a%20b"),
    Some("name=my%20image&name=my+image"),
    Some("flag&empty=&tag=%E4%B8%AD=%E6%96%87"),
    Some("k=v&&k=v"),
    Some("created_at=gt%3A2018-10-28T10%3A00%3A00Z"),
];

fn credentials(algorithm: Algorithm, token: Option<&str>) -> Credentials {
    let mut credentials = Credentials::new(AK, SK);
    credentials.algorithm = algorithm;
    credentials.security_token = token.map(str::to_owned);
    credentials.v11_scope = Some(V11Scope { region: "cn-north-4".to_owned(), service: "ims".to_owned() });
    credentials
}

fn request(method: Method, path: &str, query: Option<&str>, body: &[u8]) -> Request {
    Request::new(
        method,
        path,
        query,
        &[
            ("content-type", "application/json"),
            ("x-project-id", PROJECT),
            ("user-agent", "ims-tags-client/0.1"),
        ],
        body,
    )
}

/// Signs with `credentials`, verifies, and checks that no other algorithm's label verifies.
fn round_trip(credentials: &Credentials, method: Method, path: &str, query: Option<&str>, body: &[u8]) {
    let algorithm = credentials.algorithm;
    let token = credentials.security_token.as_deref();
    let context = format!("{algorithm} {token:?} {method} {path} {query:?}");
    let mut request = request(method, path, query, body);
    let authorization = request.sign(credentials, "127.0.0.1:8080", capture_time());
    assert_eq!(authorization.scope.is_some(), algorithm == Algorithm::V11HmacSha256, "{context}");
    let verified = request
        .verify_at(capture_time() + Duration::from_secs(60))
        .unwrap_or_else(|error| panic!("{context}: {error}"));
    assert_eq!(verified.authorization, authorization, "{context}");
    assert_eq!(verified.security_token.as_deref(), token, "{context}");
    assert_eq!(verified.project_id.as_deref(), Some(PROJECT), "{context}");

    for other in Algorithm::ALL.into_iter().filter(|other| *other != algorithm) {
        let mut relabelled = authorization.clone();
        relabelled.algorithm = other;
        relabelled.scope = (other == Algorithm::V11HmacSha256).then(|| CredentialScope {
            date: "20261122".to_owned(),
            region: "cn-north-4".to_owned(),
            service: "ims".to_owned(),
        });
        let mut forged = request.clone();
        forged.set("authorization", &relabelled.to_string());
        assert_eq!(
            forged.verify_at(capture_time()),
            Err(SignatureError::SignatureMismatch),
            "{context} as {other}"
        );
    }
}

#[test]
fn sign_then_verify_for_every_algorithm_path_and_query() {
    for algorithm in Algorithm::ALL {
        for token in [None, Some("TOKEN123")] {
            let credentials = credentials(algorithm, token);
            for path in PATHS {
                for query in QUERIES {
                    round_trip(&credentials, Method::GET, path, query, b"");
                    round_trip(&credentials, Method::POST, path, query, br#"{"k": "v"}"#);
                }
            }
        }
    }
}

#[test]
fn query_and_path_spellings_that_decode_alike_verify_alike() {
    // The canonical forms are computed on decoded bytes, so a proxy that re-escapes
    // (lower-case hex, escaped unreserved characters) does not break the signature.
    let credentials = credentials(Algorithm::SdkHmacSha256, None);
    let mut request = request(Method::GET, "/v2/images/i/tags/%C3%A9~", Some("b=%C3%A9&a=1"), b"");
    request.sign(&credentials, "h", capture_time());
    request.path = "/v2/images/i/tags/%c3%a9%7E".to_owned();
    request.query = Some("a=%31&b=%c3%a9".to_owned());
    assert!(request.verify_at(capture_time()).is_ok());
}

#[test]
fn a_plus_sign_in_the_query_is_a_plus_sign() {
    let credentials = credentials(Algorithm::SdkHmacSha256, None);
    for (signed_query, verifies) in [("q=a%2Bb", true), ("q=a%20b", false)] {
        let mut received = request(Method::GET, "/", Some(signed_query), b"");
        received.sign(&credentials, "h", capture_time());
        received.query = Some("q=a+b".to_owned());
        assert_eq!(received.verify_at(capture_time()).is_ok(), verifies, "{signed_query}");
    }
}

#[test]
fn signer_signs_every_header_but_transport_ones_and_underscored_names() {
    let mut request = Request::new(
        Method::PUT,
        "/v1/cloudimages/tags",
        None,
        &[
            ("accept", "*/*"),
            ("accept-encoding", "gzip"),
            ("connection", "keep-alive"),
            ("content-length", "2"),
            ("content-type", "application/json;charset=utf-8"),
            ("user-agent", "ims-tags-client/0.1"),
            ("x-custom", "1"),
            ("x_underscored", "1"),
            ("x-project-id", PROJECT),
        ],
        b"{}",
    );
    let credentials = credentials(Algorithm::SdkHmacSha256, Some("TOKEN123"));
    let authorization = request.sign(&credentials, "127.0.0.1:8080", capture_time());
    assert_eq!(
        authorization.signed_headers,
        ["content-type", "host", "user-agent", "x-custom", "x-project-id", "x-sdk-date", "x-security-token"]
    );
    assert_eq!(request.headers["host"], "127.0.0.1:8080");
    assert_eq!(request.headers["x-sdk-date"], "20261122T145905Z");
    assert_eq!(request.headers["x-security-token"], "TOKEN123");
    assert_eq!(request.headers["authorization"], authorization.to_string().as_str());
    assert!(request.verify_at(capture_time()).is_ok());
}

#[test]
fn signer_keeps_host_and_date_already_present() {
    let mut request = Request::new(
        Method::GET,
        "/",
        None,
        &[("host", "example.com:443"), ("x-sdk-date", "20261122T150000Z")],
        b"",
    );
    let authorization = request.sign(&credentials(Algorithm::V11HmacSha256, None), "ignored", capture_time());
    assert_eq!(request.headers["host"], "example.com:443");
    assert_eq!(request.headers["x-sdk-date"], "20261122T150000Z");
    assert_eq!(
        authorization.scope.map(|scope| scope.to_string()).as_deref(),
        Some("20261122/cn-north-4/ims")
    );
    assert!(request.verify_at(capture_time()).is_ok());
}

#[test]
fn signer_rejects_a_malformed_date_already_present() {
    let request = Request::new(Method::GET, "/", None, &[("x-sdk-date", "yesterday")], b"");
    let mut headers = request.headers.clone();
    let to_sign = RequestToSign {
        method: &request.method,
        host: "h",
        raw_path: &request.path,
        raw_query: None,
        body: b"",
    };
    assert_eq!(
        sign_request(&Credentials::new(AK, SK), &to_sign, &mut headers, capture_time()),
        Err(SignatureError::MalformedDate)
    );
}

/// With a content-hash header, the signature checks out from the head alone ([`Verifier::check_head`] and
/// [`SignedHead::verify_signature`]) exactly when [`verify`] accepts the whole request, for every
/// algorithm; without one, the head alone gives no payload hash.
#[test]
fn the_head_alone_verifies_a_declared_content_hash() {
    use ims_tags_signing::{PayloadHasher, Verifier};

    let body = br#"{"tag": {"key": "env", "value": "prod"}}"#;
    for algorithm in Algorithm::ALL {
        let mut hasher: PayloadHasher = algorithm.payload_hasher();
        hasher.update(&body[..10]);
        hasher.update(&body[10..]);
        let hash = hasher.finish_hex();
        assert_eq!(hash, algorithm.hash_hex(body), "{algorithm}");

        let mut declared = request(Method::POST, "/v2/p/images/i/tags", None, body);
        declared.set(algorithm.content_hash_header(), &hash);
        declared.sign(&credentials(algorithm, None), "127.0.0.1:8080", capture_time());
        let verifier = Verifier::default();
        let head = verifier.check_head(&declared.headers, capture_time()).expect("head checks");
        assert_eq!(head.content_hash(), Some(hash.as_str()), "{algorithm}");
        let payload_hash = head.declared_payload_hash(false).expect("declared");
        head.verify_signature(&declared.parts().head(), SK, &payload_hash).expect("verifies before the body");
        declared.verify_at(capture_time()).expect("and with it");

        // A wrong secret fails from the head alone; a different body fails only the whole check.
        let head = verifier.check_head(&declared.headers, capture_time()).expect("head checks");
        assert_eq!(
            head.verify_signature(&declared.parts().head(), "wrong", &payload_hash).map(|_| ()),
            Err(SignatureError::SignatureMismatch)
        );
        let mut tampered = declared.clone();
        tampered.body = b"{}".to_vec();
        assert_eq!(
            tampered.verify_at(capture_time()).map(|_| ()),
            Err(SignatureError::PayloadHashMismatch(algorithm.content_hash_header()))
        );

        // No declared hash: only an empty body has a payload hash before it is read.
        let mut plain = request(Method::POST, "/v2/p/images/i/tags", None, body);
        plain.sign(&credentials(algorithm, None), "127.0.0.1:8080", capture_time());
        let head = verifier.check_head(&plain.headers, capture_time()).expect("head checks");
        assert_eq!(head.declared_payload_hash(false), None);
        assert_eq!(head.declared_payload_hash(true), Some(algorithm.hash_hex(b"")));
        let mut unsigned = plain.clone();
        unsigned.set(algorithm.content_hash_header(), "UNSIGNED-PAYLOAD");
        assert_eq!(
            verifier.check_head(&unsigned.headers, capture_time()).map(|_| ()),
            Err(SignatureError::UnsignedPayload)
        );
    }
}
