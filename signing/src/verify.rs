//! The server side: checking an incoming request's AK/SK signature.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::canonical::{
    RequestHead, RequestParts, canonical_request_with_payload_hash, payload_hash, signed_header_value,
};
use crate::signature::{signature, string_to_sign};
use crate::{Authorization, SignatureError, X_PROJECT_ID, X_SDK_DATE, X_SECURITY_TOKEN, sdk_date};

/// The payload-hash value the SDK sends for bodies it does not hash.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The value of a header that must not be repeated, `None` when absent.
fn single_header(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, SignatureError> {
    if headers.get_all(name).iter().nth(1).is_some() {
        return Err(SignatureError::DuplicateHeader(name));
    }
    signed_header_value(headers, name)
}

/// Parses the request's `Authorization` header, so that the caller can look up the secret key
/// of [`Authorization::access_key`] before calling [`Verifier::verify`].
pub fn request_authorization(headers: &HeaderMap) -> Result<Authorization, SignatureError> {
    let value = single_header(headers, "authorization")?.ok_or(SignatureError::MissingAuthorization)?;
    Authorization::parse(&value)
}

/// A request whose signature checked out.
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    /// The parsed `Authorization` header (its access key, algorithm and V11 scope).
    pub authorization: Authorization,
    /// The signed `X-Security-Token`, which the caller must match against the temporary
    /// AK's token. `Debug` never shows it.
    pub security_token: Option<String>,
    /// The signed `X-Project-Id`, if the request has one.
    pub project_id: Option<String>,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("authorization", &self.authorization)
            .field("security_token", &self.security_token.as_ref().map(|_| "<redacted>"))
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// Checks AK/SK signatures. [`Verifier::default`] allows 15 minutes of clock skew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verifier {
    /// How far `X-Sdk-Date` may be from the server's clock, either way (inclusive).
    pub max_skew: Duration,
}

impl Default for Verifier {
    fn default() -> Self {
        Self { max_skew: Duration::from_secs(15 * 60) }
    }
}

/// What the headers of a signed request establish before its body is read: every check that
/// needs neither the secret key nor the body has passed ([`Verifier::check_head`]).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHead {
    /// The parsed `Authorization` header.
    pub authorization: Authorization,
    date: String,
    security_token: Option<String>,
    project_id: Option<String>,
    content_hash: Option<String>,
}

impl fmt::Debug for SignedHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHead")
            .field("authorization", &self.authorization)
            .field("date", &self.date)
            .field("security_token", &self.security_token.as_ref().map(|_| "<redacted>"))
            .field("project_id", &self.project_id)
            .field("content_hash", &self.content_hash)
            .finish()
    }
}

impl SignedHead {
    /// The signed `X-Security-Token`, if any (to match against the temporary AK's token).
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// The value of the algorithm's content-hash header (`X-Sdk-Content-Sha256` or
    /// `X-Sdk-Content-Sm3`) when the request has one; never `UNSIGNED-PAYLOAD`, which
    /// [`Verifier::check_head`] refuses. The signature covers it (it is the payload hash of the
    /// canonical request), so a server can check the signature with it before reading the body
    /// and then check the body against it.
    pub fn content_hash(&self) -> Option<&str> {
        self.content_hash.as_deref()
    }

    /// The payload hash to sign over when the body is not read yet: the hash of the empty body
    /// when `body_is_empty`, otherwise the content-hash header's value (`None` without one:
    /// then the body must be read and hashed first).
    pub fn declared_payload_hash(&self, body_is_empty: bool) -> Option<String> {
        if body_is_empty {
            return Some(self.authorization.algorithm.empty_hash_hex().to_owned());
        }
        self.content_hash.clone()
    }

    /// Checks the signature of `request` with `payload_hash` as the last line of the canonical
    /// request; every signed header must be present. The caller must still make sure that the
    /// body's hash is `payload_hash` (see [`SignedHead::declared_payload_hash`]).
    pub fn verify_signature(
        self,
        request: &RequestHead<'_>,
        secret_key: &str,
        payload_hash: &str,
    ) -> Result<Verified, SignatureError> {
        let algorithm = self.authorization.algorithm;
        let canonical =
            canonical_request_with_payload_hash(request, &self.authorization.signed_headers, payload_hash)?;
        let scope = self.authorization.scope.as_ref();
        let expected = signature(
            algorithm,
            &self.authorization.access_key,
            secret_key,
            scope,
            &string_to_sign(algorithm, &self.date, scope, &canonical),
        );
        if !bool::from(expected.as_bytes().ct_eq(self.authorization.signature.as_bytes())) {
            return Err(SignatureError::SignatureMismatch);
        }
        Ok(Verified {
            authorization: self.authorization,
            security_token: self.security_token,
            project_id: self.project_id,
        })
    }
}

