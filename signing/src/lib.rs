//! Huawei Cloud AK/SK request signing exactly as `huaweicloudsdkcore` 3.1.219 (Python) sends
//! it: `SDK-HMAC-SHA256`, `SDK-HMAC-SM3` and `V11-HMAC-SHA256`.
//!
//! - Client: [`sign_request`] adds `X-Sdk-Date`, `Host`, `X-Security-Token` and
//!   `Authorization` to an outgoing request.
//! - Server: [`request_authorization`] parses the `Authorization` header so the caller can
//!   look up the secret key of its access key; [`verify`] (or [`Verifier::verify`]) then
//!   checks the request and returns [`Verified`] or a [`SignatureError`] whose message says
//!   which check failed. A server that wants to refuse a bad signature before reading the
//!   body calls [`Verifier::check_head`] and then [`SignedHead::verify_signature`] with the
//!   signed content hash, and checks the body against it as it arrives ([`PayloadHasher`]).
//! - The building blocks ([`canonical_uri`], [`canonical_query`], [`canonical_headers`],
//!   [`payload_hash`], [`canonical_request`], [`string_to_sign`], [`signature`]) are pure
//!   functions, shared by both sides.
//!
//! The algorithm (see the IMS wire contract, section 6): the canonical request is
//! `METHOD\nURI\nQUERY\nHEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH`; the string to sign is
//! `ALGORITHM\nX-Sdk-Date\n[V11 scope\n]hex(hash(canonical request))`; the signature is the
//! hex HMAC of it keyed with the SK (or, for V11, the derived key).

mod algorithm;
mod authorization;
mod canonical;
mod error;
mod sdk_date;
mod sign;
mod signature;
mod verify;

pub use algorithm::{Algorithm, PayloadHasher};
pub use authorization::{Authorization, CredentialScope, is_sdk_signature};
pub use canonical::{
    RequestHead, RequestParts, canonical_headers, canonical_query, canonical_request,
    canonical_request_with_payload_hash, canonical_uri, payload_hash,
};
pub use error::SignatureError;
pub use sign::{Credentials, RequestToSign, UNSIGNED_HEADERS, V11Scope, sign_request};
pub use signature::{signature, string_to_sign};
pub use verify::{SignedHead, Verified, Verifier, request_authorization, verify};

/// `X-Sdk-Date`, the signing time `YYYYMMDDTHHMMSSZ` (UTC); always signed.
pub const X_SDK_DATE: &str = "x-sdk-date";
/// `X-Project-Id`, the project of project-less paths; signed whenever present.
pub const X_PROJECT_ID: &str = "x-project-id";
/// `X-Security-Token`, the token of a temporary AK/SK; signed whenever present.
pub const X_SECURITY_TOKEN: &str = "x-security-token";