impl Verifier {
    /// Verifies `request`, signed with `secret_key` (looked up by the caller from the access
    /// key of [`request_authorization`]), at server time `now`.
    ///
    /// Checks, in this order: one well-formed `Authorization` header; `host` and
    /// `x-sdk-date` signed, and `x-project-id` and `x-security-token` signed whenever present;
    /// `X-Sdk-Date` present, well formed and within [`Verifier::max_skew`] of `now`; for V11
    /// the scope date equal to the `X-Sdk-Date` date; the payload-hash header, if any, not
    /// `UNSIGNED-PAYLOAD` and equal to the hash of the body; every signed header present;
    /// finally the signature, compared in constant time.
    pub fn verify(
        &self,
        request: &RequestParts<'_>,
        secret_key: &str,
        now: SystemTime,
    ) -> Result<Verified, SignatureError> {
        let head = self.check_head(request.headers, now)?;
        let algorithm = head.authorization.algorithm;
        if let Some(declared) = head.content_hash()
            && declared != algorithm.hash_hex(request.body)
        {
            return Err(SignatureError::PayloadHashMismatch(algorithm.content_hash_header()));
        }
        let payload_hash = payload_hash(algorithm, request.headers, request.body)?;
        head.verify_signature(&request.head(), secret_key, &payload_hash)
    }

    /// The checks of [`Verifier::verify`] that need neither the secret key nor the body, in the
    /// same order, up to and including the refusal of `UNSIGNED-PAYLOAD`.
    pub fn check_head(&self, headers: &HeaderMap, now: SystemTime) -> Result<SignedHead, SignatureError> {
        self.check_parsed_head(request_authorization(headers)?, headers, now)
    }

    /// [`Verifier::check_head`] for a request whose `Authorization` header the caller has
    /// already parsed with [`request_authorization`] (to look up its access key first), so
    /// that it is not parsed twice.
    pub fn check_parsed_head(
        &self,
        authorization: Authorization,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Result<SignedHead, SignatureError> {
        let is_signed = |name: &str| authorization.signed_headers.iter().any(|s| s == name);
        for required in ["host", X_SDK_DATE] {
            if !is_signed(required) {
                return Err(SignatureError::HeaderNotSigned(required));
            }
        }
        // A repeated Host is refused rather than signed as "a,b".
        single_header(headers, "host")?;
        let project_id = single_header(headers, X_PROJECT_ID)?;
        let security_token = single_header(headers, X_SECURITY_TOKEN)?;
        for (name, value) in [(X_PROJECT_ID, &project_id), (X_SECURITY_TOKEN, &security_token)] {
            if value.is_some() && !is_signed(name) {
                return Err(SignatureError::HeaderNotSigned(name));
            }
        }

        let date = single_header(headers, X_SDK_DATE)?.ok_or(SignatureError::MissingDate)?;
        check_skew(sdk_date::parse(&date)?, now, self.max_skew)?;
        if let Some(scope) = &authorization.scope
            && !date.starts_with(&scope.date)
        {
            return Err(SignatureError::ScopeDateMismatch);
        }
        let content_hash = single_header(headers, authorization.algorithm.content_hash_header())?;
        if content_hash.as_deref() == Some(UNSIGNED_PAYLOAD) {
            return Err(SignatureError::UnsignedPayload);
        }
        Ok(SignedHead { authorization, date, security_token, project_id, content_hash })
    }
}

/// `date` within `max_skew` of `now`, either way.
fn check_skew(date: OffsetDateTime, now: SystemTime, max_skew: Duration) -> Result<(), SignatureError> {
    let now = OffsetDateTime::from(now);
    let skew = (now.unix_timestamp_nanos() - date.unix_timestamp_nanos()).unsigned_abs();
    if skew > max_skew.as_nanos() {
        return Err(SignatureError::DateOutOfRange { max_skew });
    }
    Ok(())
}

/// [`Verifier::verify`] with the default 15-minute skew.
pub fn verify(
    request: &RequestParts<'_>,
    secret_key: &str,
    now: SystemTime,
) -> Result<Verified, SignatureError> {
    Verifier::default().verify(request, secret_key, now)
}
